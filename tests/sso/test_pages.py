"""The sign-in pages without a provider: nothing changes when SSO is not configured, the
password switch, and the refusals that need no provider (a tampered or missing state, the
provider's error, an unreachable provider). The flow itself: tests/browser/test_sso.py."""

import pytest
from django.contrib.auth import get_user_model
from django.core.checks import run_checks
from django.urls import reverse

from sso.discovery import forget_provider_metadata
from tests.provider_server import free_port

PASSWORD = "local-pass-123"
pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice", password=PASSWORD)


@pytest.fixture
def sso_on(settings):
    """A provider on a loopback port where nothing listens."""
    settings.OIDC_ISSUER = f"http://127.0.0.1:{free_port()}"
    settings.OIDC_RP_CLIENT_ID = "chat"
    settings.OIDC_RP_CLIENT_SECRET = "secret"
    settings.OIDC_PROVIDER_NAME = "Contoso"
    forget_provider_metadata()
    yield settings
    forget_provider_metadata()


def test_without_sso_the_login_page_is_the_password_form(client):
    page = client.get(reverse("login")).content.decode()

    assert "Sign in with" not in page
    assert 'name="password"' in page


def test_with_sso_the_login_page_offers_the_provider_first_and_keeps_next(client, sso_on):
    page = client.get(reverse("login") + "?next=/c/7/").content.decode()

    assert "Sign in with Contoso" in page
    assert f'href="{reverse("sso:start")}?next=%2Fc%2F7%2F"' in page
    assert page.index("Sign in with Contoso") < page.index('name="password"')


def test_password_sign_in_switched_off_hides_the_form_and_refuses_its_post(
    client, alice, settings, sso_on
):
    settings.PASSWORD_LOGIN_ENABLED = False
    settings.AUTHENTICATION_BACKENDS = ["sso.backends.SignInBackend"]

    page = client.get(reverse("login")).content.decode()
    refused = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})

    assert 'name="password"' not in page and "Sign in with Contoso" in page
    assert refused.status_code == 403
    assert b"Sign-in refused: password sign-in is switched off on this site." in refused.content
    assert client.get(reverse("chat:index")).status_code == 302  # not signed in


def test_a_callback_whose_state_this_browser_never_started_is_refused(client, sso_on):
    response = client.get(reverse("sso:callback"), {"code": "c", "state": "forged"})

    assert response.status_code == 400
    assert b"Sign-in refused: the answer&#x27;s state does not match" in response.content


def test_a_callback_without_code_or_state_is_refused(client, sso_on):
    response = client.get(reverse("sso:callback"))
    assert response.status_code == 400
    assert b"has no code or state" in response.content


def test_the_providers_own_error_is_shown(client, sso_on):
    response = client.get(
        reverse("sso:callback"),
        {"error": "access_denied", "error_description": "User is not assigned to the app"},
    )
    assert response.status_code == 403
    assert b"the identity provider says: User is not assigned to the app" in response.content


def test_an_unreachable_provider_is_a_readable_502(client, sso_on):
    response = client.get(reverse("sso:start"))

    assert response.status_code == 502
    assert b"discovery document at" in response.content
    assert b"could not be read (ConnectionError)" in response.content


def test_without_sso_its_urls_say_so(client):
    assert client.get(reverse("sso:start")).status_code == 404
    assert b"single sign-on is not configured" in client.get(reverse("sso:callback")).content


def test_sign_out_without_sso_goes_to_the_login_page(client, alice):
    client.force_login(alice)
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")


def test_checks_refuse_a_site_nobody_can_sign_in_to(settings):
    settings.PASSWORD_LOGIN_ENABLED = False
    settings.OIDC_ISSUER = ""
    assert "sso.E002" in [error.id for error in run_checks()]
    settings.OIDC_ISSUER = "https://login.example.org"
    settings.OIDC_RP_CLIENT_ID = ""
    assert {"sso.E001", "sso.E002"} <= {error.id for error in run_checks()}
