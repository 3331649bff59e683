"""Replies whose process died mid-stream: closed as incomplete, keeping what was saved."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Case, Value, When
from django.utils import timezone

from chat.models import Message

STALE_REASON = "The server stopped while this reply was being written; what arrived is kept."
MISSED_BEATS = 3


def replies_close_stale(*, conversation_id: int | None = None) -> int:
    """Closes active replies whose task has missed its heartbeats; returns how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.CHAT_RUNNER_HEARTBEAT * MISSED_BEATS)
    stale = Message.objects.filter(status__in=Message.ACTIVE_STATUSES, updated_at__lt=cutoff)
    if conversation_id is not None:
        stale = stale.filter(conversation_id=conversation_id)
    return stale.update(
        status=Case(
            When(content="", then=Value(Message.Status.FAILED)),
            default=Value(Message.Status.INCOMPLETE),
        ),
        error=STALE_REASON,
        runner_channel="",
        updated_at=timezone.now(),
    )
