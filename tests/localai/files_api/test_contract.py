"""Contract tests of files, vector stores and file_search: the raw JSON and the stream events
validate strictly against the openai SDK's models (see test_contract.py for the method)."""

import pytest
from django.conf import settings
from openai.types import (
    FileDeleted,
    FileObject,
    VectorStore,
    VectorStoreDeleted,
    VectorStoreSearchResponse,
)
from openai.types.beta import Assistant, Thread
from openai.types.beta.threads import Message
from openai.types.beta.threads.runs import RunStep
from openai.types.responses import Response
from openai.types.vector_stores import (
    FileContentResponse,
    VectorStoreFile,
    VectorStoreFileBatch,
    VectorStoreFileDeleted,
)

from tests.localai.documents import BAKERY_GUIDE, VOLCANO_NOTES
from tests.localai.test_contract import (
    MODEL,
    RawAPI,
    strict,
    validate_assistant_events,
    validate_response_events,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

INCLUDE_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"
QUESTION = "When did Eyjafjallajökull erupt?"


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


async def _upload(raw, name: str, data: bytes) -> dict:
    response = await raw.http.post(
        "/files", files={"file": (name, data)}, data={"purpose": "assistants"}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _store(raw) -> tuple[dict, dict, dict]:
    volcano = await _upload(raw, "volcanoes.md", VOLCANO_NOTES.encode())
    bakery = await _upload(raw, "bakery.md", BAKERY_GUIDE.encode())
    store = await raw.call(
        "POST", "/vector_stores", {"name": "K", "file_ids": [volcano["id"], bakery["id"]]}
    )
    return store, volcano, bakery


async def test_file_and_vector_store_objects_validate(raw):
    uploaded = strict(FileObject, await _upload(raw, "volcanoes.md", VOLCANO_NOTES.encode()))
    strict(FileObject, await raw.call("GET", f"/files/{uploaded.id}"))
    for item in (await raw.call("GET", "/files?purpose=assistants"))["data"]:
        strict(FileObject, item)
    broken = strict(FileObject, await _upload(raw, "broken.pdf", b"%PDF-1.4 broken"))

    store = strict(
        VectorStore,
        await raw.call(
            "POST",
            "/vector_stores",
            {
                "name": "K",
                "file_ids": [uploaded.id],
                "expires_after": {"anchor": "last_active_at", "days": 7},
            },
        ),
    )
    assert store.expires_at is not None
    strict(VectorStore, await raw.call("GET", f"/vector_stores/{store.id}"))
    strict(VectorStore, await raw.call("POST", f"/vector_stores/{store.id}", {"name": "K2"}))
    for item in (await raw.call("GET", "/vector_stores"))["data"]:
        strict(VectorStore, item)

    failed = strict(
        VectorStoreFile,
        await raw.call("POST", f"/vector_stores/{store.id}/files", {"file_id": broken.id}),
    )
    assert failed.status == "failed" and failed.last_error.code == "invalid_file"
    strict(VectorStoreFile, await raw.call("GET", f"/vector_stores/{store.id}/files/{uploaded.id}"))
    strict(
        VectorStoreFile,
        await raw.call(
            "POST", f"/vector_stores/{store.id}/files/{uploaded.id}", {"attributes": {"n": 1}}
        ),
    )
    for item in (await raw.call("GET", f"/vector_stores/{store.id}/files"))["data"]:
        strict(VectorStoreFile, item)
    content = await raw.call("GET", f"/vector_stores/{store.id}/files/{uploaded.id}/content")
    for item in content["data"]:
        strict(FileContentResponse, item)

    batch = strict(
        VectorStoreFileBatch,
        await raw.call(
            "POST", f"/vector_stores/{store.id}/file_batches", {"file_ids": [uploaded.id]}
        ),
    )
    strict(
        VectorStoreFileBatch,
        await raw.call("GET", f"/vector_stores/{store.id}/file_batches/{batch.id}"),
    )
    for item in (await raw.call("GET", f"/vector_stores/{store.id}/file_batches/{batch.id}/files"))[
        "data"
    ]:
        strict(VectorStoreFile, item)

    page = await raw.call("POST", f"/vector_stores/{store.id}/search", {"query": QUESTION})
    assert page["object"] == "vector_store.search_results.page" and page["data"]
    for item in page["data"]:
        strict(VectorStoreSearchResponse, item)

    strict(
        VectorStoreFileDeleted,
        await raw.call("DELETE", f"/vector_stores/{store.id}/files/{broken.id}"),
    )
    strict(VectorStoreDeleted, await raw.call("DELETE", f"/vector_stores/{store.id}"))
    strict(FileDeleted, await raw.call("DELETE", f"/files/{uploaded.id}"))


async def test_assistants_file_search_objects_and_events_validate(raw):
    store, volcano, _ = await _store(raw)
    resources = {"file_search": {"vector_store_ids": [store["id"]]}}
    assistant = strict(
        Assistant,
        await raw.call(
            "POST",
            "/assistants",
            {"model": MODEL, "tools": [{"type": "file_search"}], "tool_resources": resources},
        ),
    )
    thread = strict(
        Thread,
        await raw.call(
            "POST",
            "/threads",
            {"messages": [{"role": "user", "content": QUESTION}], "tool_resources": resources},
        ),
    )
    events = validate_assistant_events(
        await raw.events(
            f"/threads/{thread.id}/runs?include[]={INCLUDE_CONTENT}",
            {"assistant_id": assistant.id, "stream": True},
        )
    )
    names = [event.event for event in events]
    assert names.count("thread.run.step.delta") == 1
    assert names[-1] == "thread.run.completed"
    step = next(event.data for event in events if event.event == "thread.run.step.completed")
    assert step.step_details.tool_calls[0].file_search.results[0].content[0].text
    annotated = [
        event
        for event in events
        if event.event == "thread.message.delta" and event.data.delta.content[0].text.annotations
    ]
    assert annotated[0].data.delta.content[0].text.annotations[0].type == "file_citation"

    run_id = events[-1].data.id
    for item in (await raw.call("GET", f"/threads/{thread.id}/runs/{run_id}/steps"))["data"]:
        strict(RunStep, item)
    for item in (await raw.call("GET", f"/threads/{thread.id}/messages"))["data"]:
        message = strict(Message, item)
    assert message.role == "user"  # newest first: the reply is data[0]
    reply = strict(
        Message, (await raw.call("GET", f"/threads/{thread.id}/messages?limit=1"))["data"][0]
    )
    assert reply.content[0].text.annotations[0].file_citation.file_id == volcano["id"]


async def test_responses_file_search_events_validate(raw):
    store, volcano, _ = await _store(raw)
    tool = {"type": "file_search", "vector_store_ids": [store["id"]]}
    body = {
        "model": MODEL,
        "input": QUESTION,
        "tools": [tool],
        "include": ["file_search_call.results"],
        "stream": True,
    }
    events = validate_response_events(await raw.events("/responses", body))
    types = {event.type for event in events}
    assert {
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.output_text.annotation.added",
    } <= types
    final = events[-1].response
    assert final.output[0].type == "file_search_call"
    assert final.output[1].content[0].annotations[0].file_id == volcano["id"]
    strict(Response, await raw.call("GET", f"/responses/{final.id}"))
    plain = strict(
        Response, await raw.call("POST", "/responses", {**body, "stream": False, "include": None})
    )
    assert plain.output[0].results is None
