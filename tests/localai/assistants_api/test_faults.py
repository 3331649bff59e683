"""The fault directives, as an application using the SDK sees them."""

import time

import openai
import pytest

from localai.engine.model import FAULT_AFTER_TOKENS, reply_tokens
from tests.localai.sdk import last_message, make_client, message_text, new_assistant, new_thread

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


async def _stream_events(client, text: str):
    assistant = await new_assistant(client)
    thread = await new_thread(client, text)
    stream = await client.beta.threads.runs.create(
        thread.id, assistant_id=assistant.id, stream=True
    )
    return thread, [event async for event in stream]


async def test_fail_429_is_a_rate_limit_error_with_retry_after(api_url):
    client = make_client(api_url)
    assistant = await new_assistant(client)
    thread = await new_thread(client, "Too fast [[fail:429]]")
    with pytest.raises(openai.RateLimitError) as error:
        await client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    assert error.value.response.headers["retry-after"] == "1"
    assert error.value.code == "rate_limit_exceeded"

    # A client that retries waits the second the header asks for (its own backoff is shorter).
    retrying = make_client(api_url, max_retries=1)
    started = time.monotonic()
    with pytest.raises(openai.RateLimitError):
        await retrying.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    assert time.monotonic() - started >= 1.0
    runs = await client.beta.threads.runs.list(thread.id)
    assert runs.data == []


async def test_fail_500_is_an_internal_server_error(api_url):
    client = make_client(api_url)
    assistant = await new_assistant(client)
    thread = await new_thread(client, "Break [[fail:500]]")
    with pytest.raises(openai.InternalServerError) as error:
        await client.beta.threads.runs.create(thread.id, assistant_id=assistant.id, stream=True)
    assert error.value.status_code == 500
    assert error.value.type == "server_error"


async def test_hang_sends_nothing_until_the_client_gives_up(api_url):
    client = make_client(api_url)
    assistant = await new_assistant(client)
    thread = await new_thread(client, "Wait [[hang]]")
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await client.beta.threads.runs.create(
            thread.id, assistant_id=assistant.id, stream=True, timeout=0.5
        )
    assert time.monotonic() - started < 5
    # Nothing was left holding the thread.
    await client.beta.threads.messages.create(thread.id, role="user", content="Still there?")
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20
    )
    assert run.status == "completed"


async def test_cut_ends_the_stream_without_a_terminal_event(api_url):
    client = make_client(api_url)
    thread, events = await _stream_events(client, "Cut me [[cut:4]]")
    names = [event.event for event in events]
    assert names.count("thread.message.delta") == 4
    assert names[-1] == "thread.message.delta"
    assert not any(name.startswith("thread.run.") and name.endswith("completed") for name in names)

    run_id = events[0].data.id
    run = await client.beta.threads.runs.retrieve(run_id, thread_id=thread.id)
    assert run.status == "failed" and "cut" in run.last_error.message
    partial = await last_message(client, thread.id)
    assert partial.status == "incomplete"
    assert message_text(partial) == "".join(reply_tokens("Cut me")[:4])


async def test_run_fail_streams_a_few_tokens_then_a_failed_run(api_url):
    client = make_client(api_url)
    thread, events = await _stream_events(client, "Oops [[run_fail]]")
    names = [event.event for event in events]
    assert names.count("thread.message.delta") == FAULT_AFTER_TOKENS
    assert names[-3:] == [
        "thread.message.incomplete",
        "thread.run.step.failed",
        "thread.run.failed",
    ]
    failed = events[-1].data
    assert failed.status == "failed" and failed.failed_at is not None
    assert failed.last_error.code == "server_error" and failed.last_error.message
    partial = await last_message(client, thread.id)
    assert (partial.status, partial.incomplete_details.reason) == ("incomplete", "run_failed")


async def test_expire_ends_the_run_expired(api_url):
    client = make_client(api_url)
    thread, events = await _stream_events(client, "Late [[expire]]")
    assert [event.event for event in events][-2:] == [
        "thread.run.step.expired",
        "thread.run.expired",
    ]
    run = await client.beta.threads.runs.retrieve(events[0].data.id, thread_id=thread.id)
    assert run.status == "expired"
    partial = await last_message(client, thread.id)
    assert partial.incomplete_details.reason == "run_expired"
