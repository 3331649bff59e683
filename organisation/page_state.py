"""Reads for the chat page: why its composer cannot send right now, if it cannot."""

from chat.models import Conversation

from .access import assistant_usable
from .quotas import budgets_for
from .refusals import NotAllowed, OverQuota


def composer_refusal(*, user, conversation: Conversation | None) -> dict | None:
    """{"code", "message"[, "resets_at"]}, as the socket's `error` frame would say it, for
    a conversation whose assistant the user may no longer use or a budget that is spent;
    None when a message can go."""
    assistant = conversation.assistant if conversation is not None else None
    if assistant is not None and assistant.is_active:  # a removed one says so itself
        if not assistant_usable(user=user, assistant=assistant):
            refusal = NotAllowed(conversation_exists=True)
            return {"code": refusal.code, "message": str(refusal)}
    refusal = OverQuota.of(budgets_for(user=user))
    if refusal is None:
        return None
    return {"code": refusal.code, "message": str(refusal), **refusal.details}
