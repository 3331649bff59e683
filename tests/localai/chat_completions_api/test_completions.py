"""The Chat Completions API through the real SDK: replies, history, tool calls, usage,
parameters, and Azure's deployment route."""

import json

import openai
import pytest

from localai.engine.model import count_tokens, reply_text, reply_tokens, tool_reply_tokens
from tests.localai.sdk import make_azure_client, make_client

MODEL = "local-echo-1"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
CLOCK = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}


def user(text: str) -> dict:
    return {"role": "user", "content": text}


async def collect(stream) -> tuple[list, str]:
    chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return chunks, text


async def test_a_reply_answers_the_last_user_message(api_url):
    client = make_client(api_url)
    completion = await client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "system", "content": "Be brief."}, user("Hello there")],
    )
    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == MODEL
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == reply_text("Hello there")
    assert choice.finish_reason == "stop"
    assert choice.message.tool_calls is None
    usage = completion.usage
    assert usage.completion_tokens == len(reply_tokens("Hello there"))
    assert usage.prompt_tokens == 4  # "Be brief." and "Hello there"
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


async def test_a_stream_sends_role_then_one_chunk_per_token_then_the_finish(api_url):
    client = make_client(api_url)
    stream = await client.chat.completions.create(
        model=MODEL, messages=[user("Hello stream")], stream=True
    )
    chunks, text = await collect(stream)
    assert text == reply_text("Hello stream")
    assert {chunk.id for chunk in chunks} == {chunks[0].id}
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content == ""
    deltas = [chunk.choices[0].delta.content for chunk in chunks[1:-1]]
    assert deltas == reply_tokens("Hello stream")
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(chunk.choices[0].finish_reason is None for chunk in chunks[:-1])
    assert all(chunk.usage is None for chunk in chunks)


async def test_include_usage_adds_a_last_chunk_with_no_choice(api_url):
    client = make_client(api_url)
    stream = await client.chat.completions.create(
        model=MODEL,
        messages=[user("Count me")],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks, _ = await collect(stream)
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == len(reply_tokens("Count me"))
    assert chunks[-1].usage.prompt_tokens == 2
    assert chunks[-2].choices[0].finish_reason == "stop"


async def test_the_stream_helper_assembles_the_reply(api_url):
    client = make_client(api_url)
    async with client.chat.completions.stream(
        model=MODEL, messages=[user("Helper")], stream_options={"include_usage": True}
    ) as stream:
        async for _ in stream:
            pass
        final = await stream.get_final_completion()
    assert final.choices[0].message.content == reply_text("Helper")
    assert final.usage.completion_tokens == len(reply_tokens("Helper"))


async def test_the_second_turn_sees_the_first(api_url):
    """The reply answers the last user message; with `[[history]]` it also quotes the
    earlier ones, so a test can see that the whole conversation was sent."""
    client = make_client(api_url)
    messages = [user("first question")]
    first = await client.chat.completions.create(model=MODEL, messages=messages)
    messages += [
        {"role": "assistant", "content": first.choices[0].message.content},
        user("second question [[history]]"),
    ]
    second = await client.chat.completions.create(model=MODEL, messages=messages)
    text = second.choices[0].message.content
    assert text == reply_text("second question [[history]]", ["first question"])
    assert "> second question" in text and "> first question" in text
    # Without the directive the reply depends on the last message alone.
    messages[-1] = user("second question")
    plain = await client.chat.completions.create(model=MODEL, messages=messages)
    assert plain.choices[0].message.content == reply_text("second question")
    assert plain.usage.prompt_tokens > first.usage.prompt_tokens


async def test_tool_calls_stream_in_pieces_then_the_outputs_are_quoted(api_url):
    client = make_client(api_url)
    text = 'Weather and time?\ncall get_weather {"city": "Oslo"}\ncall get_time'
    messages = [user(text)]
    stream = await client.chat.completions.create(
        model=MODEL, messages=messages, tools=[WEATHER, CLOCK], stream=True
    )
    chunks, content = await collect(stream)
    assert content == ""
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [call for chunk in chunks for call in chunk.choices[0].delta.tool_calls or []]
    openings = [piece for piece in pieces if piece.id]
    assert [(p.index, p.function.name, p.type) for p in openings] == [
        (0, "get_weather", "function"),
        (1, "get_time", "function"),
    ]
    arguments = {0: "", 1: ""}
    for piece in pieces:
        arguments[piece.index] += piece.function.arguments
    assert json.loads(arguments[0]) == {"city": "Oslo"} and arguments[1] == "{}"
    assert len([piece for piece in pieces if piece.index == 0]) > 2  # split across chunks
    assert chunks[-1].choices[0].finish_reason == "tool_calls"

    # Answered without a stream, the same calls come whole.
    completion = await client.chat.completions.create(
        model=MODEL, messages=messages, tools=[WEATHER, CLOCK]
    )
    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "tool_calls"
    assert message.content is None
    calls = message.tool_calls
    assert [call.function.name for call in calls] == ["get_weather", "get_time"]
    assert completion.usage.completion_tokens == count_tokens(arguments[0]) + count_tokens("{}")

    messages += [
        message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": calls[0].id, "content": "Sunny"},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "12:00"},
    ]
    answer = await client.chat.completions.create(
        model=MODEL, messages=messages, tools=[WEATHER, CLOCK]
    )
    expected = tool_reply_tokens(text, [("get_weather", "Sunny"), ("get_time", "12:00")])
    assert answer.choices[0].message.content == "".join(expected)
    assert answer.choices[0].finish_reason == "stop"

    # A new user message after that round gets an ordinary reply, not the old outputs.
    messages += [answer.choices[0].message.model_dump(exclude_none=True), user("Thanks")]
    later = await client.chat.completions.create(
        model=MODEL, messages=messages, tools=[WEATHER, CLOCK]
    )
    assert later.choices[0].message.content == reply_text("Thanks")


async def test_tools_are_called_only_when_offered_and_allowed(api_url):
    client = make_client(api_url)
    text = "call get_time"
    plain = await client.chat.completions.create(model=MODEL, messages=[user(text)])
    assert plain.choices[0].message.content == reply_text(text)
    refused = await client.chat.completions.create(
        model=MODEL, messages=[user(text)], tools=[CLOCK], tool_choice="none"
    )
    assert refused.choices[0].message.content == reply_text(text)
    single = await client.chat.completions.create(
        model=MODEL,
        messages=[user("call get_time\ncall get_weather")],
        tools=[CLOCK, WEATHER],
        parallel_tool_calls=False,
    )
    assert [call.function.name for call in single.choices[0].message.tool_calls] == ["get_time"]


async def test_tool_messages_must_answer_calls(api_url):
    client = make_client(api_url)
    with pytest.raises(openai.BadRequestError) as error:
        await client.chat.completions.create(
            model=MODEL,
            messages=[user("Hi"), {"role": "tool", "tool_call_id": "call_x", "content": "1"}],
        )
    assert "must be a response to a preceeding message with 'tool_calls'" in error.value.message
    call = {"id": "call_a", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    with pytest.raises(openai.BadRequestError) as error:
        await client.chat.completions.create(
            model=MODEL,
            messages=[user("Hi"), {"role": "assistant", "tool_calls": [call]}, user("Again")],
        )
    assert "call_a" in error.value.message


async def test_max_tokens_cuts_the_reply_with_finish_reason_length(api_url):
    client = make_client(api_url)
    for limit in ({"max_tokens": 3}, {"max_completion_tokens": 3}):
        completion = await client.chat.completions.create(
            model=MODEL, messages=[user("A long message")], **limit
        )
        assert completion.choices[0].finish_reason == "length"
        assert completion.choices[0].message.content == "".join(reply_tokens("A long message")[:3])
        assert completion.usage.completion_tokens == 3
    stream = await client.chat.completions.create(
        model=MODEL, messages=[user("A long message")], max_tokens=2, stream=True
    )
    chunks, text = await collect(stream)
    assert text == "".join(reply_tokens("A long message")[:2])
    assert chunks[-1].choices[0].finish_reason == "length"


async def test_accepted_and_refused_parameters(api_url):
    client = make_client(api_url)
    accepted = await client.chat.completions.create(
        model=MODEL,
        messages=[user("Options")],
        temperature=0.2,
        top_p=0.5,
        user="someone",
        n=1,
        response_format={"type": "text"},
        seed=7,
        presence_penalty=0.1,
        extra_body={"unknown_option": True},
    )
    assert accepted.choices[0].message.content == reply_text("Options")

    async def refused(**options) -> openai.BadRequestError:
        with pytest.raises(openai.BadRequestError) as error:
            await client.chat.completions.create(
                **{"model": MODEL, "messages": [user("x")], **options}
            )
        return error.value

    assert (await refused(n=2)).param == "n"
    assert (await refused(response_format={"type": "json_object"})).param == "response_format"
    assert (await refused(temperature=3)).param == "temperature"
    assert (await refused(max_tokens=0)).param == "max_tokens"
    assert (await refused(max_tokens=5, max_completion_tokens=5)).param == "max_tokens"
    assert (await refused(stream_options={"include_usage": True})).param == "stream_options"
    assert (await refused(tool_choice="auto")).param == "tool_choice"
    flat = {"type": "function", "name": "get_time"}
    assert (await refused(tools=[flat])).param == "tools[0].function"
    assert (await refused(messages=[])).param == "messages"
    assert (await refused(messages=[{"role": "bot", "content": "x"}])).param == "messages[0].role"
    missing = await refused(model=None, extra_body={"model": None})
    assert missing.param == "model"


async def test_the_azure_routes_answer_on_the_deployment(site_url):
    client = make_azure_client(site_url)
    completion = await client.chat.completions.create(model="my-deployment", messages=[user("Az")])
    assert completion.model == "my-deployment"
    assert completion.choices[0].message.content == reply_text("Az")
    v1 = make_client(f"{site_url}/local/openai/v1")
    stream = await v1.chat.completions.create(model=MODEL, messages=[user("V1")], stream=True)
    assert (await collect(stream))[1] == reply_text("V1")
