"""Reads of feedback: the user's ratings of one conversation's replies, for the page."""

from chat.models import Conversation

from .models import Feedback


def feedback_for_conversation(*, user, conversation_id: int) -> list[Feedback]:
    """The user's feedback on the replies of their conversation; Conversation.DoesNotExist
    for anyone else's."""
    if not Conversation.objects.filter(owner=user, pk=conversation_id).exists():
        raise Conversation.DoesNotExist
    return list(
        Feedback.objects.filter(user=user, message__conversation_id=conversation_id).order_by(
            "message_id"
        )
    )
