"""The account behind a verified sign-in (sso.services): created at the first, refreshed at
every one, never taken over from a password account. The browser tests do the same through
the real provider; these cover the rules one by one."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from sso.claims import person_from
from sso.models import Identity
from sso.refusals import SignInRefused
from sso.services import identity_sign_in

ISSUER = "https://login.example.org"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sso_settings(settings):
    settings.OIDC_ISSUER = ISSUER
    settings.OIDC_STAFF_GROUPS = ["chat-admins"]
    settings.OIDC_SUPERUSER_GROUPS = []
    settings.OIDC_CREATE_USER = True
    settings.OIDC_USERNAME_CLAIM = "preferred_username"
    settings.OIDC_GROUPS_CLAIM = "groups"
    return settings


def claims(sub="s-1", username="ada", **more):
    return {
        "sub": sub,
        "preferred_username": username,
        "email": f"{username}@example.org",
        "given_name": "Ada",
        "family_name": "Lovelace",
        **more,
    }


def groups_of(user) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def test_the_first_sign_in_creates_the_user_without_a_password():
    user = identity_sign_in(issuer=ISSUER, claims=claims(groups=["research", "chat-admins"]))

    assert (user.username, user.email, user.first_name, user.last_name) == (
        "ada",
        "ada@example.org",
        "Ada",
        "Lovelace",
    )
    assert not user.has_usable_password()
    assert user.is_staff and not user.is_superuser
    assert groups_of(user) == ["chat-admins", "research"]
    assert Identity.objects.get(user=user).subject == "s-1"


def test_every_sign_in_refreshes_name_email_groups_and_staff():
    first = identity_sign_in(issuer=ISSUER, claims=claims(groups=["chat-admins", "research"]))
    Group.objects.create(name="finance")

    again = identity_sign_in(
        issuer=ISSUER,
        claims=claims(username="ada.l", email="ada@new.example.org", groups=["finance"]),
    )

    assert again.pk == first.pk  # linked by (issuer, sub), not by a name that changed
    assert again.username == "ada" and again.email == "ada@new.example.org"
    assert groups_of(again) == ["finance"]
    assert not again.is_staff


def test_without_a_groups_claim_memberships_and_staff_stay_as_they_were():
    user = identity_sign_in(issuer=ISSUER, claims=claims(groups=["chat-admins"]))

    again = identity_sign_in(issuer=ISSUER, claims=claims())  # e.g. Entra ID's group overage

    assert groups_of(again) == ["chat-admins"] and again.is_staff
    assert again.pk == user.pk


def test_staff_is_left_alone_when_no_staff_groups_are_configured(sso_settings):
    sso_settings.OIDC_STAFF_GROUPS = []
    user = identity_sign_in(issuer=ISSUER, claims=claims(groups=["research"]))
    user.is_staff = True  # made staff by hand in the admin
    user.save()

    assert identity_sign_in(issuer=ISSUER, claims=claims(groups=["research"])).is_staff


def test_superuser_groups_make_superusers_and_staff(sso_settings):
    sso_settings.OIDC_SUPERUSER_GROUPS = ["owners"]
    user = identity_sign_in(issuer=ISSUER, claims=claims(groups=["owners"]))
    assert user.is_superuser and user.is_staff


def test_a_password_account_is_never_taken_over_by_a_name():
    get_user_model().objects.create_user("ada", password="local-pass-123")

    with pytest.raises(SignInRefused, match="signs in with a password"):
        identity_sign_in(issuer=ISSUER, claims=claims())
    assert not Identity.objects.exists()


def test_an_account_made_without_a_password_is_claimed_even_when_sign_up_is_off(sso_settings):
    sso_settings.OIDC_CREATE_USER = False
    made = get_user_model().objects.create_user("ada")  # no password

    assert identity_sign_in(issuer=ISSUER, claims=claims()).pk == made.pk
    with pytest.raises(SignInRefused, match="already linked to another identity"):
        identity_sign_in(issuer=ISSUER, claims=claims(sub="s-2"))


def test_an_unknown_user_is_refused_when_sign_up_is_off(sso_settings):
    sso_settings.OIDC_CREATE_USER = False

    with pytest.raises(SignInRefused, match="no account for 'ada' on this site"):
        identity_sign_in(issuer=ISSUER, claims=claims())
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize(
    ("raw", "groups"),
    [
        (None, None),
        ("admins", ["admins"]),
        (["b", "a", "a", ""], ["a", "b"]),
        ({"not": "a list"}, None),
    ],
)
def test_the_groups_claim_in_its_shapes(raw, groups):
    found = {"sub": "x"} if raw is None else {"sub": "x", "roles": raw}
    assert person_from(found, username_claim="upn", groups_claim="roles").groups == groups


def test_the_username_falls_back_to_email_then_sub():
    pick = lambda c: person_from(c, username_claim="upn", groups_claim="g").username  # noqa: E731
    assert pick({"sub": "x", "upn": "ada@corp", "email": "a@b"}) == "ada@corp"
    assert pick({"sub": "x", "email": "a@b"}) == "a@b"
    assert pick({"sub": "x"}) == "x"


def test_a_display_name_alone_becomes_the_first_name():
    found = person_from({"sub": "x", "name": "Ada Lovelace"}, username_claim="u", groups_claim="g")
    assert (found.first_name, found.last_name) == ("Ada Lovelace", "")


def test_a_first_sign_in_racing_another_is_a_refusal_not_a_server_error(monkeypatch):
    """The other sign-in made the identity between our look-up and our insert."""
    from sso import services

    def made_meanwhile(person):
        user = get_user_model().objects.create_user("other")
        Identity.objects.create(issuer=ISSUER, subject=person.subject, user=user)
        return get_user_model().objects.create_user(person.username)

    monkeypatch.setattr(services, "_account_for", made_meanwhile)
    with pytest.raises(SignInRefused, match="at the same moment") as refused:
        identity_sign_in(issuer=ISSUER, claims=claims())
    assert refused.value.status == 409
