"""Export, share links and feedback in a real Chromium (issue 16, items 3 and 4): the share
dialog from the header and from the `conversation-action` event, a frozen snapshot another
user reads, revoking, files through a link, thumbs and comments on a reply; and the share
page with 0 WCAG 2.1 A/AA violations under axe-core."""

import json
import re

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.conftest import wait_until_connected
from tests.browser.test_chat_page import (
    DEMO_MESSAGE,
    LAST_REPLY,
    send,
    start_conversation,
    wait_for_reply_to_finish,
)
from tests.browser.test_files_and_tools import PLOT_MESSAGE, choose

pytestmark = pytest.mark.browser


def share_dialog(page):
    return page.get_by_role("dialog", name="Share conversation")


def open_share_dialog(page):
    page.get_by_role("button", name="Share", exact=True).click()
    dialog = share_dialog(page)
    dialog.wait_for()
    # The dialog asks the server for the live link first.
    page.wait_for_function("() => !document.querySelector('.share-create').disabled")
    return dialog


def create_link(page, *, downloads: bool = False) -> str:
    dialog = open_share_dialog(page)
    checkbox = dialog.get_by_label("Allow downloading files")
    if downloads:
        checkbox.check()
    link = dialog.get_by_role("textbox", name="Link")
    before = link.input_value() if link.is_visible() else ""
    dialog.get_by_role("button", name=re.compile("^(Create|Replace) link$")).click()
    link.wait_for()
    # A replaced link: wait for the new URL, not the one shown before.
    page.wait_for_function(
        """(before) => { const value = document.getElementById('share-link').value;
            return value.includes('/s/') && value !== before; }""",
        arg=before,
    )
    return link.input_value()


def test_share_a_snapshot_that_another_user_reads_then_revoke_it(visitor, make_visitor):
    page = visitor.sign_in()
    # No conversation open: nothing to share.
    assert page.get_by_role("button", name="Share", exact=True).is_hidden()
    start_conversation(page, DEMO_MESSAGE)
    url = create_link(page)
    assert re.match(rf"^{re.escape(visitor.site.url)}/s/[\w-]+/$", url)
    dialog = share_dialog(page)
    assert "2 messages; files shown by name only" in dialog.locator(".share-meta").inner_text()
    dialog.get_by_role("button", name="Copy link").click()
    assert page.evaluate("navigator.clipboard.readText()") == url
    page.keyboard.press("Escape")
    share_dialog(page).wait_for(state="hidden")
    # Focus goes back to the button that opened the dialog.
    assert page.evaluate("document.activeElement.id") == "share-conversation"

    # The conversation goes on after the link was made.
    send(page, "A second question, after sharing")
    page.wait_for_function("() => document.querySelectorAll('.msg-assistant').length === 2")
    wait_for_reply_to_finish(page)

    reader = make_visitor(viewport={"width": 1280, "height": 800})
    shared = reader.sign_in()
    shared.goto(url)
    shared.locator(".msg-assistant .msg-body").first.wait_for()
    assert (
        shared.get_by_role("heading", level=1).inner_text()
        == page.locator("#conversation-title").inner_text()
    )
    assert f"Shared by {visitor.username}" in shared.locator(".shared-meta").inner_text()
    bodies = shared.locator("#messages > .msg .msg-body").all_inner_texts()
    assert len(bodies) == 2 and "second question" not in " ".join(bodies)
    # The reply painted as on the chat page: highlighted code with its copy button, and
    # nothing that would change the conversation.
    reply = shared.locator(LAST_REPLY)
    assert reply.locator(".code-block .hljs-keyword").count() > 0
    assert reply.get_by_role("button", name="Copy code").count() == 1
    assert shared.get_by_role("button", name=re.compile("Regenerate|Retry|Edit")).count() == 0
    assert shared.get_by_role("textbox").count() == 0

    # Revoked: the reader's next visit says so.
    create_link_dialog = open_share_dialog(page)
    create_link_dialog.get_by_role("button", name="Revoke link").click()
    create_link_dialog.get_by_role("button", name="Create link").wait_for()
    assert create_link_dialog.get_by_role("textbox", name="Link").is_hidden()
    response = shared.goto(url)
    assert response.status == 410
    assert shared.get_by_role("heading", name="This link was revoked").is_visible()
    # Chromium logs the 410 itself; nothing else went wrong.
    gone = "Failed to load resource: the server responded with a status of 410 (Gone)"
    assert visitor.errors == [] and [e for e in reader.errors if e != gone] == []


def test_the_event_of_the_row_menu_opens_the_same_dialog(visitor):
    page = visitor.sign_in()
    start_conversation(page, "First conversation")
    first = int(re.search(r"/c/(\d+)/$", page.url).group(1))
    start_conversation(page, "Second conversation")
    # The sidebar row's "Share…" (another module) dispatches this for any conversation.
    page.evaluate(
        """(id) => document.dispatchEvent(new CustomEvent('conversation-action',
            { detail: { action: 'share', conversationId: id } }))""",
        first,
    )
    dialog = share_dialog(page)
    dialog.wait_for()
    dialog.get_by_role("button", name="Create link").click()
    dialog.get_by_role("textbox", name="Link").wait_for()
    shares = visitor.site.shell(
        "from sharing.models import ShareLink; "
        "print([s.conversation_id for s in ShareLink.objects.filter("
        f"owner__username={visitor.username!r})])"
    )
    # The last line: `manage.py shell` first says what it imported.
    assert json.loads(shares.splitlines()[-1]) == [first]
    # Another action is not for this module.
    page.keyboard.press("Escape")
    page.evaluate(
        """() => document.dispatchEvent(new CustomEvent('conversation-action',
            { detail: { action: 'rename', conversationId: 1 } }))"""
    )
    assert dialog.is_hidden()
    assert visitor.errors == []


def test_files_come_through_a_link_only_when_the_owner_allows_it(visitor, make_visitor):
    visitor.site.shell(
        "from chat.models import Assistant; "
        "Assistant.objects.get_or_create(name='Analyst', defaults=dict(model='local-echo-1', "
        "code_interpreter=True, description='Runs Python for you.'))"
    )
    page = visitor.sign_in()
    choose(page, "Analyst")
    send(page, PLOT_MESSAGE)
    page.wait_for_url(re.compile(r"/c/\d+/$"))
    wait_for_reply_to_finish(page, timeout=60_000)
    closed = create_link(page, downloads=False)
    page.keyboard.press("Escape")

    reader = make_visitor(viewport={"width": 1280, "height": 800})
    shared = reader.sign_in()
    shared.goto(closed)
    reply = shared.locator(LAST_REPLY)
    reply.locator(".msg-file-chips").wait_for()
    # By name only: no image, no link to the CSV.
    assert reply.locator(".msg-images img").count() == 0
    assert reply.locator("a.file-chip").count() == 0
    assert "squares.csv" in reply.locator(".msg-file-chips").inner_text()

    opened = create_link(page, downloads=True)
    shared.goto(opened)
    reply = shared.locator(LAST_REPLY)
    image = reply.locator(".msg-images img")
    image.wait_for()
    shared.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    chip = reply.locator("a.file-chip", has_text="squares.csv")
    assert re.match(r"^/s/[\w-]+/files/output/\d+/$", chip.get_attribute("href"))
    with shared.expect_download() as download:
        chip.click()
    assert open(download.value.path(), encoding="utf-8").read().splitlines()[-1] == "5,25"
    # The first link was replaced: it no longer opens.
    assert shared.goto(closed).status == 410
    gone = "Failed to load resource: the server responded with a status of 410 (Gone)"
    assert visitor.errors == [] and [e for e in reader.errors if e != gone] == []


def test_export_links_download_markdown_and_json(visitor):
    page = visitor.sign_in()
    start_conversation(page, DEMO_MESSAGE)
    conversation = re.search(r"/c/(\d+)/$", page.url).group(1)
    for extension in ("md", "json"):
        with page.expect_download() as download:
            # As the row menu's links do: a plain link to the export.
            page.evaluate(
                """(href) => { const a = document.createElement('a'); a.href = href;
                    document.body.append(a); a.click(); a.remove(); }""",
                f"/c/{conversation}/export.{extension}",
            )
        assert (
            download.value.suggested_filename
            == f"how-do-i-read-a-csv-file-in-python-and-sum-one-column.{extension}"
        )
        text = open(download.value.path(), encoding="utf-8").read()
        assert "sum one column" in text
    assert visitor.errors == []


def test_rate_a_reply_with_a_comment_change_it_and_take_it_back(visitor, screenshot_dir):
    page = visitor.sign_in()
    choose(page, "Demo assistant")
    start_conversation(page, DEMO_MESSAGE)
    reply = page.locator(LAST_REPLY)
    up = reply.get_by_role("button", name="Good reply")
    down = reply.get_by_role("button", name="Bad reply")
    assert up.get_attribute("aria-pressed") == "false"

    down.click()
    comment = reply.get_by_label("What went wrong? (optional)")
    comment.wait_for()
    assert page.evaluate("document.activeElement.tagName") == "TEXTAREA"
    assert down.get_attribute("aria-pressed") == "true"
    comment.fill("It should mention the csv module's DictReader pitfalls.")
    page.mouse.move(0, 0)
    page.screenshot(path=str(screenshot_dir / "feedback.png"))
    reply.get_by_role("button", name="Send feedback").click()
    reply.get_by_text("Thanks for the feedback.").wait_for()

    def stored():
        out = visitor.site.shell(
            "from feedback.models import Feedback; import json; print(json.dumps(["
            "[f.rating, f.comment] for f in Feedback.objects.filter("
            f"user__username={visitor.username!r})]))"
        )
        return json.loads(out.splitlines()[-1])

    assert stored() == [["down", "It should mention the csv module's DictReader pitfalls."]]

    # A reload shows the choice again; the other thumb changes it, keeping the comment.
    page.reload()
    wait_until_connected(page)
    reply = page.locator(LAST_REPLY)
    down = reply.get_by_role("button", name="Bad reply")
    page.wait_for_function(
        "() => document.querySelector('.feedback-btn[data-feedback=down]')"
        "?.getAttribute('aria-pressed') === 'true'"
    )
    reply.get_by_role("button", name="Good reply").click()
    reply.get_by_label("What was good about this reply? (optional)").wait_for()
    reply.get_by_role("button", name="Skip").click()
    assert stored() == [["up", "It should mention the csv module's DictReader pitfalls."]]
    # Pressing the chosen thumb again takes the feedback back.
    reply.get_by_role("button", name="Good reply").click()
    reply.get_by_text("Feedback removed.").wait_for()
    assert stored() == []
    assert reply.get_by_role("button", name="Good reply").get_attribute("aria-pressed") == "false"
    # A reply still being written has no thumbs; the new one gets them once it ends.
    send(page, "[[delay:0.05]] Another one, slowly please")
    streaming = page.locator(".msg-assistant.is-streaming")
    streaming.wait_for()
    assert streaming.locator(".feedback-btn").count() == 0
    wait_for_reply_to_finish(page)
    assert page.locator(LAST_REPLY).locator(".feedback-btn").count() == 2
    assert visitor.errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_share_page_has_no_accessibility_violations(make_visitor, scheme, screenshot_dir):
    owner = make_visitor(viewport={"width": 1280, "height": 800}, color_scheme=scheme)
    page = owner.sign_in()
    choose(page, "Demo assistant")
    start_conversation(page, DEMO_MESSAGE)
    url = create_link(page, downloads=True)
    if scheme == "light":
        page.mouse.move(0, 0)
        page.screenshot(path=str(screenshot_dir / "share-dialog.png"))
    # The dialog (the chat page around it is the assistant menu's helper's to check).
    assert_accessible(page, f"the share dialog ({scheme})", include=".share-dialog")

    reader = make_visitor(viewport={"width": 1280, "height": 800}, color_scheme=scheme)
    shared = reader.sign_in()
    shared.goto(url)
    shared.locator(".msg-assistant .code-block").wait_for()
    assert_accessible(shared, f"the shared page ({scheme})")
    if scheme == "light":
        shared.mouse.move(0, 0)
        shared.screenshot(path=str(screenshot_dir / "shared-page.png"))
    assert owner.errors == [] and reader.errors == []
