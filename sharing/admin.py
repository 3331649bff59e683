"""Share links for staff: who shared what and when, and a way to revoke a link (a link
that should not be out there, a person who left). Read-only otherwise: a snapshot is
what its owner shared."""

from django.contrib import admin, messages
from django.utils import timezone

from .models import ShareLink


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = ["created_at", "title", "owner", "assistant_name", "allow_downloads", "live"]
    list_filter = ["allow_downloads", ("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["title", "owner__username", "assistant_name"]
    date_hierarchy = "created_at"
    list_select_related = ["owner"]
    fields = [
        "title",
        "owner",
        "conversation",
        "assistant_name",
        "allow_downloads",
        "created_at",
        "revoked_at",
    ]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description="live")
    def live(self, obj):
        return not obj.is_revoked

    @admin.action(description="Revoke the selected links", permissions=["delete"])
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} link(s) revoked.", messages.SUCCESS)
