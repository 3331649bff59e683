"""Feedback on replies: a thumb up or down and an optional comment, one per user and reply.

Kept in its own app beside chat's tables: chat needs nothing of it, and staff read it per
assistant in the admin and in the usage export (organisation.reports).
"""

from django.conf import settings
from django.db import models

from chat.models import Message

MAX_COMMENT_CHARS = 2000


class Feedback(models.Model):
    class Rating(models.TextChoices):
        UP = "up", "Thumbs up"
        DOWN = "down", "Thumbs down"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="feedback"
    )
    rating = models.CharField(max_length=8, choices=Rating)
    comment = models.TextField(blank=True, max_length=MAX_COMMENT_CHARS)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "feedback"
        constraints = [
            # Changing one's mind updates the row (feedback.services.feedback_set).
            models.UniqueConstraint(fields=["message", "user"], name="one_feedback_per_user_reply")
        ]

    def __str__(self):
        return f"{self.get_rating_display()} on reply {self.message_id}"
