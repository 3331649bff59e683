"""The chat WebSocket end to end: consumer -> turn service -> agent -> local provider (HTTP)."""

import asyncio
from datetime import timedelta

import openai
import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.utils import timezone

from chat.models import Assistant, Conversation, Message
from chat.services.conversation_purge import aconversations_purge
from chat.services.conversations import conversation_delete, conversation_restore
from chat.services.stale_replies import replies_close_stale
from localai.engine.model import reply_text
from tests.chat.purge import apurge_now
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
def local_assistant(name: str = "Helper") -> Assistant:
    return Assistant.objects.create(name=name, model=settings.LOCAL_PROVIDER_MODEL)


@sync_to_async
def messages_of(conversation_id: int) -> list[Message]:
    return list(Message.objects.filter(conversation_id=conversation_id).order_by("id"))


async def connected(cookie) -> ChatSocket:
    socket = ChatSocket(cookie)
    assert await socket.connect()
    return socket


async def start_chat(socket: ChatSocket, assistant: Assistant, text: str) -> tuple[int, int]:
    """Sends the first message of a new conversation; returns (conversation id, reply id)."""
    await socket.send(
        {
            "type": "message.send",
            "conversation_id": None,
            "assistant_id": assistant.pk,
            "text": text,
            "client_message_id": "c1",
        }
    )
    created = await socket.until_type("conversation.created")
    reply = await socket.receive_until(
        lambda f: f["type"] == "message.created" and f["message"]["role"] == "assistant"
    )
    return created["conversation"]["id"], reply["message"]["id"]


async def wait_for_status(message_id: int, statuses: set[str], timeout: float = 20) -> Message:
    async with asyncio.timeout(timeout):
        while True:
            message = await Message.objects.aget(pk=message_id)
            if message.status in statuses:
                return message
            await asyncio.sleep(0.05)


async def test_a_message_streams_to_completion_and_both_messages_are_saved():
    user, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    text = "What is the capital of *Portugal*?"

    conversation_id, reply_id = await start_chat(socket, assistant, text)
    done = await socket.until_type("message.done")

    expected = reply_text(text)
    assert done["message"]["status"] == "complete"
    assert done["message"]["content"] == expected
    # The live deltas alone rebuilt exactly the reply, in order and without duplicates.
    assert socket.texts[reply_id] == expected
    deltas = [f for f in socket.frames if f["type"] == "message.delta"]
    assert len(deltas) >= 2
    user_message, reply = await messages_of(conversation_id)
    assert (user_message.role, user_message.content, user_message.status) == (
        "user",
        text,
        "complete",
    )
    assert (reply.role, reply.content, reply.status) == ("assistant", expected, "complete")
    conversation = await Conversation.objects.aget(pk=conversation_id)
    assert conversation.owner_id == user.pk
    assert conversation.remote_thread_id.startswith("thread_")
    # A first title, derived from the message without its markdown.
    assert conversation.title == "What is the capital of Portugal?"
    # The demo-style assistant got its remote definition at the first turn.
    assert (await Assistant.objects.aget(pk=assistant.pk)).remote_id.startswith("asst_")
    await socket.close()


async def test_the_second_turn_continues_the_same_remote_thread():
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    conversation_id, _ = await start_chat(socket, assistant, "first")
    await socket.until_type("message.done")
    thread_id = (await Conversation.objects.aget(pk=conversation_id)).remote_thread_id

    await socket.send(
        {"type": "message.send", "conversation_id": conversation_id, "text": "second"}
    )
    done = await socket.until_type("message.done")

    assert done["message"]["content"] == reply_text("second")
    assert (await Conversation.objects.aget(pk=conversation_id)).remote_thread_id == thread_id
    assert [m.content for m in await messages_of(conversation_id)] == [
        "first",
        reply_text("first"),
        "second",
        reply_text("second"),
    ]
    await socket.close()


async def test_anonymous_sockets_are_refused():
    socket = ChatSocket(cookie=None)
    assert not await socket.connect()


async def test_a_foreign_origin_is_refused():
    _, cookie = await signed_in()
    socket = ChatSocket(cookie, origin=b"https://evil.example")
    assert not await socket.connect()


async def test_another_users_conversation_is_refused_and_nothing_is_saved():
    owner, _ = await signed_in("owner")
    _, intruder_cookie = await signed_in("intruder")
    assistant = await local_assistant()
    conversation = await Conversation.objects.acreate(
        owner=owner, assistant=assistant, title="Private"
    )
    await Message.objects.acreate(conversation=conversation, role="user", content="secret plans")
    socket = await connected(intruder_cookie)

    await socket.send({"type": "conversation.open", "conversation_id": conversation.pk})
    refused_open = await socket.until_type("error")
    await socket.send({"type": "message.send", "conversation_id": conversation.pk, "text": "hi"})
    refused_send = await socket.until_type("error")
    await socket.send({"type": "turn.stop", "conversation_id": conversation.pk})
    refused_stop = await socket.until_type("error")

    assert refused_open["code"] == refused_send["code"] == refused_stop["code"] == "not_found"
    assert not any("secret" in str(frame) for frame in socket.frames)
    assert [m.content for m in await messages_of(conversation.pk)] == ["secret plans"]
    await socket.close()


async def test_a_deleted_conversation_answers_like_an_unknown_one_until_undo():
    user, cookie = await signed_in()
    assistant = await local_assistant()
    conversation = await Conversation.objects.acreate(owner=user, assistant=assistant, title="x")
    await Message.objects.acreate(conversation=conversation, role="user", content="before")
    socket = await connected(cookie)
    await sync_to_async(conversation_delete)(user=user, conversation_id=conversation.pk)
    assert (await socket.until_type("conversation.deleted"))["conversation_id"] == conversation.pk

    await socket.send({"type": "conversation.open", "conversation_id": conversation.pk})
    refused_open = await socket.until_type("error")
    await socket.send({"type": "message.send", "conversation_id": conversation.pk, "text": "hi"})
    refused_send = await socket.until_type("error")
    assert refused_open["code"] == refused_send["code"] == "not_found"
    assert [m.content for m in await messages_of(conversation.pk)] == ["before"]

    # Undo: every tab hears it, and the conversation opens again.
    await sync_to_async(conversation_restore)(user=user, conversation_id=conversation.pk)
    restored = await socket.until_type("conversation.restored")
    assert restored["conversation"]["id"] == conversation.pk
    await socket.send({"type": "conversation.open", "conversation_id": conversation.pk})
    snapshot = await socket.until_type("conversation.snapshot")
    assert [m["content"] for m in snapshot["messages"]] == ["before"]
    # Within the undo window the purge leaves a deleted conversation alone.
    await sync_to_async(conversation_delete)(user=user, conversation_id=conversation.pk)
    assert await aconversations_purge() == 0
    assert await Conversation.all_objects.filter(pk=conversation.pk).aexists()
    await socket.close()


async def test_a_socket_that_disconnects_mid_reply_does_not_lose_the_reply():
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    text = "[[delay:0.02]] Tell me a long story"
    _, reply_id = await start_chat(socket, assistant, text)
    await socket.until_type("message.delta")
    await socket.close()

    reply = await wait_for_status(reply_id, {"complete", "failed", "incomplete", "cancelled"})

    assert reply.status == "complete"
    assert reply.content == reply_text(text)


async def test_reopening_mid_reply_shows_the_text_so_far_then_continues_live():
    _, cookie = await signed_in()
    assistant = await local_assistant()
    first = await connected(cookie)
    text = "[[delay:0.01]] [[tokens:150]] Keep going"
    conversation_id, reply_id = await start_chat(first, assistant, text)
    # Let some text stream (and be saved) before the second tab opens the conversation.
    await first.receive_until(lambda f: f["type"] == "message.delta" and f["offset"] > 100)

    second = await connected(cookie)
    await second.send({"type": "conversation.open", "conversation_id": conversation_id})
    snapshot = await second.until_type("conversation.snapshot")
    done = await second.until_type("message.done")

    reply_in_snapshot = next(m for m in snapshot["messages"] if m["id"] == reply_id)
    assert reply_in_snapshot["status"] in {"pending", "streaming"}
    assert done["message"]["status"] == "complete"
    assert second.texts[reply_id] == reply_text(text) == done["message"]["content"]
    await first.until_type("message.done")
    await first.close()
    await second.close()


async def test_stop_ends_the_reply_as_cancelled_and_keeps_the_partial_text():
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    text = "[[delay:0.05]] [[tokens:400]] Stop me"
    conversation_id, reply_id = await start_chat(socket, assistant, text)
    await socket.receive_until(lambda f: f["type"] == "message.delta" and f["offset"] > 0)

    await socket.send({"type": "turn.stop", "conversation_id": conversation_id})
    done = await socket.until_type("message.done", timeout=5)

    full = reply_text(text)
    assert done["message"]["status"] == "cancelled"
    partial = done["message"]["content"]
    assert partial and full.startswith(partial) and len(partial) < len(full)
    saved = await Message.objects.aget(pk=reply_id)
    assert (saved.status, saved.content) == ("cancelled", partial)
    # The conversation takes the next message at once.
    await socket.send({"type": "message.send", "conversation_id": conversation_id, "text": "next"})
    assert (await socket.until_type("message.done"))["message"]["status"] == "complete"
    await socket.close()


async def test_a_stop_sent_as_soon_as_the_reply_is_announced_cancels_it():
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    conversation_id, reply_id = await start_chat(
        socket, assistant, "[[delay:0.05]] [[tokens:400]] Stop me at once"
    )

    await socket.send({"type": "turn.stop", "conversation_id": conversation_id})
    done = await socket.until_type("message.done", timeout=5)

    assert done["message"]["id"] == reply_id and done["message"]["status"] == "cancelled"
    saved = await Message.objects.aget(pk=reply_id)
    assert (saved.status, saved.runner_channel) == ("cancelled", "")
    await socket.close()


async def test_a_started_reply_is_announced_streaming():
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    await socket.send(
        {"type": "message.send", "assistant_id": assistant.pk, "text": "[[tokens:30]] hi"}
    )
    created = await socket.receive_until(
        lambda f: f["type"] == "message.created" and f["message"]["role"] == "assistant"
    )
    assert created["message"]["status"] == "streaming"
    assert (await socket.until_type("message.done"))["message"]["status"] == "complete"
    await socket.close()


def layer_channels() -> int:
    """How many channels the channel layer receives in this process (Redis: subscriptions;
    the in-memory layer only has channels someone sent to)."""
    layer = get_channel_layer()
    return len(layer._get_layer().channels if hasattr(layer, "_get_layer") else layer.channels)


async def test_a_second_message_while_a_reply_streams_is_refused_as_busy():
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    text = "[[delay:0.02]] [[tokens:60]] slow"
    conversation_id, _ = await start_chat(socket, assistant, text)
    await socket.until_type("message.delta")  # the reply's task listens on its channel
    channels = layer_channels()

    await socket.send({"type": "message.send", "conversation_id": conversation_id, "text": "again"})
    error = await socket.until_type("error")
    # The channel made for the refused turn's reply is given up at once, not kept until the
    # process ends.
    assert layer_channels() == channels
    await socket.until_type("message.done")

    assert error["code"] == "busy" and error["conversation_id"] == conversation_id
    assert [m.content for m in await messages_of(conversation_id)][0::2] == [text]
    await socket.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "bad_frame"),
        ("[1, 2]", "bad_frame"),
        ({"type": "shout"}, "unknown_type"),
        ({"type": "message.send", "text": "no assistant"}, "invalid"),
        ({"type": "message.send", "assistant_id": "1", "text": "id as string"}, "invalid"),
        ({"type": "message.send", "assistant_id": 999999, "text": "unknown"}, "not_found"),
        ({"type": "message.send", "conversation_id": 999999, "text": "unknown"}, "not_found"),
        ({"type": "conversation.open"}, "invalid"),
        ({"type": "turn.stop", "conversation_id": 999999}, "not_found"),
    ],
)
async def test_bad_frames_get_a_clear_error_and_the_socket_stays_open(frame, code):
    _, cookie = await signed_in()
    socket = await connected(cookie)

    await socket.send(frame)
    error = await socket.until_type("error")
    await socket.send({"type": "ping"})

    assert error["code"] == code and error["message"]
    assert (await socket.until_type("pong"))["type"] == "pong"
    assert await Message.objects.acount() == 0
    await socket.close()


async def test_binary_empty_and_oversized_messages_are_refused():
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)

    await socket.communicator.send_to(bytes_data=b"\x00\x01")
    binary = await socket.until_type("error")
    await socket.send({"type": "message.send", "assistant_id": assistant.pk, "text": "  \n "})
    empty = await socket.until_type("error")
    too_long = "x" * (settings.CHAT_MAX_MESSAGE_CHARS + 1)
    await socket.send({"type": "message.send", "assistant_id": assistant.pk, "text": too_long})
    oversized = await socket.until_type("error")

    assert [binary["code"], empty["code"], oversized["code"]] == ["bad_frame", "empty", "too_long"]
    assert await Conversation.objects.acount() == 0
    await socket.close()


async def test_a_user_flooding_frames_is_rate_limited_with_retry_after(settings):
    settings.CHAT_RATE_LIMIT_FRAMES = 5
    _, cookie = await signed_in()
    socket = await connected(cookie)
    other_tab = await connected(cookie)

    for _ in range(5):
        await socket.send({"type": "ping"})
        await socket.until_type("pong")
    await other_tab.send({"type": "ping"})  # the limit is per user, across their sockets
    limited = await other_tab.until_type("error")

    assert limited["code"] == "rate_limited"
    assert 0 < limited["retry_after"] <= settings.CHAT_RATE_LIMIT_WINDOW
    await socket.close()
    await other_tab.close()


async def test_signing_out_in_another_tab_closes_that_sessions_sockets():
    _user, cookie = await signed_in()
    socket = await connected(cookie)
    client = Client()
    client.cookies["sessionid"] = cookie.decode().split("=", 1)[1]

    response = await sync_to_async(client.post)("/accounts/logout/")

    assert response.status_code == 302
    closed = await socket.communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4401}


async def test_a_reply_left_streaming_by_a_dead_process_is_closed_and_the_chat_goes_on():
    user, cookie = await signed_in()
    assistant = await local_assistant()
    conversation = await Conversation.objects.acreate(owner=user, assistant=assistant, title="t")
    await Message.objects.acreate(conversation=conversation, role="user", content="before crash")
    orphan = await Message.objects.acreate(
        conversation=conversation,
        role="assistant",
        status="streaming",
        content="Half a rep",
        runner_channel="turn.gone!abc",
    )
    long_ago = timezone.now() - timedelta(seconds=settings.CHAT_RUNNER_HEARTBEAT * 4)
    await Message.objects.filter(pk=orphan.pk).aupdate(updated_at=long_ago)
    socket = await connected(cookie)

    await socket.send(
        {"type": "message.send", "conversation_id": conversation.pk, "text": "hello?"}
    )
    done = await socket.until_type("message.done")

    orphan = await Message.objects.aget(pk=orphan.pk)
    assert (orphan.status, orphan.content) == ("incomplete", "Half a rep")
    assert "server stopped" in orphan.error
    assert done["message"]["status"] == "complete"
    await socket.close()


async def test_a_streaming_reply_whose_heartbeats_are_late_is_not_closed_by_the_sweep():
    # Under overload the heartbeat's database write queues behind the turns' queries: late
    # beats alone must not close a reply whose task is still writing it.
    _, cookie = await signed_in()
    socket = await connected(cookie)
    text = "[[delay:0.02]] [[tokens:60]] late beats"
    _, reply_id = await start_chat(socket, await local_assistant(), text)
    await socket.until_type("message.delta")

    @sync_to_async
    def sweep_with_the_heartbeats_late() -> int:
        # In one transaction, so that no progress save renews the reply in between.
        with transaction.atomic():
            long_ago = timezone.now() - timedelta(seconds=settings.CHAT_RUNNER_HEARTBEAT * 4)
            Message.objects.filter(pk=reply_id).update(updated_at=long_ago)
            return replies_close_stale()

    assert await sweep_with_the_heartbeats_late() == 0
    done = await socket.until_type("message.done")
    assert (done["message"]["status"], done["message"]["content"]) == (
        "complete",
        reply_text(text),
    )
    await socket.close()


async def test_a_reply_that_is_alive_is_not_taken_for_a_dead_one():
    user, cookie = await signed_in()
    assistant = await local_assistant()
    conversation = await Conversation.objects.acreate(owner=user, assistant=assistant, title="t")
    await Message.objects.acreate(
        conversation=conversation, role="assistant", status="streaming", content="Going on"
    )
    socket = await connected(cookie)

    await socket.send({"type": "message.send", "conversation_id": conversation.pk, "text": "hi"})

    assert (await socket.until_type("error"))["code"] == "busy"
    await socket.close()


async def test_deleting_a_conversation_mid_reply_stops_the_reply_and_deletes_the_thread():
    user, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    conversation_id, reply_id = await start_chat(
        socket, assistant, "[[delay:0.05]] [[tokens:300]] long"
    )
    await socket.receive_until(lambda f: f["type"] == "message.delta")
    thread_id = (await Conversation.objects.aget(pk=conversation_id)).remote_thread_id

    await sync_to_async(conversation_delete)(user=user, conversation_id=conversation_id)
    deleted = await socket.until_type("conversation.deleted")
    done = await socket.until_type("message.done", timeout=5)
    assert await apurge_now() == 1

    assert deleted["conversation_id"] == conversation_id
    assert done["message"]["status"] == "cancelled"
    assert not await Conversation.objects.filter(pk=conversation_id).aexists()
    assert not await Message.objects.filter(pk=reply_id).aexists()
    remote = openai.AsyncOpenAI(
        base_url=settings.LOCAL_PROVIDER_BASE_URL, api_key=settings.LOCAL_PROVIDER_API_KEY
    )
    with pytest.raises(openai.NotFoundError):
        await remote.beta.threads.retrieve(thread_id)
    await socket.close()


async def test_deltas_reach_the_socket_while_the_reply_is_still_streaming():
    # With channels_redis, a runner channel under a prefix of its own held the process's one
    # blocking pop, and every frame reached the sockets only once the reply had ended.
    _, cookie = await signed_in()
    assistant = await local_assistant()
    socket = await connected(cookie)
    _, reply_id = await start_chat(socket, assistant, "[[delay:0.05]] [[tokens:40]] slowly")

    await socket.until_type("message.delta", timeout=5)

    assert (await Message.objects.aget(pk=reply_id)).status == "streaming"
    assert (await socket.until_type("message.done"))["message"]["status"] == "complete"
    await socket.close()


@pytest.mark.skipif(not settings.REDIS_URL, reason="only channels_redis pops with a timeout")
async def test_a_socket_idle_longer_than_the_channel_layers_pop_still_works():
    # The list-based channels_redis layer blocked 5 s per pop; a client read timeout of the
    # same length (redis-py 8's default) killed the consumer popping, whose socket went deaf.
    _, cookie = await signed_in()
    socket = await connected(cookie)
    other_tab = await connected(cookie)

    await asyncio.sleep(11)
    await other_tab.send({"type": "ping"})
    await socket.send({"type": "ping"})

    assert (await socket.until_type("pong", timeout=5))["type"] == "pong"
    assert (await other_tab.until_type("pong", timeout=5))["type"] == "pong"
    await socket.close()
    await other_tab.close()


async def test_a_tab_showing_a_dead_reply_hears_it_end_when_it_is_closed():
    user, cookie = await signed_in()
    assistant = await local_assistant()
    conversation = await Conversation.objects.acreate(owner=user, assistant=assistant, title="t")
    await Message.objects.acreate(conversation=conversation, role="user", content="before crash")
    orphan = await Message.objects.acreate(
        conversation=conversation, role="assistant", status="streaming", content="Half"
    )
    watching = await connected(cookie)
    await watching.send({"type": "conversation.open", "conversation_id": conversation.pk})
    await watching.until_type("conversation.snapshot")
    # Its process died: no more heartbeats.
    long_ago = timezone.now() - timedelta(seconds=settings.CHAT_RUNNER_HEARTBEAT * 4)
    await Message.objects.filter(pk=orphan.pk).aupdate(updated_at=long_ago)
    sending = await connected(cookie)

    await sending.send({"type": "message.send", "conversation_id": conversation.pk, "text": "hi"})
    ended = await watching.until_type("message.done")

    assert ended["message"]["id"] == orphan.pk
    assert (ended["message"]["status"], ended["message"]["content"]) == ("incomplete", "Half")
    assert "server stopped" in ended["message"]["error"]
    assert (await watching.until_type("message.done"))["message"]["status"] == "complete"
    await watching.close()
    await sending.close()
