"""Contract tests: the raw JSON the provider sends validates strictly against the openai
SDK's own pydantic models, for every object and stream event it returns, in both protocols.

The JSON is read with httpx2 directly (not through the SDK, which would build its models
with `construct` and accept anything), and validated with `model_validate(raw,
strict=True)`; stream events go through the SDK's discriminated unions
(`ResponseStreamEvent`, `AssistantStreamEvent`) with a pydantic TypeAdapter. Each stream
test also asserts that it saw every event type the provider can send.
"""

import asyncio
import json

import httpx2
import pytest
from django.conf import settings
from openai.types.beta import (
    Assistant,
    AssistantDeleted,
    AssistantStreamEvent,
    Thread,
    ThreadDeleted,
)
from openai.types.beta.threads import Message, Run
from openai.types.beta.threads.runs import RunStep
from openai.types.conversations import (
    Conversation,
    ConversationDeletedResource,
    ConversationItem,
    ConversationItemList,
)
from openai.types.responses import Response, ResponseItemList, ResponseStreamEvent
from openai.types.shared import ErrorObject
from pydantic import TypeAdapter

from tests.localai.sdk import AZURE_API_VERSION

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RESPONSE_EVENT = TypeAdapter(ResponseStreamEvent)
ASSISTANT_EVENT = TypeAdapter(AssistantStreamEvent)
CONVERSATION_ITEM = TypeAdapter(ConversationItem)
MODEL = "local-echo-1"
CLOCK_TOOL = {"type": "function", "name": "get_time", "parameters": {"type": "object"}}
NESTED_CLOCK_TOOL = {"type": "function", "function": {"name": "get_time"}}

# Every event type each protocol's streams can carry.
RESPONSE_EVENT_TYPES = {
    "response.created",
    "response.queued",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.completed",
    "response.failed",
    "response.incomplete",
}
ASSISTANT_EVENT_TYPES = {
    *(
        f"thread.run.{name}"
        for name in (
            "created",
            "queued",
            "in_progress",
            "requires_action",
            "completed",
            "cancelled",
            "failed",
            "expired",
        )
    ),
    *(
        f"thread.run.step.{name}"
        for name in (
            "created",
            "in_progress",
            "delta",
            "completed",
            "cancelled",
            "failed",
            "expired",
        )
    ),
    *(
        f"thread.message.{name}"
        for name in ("created", "in_progress", "delta", "completed", "incomplete")
    ),
}


def strict(model, raw: dict):
    return model.model_validate(raw, strict=True)


class RawAPI:
    """The provider's HTTP API read as raw JSON and raw server-sent events."""

    def __init__(self, base_url: str, *, headers: dict, params: dict | None = None):
        self.http = httpx2.AsyncClient(
            base_url=base_url, headers=headers, params=params or {}, timeout=15
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def call(self, method: str, path: str, body: dict | None = None, status=200) -> dict:
        response = await self.http.request(method, path, json=body)
        assert response.status_code == status, response.text
        return response.json()

    async def events(self, path: str, body: dict, *, on_event=None) -> list[tuple[str, dict]]:
        """(event name, data) of each event; `on_event` may act while the stream runs."""
        events = []
        async with self.http.stream("POST", path, json=body) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            name = None
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: ") and name != "done":
                    events.append((name, json.loads(line.removeprefix("data: "))))
                    if on_event:
                        await on_event(events)
        return events


@pytest.fixture
async def raw(site_server):
    api = RawAPI(
        f"{site_server.base_url}/local/v1",
        headers={
            "Authorization": f"Bearer {settings.LOCAL_PROVIDER_API_KEY}",
            "OpenAI-Beta": "assistants=v2",
        },
    )
    yield api
    await api.close()


@pytest.fixture
async def raw_azure(site_server):
    api = RawAPI(
        f"{site_server.base_url}/local/openai",
        headers={"api-key": settings.LOCAL_PROVIDER_API_KEY},
        params={"api-version": AZURE_API_VERSION},
    )
    yield api
    await api.close()


def validate_response_events(events: list[tuple[str, dict]]) -> list:
    validated = []
    for name, data in events:
        # The SSE event name is the event's type, as in the real API.
        assert name == data["type"]
        event = RESPONSE_EVENT.validate_python(data, strict=True)
        assert event.type == data["type"]
        if hasattr(event, "response"):
            strict(Response, data["response"])
        validated.append(event)
    assert [event.sequence_number for event in validated] == list(range(len(validated)))
    return validated


def validate_assistant_events(events: list[tuple[str, dict]]) -> list:
    validated = []
    for name, data in events:
        event = ASSISTANT_EVENT.validate_python({"event": name, "data": data}, strict=True)
        assert event.event == name
        validated.append(event)
    return validated


# --- Responses API and Conversations API -----------------------------------------------------


async def test_response_and_conversation_objects_validate(raw):
    conversation = strict(
        Conversation,
        await raw.call(
            "POST",
            "/conversations",
            {"items": [{"role": "user", "content": "Earlier"}], "metadata": {"k": "v"}},
        ),
    )
    strict(Conversation, await raw.call("GET", f"/conversations/{conversation.id}"))
    strict(
        Conversation,
        await raw.call("POST", f"/conversations/{conversation.id}", {"metadata": {"k": "w"}}),
    )
    added = await raw.call(
        "POST",
        f"/conversations/{conversation.id}/items",
        {
            "items": [
                {"role": "assistant", "content": "Reply"},
                {"type": "function_call", "call_id": "call_a", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "call_a", "output": "done"},
                {"role": "developer", "content": [{"type": "input_text", "text": "Rule"}]},
            ]
        },
    )
    strict(ConversationItemList, added)

    body = {"model": MODEL, "input": "Hello", "conversation": conversation.id}
    response = strict(Response, await raw.call("POST", "/responses", body))
    assert response.status == "completed"
    strict(Response, await raw.call("GET", f"/responses/{response.id}"))
    strict(ResponseItemList, await raw.call("GET", f"/responses/{response.id}/input_items"))
    call = strict(
        Response,
        await raw.call(
            "POST",
            "/responses",
            {**body, "input": "call get_time {}", "tools": [CLOCK_TOOL], "tool_choice": "auto"},
        ),
    )
    follow_up = {
        **body,
        "input": [
            {"type": "function_call_output", "call_id": call.output[0].call_id, "output": "9"}
        ],
        "tools": [CLOCK_TOOL],
        "tool_choice": {"type": "function", "name": "get_time"},
    }
    strict(Response, await raw.call("POST", "/responses", follow_up))

    listed = await raw.call("GET", f"/conversations/{conversation.id}/items?order=asc")
    strict(ConversationItemList, listed)
    kinds = {item["type"] for item in listed["data"]}
    assert kinds == {"message", "function_call", "function_call_output"}
    for item in listed["data"]:
        CONVERSATION_ITEM.validate_python(item, strict=True)
        fetched = await raw.call("GET", f"/conversations/{conversation.id}/items/{item['id']}")
        CONVERSATION_ITEM.validate_python(fetched, strict=True)
    first_item = listed["data"][0]["id"]
    strict(
        Conversation,
        await raw.call("DELETE", f"/conversations/{conversation.id}/items/{first_item}"),
    )

    background = strict(
        Response, await raw.call("POST", "/responses", {**body, "background": True})
    )
    assert background.status == "queued"
    cancelled = strict(Response, await raw.call("POST", f"/responses/{background.id}/cancel"))
    assert cancelled.status == "cancelled"

    # The SDK has no model for a deleted response (it returns None): the real API's shape.
    deleted = await raw.call("DELETE", f"/responses/{response.id}")
    assert deleted == {"id": response.id, "object": "response", "deleted": True}
    await asyncio.sleep(0.2)  # the cancelled background response finishes its items
    strict(
        ConversationDeletedResource,
        await raw.call("DELETE", f"/conversations/{conversation.id}"),
    )


async def test_every_response_stream_event_validates(raw, raw_azure):
    seen: set[str] = set()

    async def stream(body: dict, api=raw, **options) -> list:
        events = validate_response_events(
            await api.events("/responses", {"model": MODEL, "stream": True, **body}, **options)
        )
        seen.update(event.type for event in events)
        return events

    conversation = (await raw.call("POST", "/conversations", {}))["id"]
    text = await stream({"input": "Hello [[tokens:5]]", "conversation": conversation})
    assert text[-1].type == "response.completed"
    calls = await stream(
        {
            "input": 'call get_time {"tz": "UTC"}',
            "tools": [CLOCK_TOOL],
            "conversation": conversation,
        }
    )
    call_id = calls[-1].response.output[0].call_id
    reply = await stream(
        {
            "input": [{"type": "function_call_output", "call_id": call_id, "output": "noon"}],
            "tools": [CLOCK_TOOL],
            "conversation": conversation,
        }
    )
    assert reply[-1].type == "response.completed"
    assert (await stream({"input": "Oops [[run_fail]]"}))[-1].type == "response.failed"
    assert (await stream({"input": "Late [[expire]]"}))[-1].type == "response.incomplete"
    limited = await stream({"input": "Long [[tokens:30]]", "max_output_tokens": 16})
    assert limited[-1].type == "response.incomplete"
    queued = await stream({"input": "Later [[tokens:3]]", "background": True})
    assert [event.type for event in queued[:3]] == [
        "response.created",
        "response.queued",
        "response.in_progress",
    ]
    cut = await stream({"input": "Cut [[cut:2]]"})
    assert cut[-1].type == "response.output_text.delta"

    async def cancel_after_three_deltas(events):
        deltas = [name for name, _ in events if name == "response.output_text.delta"]
        if len(deltas) == 3 and events[-1][0] == "response.output_text.delta":
            await raw.call("POST", f"/responses/{events[0][1]['response']['id']}/cancel")

    cancelled = await stream(
        {"input": "Stop me [[delay:0.02]] [[tokens:200]]"}, on_event=cancel_after_three_deltas
    )
    assert cancelled[-1].type == "response.output_item.done"
    assert cancelled[-1].item.status == "incomplete"

    # The Azure-style routes send the very same events.
    azure = await stream({"input": "Azure [[tokens:3]]"}, api=raw_azure)
    assert azure[-1].type == "response.completed"
    assert seen == RESPONSE_EVENT_TYPES


# --- Assistants API ----------------------------------------------------------------------------


async def _wait_for_run(raw: RawAPI, thread_id: str, run_id: str, statuses: set[str]) -> dict:
    for _ in range(250):
        run = await raw.call("GET", f"/threads/{thread_id}/runs/{run_id}")
        if run["status"] in statuses:
            return run
        await asyncio.sleep(0.02)
    raise AssertionError(f"run still {run['status']}")


async def test_assistants_objects_validate(raw):
    assistant = strict(
        Assistant,
        await raw.call(
            "POST",
            "/assistants",
            {
                "model": MODEL,
                "name": "Strict",
                "tools": [NESTED_CLOCK_TOOL],
                "metadata": {"k": "v"},
            },
        ),
    )
    strict(Assistant, await raw.call("POST", f"/assistants/{assistant.id}", {"name": "Stricter"}))
    assistants = await raw.call("GET", "/assistants?limit=2")
    assert set(assistants) == {"object", "data", "first_id", "last_id", "has_more"}
    for item in assistants["data"]:
        strict(Assistant, item)

    thread = strict(
        Thread,
        await raw.call("POST", "/threads", {"messages": [{"role": "user", "content": "Hi"}]}),
    )
    strict(Thread, await raw.call("POST", f"/threads/{thread.id}", {"metadata": {"k": "v"}}))
    run = strict(
        Run, await raw.call("POST", f"/threads/{thread.id}/runs", {"assistant_id": assistant.id})
    )
    assert run.status == "queued"
    strict(Run, await _wait_for_run(raw, thread.id, run.id, {"completed"}))
    runs = await raw.call("GET", f"/threads/{thread.id}/runs")
    for item in runs["data"]:
        strict(Run, item)
    messages = await raw.call("GET", f"/threads/{thread.id}/messages")
    for item in messages["data"]:
        strict(Message, item)
        strict(Message, await raw.call("GET", f"/threads/{thread.id}/messages/{item['id']}"))
    steps = await raw.call("GET", f"/threads/{thread.id}/runs/{run.id}/steps")
    for item in steps["data"]:
        strict(RunStep, item)
        strict(
            RunStep, await raw.call("GET", f"/threads/{thread.id}/runs/{run.id}/steps/{item['id']}")
        )

    # A run waiting for tool outputs, then given them; and a run being cancelled.
    strict(
        Message,
        await raw.call(
            "POST", f"/threads/{thread.id}/messages", {"role": "user", "content": "call get_time"}
        ),
    )
    waiting = await raw.call("POST", f"/threads/{thread.id}/runs", {"assistant_id": assistant.id})
    waiting = strict(Run, await _wait_for_run(raw, thread.id, waiting["id"], {"requires_action"}))
    call = waiting.required_action.submit_tool_outputs.tool_calls[0]
    submitted = await raw.call(
        "POST",
        f"/threads/{thread.id}/runs/{waiting.id}/submit_tool_outputs",
        {"tool_outputs": [{"tool_call_id": call.id, "output": "noon"}]},
    )
    strict(Run, submitted)
    strict(Run, await _wait_for_run(raw, thread.id, waiting.id, {"completed"}))
    await raw.call(
        "POST", f"/threads/{thread.id}/messages", {"role": "user", "content": "Slow [[delay:0.05]]"}
    )
    slow = await raw.call("POST", f"/threads/{thread.id}/runs", {"assistant_id": assistant.id})
    await _wait_for_run(raw, thread.id, slow["id"], {"in_progress"})
    cancelling = strict(
        Run, await raw.call("POST", f"/threads/{thread.id}/runs/{slow['id']}/cancel")
    )
    assert cancelling.status == "cancelling"
    strict(Run, await _wait_for_run(raw, thread.id, slow["id"], {"cancelled"}))

    strict(ThreadDeleted, await raw.call("DELETE", f"/threads/{thread.id}"))
    strict(AssistantDeleted, await raw.call("DELETE", f"/assistants/{assistant.id}"))


async def test_every_assistant_stream_event_validates(raw):
    assistant = await raw.call(
        "POST", "/assistants", {"model": MODEL, "tools": [NESTED_CLOCK_TOOL]}
    )
    seen: set[str] = set()

    async def stream(text: str, **options) -> tuple[str, list]:
        thread = await raw.call(
            "POST", "/threads", {"messages": [{"role": "user", "content": text}]}
        )
        events = validate_assistant_events(
            await raw.events(
                f"/threads/{thread['id']}/runs",
                {"assistant_id": assistant["id"], "stream": True},
                **options,
            )
        )
        seen.update(event.event for event in events)
        return thread["id"], events

    _, completed = await stream("Hello [[tokens:4]]")
    assert completed[-1].event == "thread.run.completed"
    thread_id, waiting = await stream("call get_time")
    assert waiting[-1].event == "thread.run.requires_action"
    run = waiting[-1].data
    submitted = validate_assistant_events(
        await raw.events(
            f"/threads/{thread_id}/runs/{run.id}/submit_tool_outputs",
            {
                "stream": True,
                "tool_outputs": [
                    {
                        "tool_call_id": run.required_action.submit_tool_outputs.tool_calls[0].id,
                        "output": "noon",
                    }
                ],
            },
        )
    )
    seen.update(event.event for event in submitted)
    assert submitted[-1].event == "thread.run.completed"
    assert (await stream("Oops [[run_fail]]"))[1][-1].event == "thread.run.failed"
    assert (await stream("Late [[expire]]"))[1][-1].event == "thread.run.expired"

    async def cancel_after_three_deltas(events):
        deltas = [name for name, _ in events if name == "thread.message.delta"]
        if len(deltas) == 3 and events[-1][0] == "thread.message.delta":
            run = events[0][1]
            await raw.call("POST", f"/threads/{run['thread_id']}/runs/{run['id']}/cancel")

    _, cancelled = await stream(
        "Stop me [[delay:0.02]] [[tokens:200]]", on_event=cancel_after_three_deltas
    )
    assert cancelled[-1].event == "thread.run.cancelled"
    assert seen == ASSISTANT_EVENT_TYPES


# --- Errors ------------------------------------------------------------------------------------


async def test_error_bodies_validate(raw, raw_azure, site_server):
    async def error(api: RawAPI, method: str, path: str, body: dict | None, status: int) -> dict:
        raw_body = await api.call(method, path, body, status=status)
        assert set(raw_body) == {"error"}
        return strict(ErrorObject, raw_body["error"])

    assert (await error(raw, "POST", "/responses", {"input": "x"}, 400)).param == "model"
    await error(raw, "POST", "/assistants", {}, 400)
    await error(raw, "GET", "/responses/resp_missing", None, 404)
    await error(raw, "GET", "/conversations/conv_missing", None, 404)
    await error(raw, "DELETE", "/conversations", None, 405)
    await error(raw, "GET", "/nothing/here", None, 404)
    limited = await error(raw, "POST", "/responses", {"model": MODEL, "input": "[[fail:429]]"}, 429)
    assert limited.code == "rate_limit_exceeded"
    failed = await error(raw, "POST", "/responses", {"model": MODEL, "input": "[[fail:500]]"}, 500)
    assert failed.type == "server_error"
    conversation = (await raw.call("POST", "/conversations", {}))["id"]
    await raw.call(
        "POST",
        "/responses",
        {
            "model": MODEL,
            "input": "Busy [[delay:0.05]]",
            "conversation": conversation,
            "background": True,
        },
    )
    locked = await error(
        raw, "POST", "/responses", {"model": MODEL, "input": "x", "conversation": conversation}, 400
    )
    assert locked.code == "conversation_locked"

    anonymous = RawAPI(f"{site_server.base_url}/local/v1", headers={})
    assert (await error(anonymous, "GET", "/conversations/conv_x", None, 401)).message
    await anonymous.close()
    wrong_key = RawAPI(
        f"{site_server.base_url}/local/v1", headers={"Authorization": "Bearer sk-wrong-key"}
    )
    assert (await error(wrong_key, "GET", "/conversations/conv_x", None, 401)).code == (
        "invalid_api_key"
    )
    await wrong_key.close()

    # Azure-style errors: the gateway's codes, in the same envelope.
    gone = await error(raw_azure, "GET", "/assistants", None, 410)
    assert gone.code == "Gone"
    no_version = RawAPI(
        f"{site_server.base_url}/local/openai",
        headers={"api-key": settings.LOCAL_PROVIDER_API_KEY},
    )
    missing = await error(no_version, "GET", "/conversations/conv_x", None, 400)
    assert missing.code == "MissingApiVersionParameter"
    await no_version.close()
    bad_key = RawAPI(
        f"{site_server.base_url}/local/openai",
        headers={"api-key": "wrong"},
        params={"api-version": AZURE_API_VERSION},
    )
    assert (await error(bad_key, "GET", "/conversations/conv_x", None, 401)).code == "401"
    await bad_key.close()
