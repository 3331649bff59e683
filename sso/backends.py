"""mozilla-django-oidc's backend, pointed at the discovered endpoints, with the checks it
leaves to us (issuer, audience) and our own user mapping (sso.services)."""

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from jwt import InvalidTokenError
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .discovery import provider_metadata
from .refusals import SignInRefused
from .services import identity_sign_in


def sso_configured() -> bool:
    return bool(settings.OIDC_ISSUER and settings.OIDC_RP_CLIENT_ID)


class SignInBackend(OIDCAuthenticationBackend):
    """The OpenID Connect authorization code flow's last step: code for tokens, tokens
    checked, claims to a user. Also answers permission checks, as ModelBackend does, so it
    serves sessions made by it when the password backend is switched off."""

    def __init__(self, *args, **kwargs):
        # The parent reads the endpoints from settings here; ours come from discovery, and
        # this runs for every session lookup, so nothing is fetched until a sign-in.
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(self, request, **kwargs):
        # Only the callback view passes a nonce; a password form posted to a URL with
        # ?code=...&state=... must not start a token exchange.
        if request is None or "nonce" not in kwargs or not sso_configured():
            return None
        metadata = provider_metadata()
        self.OIDC_OP_TOKEN_ENDPOINT = metadata.token_endpoint
        self.OIDC_OP_USER_ENDPOINT = metadata.userinfo_endpoint
        self.OIDC_OP_JWKS_ENDPOINT = metadata.jwks_uri
        try:
            return super().authenticate(request, **kwargs)
        except requests.HTTPError as error:
            raise SignInRefused(_token_error(error), status=502) from error
        except requests.RequestException as error:
            raise SignInRefused(
                f"the identity provider could not be reached ({error.__class__.__name__}).",
                status=502,
            ) from error
        except (SuspiciousOperation, InvalidTokenError) as error:
            raise SignInRefused(
                f"the identity provider's token was not accepted: {error}"
            ) from error

    def verify_token(self, token, **kwargs):
        """The parent checks the signature, expiry and nonce; it leaves the issuer and the
        audience unchecked (verify_aud=False), which OpenID Connect Core 3.1.3.7 requires."""
        payload = super().verify_token(token, **kwargs)
        if payload.get("iss") != settings.OIDC_ISSUER:
            raise SignInRefused(
                f"the token was issued by {payload.get('iss')!r}, not by the configured "
                f"issuer {settings.OIDC_ISSUER!r}."
            )
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences or (
            len(audiences) > 1 and payload.get("azp") != self.OIDC_RP_CLIENT_ID
        ):
            raise SignInRefused("the token was issued to another application.")
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims, completed by the userinfo endpoint where there is one.
        Entra ID puts `groups` only in the ID token; oidc-provider and Keycloak only in
        userinfo by default."""
        if not self.OIDC_OP_USER_ENDPOINT:
            return dict(payload)
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            # Core 5.3.2: userinfo about someone else must not be used.
            raise SignInRefused("the provider's user information is about another subject.")
        return {**payload, **userinfo}

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        user = identity_sign_in(issuer=settings.OIDC_ISSUER, claims=claims)
        if not user.is_active:
            raise SignInRefused(f"the account {user.get_username()!r} is deactivated on this site.")
        return user

    def get_user(self, user_id):
        # ModelBackend's: the parent's returns deactivated users too.
        return ModelBackend.get_user(self, user_id)


def _token_error(error: requests.HTTPError) -> str:
    """The provider's OAuth error (RFC 6749 5.2), without echoing the whole response."""
    response = error.response
    try:
        body = response.json()
        detail = body.get("error_description") or body.get("error")
    except ValueError:
        detail = None
    detail = f": {detail}" if detail else ""
    return f"the identity provider refused the sign-in code (HTTP {response.status_code}{detail})."
