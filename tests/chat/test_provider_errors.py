"""Provider failures as the chat user sees them: the reply ends `failed` with a readable
reason, an `error` frame says it, and the user's message is kept."""

import time

import pytest
from asgiref.sync import sync_to_async

from chat.models import Assistant, Message
from tests.chat.connections import connection
from tests.chat.provider_configs import configure
from tests.chat.test_consumer import connected, messages_of, signed_in, start_chat

pytestmark = [pytest.mark.django_db(transaction=True)]

PROTOCOLS = ["assistants", "responses"]


@pytest.fixture
def local(site_server, monkeypatch, settings):
    settings.PROVIDER_MAX_RETRIES = 0
    settings.PROVIDER_TIMEOUT = 1.0
    return configure(
        "local", site_url=site_server.base_url, monkeypatch=monkeypatch, settings=settings
    )


@sync_to_async
def make_assistant(protocol: str, provider: str = "local", **fields) -> Assistant:
    return Assistant.objects.create(
        name="Helper", connection=connection(provider), protocol=protocol, model="", **fields
    )


async def failed_turn(assistant: Assistant, text: str) -> tuple[dict, dict, list[Message]]:
    """Sends `text` in a new chat; returns the `message.done` and `error` frames and what
    was saved."""
    _, cookie = await signed_in()
    socket = await connected(cookie)
    conversation_id, _ = await start_chat(socket, assistant, text)
    done = await socket.until_type("message.done")
    error = await socket.until_type("error")
    await socket.close()
    assert error["code"] == "provider_error" and error["conversation_id"] == conversation_id
    assert error["message"] == done["message"]["error"]
    saved = await messages_of(conversation_id)
    assert [(m.role, m.content) for m in saved[:1]] == [("user", text)]
    assert saved[1].status == "failed" and saved[1].error == error["message"]
    return done, error, saved


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(
    ("directive", "readable"),
    [
        ("[[fail:401]]", "The provider refused the credentials (401)"),
        ("[[fail:403]]", "The provider refused the credentials (403)"),
        ("[[fail:404]]", "The provider does not know this object (404)"),
        ("[[fail:429]]", "The provider is rate limiting requests (429). Try again shortly."),
        ("[[fail:500]]", "The provider had an internal error (500). Try again."),
        ("[[fail:503]]", "The provider had an internal error (503). Try again."),
        ("[[hang]]", "The assistant's provider did not answer in time. Try again in a moment."),
    ],
)
async def test_each_provider_error_reaches_the_user_readably(local, protocol, directive, readable):
    assistant = await make_assistant(protocol)

    done, _, _ = await failed_turn(assistant, f"{directive} hello")

    assert done["message"]["status"] == "failed"
    assert done["message"]["error"].startswith(readable)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_wrong_key_is_a_credentials_error(local, settings, protocol):
    assistant = await make_assistant(protocol)
    settings.LOCAL_PROVIDER_API_KEY = "not-the-key"

    done, _, _ = await failed_turn(assistant, "hello")

    assert "refused the credentials (401)" in done["message"]["error"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_remote_thread_the_provider_lost_is_a_not_found_error(local, protocol):
    assistant = await make_assistant(protocol)
    user, cookie = await signed_in()
    conversation = await assistant.conversations.acreate(
        owner=user, remote_thread_id="thread_gone" if protocol == "assistants" else "conv_gone"
    )
    socket = await connected(cookie)

    await socket.send({"type": "message.send", "conversation_id": conversation.pk, "text": "hi"})
    done = await socket.until_type("message.done")
    error = await socket.until_type("error")

    assert "does not know this object (404)" in done["message"]["error"] == error["message"]
    await socket.close()


async def test_rate_limits_are_retried_within_a_bound_honouring_retry_after(local, settings):
    settings.PROVIDER_MAX_RETRIES = 1
    assistant = await make_assistant("responses")

    started = time.monotonic()
    done, _, _ = await failed_turn(assistant, "[[fail:429]] hello")

    # The local provider answers 429 with `retry-after: 1`: one retry waits that second.
    assert time.monotonic() - started >= 1.0
    assert "rate limiting" in done["message"]["error"]


async def test_azure_answering_410_for_the_assistants_api_says_to_switch_to_responses(
    site_server, monkeypatch, settings
):
    # The default test site retires the Assistants API on its Azure routes, as Azure has.
    configure(
        "azure-key", site_url=site_server.base_url, monkeypatch=monkeypatch, settings=settings
    )
    assistant = await make_assistant("assistants", provider="azure")

    _, error, _ = await failed_turn(assistant, "hello")

    assert error["message"] == (
        "This provider has retired the Assistants API (410). Switch the assistant's protocol "
        "to 'responses' in the admin."
    )


async def test_an_entra_id_identity_that_cannot_sign_in_is_a_readable_error(
    site_server, monkeypatch, settings
):
    configure(
        "azure-entra", site_url=site_server.base_url, monkeypatch=monkeypatch, settings=settings
    )
    settings.AZURE_CREDENTIAL_FACTORY = "tests.chat.provider_configs.UnavailableCredential"
    assistant = await make_assistant("responses", provider="azure")

    _, error, _ = await failed_turn(assistant, "hello")

    assert error["message"].startswith(
        "Could not get a Microsoft Entra ID token for Azure OpenAI: DefaultAzureCredential "
        "failed to retrieve a token from the included credentials. Sign the server's identity"
    )
