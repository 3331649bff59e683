"""Regenerate the last reply, edit the last message, and titles from the first exchange: over
the WebSocket, end to end with the local provider."""

import pytest

from chat.models import Conversation, Message
from chat.services.titles import title_generate
from localai.engine.model import reply_text
from tests.chat.connections import seed_connection
from tests.chat.test_consumer import (
    connected,
    local_assistant,
    messages_of,
    signed_in,
    start_chat,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("local_provider_url"),
]


def contents(messages: list[Message]) -> list[tuple[str, str, str]]:
    return [(m.role, m.content, m.status) for m in messages]


async def test_regenerate_replaces_the_last_reply_in_every_tab():
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    conversation_id, first_reply_id = await start_chat(socket, assistant, "Tell me a joke")
    await socket.until_type("message.done")
    other_tab = await connected(cookie)
    await other_tab.send({"type": "conversation.open", "conversation_id": conversation_id})
    await other_tab.until_type("conversation.snapshot")

    await socket.send({"type": "message.regenerate", "conversation_id": conversation_id})
    deleted = await socket.until_type("message.deleted")
    created = await socket.until_type("message.created")
    done = await socket.until_type("message.done")

    assert deleted == {
        "type": "message.deleted",
        "conversation_id": conversation_id,
        "message_ids": [first_reply_id],
    }
    # The user's message stays as it is: only the new reply is announced.
    assert created["message"]["role"] == "assistant"
    assert created["message"]["status"] == "streaming"
    new_reply_id = created["message"]["id"]
    assert new_reply_id != first_reply_id
    assert done["message"]["id"] == new_reply_id
    assert done["message"]["content"] == reply_text("Tell me a joke")
    assert socket.texts[new_reply_id] == done["message"]["content"]
    assert contents(await messages_of(conversation_id)) == [
        ("user", "Tell me a joke", "complete"),
        ("assistant", reply_text("Tell me a joke"), "complete"),
    ]
    assert (await other_tab.until_type("message.deleted"))["message_ids"] == [first_reply_id]
    assert (await other_tab.until_type("message.done"))["message"]["id"] == new_reply_id
    await socket.close()
    await other_tab.close()


async def test_retry_after_a_failed_reply_is_a_regenerate():
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    conversation_id, failed_id = await start_chat(socket, assistant, "[[run_fail]] hello")
    assert (await socket.until_type("message.done"))["message"]["status"] == "failed"

    await socket.send({"type": "message.regenerate", "conversation_id": conversation_id})
    deleted = await socket.until_type("message.deleted")
    again = await socket.until_type("message.done")

    assert deleted["message_ids"] == [failed_id]
    # The local model fails this text every time: what matters is that the failed reply
    # was replaced, not kept beside the new one.
    messages = await messages_of(conversation_id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].pk == again["message"]["id"] != failed_id
    await socket.close()


async def test_edit_replaces_the_last_exchange_and_answers_the_new_text():
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    conversation_id, _ = await start_chat(socket, assistant, "first question")
    await socket.until_type("message.done")
    await socket.send(
        {"type": "message.send", "conversation_id": conversation_id, "text": "typo questoin"}
    )
    done = await socket.until_type("message.done")
    user_id = next(m.pk for m in await messages_of(conversation_id) if m.content == "typo questoin")

    await socket.send(
        {
            "type": "message.edit",
            "conversation_id": conversation_id,
            "message_id": user_id,
            "text": "typo question",
            "client_message_id": "c-edit",
        }
    )
    deleted = await socket.until_type("message.deleted")
    created = await socket.until_type("message.created")
    done = await socket.until_type("message.done")

    assert sorted(deleted["message_ids"]) == [user_id, user_id + 1]
    assert created["client_message_id"] == "c-edit"
    assert created["message"]["role"] == "user"
    assert created["message"]["content"] == "typo question"
    assert done["message"]["content"] == reply_text("typo question")
    assert contents(await messages_of(conversation_id)) == [
        ("user", "first question", "complete"),
        ("assistant", reply_text("first question"), "complete"),
        ("user", "typo question", "complete"),
        ("assistant", reply_text("typo question"), "complete"),
    ]
    await socket.close()


async def test_only_the_last_message_can_be_edited_and_nothing_changes_otherwise():
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    conversation_id, _ = await start_chat(socket, assistant, "one")
    await socket.until_type("message.done")
    await socket.send({"type": "message.send", "conversation_id": conversation_id, "text": "two"})
    await socket.until_type("message.done")
    first, first_reply, second, second_reply = await messages_of(conversation_id)

    edit = {"type": "message.edit", "conversation_id": conversation_id, "text": "changed"}
    await socket.send({**edit, "message_id": first.pk})
    not_last = await socket.until_type("error")
    await socket.send({**edit, "message_id": first_reply.pk})
    a_reply = await socket.until_type("error")
    await socket.send({**edit, "message_id": second.pk, "text": "   "})
    empty = await socket.until_type("error")
    await socket.send({**edit, "message_id": "7"})
    bad_id = await socket.until_type("error")

    assert not_last["code"] == "not_last" and not_last["conversation_id"] == conversation_id
    assert a_reply["code"] == "not_found"
    assert empty["code"] == "empty"
    assert bad_id["code"] == "invalid"
    assert [m.pk for m in await messages_of(conversation_id)] == [
        first.pk,
        first_reply.pk,
        second.pk,
        second_reply.pk,
    ]
    await socket.close()


async def test_regenerate_and_edit_while_a_reply_streams_are_busy():
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    conversation_id, reply_id = await start_chat(socket, assistant, "[[delay:0.02]] [[tokens:80]]")
    user_id = reply_id - 1

    await socket.send({"type": "message.regenerate", "conversation_id": conversation_id})
    regenerate = await socket.until_type("error")
    await socket.send(
        {
            "type": "message.edit",
            "conversation_id": conversation_id,
            "message_id": user_id,
            "text": "other",
        }
    )
    edit = await socket.until_type("error")
    done = await socket.until_type("message.done")

    assert (regenerate["code"], edit["code"]) == ("busy", "busy")
    assert done["message"]["id"] == reply_id and done["message"]["status"] == "complete"
    assert [m.pk for m in await messages_of(conversation_id)] == [user_id, reply_id]
    await socket.close()


async def test_regenerate_needs_a_reply_and_the_users_own_conversation():
    _, cookie = await signed_in()
    _, bobs_cookie = await signed_in("bob")
    assistant = await local_assistant()
    socket = await connected(cookie)
    conversation_id, _ = await start_chat(socket, assistant, "mine")
    await socket.until_type("message.done")
    bob = await connected(bobs_cookie)

    await bob.send({"type": "message.regenerate", "conversation_id": conversation_id})
    foreign = await bob.until_type("error")
    await Message.objects.filter(conversation_id=conversation_id, role="assistant").adelete()
    await socket.send({"type": "message.regenerate", "conversation_id": conversation_id})
    no_reply = await socket.until_type("error")

    assert foreign["code"] == "not_found"
    assert no_reply["code"] == "no_reply"
    assert [m.role for m in await messages_of(conversation_id)] == ["user"]
    await socket.close()
    await bob.close()


# --- Titles --------------------------------------------------------------------------------


async def test_the_first_reply_titles_the_conversation_from_the_first_exchange():
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    text = "## Plan a *three-day* trip to [Lisbon](https://example.org)\nwith kids"

    conversation_id, _ = await start_chat(socket, assistant, text)
    await socket.until_type("message.done")
    updated = await socket.receive_until(
        lambda f: f["type"] == "conversation.updated" and f["conversation"]["id"] == conversation_id
    )

    # The local model is no LLM: the title is derived locally, without markdown.
    assert updated["conversation"]["title"] == "Plan a three-day trip to Lisbon"
    conversation = await Conversation.objects.aget(pk=conversation_id)
    assert (conversation.title, conversation.title_is_custom) == (
        "Plan a three-day trip to Lisbon",
        False,
    )
    await socket.close()


async def test_a_title_the_user_chose_is_never_overwritten():
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    conversation_id, _ = await start_chat(socket, assistant, "[[delay:0.02]] [[tokens:40]] hi")
    await Conversation.objects.filter(pk=conversation_id).aupdate(
        title="My own title", title_is_custom=True
    )

    await socket.until_type("message.done")
    updated = await socket.receive_until(
        lambda f: f["type"] == "conversation.updated" and f["conversation"]["id"] == conversation_id
    )
    # An edit of the first message, answered in full, does not retitle it either.
    await socket.send(
        {
            "type": "message.edit",
            "conversation_id": conversation_id,
            "message_id": (await messages_of(conversation_id))[0].pk,
            "text": "something else entirely",
        }
    )
    await socket.until_type("message.done")

    # The update at the end of the reply carries the user's title, not the stale one the
    # reply started with.
    assert updated["conversation"]["title"] == "My own title"
    assert (await Conversation.objects.aget(pk=conversation_id)).title == "My own title"
    await socket.close()


async def test_editing_the_first_message_retitles_an_untouched_conversation():
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    conversation_id, reply_id = await start_chat(socket, assistant, "Wrong topic")
    await socket.until_type("message.done")

    await socket.send(
        {
            "type": "message.edit",
            "conversation_id": conversation_id,
            "message_id": reply_id - 1,
            "text": "Right topic",
        }
    )
    await socket.until_type("message.done")
    updated = await socket.receive_until(
        lambda f: (
            f["type"] == "conversation.updated" and f["conversation"]["title"] == "Right topic"
        )
    )

    assert updated["conversation"]["id"] == conversation_id
    await socket.close()


async def test_a_provider_that_cannot_title_leaves_the_local_title(monkeypatch):
    # An OpenAI assistant with no key configured: the provider call fails at once, and the
    # turn goes on with the locally derived title.
    assistant = await local_assistant()
    assistant.connection = seed_connection("openai")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert await title_generate(assistant=assistant, question="q", answer="a") == ""
    assistant.connection = seed_connection("local")
    assert await title_generate(assistant=assistant, question="q", answer="a") == ""
