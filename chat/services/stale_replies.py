"""Replies whose process died mid-stream: closed as incomplete, keeping what was streamed.

Every process sweeps for them once a heartbeat (`stale_sweeper_start`), so a reply whose
process was killed is closed and announced to the sockets still showing it, in any process,
within a few beats, whether or not anyone opens its conversation. Late beats only make a
reply a candidate: one whose task still runs, here or in another process, is left alone
(running_replies.py), as a busy database thread delays the beats of live replies. A Stop that
its task does not answer closes the reply at once (`reply_close_unanswered`). Either keeps the
text the sockets were shown: the saved text, or Redis's copy of what was published when it
goes further (streamed_text.py).
"""

import asyncio
import logging
from datetime import timedelta

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chat.models import Message
from chat.presenters import message_payload
from organisation.services.usage import usage_finish

from .events import conversation_group, publish_on_commit
from .running_replies import MISSED_BEATS, replies_alive, running_beat_start
from .streamed_text import streamed_forget, streamed_longer, streamed_texts

logger = logging.getLogger(__name__)

STALE_REASON = "The server stopped while this reply was being written; what arrived is kept."
UNANSWERED_STOP_REASON = (
    "Stopped. The server writing this reply had stopped answering; what arrived is kept."
)


def stale_cutoff():
    """Active replies last touched before this belong to a task that is gone."""
    return timezone.now() - timedelta(seconds=settings.CHAT_RUNNER_HEARTBEAT * MISSED_BEATS)


def replies_close_stale(*, conversation_id: int | None = None) -> int:
    """Closes active replies whose task has missed its heartbeats; returns how many.

    Every socket still showing one, in any process, hears it end with `message.done`, once:
    processes sweeping at the same moment lock different rows (SKIP LOCKED on PostgreSQL).
    """
    with transaction.atomic():
        stale = Message.objects.filter(
            status__in=Message.ACTIVE_STATUSES, updated_at__lt=stale_cutoff()
        )
        if conversation_id is not None:
            stale = stale.filter(conversation_id=conversation_id)
        replies = list(stale.select_for_update(skip_locked=True))
        # Late heartbeats from a busy process do not make its replies dead (running_replies.py).
        alive = replies_alive([reply.pk for reply in replies])
        replies = [reply for reply in replies if reply.pk not in alive]
        _take_streamed(replies)
        now = timezone.now()
        for reply in replies:
            reply.status = Message.Status.INCOMPLETE if reply.content else Message.Status.FAILED
            reply.error, reply.runner_channel, reply.updated_at = STALE_REASON, "", now
        _close(replies)
    return len(replies)


def reply_close_unanswered(*, reply_id: int, runner_channel: str) -> bool:
    """Closes a reply as stopped after its task did not answer a Stop; False when it has ended
    (or moved to another task) meanwhile."""
    with transaction.atomic():
        reply = (
            Message.objects.select_for_update()
            .filter(pk=reply_id, status__in=Message.ACTIVE_STATUSES, runner_channel=runner_channel)
            .first()
        )
        if reply is None:
            return False
        _take_streamed([reply])
        reply.status, reply.error = Message.Status.CANCELLED, UNANSWERED_STOP_REASON
        reply.runner_channel, reply.updated_at = "", timezone.now()
        _close([reply])
    return True


def _take_streamed(replies: list[Message]) -> None:
    """Each reply's text as far as it was published: up to a save interval (and more while the
    database was unreachable) past what its task last saved."""
    streamed = streamed_texts([reply.pk for reply in replies])
    for reply in replies:
        reply.content = streamed_longer(reply.content, streamed.get(reply.pk))


def _close(replies: list[Message]) -> None:
    Message.objects.bulk_update(
        replies, ["content", "status", "error", "runner_channel", "updated_at"]
    )
    if replies:
        keys = [reply.pk for reply in replies]
        transaction.on_commit(lambda: streamed_forget(keys))
    for reply in replies:
        # Its process died before it could count the reply: estimated from the text.
        usage_finish(reply=reply, usage={})
        publish_on_commit(
            conversation_group(reply.conversation_id),
            {"type": "message.done", "message": message_payload(reply)},
        )


_sweepers: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}


def stale_sweeper_start() -> None:
    """Starts this process's sweep for dead replies, once per event loop (Daphne has one)."""
    running_beat_start()
    loop = asyncio.get_running_loop()
    task = _sweepers.get(loop)
    if task is None or task.done():
        _sweepers[loop] = loop.create_task(_sweep_forever(), name="stale-replies-sweep")


async def _sweep_forever() -> None:
    close = database_sync_to_async(replies_close_stale)
    while True:
        await asyncio.sleep(settings.CHAT_RUNNER_HEARTBEAT)
        try:
            if closed := await close():
                logger.warning("Closed %d replies whose process had stopped", closed)
        except Exception:
            logger.exception("Could not sweep for replies whose process had stopped")
