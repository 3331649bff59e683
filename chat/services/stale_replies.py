"""Replies whose process died mid-stream: closed as incomplete, keeping what was saved."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Case, Value, When
from django.utils import timezone

from chat.models import Message
from chat.presenters import message_payload

from .events import conversation_group, publish_on_commit

STALE_REASON = "The server stopped while this reply was being written; what arrived is kept."
MISSED_BEATS = 3


def replies_close_stale(*, conversation_id: int | None = None) -> int:
    """Closes active replies whose task has missed its heartbeats; returns how many.

    Every socket still showing one, in any process, hears it end with `message.done`.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.CHAT_RUNNER_HEARTBEAT * MISSED_BEATS)
    stale = Message.objects.filter(status__in=Message.ACTIVE_STATUSES, updated_at__lt=cutoff)
    if conversation_id is not None:
        stale = stale.filter(conversation_id=conversation_id)
    ids = list(stale.values_list("pk", flat=True))
    if not ids:
        return 0
    # The conditions hold again in the UPDATE: a reply that beat since the read stays open.
    closed = stale.filter(pk__in=ids).update(
        status=Case(
            When(content="", then=Value(Message.Status.FAILED)),
            default=Value(Message.Status.INCOMPLETE),
        ),
        error=STALE_REASON,
        runner_channel="",
        updated_at=timezone.now(),
    )
    ended = Message.objects.filter(pk__in=ids, error=STALE_REASON).exclude(
        status__in=Message.ACTIVE_STATUSES
    )
    for reply in ended:
        publish_on_commit(
            conversation_group(reply.conversation_id),
            {"type": "message.done", "message": message_payload(reply)},
        )
    return closed
