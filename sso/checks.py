"""Configurations in which nobody could sign in fail `manage.py check` (and every start)."""

from django.conf import settings
from django.core.checks import Error, register

from .backends import sso_configured


@register()
def sign_in_configured(app_configs, **kwargs):
    errors = []
    if settings.OIDC_ISSUER and not (settings.OIDC_RP_CLIENT_ID and settings.OIDC_RP_CLIENT_SECRET):
        errors.append(
            Error(
                "OIDC_ISSUER is set without OIDC_CLIENT_ID and OIDC_CLIENT_SECRET.",
                hint="Set both (the application's registration at the provider), or unset "
                "OIDC_ISSUER.",
                id="sso.E001",
            )
        )
    if not settings.PASSWORD_LOGIN_ENABLED and not sso_configured():
        errors.append(
            Error(
                "PASSWORD_LOGIN_ENABLED is off and single sign-on is not configured: nobody "
                "can sign in.",
                hint="Set OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET, or turn "
                "PASSWORD_LOGIN_ENABLED back on.",
                id="sso.E002",
            )
        )
    return errors
