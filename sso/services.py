"""The site user behind a verified sign-in: created on the first, refreshed on every one."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone

from .claims import Person, person_from
from .models import Identity
from .refusals import SignInRefused


def identity_sign_in(*, issuer: str, claims: dict):
    """The user for these verified claims, with name, e-mail, groups and staff from them.

    Raises SignInRefused when there is no user and sign-up is off, or when the username is
    taken by an account this identity may not take over.
    """
    person = person_from(
        claims,
        username_claim=settings.OIDC_USERNAME_CLAIM,
        groups_claim=settings.OIDC_GROUPS_CLAIM,
    )
    try:
        return _sign_in(issuer, person)
    except IntegrityError as error:
        # Two first sign-ins of one person at once (two tabs): the other made the account.
        raise SignInRefused(
            "another sign-in to this account was being completed at the same moment. Sign in "
            "again.",
            status=409,
        ) from error


def _sign_in(issuer: str, person: Person):
    with transaction.atomic():
        identity = (
            Identity.objects.select_for_update()
            .select_related("user")
            .filter(issuer=issuer, subject=person.subject)
            .first()
        )
        if identity is None:
            identity = Identity.objects.create(
                issuer=issuer, subject=person.subject, user=_account_for(person)
            )
        user = identity.user
        _refresh(user, person)
        identity.last_sign_in_at = timezone.now()
        identity.save(update_fields=["last_sign_in_at"])
    return user


def _account_for(person: Person):
    """An existing account this subject may claim, or a new one.

    An account with a usable password is never taken over by a name match: whoever controls
    the provider's username (some providers let users pick it) would get it. Staff make an
    account claimable by creating it (or turning it) "without password".
    """
    User = get_user_model()
    existing = User.objects.filter(username=person.username).first()
    if existing is not None:
        if existing.has_usable_password():
            raise SignInRefused(
                f"the username {person.username!r} belongs to an account here that signs in "
                "with a password. Staff can remove that account's password to let single "
                "sign-on take it over."
            )
        if existing.sso_identities.exists():
            raise SignInRefused(
                f"the username {person.username!r} is already linked to another identity "
                "at the provider."
            )
        return existing
    if not settings.OIDC_CREATE_USER:
        raise SignInRefused(
            f"there is no account for {person.username!r} on this site, and new accounts "
            "are not created at sign-in. Ask an administrator to create it."
        )
    user = User(username=person.username)
    user.set_unusable_password()
    user.save()
    return user


def _refresh(user, person: Person) -> None:
    user.email = person.email
    user.first_name = person.first_name
    user.last_name = person.last_name
    if person.groups is not None:
        names = set(person.groups)
        if settings.OIDC_STAFF_GROUPS:
            user.is_staff = bool(names & set(settings.OIDC_STAFF_GROUPS))
        if settings.OIDC_SUPERUSER_GROUPS:
            user.is_superuser = bool(names & set(settings.OIDC_SUPERUSER_GROUPS))
            user.is_staff = user.is_staff or user.is_superuser
    user.save()
    if person.groups is not None:
        groups = [Group.objects.get_or_create(name=name)[0] for name in person.groups]
        user.groups.set(groups)
