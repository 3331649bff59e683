"""The chat through its WebSocket with a real model on the chat_completions protocol, and
the readable refusal of `responses` on a server without the Responses API. Prints the time
to the first token and the tokens per second it measured (run with -s to see them)."""

import time

import pytest
from asgiref.sync import sync_to_async
from openai.resources.chat.completions import AsyncCompletions

from chat.models import Assistant, Connection, Message
from tests.chat.test_consumer import connected, signed_in, start_chat

pytestmark = [pytest.mark.django_db(transaction=True)]

INSTRUCTIONS = "You are a helpful assistant. Answer briefly."


@pytest.fixture
def sent_requests(monkeypatch):
    """The messages of every Chat Completions request the site made (the real call goes on)."""
    requests = []
    create = AsyncCompletions.create

    async def recording(self, **kwargs):
        requests.append(kwargs)
        return await create(self, **kwargs)

    monkeypatch.setattr(AsyncCompletions, "create", recording)
    return requests


@sync_to_async
def make_assistant(server, protocol: str = "chat_completions", **fields) -> Assistant:
    # No key anywhere, as `make run-model` sets it up: llama.cpp's server has no authentication.
    connection, _ = Connection.objects.get_or_create(
        name="llama",
        defaults={"kind": "openai", "base_url": server.base_url, "default_model": server.model},
    )
    return Assistant.objects.create(
        name="Small model",
        connection=connection,
        protocol=protocol,
        instructions=INSTRUCTIONS,
        **fields,
    )


async def test_a_streamed_reply_and_a_second_turn_that_sees_the_first(real_model, sent_requests):
    _, cookie = await signed_in()
    assistant = await make_assistant(real_model)
    socket = await connected(cookie)

    started = time.monotonic()
    conversation_id, reply_id = await start_chat(
        socket, assistant, "What is the capital of France?"
    )
    first_delta = await socket.receive_until(
        lambda f: f["type"] == "message.delta" and f["text"].strip()
    )
    first_token = time.monotonic() - started
    done = await socket.until_type("message.done", timeout=60)
    elapsed = time.monotonic() - started
    await socket.send(
        {"type": "message.send", "conversation_id": conversation_id, "text": "And of Italy?"}
    )
    second = await socket.until_type("message.done", timeout=60)

    reply = done["message"]
    assert reply["status"] == "complete", reply["error"]
    assert first_delta["message_id"] == reply_id
    assert reply["content"].strip() and reply["content"] == socket.texts[reply_id]
    deltas = [f for f in socket.frames if f["type"] == "message.delta"]
    assert len(deltas) > 1  # streamed, not in one piece
    assert reply["model"] == real_model.model
    assert second["message"]["status"] == "complete" and second["message"]["content"].strip()
    # The second turn's request carried the first exchange: this site holds the thread.
    turns = [request for request in sent_requests if request.get("stream")]  # not the title's
    assert len(turns) == 2
    assert turns[1]["messages"] == [
        {"role": "system", "content": INSTRUCTIONS},
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": reply["content"]},
        {"role": "user", "content": "And of Italy?"},
    ]
    tokens = reply["usage"]["output_tokens"] if reply["usage"] else None
    tokens = tokens or real_model.tokens(reply["content"])
    generating = elapsed - first_token
    print(
        f"\nreal model (SmolLM2-135M, llama.cpp): time to first token {first_token:.2f} s "
        f"through the site; {tokens} tokens in {elapsed:.2f} s, "
        f"{tokens / elapsed:.1f} tokens/s overall, "
        f"{max(tokens - 1, 0) / generating if generating > 0 else float('nan'):.1f} tokens/s "
        f"after the first; reply: {reply['content'][:80]!r}"
    )
    await socket.close()


async def test_stop_ends_a_real_models_reply(real_model):
    _, cookie = await signed_in()
    assistant = await make_assistant(real_model)
    socket = await connected(cookie)

    conversation_id, reply_id = await start_chat(
        socket, assistant, "Write a very long story about a dragon, in ten chapters."
    )
    await socket.receive_until(lambda f: f["type"] == "message.delta" and f["text"].strip())
    stopped_at = time.monotonic()
    await socket.send({"type": "turn.stop", "conversation_id": conversation_id})
    done = await socket.until_type("message.done", timeout=30)
    stop_took = time.monotonic() - stopped_at

    assert done["message"]["status"] == "cancelled"
    assert done["message"]["content"].strip()
    saved = await Message.objects.aget(pk=reply_id)
    assert saved.status == "cancelled" and saved.content == done["message"]["content"]
    # The next turn works. How soon depends on the server: llama-cpp-python's goes on
    # generating the abandoned story (up to n_ctx) before it takes the next request, so
    # the wait printed below can be tens of seconds on a loaded machine.
    sent_at = time.monotonic()
    await socket.send({"type": "message.send", "conversation_id": conversation_id, "text": "Hi"})
    after = await socket.until_type("message.done", timeout=240)
    assert after["message"]["status"] == "complete"
    print(
        f"\nreal model: Stop ended the reply {stop_took:.2f} s after it was pressed; the next "
        f"reply was done {time.monotonic() - sent_at:.2f} s after it was sent"
    )
    await socket.close()


@pytest.mark.parametrize("thread", ["conversation", "stored", "stateless"])
async def test_responses_on_a_server_without_it_fails_readably(real_model, thread):
    _, cookie = await signed_in()
    assistant = await make_assistant(real_model, "responses", responses_thread=thread)
    socket = await connected(cookie)

    await start_chat(socket, assistant, "Hello")
    done = await socket.until_type("message.done", timeout=30)
    error = await socket.until_type("error")

    assert done["message"]["status"] == "failed"
    api = "Conversations" if thread == "conversation" else "Responses"
    assert f"This server does not implement the {api} API (404)" in done["message"]["error"]
    assert "chat_completions" in error["message"]
    await socket.close()


def test_provider_check_recommends_chat_completions_and_reports_the_missing_responses(
    real_model,
):
    """What a team sees when it points the site at its llama.cpp server and asks."""
    from io import StringIO

    from django.core.management import call_command

    Connection.objects.create(name="llama-check", kind="openai", base_url=real_model.base_url)
    out = StringIO()
    call_command("provider_check", "llama-check", stdout=out)
    lines = out.getvalue().splitlines()
    print("\n".join(lines))

    def line(api: str) -> str:
        return next(text for text in lines if text.startswith(f"{api}:"))

    assert line("models").startswith("models: ok")
    assert line("chat completions").startswith("chat completions: ok")
    assert line("responses").startswith("responses: no")
    assert "404" in line("responses")
    assert lines[-1] == "recommended protocol: chat_completions"
