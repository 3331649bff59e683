"""Bearer tokens that stand in for Microsoft Entra ID tokens on the Azure-style routes.

Format: ``localtoken.<expiry>.<signature>`` where ``<expiry>`` is a Unix time in whole
seconds and ``<signature>`` the hex HMAC-SHA256 of ``<expiry>`` keyed with
LOCAL_PROVIDER_API_KEY. Anyone holding the key can mint one (tests do, through
tests/azure_credential.py); the provider refuses a token whose signature does not match or
whose expiry has passed, so a client that keeps one token past its lifetime gets a 401, as
with a real expired Entra ID token.
"""

import hashlib
import hmac
import time

from django.conf import settings

PREFIX = "localtoken"


def _signature(expires_on: int, key: str) -> str:
    return hmac.new(key.encode(), str(expires_on).encode(), hashlib.sha256).hexdigest()


def issue_token(expires_on: int, *, key: str | None = None) -> str:
    key = settings.LOCAL_PROVIDER_API_KEY if key is None else key
    return f"{PREFIX}.{expires_on}.{_signature(expires_on, key)}"


def is_local_token(token: str) -> bool:
    return token.startswith(f"{PREFIX}.")


def token_status(token: str, *, now: float | None = None) -> str:
    """ "valid", "expired" or "invalid"."""
    key = settings.LOCAL_PROVIDER_API_KEY
    prefix, _, rest = token.partition(".")
    expiry, _, signature = rest.partition(".")
    # An unset key must not make every signature valid.
    if prefix != PREFIX or not key or not expiry.isdigit():
        return "invalid"
    if not hmac.compare_digest(signature.encode(), _signature(int(expiry), key).encode()):
        return "invalid"
    if int(expiry) <= (time.time() if now is None else now):
        return "expired"
    return "valid"
