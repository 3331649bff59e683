"""Contract tests: the raw JSON of chat completions, their chunks and the models list
validates strictly against the openai SDK's own models (see tests/localai/test_contract.py)."""

import json

import pytest
from django.conf import settings
from openai.types import Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.shared import ErrorObject

from tests.localai.test_contract import RawAPI, strict

MODEL = "local-echo-1"
CLOCK = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}


@pytest.fixture
async def raw(site_server):
    api = RawAPI(
        f"{site_server.base_url}/local/v1",
        headers={"Authorization": f"Bearer {settings.LOCAL_PROVIDER_API_KEY}"},
    )
    yield api
    await api.close()


async def data_lines(raw: RawAPI, body: dict) -> list[str]:
    """The `data:` payloads of a stream, `[DONE]` included; no line carries `event:`."""
    lines = []
    async with raw.http.stream("POST", "/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            assert not line.startswith("event:")
            if line.startswith("data: "):
                lines.append(line.removeprefix("data: "))
    return lines


async def chunks(raw: RawAPI, body: dict, *, done: bool = True) -> list[ChatCompletionChunk]:
    lines = await data_lines(raw, {"model": MODEL, "stream": True, **body})
    assert (lines[-1] == "[DONE]") is done
    return [strict(ChatCompletionChunk, json.loads(line)) for line in lines if line != "[DONE]"]


async def test_completions_validate(raw):
    def ask(text: str, **options) -> dict:
        return {"model": MODEL, "messages": [{"role": "user", "content": text}], **options}

    reply = strict(ChatCompletion, await raw.call("POST", "/chat/completions", ask("Hello")))
    assert reply.choices[0].finish_reason == "stop" and reply.usage.total_tokens > 0
    call = strict(
        ChatCompletion,
        await raw.call("POST", "/chat/completions", ask("call get_time", tools=[CLOCK])),
    )
    assert call.choices[0].finish_reason == "tool_calls"
    tool_call = call.choices[0].message.tool_calls[0]
    answer = await raw.call(
        "POST",
        "/chat/completions",
        {
            "model": MODEL,
            "tools": [CLOCK],
            "messages": [
                {"role": "user", "content": "call get_time"},
                call.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": tool_call.id, "content": "noon"},
            ],
        },
    )
    strict(ChatCompletion, answer)
    limited = strict(
        ChatCompletion, await raw.call("POST", "/chat/completions", ask("Long", max_tokens=2))
    )
    assert limited.choices[0].finish_reason == "length"


async def test_every_chunk_validates(raw):
    text = await chunks(
        raw,
        {
            "messages": [{"role": "user", "content": "Hello [[tokens:4]]"}],
            "stream_options": {"include_usage": True},
        },
    )
    assert text[0].choices[0].delta.role == "assistant"
    assert text[-2].choices[0].finish_reason == "stop"
    assert text[-1].choices == [] and text[-1].usage.completion_tokens == 4
    calls = await chunks(
        raw,
        {
            "messages": [{"role": "user", "content": "call get_time\ncall get_time"}],
            "tools": [CLOCK],
        },
    )
    assert calls[-1].choices[0].finish_reason == "tool_calls"
    assert {call.index for chunk in calls for call in chunk.choices[0].delta.tool_calls or []} == {
        0,
        1,
    }
    cut = await chunks(raw, {"messages": [{"role": "user", "content": "[[cut:2]]"}]}, done=False)
    assert len(cut) == 3
    lines = await data_lines(
        raw,
        {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "[[run_fail]]"}]},
    )
    error = json.loads(lines[-1])
    assert set(error) == {"error"}
    strict(ErrorObject, error["error"])


async def test_models_validate(raw):
    listed = await raw.call("GET", "/models")
    assert set(listed) == {"object", "data"} and listed["object"] == "list"
    for item in listed["data"]:
        strict(Model, item)
    strict(Model, await raw.call("GET", f"/models/{MODEL}"))


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/models/unknown-model", None, 404),
        ("POST", "/chat/completions", {"messages": [{"role": "user", "content": "x"}]}, 400),
        ("POST", "/chat/completions", {"model": MODEL, "messages": []}, 400),
        (
            "POST",
            "/chat/completions",
            {"model": MODEL, "n": 3, "messages": [{"role": "user", "content": "x"}]},
            400,
        ),
        (
            "POST",
            "/chat/completions",
            {"model": MODEL, "messages": [{"role": "user", "content": "[[fail:429]]"}]},
            429,
        ),
        ("GET", "/chat/completions", None, 405),
    ],
)
async def test_errors_validate(raw, method, path, body, status):
    raw_body = await raw.call(method, path, body, status=status)
    assert set(raw_body) == {"error"}
    strict(ErrorObject, raw_body["error"])
