"""The chat over the WebSocket on the protocols whose thread is not a remote conversation,
against the local provider over HTTP: a streamed reply, a second turn that sees the first
(what was sent is recorded at the SDK: the local model answers the last message only), the
context budget leaving old messages out with a step saying so, two function calls in one
round, Stop, the usage recorded, and an exact regenerate."""

import json

import openai
import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.urls import reverse
from openai.resources.chat.completions import AsyncCompletions
from openai.resources.responses import AsyncResponses

from chat.agents.history import estimated_tokens
from chat.models import Assistant, Conversation, Message
from localai.engine.model import reply_text, tool_reply_tokens
from tests.chat.purge import apurge_now
from tests.chat.test_consumer import connected, signed_in, start_chat

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("local_provider_url"),
]

# (protocol, responses_thread); chat_completions joins once the local provider has it.
SETUPS = [("responses", "stored"), ("responses", "stateless"), ("chat_completions", "")]


@pytest.fixture(params=SETUPS, ids=lambda setup: "-".join(filter(None, setup)))
def setup(request):
    return request.param


@pytest.fixture
def sent(monkeypatch):
    """Every streamed request the chat made (the real call goes on)."""
    requests = []
    for cls in (AsyncResponses, AsyncCompletions):
        create = cls.create

        async def recording(self, *args, _create=create, **kwargs):
            if kwargs.get("stream"):
                requests.append(json.loads(json.dumps(kwargs)))
            return await _create(self, *args, **kwargs)

        monkeypatch.setattr(cls, "create", recording)
    return requests


@sync_to_async
def make_assistant(setup, **fields) -> Assistant:
    protocol, thread = setup
    return Assistant.objects.create(
        name="Helper",
        protocol=protocol,
        responses_thread=thread or "conversation",
        instructions="Be brief.",
        **fields,
    )


def said(request) -> list[tuple[str, str]]:
    """(role, text) of the messages a request sent, whichever API it went to."""
    items = request.get("input") or request.get("messages")
    return [(m["role"], m["content"]) for m in items if m.get("role") in ("user", "assistant")]


async def send(socket, conversation_id, text):
    await socket.send({"type": "message.send", "conversation_id": conversation_id, "text": text})
    return await socket.until_type("message.done")


async def test_a_streamed_reply_and_a_second_turn_that_sees_the_first(setup, sent):
    _, cookie = await signed_in()
    assistant = await make_assistant(setup)
    socket = await connected(cookie)

    conversation_id, reply_id = await start_chat(socket, assistant, "first question")
    first = await socket.until_type("message.done")
    second = await send(socket, conversation_id, "second question")

    assert first["message"]["content"] == reply_text("first question") == socket.texts[reply_id]
    assert sum(f["type"] == "message.delta" for f in socket.frames) > 1
    assert second["message"]["content"] == reply_text("second question")
    for done in (first, second):
        usage = done["message"]["usage"]
        assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
        assert done["message"]["model"]
    saved = await Message.objects.aget(pk=reply_id)
    assert (saved.input_tokens, saved.output_tokens) == tuple(first["message"]["usage"].values())
    conversation = await Conversation.objects.aget(pk=conversation_id)
    if setup[1] == "stored":
        # The second response continues the chain of the first; the head moved on.
        assert sent[1]["previous_response_id"] == saved.remote_response_id != ""
        assert said(sent[1]) == [("user", "second question")]
        head = (await Message.objects.aget(pk=second["message"]["id"])).remote_response_id
        assert conversation.remote_thread_id == head != saved.remote_response_id
    else:
        assert said(sent[1]) == [
            ("user", "first question"),
            ("assistant", reply_text("first question")),
            ("user", "second question"),
        ]
        assert conversation.remote_thread_id == ""
    await socket.close()


async def test_the_context_budget_leaves_old_messages_out_and_says_so(setup, sent):
    if setup[1] == "stored":
        pytest.skip("a chain of stored responses keeps its history on the provider")
    _, cookie = await signed_in()
    # Room for the instructions, the new message and the exchange before it, not the first.
    budget = sum(
        estimated_tokens(text) for text in ("Be brief.", "three", "two", reply_text("two"))
    )
    assistant = await make_assistant(setup, context_budget=budget)
    socket = await connected(cookie)

    conversation_id, _ = await start_chat(socket, assistant, "one " * 20)
    await socket.until_type("message.done")
    await send(socket, conversation_id, "two")
    third = await send(socket, conversation_id, "three")

    [step] = third["message"]["tool_steps"]
    assert step["type"] == "context" and step["details"] == {"omitted": 2, "budget": budget}
    assert step["output"] == (
        f"2 older messages were left out to fit the assistant's context budget of {budget:,} "
        "tokens."
    )
    assert said(sent[-1]) == [("user", "two"), ("assistant", reply_text("two")), ("user", "three")]
    assert third["message"]["content"] == reply_text("three")
    await socket.close()


TWO_CALLS = (
    "Compute both.\n"
    'call calculator {"expression": "6 * 7"}\n'
    'call calculator {"expression": "2 + 2"}'
)


async def test_two_function_calls_in_one_round(setup):
    _, cookie = await signed_in()
    assistant = await make_assistant(setup, function_tools=["calculator"])
    socket = await connected(cookie)

    await start_chat(socket, assistant, TWO_CALLS)
    done = await socket.until_type("message.done")

    steps = done["message"]["tool_steps"]
    assert [s["output"] for s in steps] == ["42", "4"]
    assert len({s["id"] for s in steps}) == 2
    expected = "".join(tool_reply_tokens(TWO_CALLS, [("calculator", "42"), ("calculator", "4")]))
    assert done["message"]["status"] == "complete"
    assert done["message"]["content"] == expected
    await socket.close()


async def test_stop_ends_the_reply_and_the_next_turn_goes_on(setup):
    _, cookie = await signed_in()
    assistant = await make_assistant(setup)
    socket = await connected(cookie)

    text = "[[delay:0.05]] [[tokens:400]] Stop me"
    conversation_id, _ = await start_chat(socket, assistant, text)
    await socket.receive_until(lambda f: f["type"] == "message.delta" and f["offset"] > 0)
    await socket.send({"type": "turn.stop", "conversation_id": conversation_id})
    stopped = await socket.until_type("message.done", timeout=5)
    after = await send(socket, conversation_id, "after")

    assert stopped["message"]["status"] == "cancelled"
    assert 0 < len(stopped["message"]["content"]) < len(reply_text(text))
    assert stopped["message"]["usage"] is None
    assert after["message"]["status"] == "complete"
    assert after["message"]["content"] == reply_text("after")
    await socket.close()


async def test_regenerate_and_edit_send_exactly_the_transcript_shown(setup, sent):
    _, cookie = await signed_in()
    assistant = await make_assistant(setup)
    socket = await connected(cookie)

    conversation_id, _ = await start_chat(socket, assistant, "keep me")
    kept = await socket.until_type("message.done")
    await send(socket, conversation_id, "replace me")
    await socket.send({"type": "message.regenerate", "conversation_id": conversation_id})
    regenerated = await socket.until_type("message.done")
    last_user = await Message.objects.filter(conversation_id=conversation_id, role="user").alast()
    await socket.send(
        {
            "type": "message.edit",
            "conversation_id": conversation_id,
            "message_id": last_user.pk,
            "text": "edited",
        }
    )
    edited = await socket.until_type("message.done")

    assert regenerated["message"]["content"] == reply_text("replace me")
    assert edited["message"]["content"] == reply_text("edited")
    regenerate_request, edit_request = sent[2], sent[3]
    if setup[1] == "stored":
        # Both continue the chain from the first reply: the replaced attempts are not in it.
        head = (await Message.objects.aget(pk=kept["message"]["id"])).remote_response_id
        assert regenerate_request["previous_response_id"] == head
        assert edit_request["previous_response_id"] == head
        assert said(edit_request) == [("user", "edited")]
    else:
        first_exchange = [("user", "keep me"), ("assistant", reply_text("keep me"))]
        assert said(regenerate_request) == [*first_exchange, ("user", "replace me")]
        assert said(edit_request) == [*first_exchange, ("user", "edited")]
    await socket.close()


async def test_deleting_a_chat_deletes_its_chain_of_stored_responses(remote):
    user, cookie = await signed_in()
    assistant = await make_assistant(("responses", "stored"))
    socket = await connected(cookie)

    conversation_id, first_id = await start_chat(socket, assistant, "one")
    await socket.until_type("message.done")
    second = await send(socket, conversation_id, "two")
    chain = [
        (await Message.objects.aget(pk=pk)).remote_response_id
        for pk in (first_id, second["message"]["id"])
    ]
    assert remote.responses.retrieve(chain[1]).previous_response_id == chain[0]

    client = Client()
    await sync_to_async(client.force_login)(user)
    response = await sync_to_async(client.post)(
        reverse("chat:api_conversation_delete", args=[conversation_id])
    )
    assert await apurge_now() == 1

    assert response.status_code in (200, 204)
    for response_id in chain:
        with pytest.raises(openai.NotFoundError):
            remote.responses.retrieve(response_id)
    await socket.close()
