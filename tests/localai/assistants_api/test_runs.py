"""Runs: polled and streamed, cancelled, abandoned, and with a function tool call."""

import asyncio
import json
import time

import openai
import pytest
from openai import AsyncAssistantEventHandler

from localai.engine.model import reply_text, reply_tokens, tool_reply_tokens
from tests.localai.sdk import (
    last_message,
    make_client,
    message_text,
    new_assistant,
    new_thread,
    wait_for_run,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MESSAGE_EVENTS = [
    "thread.run.created",
    "thread.run.queued",
    "thread.run.in_progress",
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.message.created",
    "thread.message.in_progress",
]
CLOCK_TOOL = {
    "type": "function",
    "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
}


class Recorder(AsyncAssistantEventHandler):
    def __init__(self):
        super().__init__()
        self.names: list[str] = []
        self.deltas: list[str] = []

    async def on_event(self, event):
        self.names.append(event.event)

    async def on_text_delta(self, delta, snapshot):
        self.deltas.append(delta.value)


async def test_run_without_stream_completes_in_the_background(api_url):
    client = make_client(api_url)
    assistant = await new_assistant(client, instructions="Answer briefly.")
    thread = await new_thread(client, "What is the **plan**?")

    run = await client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    assert run.id.startswith("run_") and run.status == "queued" and run.usage is None
    assert (run.assistant_id, run.thread_id, run.instructions) == (
        assistant.id,
        thread.id,
        "Answer briefly.",
    )

    run = await wait_for_run(client, thread.id, run.id, {"completed"})
    assert run.completed_at is not None and run.started_at is not None
    assert run.usage.completion_tokens == len(reply_tokens("What is the **plan**?"))
    assert run.usage.total_tokens == run.usage.prompt_tokens + run.usage.completion_tokens

    reply = await last_message(client, thread.id)
    assert (reply.role, reply.status, reply.run_id) == ("assistant", "completed", run.id)
    assert message_text(reply) == reply_text("What is the **plan**?")

    steps = await client.beta.threads.runs.steps.list(run.id, thread_id=thread.id)
    assert [s.step_details.message_creation.message_id for s in steps.data] == [reply.id]
    assert steps.data[0].status == "completed"


async def test_streamed_run_is_parsed_by_the_sdk_event_handler(api_url):
    client = make_client(api_url)
    assistant = await new_assistant(client)
    text = "Stream me a reply, please."
    thread = await new_thread(client, text)
    expected = reply_tokens(text)

    handler = Recorder()
    async with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
    ) as stream:
        await stream.until_done()
        final_run = await stream.get_final_run()
        final_messages = await stream.get_final_messages()

    assert handler.deltas == expected
    assert handler.names == [
        *MESSAGE_EVENTS,
        *["thread.message.delta"] * len(expected),
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
    ]
    assert final_run.status == "completed"
    assert final_run.usage.completion_tokens == len(expected)
    assert message_text(final_messages[0]) == "".join(expected)

    stored = await last_message(client, thread.id)
    assert stored.id == final_messages[0].id
    assert (stored.status, message_text(stored)) == ("completed", "".join(expected))


async def test_create_with_stream_true_yields_typed_events(api_url):
    client = make_client(api_url)
    assistant = await new_assistant(client)
    thread = await new_thread(client, "Short [[tokens:4]]")
    stream = await client.beta.threads.runs.create(
        thread.id, assistant_id=assistant.id, stream=True
    )
    events = [event async for event in stream]
    assert [e.event for e in events][-3:] == [
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
    ]
    deltas = [e.data.delta.content[0].text.value for e in events if e.event.endswith(".delta")]
    assert deltas == reply_tokens("Short [[tokens:4]]")
    assert events[-1].data.usage.completion_tokens == 4


async def test_cancel_while_streaming_keeps_the_partial_message(api_url):
    client = make_client(api_url)
    assistant = await new_assistant(client)
    thread = await new_thread(client, "Long one [[delay:0.05]] [[tokens:200]]")
    deltas: list[str] = []
    names: list[str] = []
    async with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id
    ) as stream:
        async for event in stream:
            names.append(event.event)
            if event.event == "thread.run.created":
                run_id = event.data.id
            if event.event == "thread.message.delta":
                deltas.append(event.data.delta.content[0].text.value)
                if len(deltas) == 5:
                    # From another connection, as a user pressing "stop" would.
                    cancelling = await client.beta.threads.runs.cancel(run_id, thread_id=thread.id)
                    assert cancelling.status == "cancelling"
                    cancelled_at = time.monotonic()
    assert time.monotonic() - cancelled_at < 1.0
    assert names[-3:] == [
        "thread.message.incomplete",
        "thread.run.step.cancelled",
        "thread.run.cancelled",
    ]
    assert 5 <= len(deltas) < 20
    assert deltas == reply_tokens("Long one [[tokens:200]]")[: len(deltas)]

    run = await client.beta.threads.runs.retrieve(run_id, thread_id=thread.id)
    assert run.status == "cancelled" and run.cancelled_at is not None
    partial = await last_message(client, thread.id)
    assert (partial.status, partial.incomplete_details.reason) == ("incomplete", "run_cancelled")
    assert message_text(partial) == "".join(deltas)

    with pytest.raises(openai.BadRequestError, match="Cannot cancel run with status 'cancelled'"):
        await client.beta.threads.runs.cancel(run_id, thread_id=thread.id)


async def test_cancel_a_background_run(api_url):
    client = make_client(api_url)
    assistant = await new_assistant(client)
    thread = await new_thread(client, "Slow [[delay:0.05]] [[tokens:200]]")
    run = await client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    await wait_for_run(client, thread.id, run.id, {"in_progress"})
    await asyncio.sleep(0.2)
    cancelling = await client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelling.status == "cancelling"
    run = await wait_for_run(client, thread.id, run.id, {"cancelled"}, timeout=2.0)
    partial = await last_message(client, thread.id)
    assert partial.status == "incomplete"
    assert 0 < len(message_text(partial)) < len(reply_text("Slow [[tokens:200]]"))
    assert 0 < run.usage.completion_tokens < 200


async def test_client_that_goes_away_leaves_a_cancelled_run(api_url):
    client = make_client(api_url)
    assistant = await new_assistant(client)
    thread = await new_thread(client, "Abandon me [[delay:0.05]] [[tokens:200]]")
    stream = await client.beta.threads.runs.create(
        thread.id, assistant_id=assistant.id, stream=True
    )
    deltas = 0
    async for event in stream:
        if event.event == "thread.run.created":
            run_id = event.data.id
        if event.event == "thread.message.delta":
            deltas += 1
            if deltas == 3:
                break
    await stream.close()

    run = await wait_for_run(client, thread.id, run_id, {"cancelled"}, timeout=3.0)
    assert run.usage.completion_tokens < 200
    partial = await last_message(client, thread.id)
    assert (partial.status, partial.incomplete_details.reason) == ("incomplete", "run_cancelled")
    # The thread is free again.
    follow_up = await client.beta.threads.messages.create(thread.id, role="user", content="Hi")
    assert follow_up.role == "user"


async def test_one_active_run_per_thread(api_url):
    client = make_client(api_url)
    assistant = await new_assistant(client)
    thread = await new_thread(client, "Busy [[delay:0.05]] [[tokens:100]]")
    run = await client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    with pytest.raises(openai.BadRequestError, match="already has an active run"):
        await client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    with pytest.raises(openai.BadRequestError, match="Can't add messages"):
        await client.beta.threads.messages.create(thread.id, role="user", content="More")
    await client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    await wait_for_run(client, thread.id, run.id, {"cancelled"})
    await client.beta.threads.messages.create(thread.id, role="user", content="More")


async def test_function_tool_call_then_streamed_outputs(api_url):
    client = make_client(api_url)
    assistant = await new_assistant(client, tools=[CLOCK_TOOL])
    text = 'What time is it?\ncall get_time {"tz": "UTC"}'
    thread = await new_thread(client, text)

    handler = Recorder()
    async with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
    ) as stream:
        run = await stream.get_final_run()
    assert handler.names[-1] == "thread.run.requires_action"
    assert "thread.run.step.delta" in handler.names
    assert run.status == "requires_action"
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("get_time", {"tz": "UTC"})
    ]
    with pytest.raises(openai.BadRequestError, match="Expected tool outputs"):
        await client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": "call_x", "output": "?"}]
        )

    handler = Recorder()
    async with client.beta.threads.runs.submit_tool_outputs_stream(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": calls[0].id, "output": "12:00"}],
        event_handler=handler,
    ) as stream:
        run = await stream.get_final_run()
    assert run.status == "completed"
    assert handler.deltas == tool_reply_tokens(text, [("get_time", "12:00")])
    assert handler.names[:3] == [
        "thread.run.step.completed",
        "thread.run.queued",
        "thread.run.in_progress",
    ]

    steps = await client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc")
    assert [s.type for s in steps.data] == ["tool_calls", "message_creation"]
    assert steps.data[0].step_details.tool_calls[0].function.output == "12:00"


async def test_function_tool_call_with_polling(api_url):
    client = make_client(api_url)
    assistant = await new_assistant(client, tools=[CLOCK_TOOL])
    thread = await new_thread(client, "call get_time")
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id
    )
    assert run.status == "requires_action"
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    run = await client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "9"}]
    )
    assert run.status == "completed"
    reply = await last_message(client, thread.id)
    assert message_text(reply) == "".join(tool_reply_tokens("call get_time", [("get_time", "9")]))


async def test_cancel_a_run_waiting_for_tool_outputs(api_url):
    client = make_client(api_url)
    assistant = await new_assistant(client, tools=[CLOCK_TOOL])
    thread = await new_thread(client, "call get_time")
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id
    )
    assert run.status == "requires_action"
    cancelled = await client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelled.status == "cancelled" and cancelled.required_action is None
