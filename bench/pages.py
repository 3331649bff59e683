"""The chat page with a big sidebar and a long transcript: time and SQL queries, in-process
through Django's test client (the view, templates and ORM; no network)."""

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
    )


def page_benchmark(*, sizes: list[int], transcript_messages: int, assistant) -> list[PageResult]:
    results = []
    user = None
    for size in sizes:
        user = data.page_user(username=f"pages{size}", conversations=size, assistant=assistant)
        client = Client()
        client.force_login(user)
        results.append(measure(client, "/", "chat page (sidebar)", size, 0))
    # The longest transcript, opened by the user with the biggest sidebar.
    conversation = data.transcript(user=user, assistant=assistant, messages=transcript_messages)
    client = Client()
    client.force_login(user)
    results.append(
        measure(
            client,
            f"/c/{conversation.pk}/",
            "conversation page (transcript)",
            sizes[-1] + 1,
            transcript_messages,
        )
    )
    return results
