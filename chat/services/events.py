"""Publishing chat events to the sockets that show them, through the channel layer.

Two kinds of group: one per user (the sidebar, in every tab) and one per conversation (the
transcript, in every socket that has it open, in any process). Consumers relay the `frame`
of a `chat.frame` message to the browser as it is.

A publish that cannot reach the channel layer (Redis restarting) is logged, not raised: what
it carried is in the database, and every socket of a process whose connection to Redis came
back gets a fresh snapshot (chat/redis_layer.py). The few frames that must arrive (a reply's
end) use `publish_retrying`.
"""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def conversation_group(conversation_id: int) -> str:
    return f"conversation-{conversation_id}"


def session_group(session_key: str) -> str:
    return f"session-{session_key}"


async def channel_discard(layer, channel: str) -> None:
    """Gives up a channel from `new_channel` that nobody will read: the Redis layer stops
    receiving it (its subscription would last as long as the process); the in-memory layer
    keeps nothing for a channel until a message is sent to it, which expires unread."""
    discard = getattr(layer, "channel_discard", None)
    if discard is None:
        return
    try:
        await discard(channel)
    except Exception as error:
        logger.warning("Could not give up channel %s: %s", channel, error)


async def publish(group: str, frame: dict, *, keeping: tuple[tuple, ...] = ()) -> bool:
    """Sends `frame` to every socket of `group`; False when the channel layer is unreachable.

    `keeping`: Redis commands run with the publish, just before it (streamed_text.py), by a
    layer that can (`group_send_with`); the in-memory layer has no use for them.
    """
    layer = get_channel_layer()
    message = {"type": "chat.frame", "frame": frame}
    try:
        if keeping and hasattr(layer, "group_send_with"):
            await layer.group_send_with(group, message, keeping)
        else:
            await layer.group_send(group, message)
    except Exception as error:
        logger.warning("Could not publish %s to %s: %s", frame.get("type"), group, error)
        return False
    return True


async def publish_retrying(group: str, frame: dict, *, keeping: tuple[tuple, ...] = ()) -> bool:
    """`publish`, tried again (backing off) for up to CHAT_FANOUT_RETRY_SECONDS."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.CHAT_FANOUT_RETRY_SECONDS
    pause = 0.1
    while not await publish(group, frame, keeping=keeping):
        if loop.time() + pause > deadline:
            logger.error("Gave up publishing %s to %s", frame.get("type"), group)
            return False
        await asyncio.sleep(pause)
        pause = min(pause * 2, 2.0)
    return True


def publish_on_commit(group: str, frame: dict) -> None:
    """For sync services: publishes once the surrounding transaction has committed."""
    transaction.on_commit(lambda: async_to_sync(publish)(group, frame))
