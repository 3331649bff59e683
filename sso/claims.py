"""What the site reads from a provider's claims: pure functions, no database."""

from dataclasses import dataclass

USERNAME_FALLBACKS = ("preferred_username", "email", "sub")


@dataclass(frozen=True)
class Person:
    subject: str
    username: str
    email: str
    first_name: str
    last_name: str
    # None when the claim is absent: memberships then stay as they are (a provider that sends
    # no groups, or Entra ID's "overage" with more than 200, must not empty them).
    groups: list[str] | None


def person_from(claims: dict, *, username_claim: str, groups_claim: str) -> Person:
    first, last = _names(claims)
    return Person(
        subject=str(claims["sub"]),
        username=_username(claims, username_claim)[:150],
        email=str(claims.get("email") or "")[:254],
        first_name=first[:150],
        last_name=last[:150],
        groups=_groups(claims.get(groups_claim)),
    )


def _username(claims: dict, preferred: str) -> str:
    for claim in (preferred, *USERNAME_FALLBACKS):
        value = claims.get(claim)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return str(claims["sub"])


def _names(claims: dict) -> tuple[str, str]:
    given, family = claims.get("given_name"), claims.get("family_name")
    if given or family:
        return str(given or ""), str(family or "")
    # Only a display name (Entra ID sends `name` alone): keep it whole as the first name.
    return str(claims.get("name") or ""), ""


def _groups(value) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return None
    # Django's Group.name holds 150 characters; longer names (rare) are cut, not refused.
    return sorted({str(name)[:150] for name in value if str(name).strip()})
