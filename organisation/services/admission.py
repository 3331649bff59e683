"""Writes: admitting a turn. Checked in the turn's own transaction, before anything goes to
the provider: the user may use the assistant, and has budget left. An admitted turn holds a
reservation (its usage row) that every later check counts, in any process, until the reply
ends and the real count replaces it.

Two turns of one user starting at once are checked one after the other: the user's row is
locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite has one writer at a time anyway). A
reply in flight is reserved at the largest reply the user had this month (at least its
message's own estimate), so a second turn starting beside it sees the budget as that reply
will most likely leave it: together they overspend by at most about one reply. Nothing is
checked while a reply streams: a reply once started is never cut.
"""

from django.contrib.auth import get_user_model
from django.db import connection

from chat.agents.history import estimated_tokens
from chat.models import Conversation, Message
from chat.prepared_statements import PreparedInsert

from .. import clock
from ..access import assistant_usable
from ..models import UsageRecord
from ..quotas import budgets_from, limits_for, periods_at, spent_by
from ..refusals import NotAllowed, OverQuota

_USAGE_INSERT = PreparedInsert(UsageRecord)  # once a turn: built once (chat.prepared_statements)


def turn_admit(
    *, user, conversation: Conversation, reply: Message, text: str, created: bool = False
) -> UsageRecord:
    """Admits the turn whose empty `reply` was just created (inside its transaction), or
    raises NotAllowed or OverQuota, which roll the turn back: nothing is saved or sent."""
    assistant = conversation.assistant
    if not assistant_usable(user=user, assistant=assistant):
        raise NotAllowed(conversation_exists=not created)
    estimate = estimated_tokens(text) + (
        estimated_tokens(assistant.instructions) if assistant.instructions else 0
    )
    now = clock.now()
    if connection.features.has_select_for_update:
        # Serialises this user's admissions across processes until the turn's transaction
        # ends (SQLite has no row locks: its one writer at a time does the same).
        get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
    limits = limits_for(user=user)
    reservation = estimate
    if limits.daily is not None or limits.monthly is not None:
        periods = periods_at(now)
        spent = spent_by(user=user, periods=periods)
        refusal = OverQuota.of(budgets_from(limits=limits, spent=spent, periods=periods))
        if refusal is not None:
            raise refusal
        reservation = max(estimate, spent.largest)
    (record,) = _USAGE_INSERT.save(
        [
            UsageRecord(
                user=user,
                assistant=assistant,
                assistant_name=assistant.name,
                connection=assistant.connection.name,
                model=assistant.model or assistant.connection.default_model,
                reply=reply,
                total_tokens=reservation,
                estimated=True,
                created_at=now,
            )
        ]
    )
    return record
