"""An MCP call that acts, in a real Chromium: the approval card shows in every tab of the
owner, Approve in one takes it down in both, and the step shows the server, the tool, the
approval and the result; all under a Content Security Policy without inline scripts or
styles (added to the pages here, as the site is switching it on)."""

import pytest

from tests.browser.conftest import choose_assistant, wait_until_connected
from tests.browser.test_chat_page import LAST_REPLY, send, wait_for_reply_to_finish
from tests.toolservers.conftest import McpProcess

pytestmark = pytest.mark.browser

# The policy the site is moving to: no inline script, handler or style attribute.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'"
)
# The server's tool, as the page writes it.
TOOL = "tickets \u203a create_ticket"


@pytest.fixture(scope="module")
def mcp_assistant(live_site):
    server = McpProcess().start()
    live_site.shell(
        "from chat.models import Assistant; "
        "from toolservers.services.servers import mcp_server_set, mcp_server_refresh; "
        "from toolservers.services.choices import assistant_mcp_tools_set; "
        f"server, _ = mcp_server_set(name='tickets', url={server.url!r}, timeout=5); "
        "mcp_server_refresh(server=server); "
        "a = Assistant.objects.create(name='Helpdesk', model='local-echo-1', "
        "description='Files tickets through the MCP server.'); "
        "assistant_mcp_tools_set(assistant=a, tools=['tickets:create_ticket', "
        "'tickets:red_pixel'], approval='writes')"
    )
    yield "Helpdesk"
    server.stop()


def under_csp(page) -> list[str]:
    """Serves the pages with CSP added; returns the violations the console reports."""

    def add_header(route):
        if route.request.resource_type != "document":
            route.continue_()
            return
        response = route.fetch(max_redirects=0)  # a redirect's cookies reach the browser
        route.fulfill(
            response=response, headers={**response.headers, "content-security-policy": CSP}
        )

    page.route("**/*", add_header)
    violations = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    return violations


def test_the_approval_card_in_two_tabs_and_the_approved_step(
    visitor, mcp_assistant, screenshot_dir
):
    first = visitor.new_page()
    violations = under_csp(first)
    visitor.sign_in(first)
    second = visitor.new_page()
    second.goto("/")
    wait_until_connected(second)

    choose_assistant(first, mcp_assistant)
    send(
        first,
        'call tickets__create_ticket {"title": "VPN access for Ana"}\ncall tickets__red_pixel {}',
    )

    card = first.locator(".approval-card")
    card.wait_for()
    other_card = second.locator(".approval-card")
    other_card.wait_for()  # the other tab has no conversation open, and sees it too
    assert TOOL in card.inner_text()
    assert '"title": "VPN access for Ana"' in card.locator(".approval-arguments").inner_text()
    step = first.locator(LAST_REPLY).locator("details.tool-step-mcp").first
    step.wait_for()
    assert "Wants to use" in step.locator("summary").inner_text()
    first.screenshot(path=str(screenshot_dir / "mcp-approval.png"))

    other_card.get_by_role("button", name="Approve").click()
    card.wait_for(state="detached")
    other_card.wait_for(state="detached")
    wait_for_reply_to_finish(first)

    steps = first.locator(LAST_REPLY).locator("details.tool-step-mcp")
    assert steps.count() == 2
    ticket = steps.nth(0)
    assert " ".join(ticket.locator("summary").inner_text().split()) == f"Used {TOOL}"
    ticket.locator("summary").click()
    body = ticket.locator(".tool-body").inner_text()
    assert "Approved" in body and "Ticket #" in body and "VPN access for Ana" in body
    pixel = steps.nth(1)
    pixel.locator("summary").click()
    image = pixel.locator("img.mcp-image")
    assert image.get_attribute("src").startswith("data:image/png;base64,")
    assert image.evaluate("img => img.complete && img.naturalWidth") == 48
    first.screenshot(path=str(screenshot_dir / "mcp-approved.png"))
    assert violations == []
    assert visitor.errors == []


def test_deny_is_shown_on_the_step(visitor, mcp_assistant):
    page = visitor.sign_in()
    choose_assistant(page, mcp_assistant)
    send(page, 'call tickets__create_ticket {"title": "Delete everything"}')
    card = page.locator(".approval-card")
    card.get_by_role("button", name="Deny").click()
    card.wait_for(state="detached")
    wait_for_reply_to_finish(page)
    step = page.locator(LAST_REPLY).locator("details.tool-step-mcp")
    assert "Did not run" in step.locator("summary").inner_text()
    step.locator("summary").click()
    assert "Denied" in step.locator(".tool-body").inner_text()
    assert visitor.errors == []
