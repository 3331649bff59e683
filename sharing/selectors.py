"""Reads of sharing: the owner's live link of a conversation, and a link by its token."""

from chat.models import Conversation

from .models import ShareLink


def share_live(*, user, conversation_id: int) -> ShareLink | None:
    """The live link of the user's conversation, or None; Conversation.DoesNotExist for
    anyone else's conversation."""
    if not Conversation.objects.filter(owner=user, pk=conversation_id).exists():
        raise Conversation.DoesNotExist
    return ShareLink.objects.filter(
        conversation_id=conversation_id, revoked_at__isnull=True
    ).first()


def share_by_token(*, token: str) -> ShareLink:
    """A link, revoked or not (the page says which); ShareLink.DoesNotExist otherwise."""
    return ShareLink.objects.select_related("owner").get(token=token)
