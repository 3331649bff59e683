from django.contrib import admin

from .models import Identity


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    """Read-only: identities are made by signing in. Deleting one unlinks the account (its
    next sign-in links again, or refuses, as a first one would)."""

    list_display = ["user", "subject", "issuer", "last_sign_in_at"]
    search_fields = ["user__username", "subject"]
    readonly_fields = ["user", "issuer", "subject", "created_at", "last_sign_in_at"]

    def has_add_permission(self, request):
        return False
