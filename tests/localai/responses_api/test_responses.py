"""The Responses API through the real SDK: streamed and not, on a conversation, function
calls, cancel, background responses."""

import asyncio
import json
import time

import openai
import pytest

from localai.engine.model import reply_text, reply_tokens, tool_reply_tokens
from tests.localai.responses_api.test_conversations import texts
from tests.localai.sdk import make_client, stream_events, wait_for_response

MODEL = "local-echo-1"
CLOCK_TOOL = {
    "type": "function",
    "name": "get_time",
    "description": "The current time in a time zone",
    "parameters": {
        "type": "object",
        "properties": {"tz": {"type": "string"}},
        "required": ["tz"],
        "additionalProperties": False,
    },
}
TEXT_EVENTS_BEFORE = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
]
TEXT_EVENTS_AFTER = [
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
]


async def test_create_without_stream_answers_the_completed_response(api_url):
    client = make_client(api_url)
    response = await client.responses.create(
        model=MODEL, instructions="Answer briefly.", input="What is the **plan**?"
    )
    assert response.id.startswith("resp_") and response.object == "response"
    assert response.status == "completed" and response.completed_at is not None
    assert (response.model, response.instructions) == (MODEL, "Answer briefly.")
    assert response.output_text == reply_text("What is the **plan**?")
    [message] = response.output
    assert (message.type, message.role, message.status) == ("message", "assistant", "completed")
    assert message.id.startswith("msg_")
    assert response.usage.output_tokens == len(reply_tokens("What is the **plan**?"))
    assert response.usage.input_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    assert response.conversation is None and response.error is None

    fetched = await client.responses.retrieve(response.id)
    assert fetched.model_dump() == response.model_dump()
    input_items = await client.responses.input_items.list(response.id)
    assert texts(input_items.data) == [("message", "user", "What is the **plan**?")]


async def test_stream_sends_the_real_event_sequence(api_url):
    client = make_client(api_url)
    text = "Stream this [[tokens:6]]"
    events = await stream_events(client, model=MODEL, input=text)
    names = [event.type for event in events]
    deltas = ["response.output_text.delta"] * 6
    assert names == [*TEXT_EVENTS_BEFORE, *deltas, *TEXT_EVENTS_AFTER, "response.completed"]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert events[0].response.status == "in_progress" and events[0].response.output == []

    item_id = events[2].item.id
    deltas = [event for event in events if event.type == "response.output_text.delta"]
    assert [event.delta for event in deltas] == reply_tokens(text)
    assert all(
        (event.item_id, event.output_index, event.content_index, event.logprobs)
        == (item_id, 0, 0, [])
        for event in deltas
    )
    assert events[-4].text == reply_text(text)
    assert events[-2].item.status == "completed"
    completed = events[-1].response
    assert completed.status == "completed" and completed.output_text == reply_text(text)
    assert completed.usage.output_tokens == 6


async def test_stream_helper_parses_the_stream(api_url):
    client = make_client(api_url)
    text = "Helper [[delay:0.01]]"
    deltas = []
    async with client.responses.stream(model=MODEL, input=text) as stream:
        async for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
                # The helper accumulates a snapshot of the text so far.
                assert event.snapshot == "".join(deltas)
        final = await stream.get_final_response()
    assert deltas == reply_tokens(text)
    assert final.output_text == reply_text(text)
    assert final.status == "completed"


async def test_a_conversation_collects_inputs_and_outputs(api_url):
    client = make_client(api_url)
    conversation = await client.conversations.create(metadata={"chat": "1"})
    first = await client.responses.create(
        model=MODEL, input="First question", conversation=conversation.id
    )
    assert first.conversation.id == conversation.id
    async with client.responses.stream(
        model=MODEL, input="Second question", conversation={"id": conversation.id}
    ) as stream:
        second = await stream.get_final_response()
    assert second.output_text == reply_text("Second question")

    items = await client.conversations.items.list(conversation.id, order="asc")
    assert texts(items.data) == [
        ("message", "user", "First question"),
        ("message", "assistant", reply_text("First question")),
        ("message", "user", "Second question"),
        ("message", "assistant", reply_text("Second question")),
    ]
    assert items.data[1].id == first.output[0].id
    # The prompt grows with the conversation.
    assert second.usage.input_tokens > first.usage.input_tokens

    with pytest.raises(openai.NotFoundError, match="conv_missing"):
        await client.responses.create(model=MODEL, input="x", conversation="conv_missing")


async def test_previous_response_id_chains_context(api_url):
    client = make_client(api_url)
    first = await client.responses.create(model=MODEL, input="Remember me")
    second = await client.responses.create(
        model=MODEL, input="And me", previous_response_id=first.id
    )
    assert second.previous_response_id == first.id
    assert second.output_text == reply_text("And me")
    assert second.usage.input_tokens > first.usage.input_tokens
    with pytest.raises(openai.BadRequestError, match="Mutually exclusive"):
        conversation = await client.conversations.create()
        await client.responses.create(
            model=MODEL, input="x", conversation=conversation.id, previous_response_id=first.id
        )
    with pytest.raises(openai.BadRequestError, match="resp_missing"):
        await client.responses.create(model=MODEL, input="x", previous_response_id="resp_missing")


async def test_function_call_round_trip_on_a_conversation(api_url):
    client = make_client(api_url)
    conversation = await client.conversations.create()
    text = 'What time is it?\ncall get_time {"tz": "UTC"}'
    events = await stream_events(
        client, model=MODEL, input=text, conversation=conversation.id, tools=[CLOCK_TOOL]
    )
    names = [event.type for event in events]
    assert names[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert "response.function_call_arguments.delta" in names
    assert names[-3:] == [
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    arguments = "".join(
        event.delta for event in events if event.type == "response.function_call_arguments.delta"
    )
    assert json.loads(arguments) == {"tz": "UTC"}
    completed = events[-1].response
    [call] = completed.output
    assert (call.type, call.name, call.status) == ("function_call", "get_time", "completed")
    assert call.call_id.startswith("call_") and call.id.startswith("fc_")
    assert json.loads(call.arguments) == {"tz": "UTC"}
    # Echoed with the Responses API's defaults.
    assert completed.tools[0].name == "get_time" and completed.tools[0].strict is True

    # The app runs the function and sends its output; the reply quotes it.
    async with client.responses.stream(
        model=MODEL,
        conversation=conversation.id,
        tools=[CLOCK_TOOL],
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "12:00"}],
    ) as stream:
        deltas = [event.delta async for event in stream if event.type.endswith("text.delta")]
        reply = await stream.get_final_response()
    assert deltas == tool_reply_tokens(text, [("get_time", "12:00")])
    assert reply.output_text == "".join(deltas)

    items = await client.conversations.items.list(conversation.id, order="asc")
    assert [row[0] for row in texts(items.data)] == [
        "message",
        "function_call",
        "function_call_output",
        "message",
    ]
    assert items.data[1].call_id == items.data[2].call_id == call.call_id


async def test_function_call_round_trip_without_stored_state(api_url):
    client = make_client(api_url)
    text = "call get_time"
    first = await client.responses.create(model=MODEL, input=text, tools=[CLOCK_TOOL])
    [call] = first.output
    # A client that keeps the state itself sends the call back with its output.
    reply = await client.responses.create(
        model=MODEL,
        tools=[CLOCK_TOOL],
        input=[
            {"role": "user", "content": text},
            call.model_dump(include={"type", "call_id", "name", "arguments"}),
            {"type": "function_call_output", "call_id": call.call_id, "output": "9"},
        ],
    )
    assert reply.output_text == "".join(tool_reply_tokens(text, [("get_time", "9")]))

    with pytest.raises(openai.BadRequestError, match="No tool call found"):
        await client.responses.create(
            model=MODEL,
            input=[{"type": "function_call_output", "call_id": "call_unknown", "output": "?"}],
        )


async def test_function_lines_are_text_without_the_tool_or_with_tool_choice_none(api_url):
    client = make_client(api_url)
    plain = await client.responses.create(model=MODEL, input="call get_time")
    assert plain.output_text == reply_text("call get_time")
    refused = await client.responses.create(
        model=MODEL, input="call get_time", tools=[CLOCK_TOOL], tool_choice="none"
    )
    assert refused.output[0].type == "message" and refused.tool_choice == "none"
    with pytest.raises(openai.BadRequestError) as error:
        # The Assistants API's nested tool shape is not the Responses API's.
        await client.responses.create(
            model=MODEL, input="x", tools=[{"type": "function", "function": {"name": "get_time"}}]
        )
    assert error.value.body["param"] == "tools[0].name"


async def test_max_output_tokens_ends_the_response_incomplete(api_url):
    client = make_client(api_url)
    events = await stream_events(
        client, model=MODEL, input="Long [[tokens:40]]", max_output_tokens=16
    )
    assert [e.type for e in events].count("response.output_text.delta") == 16
    assert events[-1].type == "response.incomplete"
    incomplete = events[-1].response
    assert incomplete.status == "incomplete"
    assert incomplete.incomplete_details.reason == "max_output_tokens"
    assert incomplete.output[0].status == "incomplete"
    with pytest.raises(openai.BadRequestError, match=">= 16"):
        await client.responses.create(model=MODEL, input="x", max_output_tokens=5)


async def test_cancel_stops_a_streaming_response(api_url):
    client = make_client(api_url)
    conversation = await client.conversations.create()
    text = "Long one [[delay:0.02]] [[tokens:300]]"
    stream = await client.responses.create(
        model=MODEL, input=text, conversation=conversation.id, stream=True
    )
    deltas, names = [], []
    cancelled_at = None
    async with stream:
        async for event in stream:
            names.append(event.type)
            if event.type == "response.created":
                response_id = event.response.id
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
                if len(deltas) == 5:
                    cancelled = await client.responses.cancel(response_id)
                    assert cancelled.status == "cancelled"
                    cancelled_at = time.monotonic()
    # The stream stops soon after the cancel, closing the message; the API has no terminal
    # event for a cancelled response.
    assert time.monotonic() - cancelled_at < 2.0
    assert 5 <= len(deltas) < 100
    assert names[-3:] == TEXT_EVENTS_AFTER
    assert deltas == reply_tokens(text)[: len(deltas)]

    response = await wait_for_response(client, response_id, {"cancelled"})
    assert response.output[0].status == "incomplete"
    assert response.output_text == "".join(deltas)
    assert response.usage.output_tokens == len(deltas)
    items = await client.conversations.items.list(conversation.id, order="asc")
    assert texts(items.data)[-1] == ("message", "assistant", "".join(deltas))
    # Idempotent; a finished response cannot be cancelled.
    assert (await client.responses.cancel(response_id)).status == "cancelled"
    done = await client.responses.create(model=MODEL, input="Short", conversation=conversation.id)
    with pytest.raises(openai.BadRequestError, match="Cannot cancel a completed response"):
        await client.responses.cancel(done.id)


async def test_client_that_goes_away_leaves_a_cancelled_response(api_url):
    client = make_client(api_url)
    conversation = await client.conversations.create()
    stream = await client.responses.create(
        model=MODEL,
        input="Abandon me [[delay:0.05]] [[tokens:200]]",
        conversation=conversation.id,
        stream=True,
    )
    deltas = 0
    async for event in stream:
        if event.type == "response.created":
            response_id = event.response.id
        if event.type == "response.output_text.delta":
            deltas += 1
            if deltas == 3:
                break
    await stream.close()

    response = await wait_for_response(client, response_id, {"cancelled"}, timeout=3.0)
    assert response.usage.output_tokens < 200
    assert response.output[0].status == "incomplete"
    # The conversation is free again.
    follow_up = await client.responses.create(model=MODEL, input="Hi", conversation=conversation.id)
    assert follow_up.status == "completed"


async def test_background_response_runs_on_and_can_be_cancelled(api_url):
    client = make_client(api_url)
    queued = await client.responses.create(model=MODEL, input="Quick", background=True)
    assert queued.status == "queued" and queued.background is True
    done = await wait_for_response(client, queued.id, {"completed"})
    assert done.output_text == reply_text("Quick")

    slow = await client.responses.create(
        model=MODEL, input="Slow [[delay:0.05]] [[tokens:200]]", background=True
    )
    await wait_for_response(client, slow.id, {"in_progress"})
    await asyncio.sleep(0.2)
    assert (await client.responses.cancel(slow.id)).status == "cancelled"
    await asyncio.sleep(0.3)
    cancelled = await client.responses.retrieve(slow.id)
    assert cancelled.status == "cancelled" and cancelled.output[0].status == "incomplete"
    assert 0 < cancelled.usage.output_tokens < 200


async def test_one_response_at_a_time_per_conversation(api_url):
    client = make_client(api_url)
    conversation = await client.conversations.create()
    busy = await client.responses.create(
        model=MODEL,
        input="Busy [[delay:0.05]] [[tokens:100]]",
        conversation=conversation.id,
        background=True,
    )
    with pytest.raises(openai.BadRequestError) as error:
        await client.responses.create(model=MODEL, input="Me too", conversation=conversation.id)
    assert error.value.code == "conversation_locked"
    with pytest.raises(openai.BadRequestError):
        await client.conversations.items.create(
            conversation.id, items=[{"role": "user", "content": "More"}]
        )
    await client.responses.cancel(busy.id)
    await asyncio.sleep(0.3)
    after = await client.responses.create(model=MODEL, input="Me too", conversation=conversation.id)
    assert after.status == "completed"


async def test_delete_a_response(api_url):
    client = make_client(api_url)
    conversation = await client.conversations.create()
    response = await client.responses.create(
        model=MODEL, input="Forget me", conversation=conversation.id
    )
    assert await client.responses.delete(response.id) is None
    with pytest.raises(openai.NotFoundError, match=response.id):
        await client.responses.retrieve(response.id)
    # The conversation keeps its items.
    items = await client.conversations.items.list(conversation.id)
    assert len(items.data) == 2
    with pytest.raises(openai.NotFoundError):
        await client.responses.delete(response.id)


async def test_invalid_requests_are_refused(api_url):
    client = make_client(api_url)
    with pytest.raises(openai.BadRequestError) as error:
        await client.responses.create(input="No model")  # type: ignore[call-arg]
    assert error.value.body["param"] == "model"
    with pytest.raises(openai.BadRequestError) as error:
        await client.responses.create(model=MODEL, input=[{"type": "web_search_call"}])
    assert error.value.body["param"] == "input[0].type"
    with pytest.raises(openai.BadRequestError) as error:
        await client.responses.create(model=MODEL, input="x", tools=[{"type": "web_search"}])
    assert error.value.body["param"] == "tools[0].type"


async def test_a_request_without_stream_that_times_out_leaves_a_cancelled_response(api_url):
    client = make_client(api_url)
    conversation = await client.conversations.create()
    with pytest.raises(openai.APITimeoutError):
        await client.responses.create(
            model=MODEL,
            input="Too slow [[delay:0.05]] [[tokens:200]]",
            conversation=conversation.id,
            timeout=0.5,
        )
    # The client gave up: the response stopped, and its partial reply joined the conversation.
    for _ in range(100):
        items = await client.conversations.items.list(conversation.id, order="asc")
        if len(items.data) == 2:
            break
        await asyncio.sleep(0.05)
    reply = items.data[-1]
    assert (reply.role, reply.status) == ("assistant", "incomplete")
    assert 0 < len(reply.content[0].text) < len(reply_text("Too slow [[tokens:200]]"))
    follow_up = await client.responses.create(model=MODEL, input="Hi", conversation=conversation.id)
    assert follow_up.status == "completed"
