"""Conversation writes: rename and delete, with the sidebar of every tab kept in step."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError
from django.db import transaction

from chat.models import Conversation, Message
from chat.presenters import conversation_payload

from .assistants import assistant_agent
from .events import publish_on_commit, user_group

TITLE_MAX_CHARS = 200


def conversation_title_from(text: str) -> str:
    """A first title from the opening message: its first line, cut at a word boundary."""
    line = " ".join(text.strip().split())
    if len(line) <= 60:
        return line
    cut = line[:60].rsplit(" ", 1)[0] or line[:60]
    return cut + "…"


def conversation_rename(*, user, conversation_id: int, title: str) -> Conversation:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError("A title cannot be empty.")
    if len(title) > TITLE_MAX_CHARS:
        raise ValidationError(f"A title has at most {TITLE_MAX_CHARS} characters.")
    with transaction.atomic():
        conversation = Conversation.objects.select_related("assistant").get(
            pk=conversation_id, owner=user
        )
        conversation.title = title
        conversation.title_is_custom = True
        conversation.save(update_fields=["title", "title_is_custom"])
        publish_on_commit(
            user_group(user.pk),
            {
                "type": "conversation.updated",
                "conversation": conversation_payload(conversation),
            },
        )
    return conversation


def conversation_delete(*, user, conversation_id: int) -> None:
    """Deletes the remote thread first: if the provider fails, nothing is deleted here."""
    conversation = Conversation.objects.select_related("assistant").get(
        pk=conversation_id, owner=user
    )
    active = conversation.messages.filter(
        status__in=Message.ACTIVE_STATUSES, runner_channel__gt=""
    ).first()

    async def stop_reply_and_delete_thread():
        if active is not None:
            # A reply still streaming would go on writing into a deleted conversation.
            await get_channel_layer().send(active.runner_channel, {"type": "turn.cancel"})
        if conversation.remote_thread_id and conversation.assistant:
            agent = assistant_agent(conversation.assistant)
            await agent.thread(conversation.remote_thread_id).delete()

    async_to_sync(stop_reply_and_delete_thread)()
    with transaction.atomic():
        conversation.delete()
        publish_on_commit(
            user_group(user.pk),
            {
                "type": "conversation.deleted",
                "conversation_id": conversation_id,
            },
        )
