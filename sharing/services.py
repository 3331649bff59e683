"""The writes of sharing: making a conversation's share link (a frozen snapshot) and
revoking it. Only the conversation's owner can do either; anyone else's conversation is
Conversation.DoesNotExist, as everywhere in chat."""

from django.db import transaction
from django.utils import timezone

from chat.models import Conversation
from chat.services.refusals import Refused

from .models import ShareLink
from .snapshot import snapshot_messages


@transaction.atomic
def share_create(*, user, conversation_id: int, allow_downloads: bool) -> ShareLink:
    """A new link with the conversation as it is now. A live link of the conversation is
    revoked first (its URL stops working): the one-live-link constraint holds it, and a
    snapshot can only be renewed by replacing it, never changed in place."""
    conversation = (
        # of=self: PostgreSQL cannot lock the nullable side of the assistant's join.
        Conversation.objects.select_for_update(of=("self",))
        .select_related("assistant")
        .get(owner=user, pk=conversation_id)
    )
    messages = snapshot_messages(conversation)
    if not messages:
        raise Refused("nothing_to_share", "This conversation has no finished messages to share.")
    share_revoke(user=user, conversation_id=conversation.pk)
    assistant = conversation.assistant
    return ShareLink.objects.create(
        conversation=conversation,
        owner=user,
        title=conversation.title,
        assistant_name=assistant.name if assistant else "",
        messages=messages,
        allow_downloads=allow_downloads,
    )


def share_revoke(*, user, conversation_id: int) -> int:
    """Revokes the conversation's live link; how many were revoked (0 or 1). Revoked links
    are kept (a visitor is told the link was revoked, not that it never existed)."""
    if not Conversation.objects.filter(owner=user, pk=conversation_id).exists():
        raise Conversation.DoesNotExist
    return ShareLink.objects.filter(
        conversation_id=conversation_id, owner=user, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
