"""The Content-Security-Policy every HTML page is sent with: scripts, styles and the rest
from the site only, no framing, the page's own WebSocket. (tests/browser/test_csp.py shows
the pages work under it: no violation in the console.)"""

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import Client, RequestFactory

from assistants_site.csp import SiteCSPMiddleware
from chat.file_views import DOWNLOAD_CSP
from chat.models import Assistant, Conversation
from tests.chat import connections

pytestmark = pytest.mark.django_db


def _directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in parts}


@pytest.fixture
def staff_client():
    staff = get_user_model().objects.create_user(
        "root", password="pw-123-for-tests", is_staff=True, is_superuser=True
    )
    client = Client()
    client.force_login(staff)
    return client, staff


def _pages(staff) -> list[str]:
    assistant = Assistant.objects.create(
        name="Helper", connection=connections.connection("local"), model="local-echo-1"
    )
    conversation = Conversation.objects.create(owner=staff, assistant=assistant, title="Plans")
    return [
        "/",
        f"/c/{conversation.pk}/",
        "/usage/",
        "/admin/",
        f"/admin/chat/assistant/{assistant.pk}/change/",
        "/admin/organisation/usagerecord/",
    ]


def test_every_html_page_has_the_strict_policy(staff_client):
    client, staff = staff_client
    pages = _pages(staff)
    for url in [*pages, "/accounts/login/"]:
        response = (Client() if url == "/accounts/login/" else client).get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/html"), url
        policy = _directives(response)
        assert policy["default-src"] == ["'self'"], url
        assert policy["script-src"] == ["'self'"], url
        assert policy["style-src"] == ["'self'"], url
        assert policy["img-src"] == ["'self'", "data:", "blob:"], url
        assert policy["connect-src"] == ["'self'", "ws://testserver"], url
        assert policy["frame-ancestors"] == ["'none'"], url
        assert policy["object-src"] == ["'none'"], url
        # Nothing the policy would block is in the markup (the browser test sees the rest).
        html = response.content.decode()
        for forbidden in (" style=", " onclick=", " onload=", " onsubmit=", "<script>"):
            assert forbidden not in html, (url, forbidden)


def test_a_secure_request_names_the_wss_socket(staff_client):
    client, _staff = staff_client
    response = client.get("/", secure=True)
    assert _directives(response)["connect-src"] == ["'self'", "wss://testserver"]


def test_user_file_downloads_keep_their_sandbox_policy():
    """chat.file_views sets its own, stricter header on downloads; the middleware keeps it."""

    def view(request):
        response = HttpResponse(b"x")
        response["Content-Security-Policy"] = DOWNLOAD_CSP
        return response

    response = SiteCSPMiddleware(view)(RequestFactory().get("/files/1/"))
    assert response["Content-Security-Policy"] == DOWNLOAD_CSP
