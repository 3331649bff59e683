"""What this app refuses, in chat's form (a code and a sentence): docs/websocket-protocol.md
documents both codes."""

from chat.services.refusals import Refused

from .quotas import Budget

NOT_ALLOWED = "not_allowed"
NOT_ALLOWED_MESSAGE = (
    "You may not use this assistant: it is offered to other groups. Ask an administrator "
    "for access."
)
READ_ONLY_MESSAGE = (
    "You can no longer use this conversation's assistant: it is offered to other groups. The "
    "conversation stays readable; ask an administrator for access to continue it."
)
OVER_QUOTA = "over_quota"


class NotAllowed(Refused):
    def __init__(self, *, conversation_exists: bool):
        message = READ_ONLY_MESSAGE if conversation_exists else NOT_ALLOWED_MESSAGE
        super().__init__(NOT_ALLOWED, message, status=403)


class OverQuota(Refused):
    """The budget is spent; `details` say when it resets (ISO 8601, with the offset)."""

    def __init__(self, budget: Budget):
        period = "daily" if budget.period == "day" else "monthly"
        resets = budget.resets_at.isoformat()
        super().__init__(
            OVER_QUOTA,
            f"You have used your {period} budget of {budget.limit:,} tokens. It resets at "
            f"{resets}.",
            status=429,
        )
        self.details = {"resets_at": resets, "period": budget.period, "limit": budget.limit}

    @classmethod
    def of(cls, budgets: list[Budget]) -> "OverQuota | None":
        """The refusal for the spent budgets among `budgets` (the later reset: when the user
        can write again), or None."""
        exhausted = [b for b in budgets if b.exhausted]
        return cls(max(exhausted, key=lambda b: b.resets_at)) if exhausted else None
