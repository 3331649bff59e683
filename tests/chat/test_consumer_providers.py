"""The chat end to end with both protocols and each provider configuration: consumer ->
turn -> agent -> SDK -> the local provider, tool steps included."""

import json

import openai
import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import Client
from django.urls import reverse

from chat.models import Assistant, Conversation, Message
from localai.engine.model import reply_text, tool_reply_tokens
from tests.chat.connections import connection
from tests.chat.purge import apurge_now
from tests.chat.test_consumer import connected, signed_in, start_chat

pytestmark = [pytest.mark.django_db(transaction=True)]

TOOL_TEXT = 'Please compute.\ncall calculator {"expression": "6 * 7"}'


@sync_to_async
def make_assistant(provider: str, protocol: str, **fields) -> Assistant:
    # A blank model: the provider's default (on Azure, AZURE_OPENAI_CHAT_DEPLOYMENT_NAME).
    return Assistant.objects.create(
        name="Calculating helper",
        connection=connection(provider),
        protocol=protocol,
        model="",
        **fields,
    )


def sdk_client(configured):
    """A plain SDK client on the same provider, to look at what the chat stored there."""
    if configured.provider == "azure":
        return openai.AsyncAzureOpenAI(
            azure_endpoint=f"{configured.site_url}/local",
            api_key=settings.LOCAL_PROVIDER_API_KEY,
            api_version="2025-04-01-preview",
        )
    return openai.AsyncOpenAI(
        base_url=f"{configured.site_url}/local/v1", api_key=settings.LOCAL_PROVIDER_API_KEY
    )


@pytest.mark.parametrize("protocol", ["assistants", "responses"])
async def test_a_tool_step_is_shown_live_and_saved_with_the_reply(protocol, provider_config):
    _, cookie = await signed_in()
    assistant = await make_assistant(
        provider_config.provider, protocol, function_tools=["calculator"]
    )
    socket = await connected(cookie)

    conversation_id, reply_id = await start_chat(socket, assistant, TOOL_TEXT)
    done = await socket.until_type("message.done")

    steps = [f["step"] for f in socket.frames if f["type"] == "message.tool_step"]
    assert [step["output"] for step in steps] == [None, "42"]  # called, then answered
    assert {step["id"] for step in steps} == {steps[0]["id"]}
    step = steps[-1]
    assert step["name"] == "calculator"
    assert json.loads(step["arguments"]) == {"expression": "6 * 7"}
    assert (step["type"], step["details"]) == ("function", {})
    expected = "".join(tool_reply_tokens(TOOL_TEXT, [("calculator", "42")]))
    assert done["message"]["status"] == "complete"
    assert done["message"]["content"] == expected == socket.texts[reply_id]
    assert done["message"]["tool_steps"] == [step]
    saved = await Message.objects.aget(pk=reply_id)
    assert saved.tool_steps == [step] and saved.content == expected
    conversation = await Conversation.objects.aget(pk=conversation_id)
    assert conversation.remote_thread_id.startswith(
        "thread_" if protocol == "assistants" else "conv_"
    )
    await socket.close()


async def test_a_responses_chat_continues_its_conversation_stops_and_is_deleted(
    provider_config,
):
    user, cookie = await signed_in()
    assistant = await make_assistant(provider_config.provider, "responses")
    socket = await connected(cookie)

    conversation_id, _ = await start_chat(socket, assistant, "first")
    first = await socket.until_type("message.done")
    conversation = await Conversation.objects.aget(pk=conversation_id)
    await socket.send({"type": "message.send", "conversation_id": conversation_id, "text": "2nd"})
    second = await socket.until_type("message.done")
    text = "[[delay:0.05]] [[tokens:400]] Stop me"
    await socket.send({"type": "message.send", "conversation_id": conversation_id, "text": text})
    await socket.receive_until(lambda f: f["type"] == "message.delta" and f["offset"] > 0)
    await socket.send({"type": "turn.stop", "conversation_id": conversation_id})
    stopped = await socket.until_type("message.done", timeout=5)

    assert (first["message"]["content"], second["message"]["content"]) == (
        reply_text("first"),
        reply_text("2nd"),
    )
    assert (await Assistant.objects.aget(pk=assistant.pk)).remote_id == ""
    assert (await Conversation.objects.aget(pk=conversation_id)).remote_thread_id == (
        conversation.remote_thread_id
    )
    assert stopped["message"]["status"] == "cancelled"
    assert 0 < len(stopped["message"]["content"]) < len(reply_text(text))
    remote = sdk_client(provider_config)
    items = await remote.conversations.items.list(conversation.remote_thread_id, limit=100)
    assert [item.type for item in items.data].count("message") >= 4

    client = Client()
    await sync_to_async(client.force_login)(user)
    response = await sync_to_async(client.post)(
        reverse("chat:api_conversation_delete", args=[conversation_id])
    )
    assert await apurge_now() == 1
    assert response.status_code in (200, 204)
    with pytest.raises(openai.NotFoundError):
        await remote.conversations.retrieve(conversation.remote_thread_id)
    await socket.close()
