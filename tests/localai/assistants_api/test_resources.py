"""Assistants, threads and messages through the real SDK; authentication and errors."""

import httpx2
import openai
import pytest
from django.urls import resolve

from tests.localai.sdk import make_client, message_text, new_assistant, new_thread

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


async def test_assistant_create_retrieve_update_delete(api_url):
    client = make_client(api_url)
    created = await client.beta.assistants.create(
        model="local-echo-1",
        name="Helper",
        instructions="Be brief.",
        tools=[WEATHER_TOOL],
        metadata={"team": "ops"},
    )
    assert created.id.startswith("asst_") and len(created.id) > len("asst_") + 10
    assert created.object == "assistant"
    assert created.tools[0].function.name == "get_weather"

    fetched = await client.beta.assistants.retrieve(created.id)
    assert fetched.model_dump() == created.model_dump()

    updated = await client.beta.assistants.update(created.id, name="Helper 2", tools=[])
    assert (updated.name, updated.instructions, updated.tools) == ("Helper 2", "Be brief.", [])
    assert (await client.beta.assistants.retrieve(created.id)).name == "Helper 2"

    deleted = await client.beta.assistants.delete(created.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (created.id, "assistant.deleted", True)
    with pytest.raises(openai.NotFoundError):
        await client.beta.assistants.retrieve(created.id)


async def test_assistant_list_pages_with_cursors(api_url):
    client = make_client(api_url)
    marker = await new_assistant(client)
    created = [(await new_assistant(client, name=f"Page {n}")).id for n in range(5)]

    first = await client.beta.assistants.list(order="asc", after=marker.id, limit=2)
    assert [a.id for a in first.data] == created[:2]
    assert first.has_more is True

    # The SDK follows `after` cursors page by page until `has_more` is false.
    walked = [
        a.id async for a in client.beta.assistants.list(order="asc", after=marker.id, limit=2)
    ]
    assert walked == created

    newest_first = await client.beta.assistants.list(limit=3)
    assert [a.id for a in newest_first.data] == created[::-1][:3]

    before = await client.beta.assistants.list(order="desc", before=created[1], limit=2)
    assert [a.id for a in before.data] == [created[3], created[2]]
    assert before.has_more is True

    raw = await client.beta.assistants.with_raw_response.list(
        order="asc", after=created[2], limit=5
    )
    body = raw.http_response.json()
    assert body["object"] == "list"
    assert (body["first_id"], body["last_id"], body["has_more"]) == (created[3], created[4], False)


async def test_thread_create_with_messages_retrieve_update_delete(api_url):
    client = make_client(api_url)
    thread = await client.beta.threads.create(
        messages=[
            {"role": "user", "content": "First question"},
            {"role": "assistant", "content": "First answer"},
        ],
        metadata={"conversation": "12"},
    )
    assert thread.id.startswith("thread_") and thread.object == "thread"
    assert (await client.beta.threads.retrieve(thread.id)).metadata == {"conversation": "12"}

    messages = await client.beta.threads.messages.list(thread.id, order="asc")
    assert [(m.role, message_text(m)) for m in messages.data] == [
        ("user", "First question"),
        ("assistant", "First answer"),
    ]
    assert all(m.thread_id == thread.id and m.status == "completed" for m in messages.data)

    updated = await client.beta.threads.update(thread.id, metadata={"conversation": "13"})
    assert updated.metadata == {"conversation": "13"}

    deleted = await client.beta.threads.delete(thread.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (thread.id, "thread.deleted", True)
    with pytest.raises(openai.NotFoundError):
        await client.beta.threads.retrieve(thread.id)
    with pytest.raises(openai.NotFoundError):
        await client.beta.threads.messages.list(thread.id)


async def test_message_create_with_string_or_parts_and_list(api_url):
    client = make_client(api_url)
    thread = await client.beta.threads.create()
    plain = await client.beta.threads.messages.create(thread.id, role="user", content="Plain")
    parts = await client.beta.threads.messages.create(
        thread.id,
        role="user",
        content=[
            {"type": "text", "text": "Two"},
            {"type": "image_url", "image_url": {"url": "https://example.org/a.png"}},
            {"type": "text", "text": "parts"},
        ],
    )
    assert plain.id.startswith("msg_") and plain.object == "thread.message"
    assert [block.type for block in parts.content] == ["text", "image_url", "text"]
    assert parts.content[1].image_url.url == "https://example.org/a.png"

    listed = await client.beta.threads.messages.list(thread.id)
    assert [m.id for m in listed.data] == [parts.id, plain.id]
    fetched = await client.beta.threads.messages.retrieve(plain.id, thread_id=thread.id)
    assert message_text(fetched) == "Plain"

    with pytest.raises(openai.BadRequestError) as error:
        await client.beta.threads.messages.create(thread.id, role="system", content="x")
    assert error.value.body["param"] == "role"


async def test_wrong_api_key_is_an_authentication_error(api_url):
    client = make_client(api_url, api_key="sk-not-the-right-key")
    with pytest.raises(openai.AuthenticationError) as error:
        await client.beta.assistants.list()
    assert error.value.status_code == 401
    assert error.value.code == "invalid_api_key"
    assert "sk-not-the-right-key" not in error.value.message


async def test_missing_key_and_missing_beta_header_are_refused(api_url):
    async with httpx2.AsyncClient() as http:
        anonymous = await http.get(
            f"{api_url}/assistants", headers={"OpenAI-Beta": "assistants=v2"}
        )
        no_beta = await http.get(
            f"{api_url}/assistants", headers={"Authorization": "Bearer local-dev-key"}
        )
    assert anonymous.status_code == 401
    assert set(anonymous.json()["error"]) == {"message", "type", "param", "code"}
    assert no_beta.status_code == 400
    assert no_beta.json()["error"]["code"] == "invalid_beta"


async def test_unknown_objects_are_not_found(api_url):
    client = make_client(api_url)
    with pytest.raises(openai.NotFoundError) as error:
        await client.beta.assistants.retrieve("asst_doesnotexist")
    assert error.value.body == {
        "message": "No assistant found with id 'asst_doesnotexist'.",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    with pytest.raises(openai.NotFoundError):
        await client.beta.threads.retrieve("thread_doesnotexist")
    thread = await new_thread(client, "Hi")
    with pytest.raises(openai.NotFoundError):
        await client.beta.threads.runs.create(thread.id, assistant_id="asst_doesnotexist")
    with pytest.raises(openai.NotFoundError):
        await client.beta.threads.runs.retrieve("run_doesnotexist", thread_id=thread.id)


async def test_unknown_url_answers_in_the_api_error_shape(api_url):
    async with httpx2.AsyncClient() as http:
        response = await http.get(
            f"{api_url}/nothing/here", headers={"Authorization": "Bearer local-dev-key"}
        )
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid URL (GET /local/v1/nothing/here)"


async def test_switched_off_provider_answers_404(async_client, settings):
    # Mounted when the URLconf was loaded (the switch was on); switched off at runtime.
    assert resolve("/local/v1/assistants").namespace == "localai"
    settings.LOCAL_PROVIDER_ENABLED = False
    response = await async_client.get(
        "/local/v1/assistants",
        headers={"Authorization": "Bearer local-dev-key", "OpenAI-Beta": "assistants=v2"},
    )
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "invalid_request_error"
