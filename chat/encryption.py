"""Secrets at rest: provider keys and header values typed into the admin.

Fernet (the `cryptography` package: AES-128-CBC with an HMAC-SHA256, timestamped tokens) with
keys from the environment: FIELD_ENCRYPTION_KEY (comma-separated; the first encrypts, all
decrypt), or else one derived from DJANGO_SECRET_KEY. Any string works as a key: each is
stretched with HKDF, so an operator can use a Fernet key, a passphrase or a random hex string.
"""

import base64
import os
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

# Binds the derived keys to this use: the same secret yields other keys elsewhere.
PURPOSE = b"chat.connection-secrets"


class SecretUnreadable(Exception):
    """A stored secret that none of the configured keys decrypts (the key changed)."""


def _fernet_key(secret: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(derived)


@cache
def _box(secrets: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(secret)) for secret in secrets])


def _current_box() -> MultiFernet:
    secrets = tuple(settings.FIELD_ENCRYPTION_KEY) or (settings.SECRET_KEY,)
    return _box(secrets)


def secret_encrypt(plain: str) -> str:
    """The token to store; "" stays "" (no secret)."""
    if not plain:
        return ""
    return _current_box().encrypt(plain.encode()).decode()


def secret_decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _current_box().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "a stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY (or, without it, "
            "DJANGO_SECRET_KEY): was the key changed? Type the secret again in the admin."
        ) from None


def header_values(headers: dict | None) -> dict[str, str]:
    """Headers stored as {name: {"env": VAR} or {"encrypted": token}} (a connection's, an MCP
    server's), their secrets resolved; a missing variable or empty secret sends nothing."""
    values = {}
    for name, source in (headers or {}).items():
        if "env" in source:
            value = os.environ.get(source["env"], "")
        else:
            value = secret_decrypt(source.get("encrypted", ""))
        if value:
            values[name] = value
    return values
