"""A turn: the user's message, then the assistant's reply streamed from the provider.

`turn_create` saves the user's message and an empty reply in one transaction (the database
refuses a second active reply in the same conversation, across processes); `turn_launch`
announces both and starts the reply in a task of its own, which outlives the socket that
asked for it; `turn_stop` reaches that task wherever it runs.
"""

import asyncio
import logging
from dataclasses import dataclass

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from chat.models import Assistant, Conversation, Message
from chat.presenters import conversation_payload, message_payload

from .conversations import conversation_title_from
from .events import conversation_group, publish, user_group
from .stale_replies import replies_close_stale

logger = logging.getLogger(__name__)


class TurnRefused(Exception):
    """The turn cannot start; `code` and the message go to the user as an error frame."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


BUSY_MESSAGE = "A reply is still being written in this conversation. Wait for it or press Stop."


@dataclass(frozen=True)
class TurnStart:
    conversation: Conversation
    user_message: Message
    reply: Message
    conversation_created: bool


def validate_message_text(text) -> str:
    if not isinstance(text, str):
        raise TurnRefused("invalid", "The message text must be a string.")
    if not text.strip():
        raise TurnRefused("empty", "The message is empty.")
    limit = settings.CHAT_MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise TurnRefused("too_long", f"The message is longer than {limit:,} characters.")
    return text


def turn_create(
    *, user, text: str, conversation_id: int | None = None, assistant_id: int | None = None
) -> TurnStart:
    text = validate_message_text(text)
    arguments = {
        "user": user,
        "text": text,
        "conversation_id": conversation_id,
        "assistant_id": assistant_id,
    }
    try:
        return _turn_create(**arguments)
    except TurnRefused as refusal:
        # The reply in the way may belong to a process that died: close it and go on.
        if refusal.code == "busy" and replies_close_stale(conversation_id=conversation_id):
            return _turn_create(**arguments)
        raise


def _turn_create(*, user, text, conversation_id, assistant_id) -> TurnStart:
    with transaction.atomic():
        created = conversation_id is None
        if created:
            try:
                assistant = Assistant.objects.get(pk=assistant_id, is_active=True)
            except (Assistant.DoesNotExist, ValueError, TypeError):
                raise TurnRefused("not_found", "This assistant does not exist.") from None
            conversation = Conversation.objects.create(
                owner=user, assistant=assistant, title=conversation_title_from(text)
            )
        else:
            try:
                conversation = Conversation.objects.select_related("assistant").get(
                    pk=conversation_id, owner=user
                )
            except (Conversation.DoesNotExist, ValueError, TypeError):
                raise TurnRefused("not_found", "This conversation does not exist.") from None
            if conversation.assistant is None or not conversation.assistant.is_active:
                raise TurnRefused("not_found", "This conversation's assistant was removed.")
        user_message = Message.objects.create(
            conversation=conversation, role=Message.Role.USER, content=text
        )
        try:
            with transaction.atomic():
                reply = Message.objects.create(
                    conversation=conversation,
                    role=Message.Role.ASSISTANT,
                    status=Message.Status.PENDING,
                )
        except IntegrityError:
            # Leaving the outer block by raising rolls the user's message back too: a refused
            # turn saves nothing.
            raise TurnRefused("busy", BUSY_MESSAGE) from None
        conversation.updated_at = timezone.now()
        conversation.save(update_fields=["updated_at"])
    return TurnStart(conversation, user_message, reply, created)


# Replies running in this process, by message id: keeps their tasks referenced.
_running_tasks: dict[int, asyncio.Task] = {}


async def turn_launch(start: TurnStart, *, client_message_id: str | None = None) -> asyncio.Task:
    """Announces the turn to every socket concerned, then streams the reply in its own task."""
    from .turn_runner import TurnRunner

    conversation = start.conversation
    await publish(
        user_group(conversation.owner_id),
        {
            "type": "conversation.created"
            if start.conversation_created
            else "conversation.updated",
            "conversation": conversation_payload(conversation),
        },
    )
    group = conversation_group(conversation.pk)
    await publish(
        group,
        {
            "type": "message.created",
            "message": message_payload(start.user_message),
            "client_message_id": client_message_id,
        },
    )
    await publish(group, {"type": "message.created", "message": message_payload(start.reply)})
    task = asyncio.create_task(TurnRunner(start).run(), name=f"turn-{start.reply.pk}")
    _running_tasks[start.reply.pk] = task
    task.add_done_callback(lambda _: _running_tasks.pop(start.reply.pk, None))
    return task


@database_sync_to_async
def _active_reply(*, user, conversation_id) -> Message | None:
    try:
        conversation = Conversation.objects.get(pk=conversation_id, owner=user)
    except (Conversation.DoesNotExist, ValueError, TypeError):
        raise TurnRefused("not_found", "This conversation does not exist.") from None
    return conversation.messages.filter(status__in=Message.ACTIVE_STATUSES).first()


async def turn_stop(*, user, conversation_id: int) -> None:
    """Asks the task streaming the reply, in whichever process, to cancel it."""
    reply = await _active_reply(user=user, conversation_id=conversation_id)
    if reply is None:
        raise TurnRefused("not_running", "No reply is being written in this conversation.")
    if reply.runner_channel:
        await get_channel_layer().send(reply.runner_channel, {"type": "turn.cancel"})
        return
    task = _running_tasks.get(reply.pk)
    if task is not None:
        # Not yet streaming: the runner has not registered its channel. Cancel it here.
        task.cancel()
        return
    raise TurnRefused("not_running", "This reply is not running any more.")


async def turn_request_text(*, reply: Message, reply_channel: str) -> None:
    """Asks a running reply to send its text so far to one socket (a late joiner)."""
    if reply.runner_channel:
        await get_channel_layer().send(
            reply.runner_channel, {"type": "turn.text", "reply_channel": reply_channel}
        )
