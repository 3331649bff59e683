"""The strict Content-Security-Policy in a real Chromium: the pages work under it and the
browser reports nothing. Every console message and every `securitypolicyviolation` event
is collected, on the login page, the chat page (a reply with code, citations open, a code
step with its plot), the share page and the admin (a change form, the usage report with
its chart, feedback)."""

import re

import pytest

from tests.browser.conftest import PASSWORD, wait_until_connected
from tests.browser.test_chat_page import DEMO_MESSAGE, LAST_REPLY, send, start_conversation
from tests.browser.test_files_and_tools import (
    LIGHTHOUSE,
    PLOT_MESSAGE,
    attach,
    choose,
    open_citation,
    wait_for_reply_to_finish,
    wait_for_uploads,
)
from tests.browser.test_sharing_and_feedback import create_link

pytestmark = pytest.mark.browser

# Runs before any script of each page (devtools injection, so the policy does not apply).
LISTEN = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(
    `${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}`));
"""


@pytest.fixture(scope="module", autouse=True)
def tool_assistants(live_site):
    live_site.shell(
        "from chat.models import Assistant; "
        "Assistant.objects.get_or_create(name='Librarian', defaults=dict(model='local-echo-1', "
        "file_search=True, description='Answers from your files, with citations.')); "
        "Assistant.objects.get_or_create(name='Analyst', defaults=dict(model='local-echo-1', "
        "code_interpreter=True, description='Runs Python for you.'))"
    )


class Console:
    """Every console message of a visitor's pages, whatever its level."""

    def __init__(self, visitor):
        self.messages: list[str] = []
        visitor.context.add_init_script(LISTEN)
        visitor.context.on(
            "console", lambda message: self.messages.append(f"{message.type}: {message.text}")
        )
        # Which request a "Failed to load resource" message was about.
        visitor.context.on(
            "response",
            lambda r: self.messages.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )

    def check(self, page) -> None:
        assert page.evaluate("window.__violations") == [], page.url
        assert self.messages == [], page.url


def test_login_chat_share_and_admin_pages_raise_no_violation(make_visitor):
    visitor = make_visitor(viewport={"width": 1280, "height": 800})
    console = Console(visitor)
    visitor.site.shell(
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.filter(username={visitor.username!r})"
        ".update(is_staff=True, is_superuser=True)"
    )
    page = visitor.new_page()
    page.goto("/accounts/login/")
    console.check(page)
    page.get_by_label("Username").fill(visitor.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{visitor.site.url}/")
    wait_until_connected(page)
    console.check(page)

    # A reply with highlighted code, then the copy button.
    start_conversation(page, DEMO_MESSAGE)
    page.locator(LAST_REPLY).get_by_role("button", name="Copy code").click()
    console.check(page)

    # Citations: a file, a cited reply, the popover open.
    page.get_by_role("button", name="New chat").click()
    page.wait_for_url(re.compile(r"/$"))
    choose(page, "Librarian")
    attach(page, ("lighthouse.txt", LIGHTHOUSE, "text/plain"))
    wait_for_uploads(page)
    send(page, "Who designed the Skerry Point lighthouse?")
    page.wait_for_url(re.compile(r"/c/\d+/$"))
    wait_for_reply_to_finish(page)
    _, popover = open_citation(page, 1)
    assert "Alan Stevenson" in popover.inner_text()
    page.keyboard.press("Escape")
    console.check(page)

    # A code step with its output and the plot it drew (an image from the site).
    page.get_by_role("button", name="New chat").click()
    page.wait_for_url(re.compile(r"/$"))
    choose(page, "Analyst")
    send(page, PLOT_MESSAGE)
    page.wait_for_url(re.compile(r"/c/\d+/$"))
    wait_for_reply_to_finish(page, timeout=60_000)
    reply = page.locator(LAST_REPLY)
    reply.locator("details.tool-step-code summary").click()
    image = reply.locator(".msg-images img")
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    image.click()
    page.locator("dialog.image-viewer img").wait_for()
    page.keyboard.press("Escape")
    console.check(page)

    # The share dialog and the share page.
    url = create_link(page, downloads=True)
    console.check(page)
    page.goto(url)
    page.locator(".msg-images img").wait_for()
    page.wait_for_function(
        "() => [...document.images].every(img => img.complete && img.naturalWidth > 0)"
    )
    console.check(page)

    # The admin: a change form (with its own scripts), the usage report with its chart, and
    # the feedback list with its filters.
    page.goto("/admin/")
    console.check(page)
    page.goto("/admin/chat/assistant/")
    page.get_by_role("link", name="Analyst").click()
    page.wait_for_url(re.compile(r"/admin/chat/assistant/\d+/change/$"))
    # The model picker's script fills its list from the connection's server.
    page.wait_for_function(
        "() => document.querySelectorAll('#connection-models option').length > 0"
    )
    page.get_by_role("button", name="Save and continue editing").click()
    page.get_by_text("was changed successfully").wait_for()
    console.check(page)
    page.goto("/admin/organisation/usagerecord/")
    page.locator(".usage-chart svg rect").first.wait_for(state="attached")
    console.check(page)
    page.goto("/admin/feedback/feedback/")
    console.check(page)
