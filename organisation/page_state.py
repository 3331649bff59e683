"""Reads for the chat page: why its composer cannot send right now, if it cannot."""

from collections.abc import Collection

from chat.models import Conversation

from .access import assistant_usable
from .quotas import budgets_from, limits_for, periods_at, spent_by
from .refusals import NotAllowed, OverQuota


def composer_refusal(
    *, user, conversation: Conversation | None, usable_ids: Collection[int] | None = None
) -> dict | None:
    """{"code", "message"[, "resets_at"]}, as the socket's `error` frame would say it, for
    a conversation whose assistant the user may no longer use or a budget that is spent;
    None when a message can go. `usable_ids`: the ids of the assistants the user may use,
    when the caller has read them already (the page lists them in its picker), which saves
    the access query."""
    assistant = conversation.assistant if conversation is not None else None
    if assistant is not None and assistant.is_active:  # a removed one says so itself
        if usable_ids is not None:
            usable = assistant.pk in usable_ids
        else:
            usable = assistant_usable(user=user, assistant=assistant)
        if not usable:
            refusal = NotAllowed(conversation_exists=True)
            return {"code": refusal.code, "message": str(refusal)}
    limits = limits_for(user=user)
    if limits.daily is None and limits.monthly is None:
        return None  # nothing to spend: no need to sum the usage
    periods = periods_at()
    spent = spent_by(user=user, periods=periods)
    refusal = OverQuota.of(budgets_from(limits=limits, spent=spent, periods=periods))
    if refusal is None:
        return None
    return {"code": refusal.code, "message": str(refusal), **refusal.details}
