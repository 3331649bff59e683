"""Feedback for staff: read-only, filtered by assistant, rating and date."""

from django.contrib import admin
from django.utils.text import Truncator

from .models import Feedback


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["created_at", "assistant", "rating", "comment_excerpt", "user", "reply"]
    list_filter = [
        ("message__conversation__assistant", admin.RelatedOnlyFieldListFilter),
        "rating",
        "created_at",
    ]
    search_fields = ["comment", "message__content", "user__username"]
    date_hierarchy = "created_at"
    list_select_related = ["user", "message__conversation__assistant"]
    fields = ["created_at", "user", "assistant", "rating", "comment", "reply_text"]
    readonly_fields = fields

    # What users said is theirs: staff read it, they do not write or change it.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="assistant", ordering="message__conversation__assistant__name")
    def assistant(self, obj):
        assistant = obj.message.conversation.assistant
        return assistant.name if assistant else "(deleted)"

    @admin.display(description="comment")
    def comment_excerpt(self, obj):
        return Truncator(obj.comment).chars(80)

    @admin.display(description="reply")
    def reply(self, obj):
        return Truncator(obj.message.content).chars(60)

    @admin.display(description="reply")
    def reply_text(self, obj):
        return obj.message.content
