"""Reads: which assistants a user may use. An assistant is offered to everyone (no access
row, or `everyone`) or to the members of chosen Django groups (which SSO fills)."""

from django.db.models import Q, QuerySet

from chat.models import Assistant


def _usable_by(user) -> Q:
    return (
        Q(access__isnull=True)
        | Q(access__everyone=True)
        | Q(access__groups__in=user.groups.values("pk"))
    )


def assistants_usable(*, user, assistants: QuerySet | None = None) -> QuerySet:
    """The (active) assistants `user` may use, from `assistants` (default: all)."""
    assistants = Assistant.objects.all() if assistants is None else assistants
    # A subquery, not a join: a user in two of the groups sees the assistant once.
    usable = Assistant.objects.filter(_usable_by(user)).values("pk")
    return assistants.filter(is_active=True, pk__in=usable)


def assistant_usable(*, user, assistant: Assistant | None) -> bool:
    if assistant is None or not assistant.is_active:
        return False
    if Assistant.access.is_cached(assistant):
        # Read with the assistant (select_related("access")): open to everyone needs no
        # query, which is most assistants, at every turn.
        access = getattr(assistant, "access", None)
        if access is None or access.everyone:
            return True
        return access.groups.filter(pk__in=user.groups.values("pk")).exists()
    return assistants_usable(user=user).filter(pk=assistant.pk).exists()
