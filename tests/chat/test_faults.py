"""Provider faults, through the whole chat: socket -> consumer -> turn -> SDK -> local provider.

Each fault comes from a directive of the local provider (docs/local-provider.md) and is tried
on both protocols. Whatever goes wrong, the user's message is kept, what streamed before the
fault is kept with a status that says how the reply ended, every socket watching hears why in
a sentence, and the conversation takes the next message.
"""

import time

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from chat.models import Assistant, Message
from localai.engine.model import reply_text
from tests.chat.test_consumer import connected, messages_of, signed_in, start_chat

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("local_provider_url"),
]


@pytest.fixture(params=[Assistant.Protocol.ASSISTANTS, Assistant.Protocol.RESPONSES])
def protocol(request) -> str:
    return request.param


@pytest.fixture
def short_provider_limits(settings):
    # Clients are built per event loop with these values, and each test has a loop of its own.
    settings.PROVIDER_TIMEOUT = 1.0
    settings.PROVIDER_MAX_RETRIES = 1


@sync_to_async
def local_assistant(protocol: str) -> Assistant:
    return Assistant.objects.create(
        name="Helper", model=settings.LOCAL_PROVIDER_MODEL, protocol=protocol
    )


FAULTS = [
    # directive, reply status, words of the reason, whether text arrived before the fault
    pytest.param("[[fail:429]]", "failed", "rate limiting", False, id="429"),
    pytest.param("[[fail:500]]", "failed", "internal error (500)", False, id="500"),
    pytest.param("[[fail:503]]", "failed", "internal error (503)", False, id="503"),
    pytest.param("[[hang]]", "failed", "did not answer in time", False, id="hang"),
    # The stream broke off: `incomplete`. The provider declared the run over: `failed`. The
    # text that arrived first is kept either way.
    pytest.param("[[cut:5]]", "incomplete", "closed the stream", True, id="cut"),
    pytest.param("[[run_fail]]", "failed", "failed", True, id="run-failed"),
    pytest.param("[[expire]]", "failed", "expired", True, id="run-expired"),
]
# The Responses API has no expired state: the local provider ends such a response as
# incomplete, as a real one that ran out of output tokens.
RESPONSES_EXPIRED = ("incomplete", "maximum length")


@pytest.mark.usefixtures("short_provider_limits")
@pytest.mark.parametrize(("directive", "status", "reason", "partial"), FAULTS)
async def test_a_provider_fault_keeps_what_arrived_says_why_and_the_chat_goes_on(
    protocol, directive, status, reason, partial
):
    _, cookie = await signed_in()
    assistant = await local_assistant(protocol)
    socket = await connected(cookie)
    text = f"{directive} [[tokens:40]] tell me something"
    if directive == "[[expire]]" and protocol == Assistant.Protocol.RESPONSES:
        status, reason = RESPONSES_EXPIRED

    conversation_id, reply_id = await start_chat(socket, assistant, text)
    done = await socket.until_type("message.done")
    error = await socket.until_type("error")

    reply = done["message"]
    assert reply["id"] == reply_id and reply["status"] == status
    # A sentence for a person: no traceback, no exception class.
    assert reason in reply["error"] and reply["error"][0].isupper()
    assert "Traceback" not in reply["error"] and "Error:" not in reply["error"]
    assert (error["code"], error["message"]) == ("provider_error", reply["error"])
    assert error["conversation_id"] == conversation_id
    full = reply_text(text)
    if partial:
        assert reply["content"] and len(reply["content"]) < len(full)
        assert full.startswith(reply["content"])
        assert socket.texts[reply_id] == reply["content"]  # the sockets saw exactly that
    else:
        assert reply["content"] == ""
    user_message, saved = await messages_of(conversation_id)
    assert (user_message.role, user_message.content, user_message.status) == (
        "user",
        text,
        "complete",
    )
    assert (saved.status, saved.content, saved.error) == (status, reply["content"], reply["error"])

    await socket.send({"type": "message.send", "conversation_id": conversation_id, "text": "next"})
    after = await socket.until_type("message.done")

    assert (after["message"]["status"], after["message"]["content"]) == (
        "complete",
        reply_text("next"),
    )
    assert [m.status for m in await messages_of(conversation_id)][2:] == ["complete", "complete"]
    await socket.close()


async def test_a_429_is_retried_after_the_delay_the_provider_asks_for(settings, protocol):
    # The local provider asks for 1 s; without honouring it, the SDK's own back-off would retry
    # twice in about 1.5 s at most.
    settings.PROVIDER_MAX_RETRIES = 2
    _, cookie = await signed_in()
    assistant = await local_assistant(protocol)
    socket = await connected(cookie)

    started = time.monotonic()
    _, reply_id = await start_chat(socket, assistant, "[[fail:429]] busy?")
    done = await socket.until_type("message.done", timeout=30)
    waited = time.monotonic() - started

    assert 2.0 <= waited < 15
    assert done["message"]["status"] == "failed"
    assert "rate limiting" in done["message"]["error"]
    assert (await Message.objects.aget(pk=reply_id)).status == "failed"
    await socket.close()


async def test_a_fault_reaches_every_socket_watching_the_conversation(protocol):
    _, cookie = await signed_in()
    assistant = await local_assistant(protocol)
    socket = await connected(cookie)
    other_tab = await connected(cookie)
    conversation_id, _ = await start_chat(socket, assistant, "hello")
    await socket.until_type("message.done")
    await other_tab.send({"type": "conversation.open", "conversation_id": conversation_id})
    await other_tab.until_type("conversation.snapshot")

    await socket.send(
        {"type": "message.send", "conversation_id": conversation_id, "text": "[[fail:500]] x"}
    )

    for tab in (socket, other_tab):
        done = await tab.until_type("message.done")
        error = await tab.until_type("error")
        assert done["message"]["status"] == "failed"
        assert error["code"] == "provider_error"
    await socket.close()
    await other_tab.close()
