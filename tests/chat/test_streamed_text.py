"""The published text of a streaming reply, kept in Redis so that the sweep closing the reply
of a dead process keeps all that the sockets were shown."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from chat.models import Assistant, Conversation, Message
from chat.services.events import publish
from chat.services.stale_replies import STALE_REASON, replies_close_stale
from chat.services.streamed_text import (
    StreamedText,
    redis_client,
    streamed_key,
    streamed_longer,
    streamed_text_for,
)
from tests.chat.wsclient import make_user

with_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="kept only with Redis")


def test_the_streamed_text_counts_only_when_it_extends_the_saved_one():
    assert streamed_longer("Hello", "Hello, wor") == "Hello, wor"
    assert streamed_longer("Hello, wor", "Hello") == "Hello, wor"  # saved past the publish
    assert streamed_longer("Hello", "Jello, wor") == "Hello"  # another reply's, or stale
    assert streamed_longer("", "\x00\x00\x00lo") == ""  # a lost key that SETRANGE padded
    assert streamed_longer("Hello", None) == "Hello"


async def test_each_batch_is_one_command_a_set_of_all_then_setranges_at_byte_offsets():
    text = StreamedText(7, asyncio.get_running_loop())
    key = streamed_key(7)
    (command,) = text.commands("Héllo", 0)
    assert command[:3] == ("SET", key, "Héllo".encode()) and command[3] == "EX"
    text.published(True)
    assert text.commands("Héllo wörld", 5) == (("SETRANGE", key, 6, " wörld".encode()),)
    text.published(False)  # maybe not kept: the next batch writes it all again
    assert text.commands("Héllo wörld!", 11)[0][:3] == ("SET", key, "Héllo wörld!".encode())
    text.published(True)
    assert text.forget() == (("DEL", key),)


@pytest.mark.skipif(bool(settings.REDIS_URL), reason="the in-memory layer")
async def test_the_in_memory_layer_keeps_nothing():
    assert streamed_text_for(get_channel_layer(), 7, asyncio.get_running_loop()) is None


@with_redis
async def test_the_redis_layer_runs_the_commands_in_the_publish_round_trip():
    text = streamed_text_for(get_channel_layer(), 987654, asyncio.get_running_loop())
    frame = {"type": "message.delta", "offset": 0, "text": "Hello"}
    assert await publish("conversation-0", frame, keeping=text.commands("Hello", 0))
    text.published(True)
    assert await publish("conversation-0", frame, keeping=text.commands("Hello, wor", 5))
    assert await sync_to_async(redis_client().get)(streamed_key(987654)) == b"Hello, wor"
    assert await publish("conversation-0", frame, keeping=text.forget())
    assert await sync_to_async(redis_client().get)(streamed_key(987654)) is None


def stale_reply(content: str) -> Message:
    user = make_user("streamed")
    conversation = Conversation.objects.create(
        owner=user, assistant=Assistant.objects.create(name="A", model="m")
    )
    reply = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        status=Message.Status.STREAMING,
        content=content,
    )
    Message.objects.filter(pk=reply.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    return reply


@with_redis
@pytest.mark.django_db(transaction=True)
def test_the_sweep_closes_a_dead_reply_with_the_text_published_past_its_last_save():
    reply = stale_reply("Hello")
    redis_client().set(streamed_key(reply.pk), b"Hello, wor", ex=60)

    assert replies_close_stale() == 1
    reply.refresh_from_db()
    assert (reply.status, reply.content, reply.error) == ("incomplete", "Hello, wor", STALE_REASON)
    assert redis_client().get(streamed_key(reply.pk)) is None


@with_redis
@pytest.mark.django_db(transaction=True)
def test_a_kept_text_that_does_not_extend_the_saved_one_is_ignored():
    reply = stale_reply("Hello")
    redis_client().set(streamed_key(reply.pk), b"Jello, wor", ex=60)

    assert replies_close_stale() == 1
    reply.refresh_from_db()
    assert (reply.status, reply.content) == ("incomplete", "Hello")
