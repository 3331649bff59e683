"""The raw JSON and SSE on the wire validate strictly against the SDK's own models."""

import json
import time

import httpx2
import pytest
from django.conf import settings
from openai.types.beta import Assistant, AssistantDeleted, Thread, ThreadDeleted
from openai.types.beta.assistant_stream_event import (
    ThreadMessageCompleted,
    ThreadMessageCreated,
    ThreadMessageDelta,
    ThreadMessageInProgress,
    ThreadRunCompleted,
    ThreadRunCreated,
    ThreadRunInProgress,
    ThreadRunQueued,
    ThreadRunRequiresAction,
    ThreadRunStepCompleted,
    ThreadRunStepCreated,
    ThreadRunStepDelta,
    ThreadRunStepInProgress,
)
from openai.types.beta.threads import Message, Run
from openai.types.beta.threads.runs import RunStep

from tests.localai.sdk import make_client, new_assistant, new_thread, wait_for_run

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

EVENT_MODELS = {
    model.model_fields["event"].annotation.__args__[0]: model
    for model in (
        ThreadRunCreated,
        ThreadRunQueued,
        ThreadRunInProgress,
        ThreadRunRequiresAction,
        ThreadRunCompleted,
        ThreadRunStepCreated,
        ThreadRunStepInProgress,
        ThreadRunStepDelta,
        ThreadRunStepCompleted,
        ThreadMessageCreated,
        ThreadMessageInProgress,
        ThreadMessageDelta,
        ThreadMessageCompleted,
    )
}
CLOCK_TOOL = {"type": "function", "function": {"name": "get_time"}}


def strict(model, raw: dict):
    return model.model_validate(raw, strict=True)


def headers() -> dict:
    return {
        "Authorization": f"Bearer {settings.LOCAL_PROVIDER_API_KEY}",
        "OpenAI-Beta": "assistants=v2",
    }


async def read_sse(http: httpx2.AsyncClient, url: str, body: dict) -> list[tuple[str, str, float]]:
    """(event, data, arrival time) of each server-sent event."""
    events = []
    async with http.stream("POST", url, json=body, headers=headers()) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        name = None
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, line.removeprefix("data: "), time.monotonic()))
    return events


async def test_objects_validate_strictly(api_url):
    client = make_client(api_url)
    raw_assistant = await client.beta.assistants.with_raw_response.create(
        model="local-echo-1", name="Strict", tools=[CLOCK_TOOL], metadata={"k": "v"}
    )
    assistant = strict(Assistant, raw_assistant.http_response.json())
    raw_thread = await client.beta.threads.with_raw_response.create(
        messages=[{"role": "user", "content": "Validate me"}]
    )
    thread = strict(Thread, raw_thread.http_response.json())
    run = await client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    await wait_for_run(client, thread.id, run.id, {"completed"})

    raw_run = await client.beta.threads.runs.with_raw_response.retrieve(run.id, thread_id=thread.id)
    assert strict(Run, raw_run.http_response.json()).usage is not None
    raw_messages = await client.beta.threads.messages.with_raw_response.list(thread.id)
    messages = raw_messages.http_response.json()["data"]
    assert [strict(Message, raw).role for raw in messages] == ["assistant", "user"]
    raw_steps = await client.beta.threads.runs.steps.with_raw_response.list(
        run.id, thread_id=thread.id
    )
    for raw in raw_steps.http_response.json()["data"]:
        strict(RunStep, raw)

    raw_deleted = await client.beta.threads.with_raw_response.delete(thread.id)
    strict(ThreadDeleted, raw_deleted.http_response.json())
    raw_deleted = await client.beta.assistants.with_raw_response.delete(assistant.id)
    strict(AssistantDeleted, raw_deleted.http_response.json())


async def test_stream_events_validate_strictly_and_arrive_one_by_one(api_url):
    client = make_client(api_url)
    assistant = await new_assistant(client, tools=[CLOCK_TOOL])
    thread = await new_thread(client, "Pace [[delay:0.05]] [[tokens:8]]")
    async with httpx2.AsyncClient(timeout=10) as http:
        events = await read_sse(
            http,
            f"{api_url}/threads/{thread.id}/runs",
            {"assistant_id": assistant.id, "stream": True},
        )
        assert events[-1][:2] == ("done", "[DONE]")
        for name, data, _ in events[:-1]:
            strict(EVENT_MODELS[name], {"event": name, "data": json.loads(data)})
        deltas = [arrived for name, _, arrived in events if name == "thread.message.delta"]
        assert len(deltas) == 8
        # Streamed as produced, not buffered until the end: the pacing survives the trip.
        assert deltas[-1] - deltas[0] >= 0.25

        await client.beta.threads.messages.create(thread.id, role="user", content="call get_time")
        events = await read_sse(
            http,
            f"{api_url}/threads/{thread.id}/runs",
            {"assistant_id": assistant.id, "stream": True},
        )
        for name, data, _ in events[:-1]:
            strict(EVENT_MODELS[name], {"event": name, "data": json.loads(data)})
        assert [name for name, _, _ in events][-2:] == ["thread.run.requires_action", "done"]
        run = json.loads(events[-2][1])
        call_id = run["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"]
        events = await read_sse(
            http,
            f"{api_url}/threads/{thread.id}/runs/{run['id']}/submit_tool_outputs",
            {"tool_outputs": [{"tool_call_id": call_id, "output": "noon"}], "stream": True},
        )
        for name, data, _ in events[:-1]:
            strict(EVENT_MODELS[name], {"event": name, "data": json.loads(data)})
        assert events[-2][0] == "thread.run.completed"


async def test_errors_have_the_api_shape(api_url):
    async with httpx2.AsyncClient() as http:
        response = await http.post(f"{api_url}/assistants", content=b"{not json", headers=headers())
        missing_model = await http.post(f"{api_url}/assistants", json={}, headers=headers())
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    assert missing_model.status_code == 400
    assert missing_model.json()["error"]["param"] == "model"
