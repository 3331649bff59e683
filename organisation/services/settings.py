"""Writes: who may use an assistant, and the quotas. The admin edits the same rows; these
are for deployments kept in code (`manage.py assistant_set --groups`, `manage.py quota_set`)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from chat.models import Assistant

from ..models import AssistantAccess, Quota


@transaction.atomic
def assistant_access_set(
    *, assistant: Assistant, everyone: bool, group_names: list[str] = ()
) -> AssistantAccess:
    """Offers `assistant` to everyone, or only to the named groups (created when missing:
    single sign-on fills them at the members' next sign-in)."""
    access, _ = AssistantAccess.objects.get_or_create(assistant=assistant)
    access.everyone = everyone
    access.save(update_fields=["everyone"])
    groups = [Group.objects.get_or_create(name=name)[0] for name in group_names]
    access.groups.set([] if everyone else groups)
    return access


class QuotaTargetMissing(LookupError):
    pass


@transaction.atomic
def quota_set(
    *,
    scope: str,
    group_name: str | None = None,
    username: str | None = None,
    daily_tokens: int | None = None,
    monthly_tokens: int | None = None,
) -> Quota:
    """Sets the default's, a group's or a user's budgets; a budget left as None stays as it
    is, 0 is no limit. Raises QuotaTargetMissing for an unknown group or user."""
    target = {}
    if scope == Quota.Scope.GROUP:
        try:
            target["group"] = Group.objects.get(name=group_name)
        except Group.DoesNotExist:
            raise QuotaTargetMissing(f"No group {group_name!r}.") from None
    elif scope == Quota.Scope.USER:
        model = get_user_model()
        try:
            target["user"] = model.objects.get(**{model.USERNAME_FIELD: username})
        except model.DoesNotExist:
            raise QuotaTargetMissing(f"No user {username!r}.") from None
    quota, _ = Quota.objects.select_for_update().get_or_create(scope=scope, **target)
    if daily_tokens is not None:
        quota.daily_tokens = daily_tokens
    if monthly_tokens is not None:
        quota.monthly_tokens = monthly_tokens
    quota.save()
    return quota
