"""Sign-in and sign-out pages: thin wrappers that turn mozilla-django-oidc's flow and
Django's login views into pages a person can read, never a server error."""

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import SuspiciousOperation
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from .backends import sso_configured
from .discovery import provider_metadata
from .refusals import SignInRefused

logger = logging.getLogger(__name__)


def refused_page(request, refusal: SignInRefused):
    logger.warning("sign-in refused: %s", refusal.reason)
    return render(
        request,
        "sso/refused.html",
        {"reason": refusal.reason, "password_login_enabled": settings.PASSWORD_LOGIN_ENABLED},
        status=refusal.status,
    )


class SignInView(auth_views.LoginView):
    """The login page: "Sign in with <provider>" when single sign-on is configured, and the
    password form unless PASSWORD_LOGIN_ENABLED is off (then its POST is refused too)."""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        next_url = context.get(self.redirect_field_name) or ""
        start = reverse("sso:start")
        context.update(
            password_login_enabled=settings.PASSWORD_LOGIN_ENABLED,
            sso_enabled=sso_configured(),
            sso_provider_name=settings.OIDC_PROVIDER_NAME,
            sso_start_url=f"{start}?{urlencode({'next': next_url})}" if next_url else start,
        )
        return context

    def post(self, request, *args, **kwargs):
        if not settings.PASSWORD_LOGIN_ENABLED:
            return refused_page(
                request,
                SignInRefused("password sign-in is switched off on this site.", status=403),
            )
        return super().post(request, *args, **kwargs)


@login_not_required
def admin_sign_in(request):
    """/admin/login/ when single sign-on or no passwords: the site's own login page (the
    admin's has no "Sign in with" button), keeping where the admin wanted to go."""
    target = reverse("login")
    next_url = request.GET.get("next")
    return redirect(f"{target}?{urlencode({'next': next_url})}" if next_url else target)


class SignOutView(auth_views.LogoutView):
    """Ends the site session; after a single sign-on, also the provider's, where it offers
    an end_session_endpoint (RP-Initiated Logout 1.0), which sends the browser back here."""

    def post(self, request, *args, **kwargs):
        id_token = request.session.get("oidc_id_token")
        response = super().post(request, *args, **kwargs)
        if not id_token or not sso_configured():
            return response
        try:
            end_session = provider_metadata().end_session_endpoint
        except SignInRefused as refusal:
            # Signed out here all the same; the provider's session outlives this one.
            logger.warning("provider sign-out skipped: %s", refusal.reason)
            return response
        if not end_session:
            return response
        query = urlencode(
            {
                "id_token_hint": id_token,
                "post_logout_redirect_uri": request.build_absolute_uri(reverse("login")),
                "client_id": settings.OIDC_RP_CLIENT_ID,
            }
        )
        return redirect(f"{end_session}?{query}")


@method_decorator(login_not_required, name="dispatch")
class SSOStartView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider with state, nonce and a PKCE challenge (kept in the
    session by mozilla-django-oidc)."""

    def __init__(self, *args, **kwargs):
        # The parent reads the authorization endpoint from settings; ours is discovered.
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request):
        try:
            if not sso_configured():
                raise SignInRefused("single sign-on is not configured on this site.", status=404)
            self.OIDC_OP_AUTH_ENDPOINT = provider_metadata().authorization_endpoint
        except SignInRefused as refusal:
            return refused_page(request, refusal)
        return super().get(request)


@method_decorator(login_not_required, name="dispatch")
class SSOCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back. Every way this can go wrong ends on the
    "Sign-in refused" page with the reason, never on a redirect loop or a server error."""

    def get(self, request):
        try:
            self._check(request)
            return super().get(request)
        except SignInRefused as refusal:
            return refused_page(request, refusal)
        except SuspiciousOperation as error:
            return refused_page(request, SignInRefused(f"{error}", status=400))

    def _check(self, request) -> None:
        if not sso_configured():
            raise SignInRefused("single sign-on is not configured on this site.", status=404)
        params = request.GET
        if params.get("error"):
            # The state is spent either way: a replay of this answer finds nothing.
            request.session.get("oidc_states", {}).pop(params.get("state"), None)
            request.session.modified = True
            description = params.get("error_description") or params["error"]
            raise SignInRefused(f"the identity provider says: {description}")
        # RFC 9207: a provider that names itself in the response must be ours (a mix-up
        # attack sends one provider's code to another's callback).
        if "iss" in params and params["iss"] != settings.OIDC_ISSUER:
            raise SignInRefused(
                f"the answer came from the issuer {params['iss']!r}, not from the configured "
                f"{settings.OIDC_ISSUER!r}.",
                status=400,
            )
        if not params.get("code") or not params.get("state"):
            raise SignInRefused("the identity provider's answer has no code or state.", status=400)
        if params["state"] not in request.session.get("oidc_states", {}):
            raise SignInRefused(
                "the answer's state does not match a sign-in started in this browser (it was "
                "changed, is old, or was started elsewhere). Start again from the sign-in page.",
                status=400,
            )

    def login_failure(self):
        raise SignInRefused("the identity provider did not confirm who you are.")
