"""Share links: a read-only snapshot of one conversation that any signed-in user can open.

The snapshot is copied into the link when it is made (sharing.snapshot), so that what the
owner shared does not change when the conversation goes on, nor when a reply is
regenerated or a message edited. The files it names stay in chat's tables; they are served
through the link only if the owner allowed it (sharing.views.shared_file).
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from chat.models import Conversation


def new_token() -> str:
    # 192 bits: a link cannot be guessed, only passed on.
    return secrets.token_urlsafe(24)


class ShareLink(models.Model):
    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    # Deleting the conversation deletes its links (and the files they could serve).
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="share_links"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="share_links"
    )
    # Frozen with the messages: a later rename does not rename what was shared.
    title = models.CharField(max_length=200, blank=True)
    assistant_name = models.CharField(max_length=256, blank=True)
    # [message payload] as sharing.snapshot.snapshot_messages makes them.
    messages = models.JSONField(default=list)
    allow_downloads = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One live link per conversation: sharing again replaces it (sharing.services).
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(revoked_at__isnull=True),
                name="one_live_share_per_conversation",
            )
        ]

    def __str__(self):
        return f"Share of {self.title or self.conversation_id}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
