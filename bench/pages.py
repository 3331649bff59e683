"""The chat page with a big sidebar and long transcripts (100, 1,000, 10,000 messages), and
the request for older messages at the start of the longest: time, SQL queries and bytes,
in-process through Django's test client (the view, templates and ORM; no network)."""

import statistics
import time
from dataclasses import dataclass

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from . import data

REPEATS = 7


@dataclass
class PageResult:
    label: str
    conversations: int
    messages: int
    median_ms: float
    max_ms: float
    queries: int
    bytes: int
    path: str = ""


def measure(client: Client, url: str, label: str, conversations: int, messages: int):
    client.get(url)  # warm: template compilation, first connection
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return PageResult(
        label=label,
        conversations=conversations,
        messages=messages,
        median_ms=statistics.median(timings),
        max_ms=max(timings),
        queries=len(queries),
        bytes=len(response.content),
        path=url,
    )


def page_benchmark(*, sizes: list[int], transcript_sizes: list[int], assistant) -> list[PageResult]:
    results = []
    user = None
    for size in sizes:
        user = data.page_user(username=f"pages{size}", conversations=size, assistant=assistant)
        client = Client()
        client.force_login(user)
        results.append(measure(client, "/", "chat page (sidebar)", size, 0))
    # The transcripts, opened by the user with the biggest sidebar.
    client = Client()
    client.force_login(user)
    conversation = None
    for messages in transcript_sizes:
        conversation = data.transcript(user=user, assistant=assistant, messages=messages)
        results.append(
            measure(
                client,
                f"/c/{conversation.pk}/",
                "conversation page (transcript)",
                sizes[-1] + len(transcript_sizes),
                messages,
            )
        )
    if conversation is not None:
        # The deepest page a reader scrolling up asks for: the oldest messages of the longest.
        second = conversation.messages.order_by("id").values_list("id", flat=True)[1:2]
        results.append(
            measure(
                client,
                f"/api/conversations/{conversation.pk}/messages?before={second[0]}",
                "older messages (first page of the longest)",
                sizes[-1] + len(transcript_sizes),
                transcript_sizes[-1],
            )
        )
    return results
