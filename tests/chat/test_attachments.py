"""Files attached to messages over the WebSocket: claimed with the message, or refused whole."""

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files.base import ContentFile

from chat.models import Assistant, Conversation, Message, Upload
from tests.chat.wsclient import ChatSocket, make_user, session_cookie_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("local_provider_url"),
]


@sync_to_async
def signed_in(username: str = "alice"):
    user = make_user(username)
    return user, session_cookie_for(user)


@sync_to_async
def local_assistant() -> Assistant:
    return Assistant.objects.create(name="Helper", model=settings.LOCAL_PROVIDER_MODEL)


@sync_to_async
def unsent_upload(owner, name="notes.txt", data=b"Some notes.\n") -> Upload:
    upload = Upload(owner=owner, name=name, content_type="text/plain", size=len(data))
    upload.file.save(name, ContentFile(data), save=False)
    upload.save()
    return upload


async def connected(cookie) -> ChatSocket:
    socket = ChatSocket(cookie)
    assert await socket.connect()
    return socket


def new_chat(assistant, text, attachments) -> dict:
    return {
        "type": "message.send",
        "conversation_id": None,
        "assistant_id": assistant.pk,
        "text": text,
        "attachments": attachments,
    }


async def user_message_created(socket) -> dict:
    frame = await socket.receive_until(
        lambda f: f["type"] == "message.created" and f["message"]["role"] == "user"
    )
    return frame["message"]


async def test_a_message_carries_its_attachments():
    user, cookie = await signed_in()
    assistant = await local_assistant()
    first = await unsent_upload(user, "notes.txt")
    second = await unsent_upload(user, "plan.md")
    socket = await connected(cookie)

    await socket.send(new_chat(assistant, "Read these", [first.pk, second.pk]))
    message = await user_message_created(socket)
    await socket.until_type("message.done")

    assert [a["name"] for a in message["attachments"]] == ["notes.txt", "plan.md"]
    assert message["attachments"][0] == {
        "id": first.pk,
        "name": "notes.txt",
        "size": 12,
        "content_type": "text/plain",
        "url": f"/files/{first.pk}/",
    }
    claimed = [u async for u in Upload.objects.order_by("id")]
    assert {(u.conversation_id, u.message_id) for u in claimed} == {
        (message["conversation_id"], message["id"])
    }
    # A reopened conversation shows them too.
    await socket.send({"type": "conversation.open", "conversation_id": message["conversation_id"]})
    snapshot = await socket.until_type("conversation.snapshot")
    assert [a["id"] for a in snapshot["messages"][0]["attachments"]] == [first.pk, second.pk]
    assert snapshot["messages"][1]["attachments"] == []
    await socket.close()


async def test_files_alone_make_a_message_and_name_the_conversation():
    user, cookie = await signed_in()
    assistant = await local_assistant()
    upload = await unsent_upload(user, "quarterly-report.txt")
    socket = await connected(cookie)

    await socket.send(new_chat(assistant, "", [upload.pk]))
    message = await user_message_created(socket)
    done = await socket.until_type("message.done")

    assert message["content"] == ""
    # The provider is never sent an empty message (real ones refuse it): the local model
    # echoes what it got, the file's name.
    assert "Attached: quarterly-report.txt" in done["message"]["content"]
    conversation = await Conversation.objects.aget(pk=message["conversation_id"])
    assert conversation.title == "quarterly-report.txt"
    await socket.close()


async def test_empty_text_without_files_is_still_refused():
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)

    await socket.send(new_chat(assistant, "  ", []))

    assert (await socket.until_type("error"))["code"] == "empty"
    await socket.close()


@sync_to_async
def sent_upload(owner) -> Upload:
    conversation = Conversation.objects.create(owner=owner)
    message = Message.objects.create(conversation=conversation, role="user", content="x")
    return Upload.objects.create(
        owner=owner,
        name="sent.txt",
        content_type="text/plain",
        size=1,
        file="uploads/sent",
        conversation=conversation,
        message=message,
    )


@pytest.mark.parametrize("case", ["foreign", "sent", "unknown", "not_a_list", "too_many"])
async def test_bad_attachments_are_refused_and_nothing_is_saved(case):
    user, cookie = await signed_in()
    bob, _ = await signed_in("bob")
    assistant = await local_assistant()
    mine = await unsent_upload(user)
    attachments = {
        "foreign": lambda: [mine.pk, bobs.pk],
        "sent": lambda: [mine.pk, sent.pk],
        "unknown": lambda: [mine.pk, 999_999],
        "not_a_list": lambda: str(mine.pk),
        "too_many": lambda: list(range(1, settings.CHAT_MAX_ATTACHMENTS + 2)),
    }
    bobs = await unsent_upload(bob)
    sent = await sent_upload(user)
    conversations_before = await Conversation.objects.acount()
    messages_before = await Message.objects.acount()
    socket = await connected(cookie)

    await socket.send(new_chat(assistant, "Read this", attachments[case]()))
    error = await socket.until_type("error")

    assert error["code"] == "bad_attachment"
    assert error["message"]
    assert await Conversation.objects.acount() == conversations_before
    assert await Message.objects.acount() == messages_before
    # The user's own file is still waiting to be sent, as is Bob's.
    await mine.arefresh_from_db()
    await bobs.arefresh_from_db()
    assert (mine.conversation_id, mine.message_id) == (None, None)
    assert (bobs.conversation_id, bobs.message_id) == (None, None)
    await socket.close()


async def test_an_edit_may_keep_the_files_of_the_message_it_replaces():
    user, cookie = await signed_in()
    assistant = await local_assistant()
    kept = await unsent_upload(user, "kept.txt")
    dropped = await unsent_upload(user, "dropped.txt")
    added = await unsent_upload(user, "added.txt")
    socket = await connected(cookie)
    await socket.send(new_chat(assistant, "First", [kept.pk, dropped.pk]))
    original = await user_message_created(socket)
    await socket.until_type("message.done")

    await socket.send(
        {
            "type": "message.edit",
            "conversation_id": original["conversation_id"],
            "message_id": original["id"],
            "text": "Edited",
            "attachments": [kept.pk, added.pk],
        }
    )
    edited = await user_message_created(socket)
    await socket.until_type("message.done")

    assert [a["name"] for a in edited["attachments"]] == ["kept.txt", "added.txt"]
    await dropped.arefresh_from_db()
    # Out of the transcript, still the conversation's (its copies go when it is deleted).
    assert (dropped.conversation_id, dropped.message_id) == (original["conversation_id"], None)
    await socket.close()
