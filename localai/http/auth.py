"""API-key authentication, as the real services do it: `Authorization: Bearer <key>`
(OpenAI), or the `api-key` header (Azure OpenAI). Bearer tokens for the Azure-style routes
are in tokens.py."""

import hmac

from django.conf import settings
from django.http import HttpRequest


def bearer_token(request: HttpRequest) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def api_key_header(request: HttpRequest) -> str | None:
    value = request.headers.get("api-key")
    return value.strip() if value is not None else None


def is_authorised(token: str | None) -> bool:
    expected = settings.LOCAL_PROVIDER_API_KEY
    # An unset key must not let an empty bearer token through.
    if not expected or token is None:
        return False
    return hmac.compare_digest(token.encode(), expected.encode())


def masked(token: str) -> str:
    """How the real API echoes a wrong key in its error: enough to recognise it, no more."""
    if len(token) <= 8:
        return "*" * len(token)
    return f"{token[:3]}{'*' * (len(token) - 7)}{token[-4:]}"
