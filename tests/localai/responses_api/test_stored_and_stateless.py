"""Stored responses continued with `previous_response_id`, `store: false` ones that cannot
be referenced, and stateless clients that send the earlier output items back as input."""

import openai
import pytest

from localai.engine.model import reply_text, tool_reply_tokens
from tests.localai.sdk import make_client, stream_events

MODEL = "local-echo-1"
CLOCK_TOOL = {"type": "function", "name": "get_time", "parameters": {"type": "object"}}


async def test_a_stored_response_is_retrieved_and_continued(api_url):
    client = make_client(api_url)
    first = await client.responses.create(model=MODEL, input="first question", store=True)
    assert first.store is True
    assert (await client.responses.retrieve(first.id)).output_text == first.output_text
    second = await client.responses.create(
        model=MODEL, input="second question", previous_response_id=first.id
    )
    third = await client.responses.create(
        model=MODEL, input="third question [[history]]", previous_response_id=second.id
    )
    # Its context is the chain's input and output items: both earlier questions.
    assert third.output_text == reply_text(
        "third question [[history]]", ["first question", "second question"]
    )
    assert third.usage.input_tokens > second.usage.input_tokens > first.usage.input_tokens
    inputs = await client.responses.input_items.list(third.id)
    assert [item.type for item in inputs.data] == ["message"]


async def test_an_unstored_response_cannot_be_referenced(api_url):
    client = make_client(api_url)
    response = await client.responses.create(model=MODEL, input="forget me", store=False)
    assert response.store is False and response.status == "completed"
    assert response.output_text == reply_text("forget me")
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        await client.responses.input_items.list(response.id)
    with pytest.raises(openai.BadRequestError, match="not found") as error:
        await client.responses.create(
            model=MODEL, input="and then?", previous_response_id=response.id
        )
    assert error.value.param == "previous_response_id"
    streamed = await stream_events(client, model=MODEL, input="streamed", store=False)
    assert streamed[-1].type == "response.completed"
    with pytest.raises(openai.NotFoundError):
        await client.responses.retrieve(streamed[-1].response.id)
    with pytest.raises(openai.BadRequestError, match="store"):
        await client.responses.create(model=MODEL, input="x", store=False, background=True)


async def test_a_stateless_client_sends_the_earlier_output_items_back(api_url):
    """The input holds the earlier turns as the API returned them (message items with
    `output_text`, function calls and their outputs), then the new user message: the model
    answers the new message, not the old tool output."""
    client = make_client(api_url)
    text = "call get_time"
    first = await client.responses.create(model=MODEL, input=text, tools=[CLOCK_TOOL], store=False)
    [call] = first.output
    history = [
        {"role": "user", "content": text},
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "12:00"},
    ]
    answer = await client.responses.create(
        model=MODEL, input=history, tools=[CLOCK_TOOL], store=False
    )
    assert answer.output_text == "".join(tool_reply_tokens(text, [("get_time", "12:00")]))

    history += [item.model_dump(exclude_none=True) for item in answer.output]
    history.append({"role": "user", "content": "What now? [[history]]"})
    later = await client.responses.create(
        model=MODEL, input=history, tools=[CLOCK_TOOL], store=False
    )
    assert later.output_text == reply_text("What now? [[history]]", [text])
    # A new round of calls after the new message is answered from its own outputs.
    history += [item.model_dump(exclude_none=True) for item in later.output]
    history.append({"role": "user", "content": "And again:\ncall get_time"})
    again = await client.responses.create(model=MODEL, input=history, tools=[CLOCK_TOOL])
    assert again.output[0].type == "function_call"
    history += [
        again.output[0].model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": again.output[0].call_id, "output": "13:00"},
    ]
    final = await client.responses.create(model=MODEL, input=history, tools=[CLOCK_TOOL])
    assert final.output_text == "".join(
        tool_reply_tokens("And again:\ncall get_time", [("get_time", "13:00")])
    )


async def test_history_shows_in_a_conversation_and_a_thread(api_url):
    """`[[history]]` quotes the earlier user messages in every protocol."""
    client = make_client(api_url)
    conversation = await client.conversations.create(items=[{"role": "user", "content": "earlier"}])
    response = await client.responses.create(
        model=MODEL, input="now [[history]]", conversation=conversation.id
    )
    assert response.output_text == reply_text("now [[history]]", ["earlier"])

    assistant = await client.beta.assistants.create(model=MODEL)
    thread = await client.beta.threads.create(
        messages=[{"role": "user", "content": "one"}, {"role": "user", "content": "two"}]
    )
    await client.beta.threads.messages.create(thread.id, role="user", content="three [[history]]")
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id
    )
    assert run.status == "completed"
    [message] = (await client.beta.threads.messages.list(thread.id, limit=1)).data
    assert message.content[0].text.value == reply_text("three [[history]]", ["one", "two"])
