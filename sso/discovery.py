"""The provider's endpoints, from its discovery document (OpenID Connect Discovery 1.0).

Read lazily, at the first sign-in, and cached per process for OIDC_DISCOVERY_TTL seconds: a
provider that is down at start-up does not stop the site (password sign-in, sessions of
people already signed in), and a provider that rotates endpoints is followed within the TTL.
A failed read is not cached, so the next attempt tries again.
"""

import threading
import time
from dataclasses import dataclass

import requests
from django.conf import settings

from .refusals import SignInRefused


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None


_cache: dict[str, tuple[float, ProviderMetadata]] = {}
_lock = threading.Lock()


def discovery_url() -> str:
    return settings.OIDC_DISCOVERY_URL or (
        settings.OIDC_ISSUER.rstrip("/") + "/.well-known/openid-configuration"
    )


def provider_metadata() -> ProviderMetadata:
    """The configured provider's metadata, or SignInRefused saying what is wrong with it."""
    url = discovery_url()
    with _lock:
        cached = _cache.get(url)
        if cached and cached[0] > time.monotonic():
            return cached[1]
    metadata = _read(url)
    with _lock:
        _cache[url] = (time.monotonic() + settings.OIDC_DISCOVERY_TTL, metadata)
    return metadata


def forget_provider_metadata() -> None:
    with _lock:
        _cache.clear()


def _read(url: str) -> ProviderMetadata:
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise SignInRefused(
            f"the identity provider's discovery document at {url} could not be read "
            f"({error.__class__.__name__}). Try again later; staff: check OIDC_ISSUER.",
            status=502,
        ) from error
    # Discovery 4.3: the document's issuer must be exactly the one configured, else tokens
    # from one provider could be taken for another's (a mix-up).
    issuer = document.get("issuer")
    if issuer != settings.OIDC_ISSUER:
        raise SignInRefused(
            f"the identity provider at {url} says its issuer is {issuer!r}, not the "
            f"configured {settings.OIDC_ISSUER!r}. Staff: set OIDC_ISSUER to the provider's "
            "exact issuer.",
            status=502,
        )
    missing = [
        key
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri")
        if not document.get(key)
    ]
    if missing:
        raise SignInRefused(
            f"the identity provider's discovery document lacks {', '.join(missing)}.", status=502
        )
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        userinfo_endpoint=document.get("userinfo_endpoint"),
        end_session_endpoint=document.get("end_session_endpoint"),
    )
