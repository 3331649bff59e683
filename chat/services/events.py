"""Publishing chat events to the sockets that show them, through the channel layer.

Two kinds of group: one per user (the sidebar, in every tab) and one per conversation (the
transcript, in every socket that has it open, in any process). Consumers relay the `frame`
of a `chat.frame` message to the browser as it is.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def conversation_group(conversation_id: int) -> str:
    return f"conversation-{conversation_id}"


def session_group(session_key: str) -> str:
    return f"session-{session_key}"


async def publish(group: str, frame: dict) -> None:
    await get_channel_layer().group_send(group, {"type": "chat.frame", "frame": frame})


def publish_on_commit(group: str, frame: dict) -> None:
    """For sync services: publishes once the surrounding transaction has committed."""
    transaction.on_commit(lambda: async_to_sync(publish)(group, frame))
