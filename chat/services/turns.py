"""A turn: the user's message, then the assistant's reply streamed from the provider.

`turn_create` saves the user's message and an empty reply in one transaction (the database
refuses a second active reply in the same conversation, across processes); `turn_regenerate`
and `turn_edit` replace the last reply, or the last exchange, the same way; `turn_save` runs
one of them for a socket, with the channel the reply's task will listen on; `turn_launch`
announces the turn and starts the reply in a task of its own, which outlives the socket that
asked for it; `turn_stop` reaches that task wherever it runs.

Regenerate and edit are exact where the thread allows it: a thread the site holds
(chat_completions, stateless responses) is the transcript as it is now, and a chain of
stored responses continues from the reply before the replaced messages (each reply records
the chain's head). A remote thread (assistants, a responses conversation) is append-only:
the new run sends the user's message (the same text, or the edited one) again on it, so the
provider still sees the replaced attempt as earlier history. docs/websocket-protocol.md
says so to clients.
"""

import asyncio
import logging
from dataclasses import dataclass

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from chat.ids import id_in_range
from chat.models import Assistant, Conversation, Message
from chat.prepared_statements import PreparedInsert, PreparedQuery, PreparedUpdate
from chat.presenters import (
    conversation_payload,
    message_payload,
    message_prefetch,
    messages_without_files,
)
from organisation.services.admission import turn_admit
from toolservers.services.choices import offers_mcp_tools

from .conversations import conversation_title_from
from .events import channel_discard, conversation_group, publish, user_group
from .refusals import Refused
from .running_replies import running_register, running_task
from .stale_replies import replies_close_stale, reply_close_unanswered, stale_cutoff
from .uploads import UPLOAD_UNAVAILABLE, uploads_claim

logger = logging.getLogger(__name__)


class TurnRefused(Refused):
    """The turn cannot start; `code` and the message go to the user as an error frame."""


BUSY_MESSAGE = "A reply is still being written in this conversation. Wait for it or press Stop."

# The statements of most turns (chat.prepared_statements: built once, not every turn).
_ASSISTANT_FOR_TURN = PreparedQuery(
    lambda pk: (
        Assistant.objects.select_related("connection", "access")
        .annotate(offers_tools=offers_mcp_tools("pk"))
        .filter(pk=pk, is_active=True)
    ),
    pk=(1, 2),
)
_CONVERSATION_FOR_TURN = PreparedQuery(
    lambda pk, owner: (
        Conversation.objects.select_related("assistant__connection", "assistant__access")
        .annotate(offers_tools=offers_mcp_tools("assistant_id"))
        .filter(pk=pk, owner=owner)
    ),
    pk=(1, 2),
    owner=(1, 2),
)
_CONVERSATION_INSERT = PreparedInsert(Conversation)
_MESSAGES_INSERT = PreparedInsert(Message)
_CONVERSATION_TOUCH = PreparedUpdate(Conversation)


@dataclass(frozen=True)
class TurnStart:
    conversation: Conversation
    user_message: Message
    reply: Message
    conversation_created: bool
    # Regenerate and edit: the messages this turn replaced (deleted), and whether the user's
    # message is a new one (edit, send) or the one already shown (regenerate).
    replaced_message_ids: tuple[int, ...] = ()
    user_message_created: bool = True
    # Whether the assistant offers MCP tools, read with the conversation: the runner asks for
    # its toolbox only then.
    offers_tools: bool = True


def validate_message_text(text, *, with_attachments: bool = False) -> str:
    """The message text; it may be empty only when files are attached."""
    if text is None and with_attachments:
        text = ""
    if not isinstance(text, str):
        raise TurnRefused("invalid", "The message text must be a string.")
    if not text.strip() and not with_attachments:
        raise TurnRefused("empty", "The message is empty.")
    limit = settings.CHAT_MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise TurnRefused("too_long", f"The message is longer than {limit:,} characters.")
    return text


def validate_attachments(attachments) -> list[int]:
    """The upload ids of a frame's `attachments` (absent: none)."""
    if attachments is None:
        return []
    if not isinstance(attachments, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in attachments
    ):
        raise TurnRefused("bad_attachment", "`attachments` must be a list of upload ids.")
    limit = settings.CHAT_MAX_ATTACHMENTS
    if len(set(attachments)) > limit:
        raise TurnRefused("bad_attachment", f"A message can carry at most {limit} files.")
    if not all(id_in_range(i) for i in attachments):
        raise TurnRefused("bad_attachment", UPLOAD_UNAVAILABLE)
    return list(dict.fromkeys(attachments))


async def turn_save(service, *, user, **arguments) -> TurnStart:
    """Saves a turn through `service` (turn_create, turn_regenerate, turn_edit) with the
    channel its reply's task will listen on already made: the reply is saved streaming, with
    that channel, in the turn's transaction, instead of in a write of its own when the task
    starts. A Stop sent meanwhile waits on the channel for the task."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    try:
        return await database_sync_to_async(service)(user=user, runner_channel=channel, **arguments)
    except BaseException:
        await channel_discard(layer, channel)
        raise


def _unless_stale(create, *, conversation_id: int | None, **arguments) -> TurnStart:
    try:
        return create(conversation_id=conversation_id, **arguments)
    except TurnRefused as refusal:
        # The reply in the way may belong to a process that died: close it and go on.
        if refusal.code == "busy" and replies_close_stale(conversation_id=conversation_id):
            return create(conversation_id=conversation_id, **arguments)
        raise


def turn_create(
    *,
    user,
    text: str,
    conversation_id: int | None = None,
    assistant_id: int | None = None,
    attachments: list[int] | None = None,
    runner_channel: str = "",
) -> TurnStart:
    """`runner_channel`: the channel the reply's task will listen on (turn_save), when made
    already; else the task makes it."""
    upload_ids = validate_attachments(attachments)
    text = validate_message_text(text, with_attachments=bool(upload_ids))
    return _unless_stale(
        _turn_create,
        user=user,
        text=text,
        conversation_id=conversation_id,
        assistant_id=assistant_id,
        upload_ids=upload_ids,
        runner_channel=runner_channel,
    )


def turn_regenerate(*, user, conversation_id: int, runner_channel: str = "") -> TurnStart:
    """Replaces the conversation's last reply (finished, stopped or failed) with a new one to
    the same message: "regenerate", and "retry" after a failure."""
    return _unless_stale(
        _turn_regenerate,
        user=user,
        conversation_id=conversation_id,
        runner_channel=runner_channel,
    )


def turn_edit(
    *,
    user,
    conversation_id: int,
    message_id: int,
    text: str,
    attachments: list[int] | None = None,
    runner_channel: str = "",
) -> TurnStart:
    """Replaces the user's last message, and the reply to it, with `text` and a new reply.
    `attachments` may list the replaced message's files again to keep them."""
    upload_ids = validate_attachments(attachments)
    text = validate_message_text(text, with_attachments=bool(upload_ids))
    return _unless_stale(
        _turn_edit,
        user=user,
        conversation_id=conversation_id,
        message_id=message_id,
        text=text,
        upload_ids=upload_ids,
        runner_channel=runner_channel,
    )


def _conversation_for_turn(*, user, conversation_id) -> Conversation:
    """The user's conversation, locked until the transaction ends (on PostgreSQL): two
    regenerates or edits at once see the transcript one after the other."""
    try:
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("assistant__connection")
            .annotate(offers_tools=offers_mcp_tools("assistant_id"))
            .get(pk=conversation_id, owner=user)
        )
    except (Conversation.DoesNotExist, ValueError, TypeError):
        raise TurnRefused("not_found", "This conversation does not exist.") from None
    if conversation.assistant is None or not conversation.assistant.is_active:
        raise TurnRefused("not_found", "This conversation's assistant was removed.")
    return conversation


def _new_reply(conversation: Conversation, runner_channel: str) -> Message:
    """The empty reply that starts a run; "busy" when another reply is active."""
    (reply,) = _insert([_empty_reply(conversation, runner_channel)])
    return reply


def _new_exchange(
    conversation: Conversation, *, text: str, runner_channel: str
) -> tuple[Message, Message]:
    """The user's message and the empty reply to it, in one INSERT; "busy" when another reply
    is active."""
    user_message = Message(conversation=conversation, role=Message.Role.USER, content=text)
    return _insert([user_message, _empty_reply(conversation, runner_channel)])


def _empty_reply(conversation: Conversation, runner_channel: str) -> Message:
    """Streaming already when the channel its task listens on is known (turn_save); else
    pending until the task records it."""
    return Message(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        status=Message.Status.STREAMING if runner_channel else Message.Status.PENDING,
        runner_channel=runner_channel,
    )


def _insert(messages: list[Message]) -> list[Message]:
    try:
        # No savepoint of its own (two statements fewer per turn): nothing runs in the
        # caller's transaction after a refusal, which leaves it by raising and so rolls back
        # whatever it wrote. A refused turn saves (and deletes) nothing.
        return _MESSAGES_INSERT.save(messages)
    except IntegrityError:
        raise TurnRefused("busy", BUSY_MESSAGE) from None


def _touch(conversation: Conversation) -> None:
    conversation.updated_at = timezone.now()
    _CONVERSATION_TOUCH.run(conversation.pk, updated_at=conversation.updated_at)


def _turn_id(value) -> int | None:
    """An id as the ORM's lookup would take it; None for what cannot be one (a string that
    is no number, or a number out of the column's range, which SQLite could not even take)."""
    try:
        number = Assistant._meta.pk.get_prep_value(value)
    except (ValueError, TypeError):
        return None
    return number if number is not None and id_in_range(number) else None


def _chain_restart(conversation: Conversation, *, before: int) -> None:
    """With stored responses, the next response continues the chain from the last reply
    before message `before`, so the replaced attempt is not part of what it sees."""
    if not conversation.assistant.thread_is_chain:
        return
    head = (
        conversation.messages.filter(role=Message.Role.ASSISTANT, pk__lt=before)
        .exclude(remote_response_id="")
        .order_by("-pk")
        .values_list("remote_response_id", flat=True)
        .first()
    )
    conversation.remote_thread_id = head or ""
    conversation.save(update_fields=["remote_thread_id"])


def _turn_regenerate(*, user, conversation_id, runner_channel) -> TurnStart:
    with transaction.atomic():
        conversation = _conversation_for_turn(user=user, conversation_id=conversation_id)
        last = conversation.messages.order_by("-id").first()
        if last is not None and last.is_active:
            raise TurnRefused("busy", BUSY_MESSAGE)
        user_message = None
        if last is not None and last.role == Message.Role.ASSISTANT:
            user_message = (
                conversation.messages.filter(role=Message.Role.USER, pk__lt=last.pk)
                .order_by("-id")
                .first()
            )
        if user_message is None:
            raise TurnRefused("no_reply", "This conversation does not end with a reply.")
        replaced = tuple(
            conversation.messages.filter(pk__gt=user_message.pk).values_list("pk", flat=True)
        )
        conversation.messages.filter(pk__in=replaced).delete()
        _chain_restart(conversation, before=user_message.pk)
        reply = _new_reply(conversation, runner_channel)
        turn_admit(user=user, conversation=conversation, reply=reply, text=user_message.content)
        _touch(conversation)
        # turn_launch presents both from async code, where no query may run.
        message_prefetch([user_message, reply])
    return TurnStart(
        conversation,
        user_message,
        reply,
        conversation_created=False,
        replaced_message_ids=replaced,
        user_message_created=False,
        offers_tools=conversation.offers_tools,
    )


def _turn_edit(*, user, conversation_id, message_id, text, upload_ids, runner_channel) -> TurnStart:
    with transaction.atomic():
        conversation = _conversation_for_turn(user=user, conversation_id=conversation_id)
        if not conversation.messages.filter(pk=message_id, role=Message.Role.USER).exists():
            raise TurnRefused("not_found", "This message does not exist.")
        if conversation.messages.filter(pk__gt=message_id, role=Message.Role.USER).exists():
            raise TurnRefused("not_last", "Only your last message can be edited.")
        replaced = list(conversation.messages.filter(pk__gte=message_id).order_by("id"))
        if any(m.is_active for m in replaced):
            raise TurnRefused("busy", BUSY_MESSAGE)
        conversation.messages.filter(pk__in=[m.pk for m in replaced]).delete()
        _chain_restart(conversation, before=message_id)
        user_message, reply = _new_exchange(conversation, text=text, runner_channel=runner_channel)
        uploads_claim(
            user=user,
            upload_ids=upload_ids,
            conversation=conversation,
            message=user_message,
            reattach=True,
        )
        turn_admit(user=user, conversation=conversation, reply=reply, text=text)
        _touch(conversation)
        # turn_launch presents both from async code, where no query may run.
        message_prefetch([user_message, reply])
    return TurnStart(
        conversation,
        user_message,
        reply,
        conversation_created=False,
        replaced_message_ids=tuple(m.pk for m in replaced),
        offers_tools=conversation.offers_tools,
    )


def _turn_create(
    *, user, text, conversation_id, assistant_id, upload_ids, runner_channel
) -> TurnStart:
    with transaction.atomic():
        created = conversation_id is None
        if created:
            pk = _turn_id(assistant_id)
            assistant = _ASSISTANT_FOR_TURN.first(pk=pk) if pk else None
            if assistant is None:
                raise TurnRefused("not_found", "This assistant does not exist.")
            (conversation,) = _CONVERSATION_INSERT.save(
                [Conversation(owner=user, assistant=assistant, title=conversation_title_from(text))]
            )
            offers_tools = assistant.offers_tools
        else:
            pk = _turn_id(conversation_id)
            conversation = _CONVERSATION_FOR_TURN.first(pk=pk, owner=user.pk) if pk else None
            if conversation is None:
                raise TurnRefused("not_found", "This conversation does not exist.")
            if conversation.assistant is None or not conversation.assistant.is_active:
                raise TurnRefused("not_found", "This conversation's assistant was removed.")
            offers_tools = conversation.offers_tools
        user_message, reply = _new_exchange(conversation, text=text, runner_channel=runner_channel)
        # An UploadRefused leaves the transaction: the messages it would have joined are undone.
        uploads_claim(
            user=user, upload_ids=upload_ids, conversation=conversation, message=user_message
        )
        if created and not conversation.title and upload_ids:
            # Files and no words: the first file's name is the best title there is.
            conversation.title = conversation_title_from(user_message.uploads.first().name)
            conversation.save(update_fields=["title"])
        turn_admit(user=user, conversation=conversation, reply=reply, text=text, created=created)
        if not created:
            _touch(conversation)  # a new one was just written with this time
        # turn_launch presents both from async code, where no query may run. A reply just
        # made has no files, nor has a message sent without attachments: no query for them.
        message_prefetch([user_message] if upload_ids else [])
        messages_without_files([reply] if upload_ids else [user_message, reply])
    return TurnStart(conversation, user_message, reply, created, offers_tools=offers_tools)


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
    if start.replaced_message_ids:
        await publish(
            group,
            {
                "type": "message.deleted",
                "conversation_id": conversation.pk,
                "message_ids": list(start.replaced_message_ids),
            },
        )
    if start.user_message_created:
        await publish(
            group,
            {
                "type": "message.created",
                "message": message_payload(start.user_message),
                "client_message_id": client_message_id,
            },
        )
    await publish(group, {"type": "message.created", "message": message_payload(start.reply)})
    runner = TurnRunner(start)
    task = asyncio.create_task(runner.run(), name=f"turn-{start.reply.pk}")
    running_register(start.reply.pk, task, runner)
    return task


@database_sync_to_async
def _active_reply(*, user, conversation_id) -> Message | None:
    try:
        conversation = Conversation.objects.get(pk=conversation_id, owner=user)
    except (Conversation.DoesNotExist, ValueError, TypeError):
        raise TurnRefused("not_found", "This conversation does not exist.") from None
    return conversation.messages.filter(status__in=Message.ACTIVE_STATUSES).first()


async def turn_stop(*, user, conversation_id: int) -> None:
    """Asks the task streaming the reply, in whichever process, to cancel it; closes the reply
    itself when that task is gone (its process died) or does not answer."""
    reply = await _active_reply(user=user, conversation_id=conversation_id)
    if reply is None:
        raise TurnRefused("not_running", "No reply is being written in this conversation.")
    if reply.runner_channel:
        if reply.updated_at < stale_cutoff() or not await _runner_answers_stop(reply):
            await database_sync_to_async(reply_close_unanswered)(
                reply_id=reply.pk, runner_channel=reply.runner_channel
            )
        return
    task = running_task(reply.pk)
    if task is not None:
        # Not yet streaming: the runner has not registered its channel. Cancel it here.
        task.cancel()
        return
    raise TurnRefused("not_running", "This reply is not running any more.")


async def _runner_answers_stop(reply: Message) -> bool:
    """Sends Stop to the reply's task; whether it answered within CHAT_STOP_TIMEOUT."""
    layer = get_channel_layer()
    try:
        answers = await layer.new_channel()
    except Exception as error:  # the channel layer is unreachable: so is the task
        logger.warning("Could not send Stop to reply %s: %s", reply.pk, error)
        return False

    async def answered() -> None:
        await layer.send(reply.runner_channel, {"type": "turn.cancel", "reply_channel": answers})
        while (await layer.receive(answers)).get("type") != "turn.stopping":
            pass

    waiting = asyncio.ensure_future(answered())
    try:
        async with asyncio.timeout(settings.CHAT_STOP_TIMEOUT):
            await asyncio.shield(waiting)
        return True
    except TimeoutError:
        return False
    except Exception as error:
        logger.warning("Could not send Stop to reply %s: %s", reply.pk, error)
        return False
    finally:
        # A receive that is cancelled gives its channel up (channels_redis unsubscribes).
        if waiting.done():
            waiting = asyncio.ensure_future(layer.receive(answers))
            await asyncio.sleep(0)
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)


async def turn_request_text(*, reply: Message, reply_channel: str) -> None:
    """Asks a running reply to send its text so far to one socket (a late joiner)."""
    if reply.runner_channel:
        try:
            await get_channel_layer().send(
                reply.runner_channel, {"type": "turn.text", "reply_channel": reply_channel}
            )
        except Exception as error:
            # The socket shows the saved text; it is resynchronised when the layer is back.
            logger.warning("Could not ask reply %s for its text: %s", reply.pk, error)
