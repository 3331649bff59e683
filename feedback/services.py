"""The writes of feedback: a user's rating of one of their conversation's replies."""

from chat.models import Message
from chat.services.refusals import Refused

from .models import MAX_COMMENT_CHARS, Feedback


def _own_reply(*, user, message_id: int) -> Message:
    """The reply, in one of the user's conversations; Message.DoesNotExist for anything else
    (another user's message is no different from one that does not exist)."""
    return Message.objects.get(pk=message_id, conversation__owner=user)


def feedback_set(
    *, user, message_id: int, rating: str | None, comment: str = ""
) -> Feedback | None:
    """Rates a finished reply ("up" or "down", with an optional comment), replacing the
    user's earlier rating of it; `rating` None clears it (returns None)."""
    message = _own_reply(user=user, message_id=message_id)
    if message.role != Message.Role.ASSISTANT:
        raise Refused("not_a_reply", "Only the assistant's replies take feedback.")
    if message.is_active:
        raise Refused("reply_in_progress", "Wait for the reply to finish before rating it.")
    if rating is None:
        Feedback.objects.filter(message=message, user=user).delete()
        return None
    if rating not in Feedback.Rating.values:
        raise Refused("invalid_rating", '`rating` must be "up", "down" or null.')
    comment = comment.strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise Refused(
            "comment_too_long", f"A comment can be at most {MAX_COMMENT_CHARS:,} characters."
        )
    feedback, _ = Feedback.objects.update_or_create(
        message=message, user=user, defaults={"rating": rating, "comment": comment}
    )
    return feedback
