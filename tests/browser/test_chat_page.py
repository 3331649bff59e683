"""The chat page in a real Chromium, against the live site and its local provider: what a user
sees and does.

The local model echoes the user's message inside a fixed markdown reply (docs/local-provider.md),
so a test controls the reply through its message: `[[delay:0.05]]` slows the stream enough to
watch it, `[[tokens:N]]` pads it with the numbered words " w1", " w2"..., whose sequence shows
at a glance whether any text was lost or duplicated.
"""

import re

import pytest

from localai.engine.model import reply_tokens
from tests.browser.axe import assert_accessible
from tests.browser.conftest import choose_assistant, wait_until_connected

pytestmark = pytest.mark.browser

LAST_REPLY = ".msg-assistant >> nth=-1"


# --- Helpers -------------------------------------------------------------------------------


def composer(page):
    return page.get_by_role("textbox", name="Message", exact=True)


def send(page, text: str) -> None:
    box = composer(page)
    box.fill(text)
    box.press("Enter")


def wait_for_reply_to_finish(page, timeout: float = 20_000) -> None:
    page.wait_for_function(
        """() => {
            const replies = document.querySelectorAll('.msg-assistant');
            const last = replies[replies.length - 1];
            return last && !last.classList.contains('is-streaming')
                && document.getElementById('messages').getAttribute('aria-busy') === 'false';
        }""",
        timeout=timeout,
    )


def mark_last_reply(page) -> None:
    """Tags the reply shown now, so that a test can wait for the one that replaces it."""
    page.locator(LAST_REPLY).evaluate("el => { el.__replaced = true; }")


def wait_for_new_reply_to_finish(page) -> None:
    page.wait_for_function(
        """() => {
            const replies = document.querySelectorAll('.msg-assistant');
            const last = replies[replies.length - 1];
            return last && !last.__replaced && !last.classList.contains('is-streaming');
        }"""
    )


def padding_words(text: str) -> list[int]:
    """The numbers of the " wN" padding words, in the order shown."""
    return [int(n) for n in re.findall(r"\bw(\d+)\b", text)]


def expected_padding(message: str) -> list[int]:
    return padding_words("".join(reply_tokens(message)))


def message_texts(page) -> list[tuple[str, str]]:
    return page.eval_on_selector_all(
        "#messages > .msg",
        """items => items.map(item => [
            item.classList.contains('msg-user') ? 'user' : 'assistant',
            item.querySelector('.msg-body').innerText.trim(),
        ])""",
    )


def sidebar_titles(page, group: str | None = None) -> list[str]:
    scope = f'.conv-group[data-group="{group}"] ' if group else ""
    return [t.strip() for t in page.locator(f"{scope}.conv-title").all_inner_texts()]


def start_conversation(page, text: str) -> None:
    """Sends `text` as the first message of a new conversation; waits for the reply."""
    if re.search(r"/c/\d+/$", page.url):
        page.get_by_role("button", name="New chat").click()
        page.wait_for_url(re.compile(r"/$"))
    send(page, text)
    page.wait_for_url(re.compile(r"/c/\d+/$"))
    wait_for_reply_to_finish(page)


# --- Sending, streaming, stopping, reloading ---------------------------------------------


def test_sign_in_send_and_watch_the_reply_stream_and_finish(visitor):
    page = visitor.sign_in()
    assert page.get_by_role("heading", name="How can I help?").is_visible()
    choose_assistant(page, "Writing coach")
    # The empty state shows the choice: name and description.
    assert "tighten drafts" in page.locator("#empty-assistant").inner_text()
    assert page.locator("#assistant-button").inner_text().strip().endswith("Writing coach")

    box = composer(page)
    box.fill("[[delay:0.04]] [[tokens:60]] First line")
    box.press("Shift+Enter")  # a new line, not a send
    box.type("second line")
    assert box.input_value() == "[[delay:0.04]] [[tokens:60]] First line\nsecond line"
    assert page.locator("#messages > .msg").count() == 0
    box.press("Enter")

    # Streaming: a visible state, Stop offered, the reply growing in place.
    streaming = page.locator(".msg-assistant.is-streaming")
    streaming.wait_for()
    assert page.get_by_role("button", name="Stop").is_visible()
    assert streaming.locator(".msg-time").inner_text() == "Writing…"
    page.wait_for_function(
        "() => /w5\\b/.test(document.querySelector('.msg-assistant .msg-body').innerText)"
    )
    wait_for_reply_to_finish(page)

    reply = page.locator(LAST_REPLY)
    text = reply.locator(".msg-body").inner_text()
    assert "You said:" in text and "First line" in text and "second line" in text
    assert padding_words(text) == expected_padding(
        "[[delay:0.04]] [[tokens:60]] First line\nsecond line"
    )
    assert not page.get_by_role("button", name="Stop").is_visible()
    assert re.fullmatch(r"\d{1,2}:\d{2}.*", reply.locator(".msg-time").inner_text())
    assert page.locator("#assistant-button .assistant-name").inner_text() == "Writing coach"
    # The new conversation is in the sidebar at once, titled, with its assistant.
    assert page.url.endswith("/") and re.search(r"/c/\d+/$", page.url)
    item = page.locator(".conv.is-current")
    assert "First line" in item.locator(".conv-title").inner_text()
    assert "Writing coach" in item.locator(".conv-meta").inner_text()
    # Screen readers hear the finished reply once, from the announcer.
    page.wait_for_function(
        "() => document.getElementById('announcer').textContent.includes('replied:')"
    )
    announced = page.locator("#announcer").text_content()
    assert announced.startswith("Writing coach replied: You said:")
    assert visitor.errors == []


def test_stop_keeps_the_partial_reply_and_reload_shows_the_transcript(visitor):
    page = visitor.sign_in()
    start_conversation(page, "Hello there")
    send(page, "[[delay:0.05]] [[tokens:300]] Long story")
    page.wait_for_function(
        "() => /w3\\b/.test([...document.querySelectorAll('.msg-assistant')]"
        ".pop()?.innerText ?? '')"
    )

    page.get_by_role("button", name="Stop").click()
    wait_for_reply_to_finish(page)

    reply = page.locator(LAST_REPLY)
    assert reply.locator(".msg-status").inner_text() == "Stopped."
    shown = padding_words(reply.locator(".msg-body").inner_text())
    assert shown == list(range(1, len(shown) + 1)) and 3 <= len(shown) < 250
    assert page.get_by_role("button", name="Send message").is_visible()
    before = message_texts(page)

    # A draft typed now survives the reload too.
    composer(page).fill("a draft I have not sent")
    page.reload()
    wait_until_connected(page)

    assert message_texts(page) == before
    assert page.locator(LAST_REPLY).locator(".msg-status").inner_text() == "Stopped."
    assert composer(page).input_value() == "a draft I have not sent"
    assert visitor.errors == []


def test_regenerate_retry_and_edit_the_last_message(visitor):
    page = visitor.sign_in()
    start_conversation(page, "Tell me about [[tokens:30]] owls")
    mark_last_reply(page)

    page.locator(LAST_REPLY).get_by_role("button", name="Regenerate reply").click()
    wait_for_new_reply_to_finish(page)
    texts = message_texts(page)
    assert [role for role, _ in texts] == ["user", "assistant"]
    assert padding_words(texts[1][1]) == expected_padding("Tell me about [[tokens:30]] owls")

    # Edit: Escape cancels, then Enter sends the new text and replaces the exchange.
    user_message = page.locator(".msg-user").last
    user_message.hover()
    user_message.get_by_role("button", name="Edit message").click()
    editor = page.get_by_role("textbox", name="Edit your message")
    editor.press("Escape")
    assert user_message.locator(".msg-body").inner_text() == "Tell me about [[tokens:30]] owls"
    user_message.hover()
    user_message.get_by_role("button", name="Edit message").click()
    editor.fill("Tell me about badgers")
    mark_last_reply(page)
    editor.press("Enter")
    wait_for_new_reply_to_finish(page)
    texts = message_texts(page)
    assert [role for role, _ in texts] == ["user", "assistant"]
    assert texts[0][1] == "Tell me about badgers"
    assert "owls" not in texts[1][1]

    # A failed reply says why, inline, and offers Retry (a regenerate).
    send(page, "[[run_fail]] try this")
    wait_for_reply_to_finish(page)
    failed = page.locator(LAST_REPLY)
    assert "The reply failed" in failed.locator(".msg-status").inner_text()
    # Only the error and one Retry: no stub of text above it, no second Retry beside it.
    assert failed.locator(".msg-body").is_hidden()
    assert failed.get_by_role("button", name=re.compile("Retry|Regenerate")).count() == 1
    assert not failed.get_by_role("button", name="Copy reply").is_visible()
    mark_last_reply(page)
    failed.get_by_role("button", name="Retry").click()
    wait_for_new_reply_to_finish(page)
    # The same text fails the same way with this model: the failed reply was replaced.
    assert "The reply failed" in page.locator(LAST_REPLY).locator(".msg-status").inner_text()
    assert [role for role, _ in message_texts(page)] == ["user", "assistant"] * 2
    page.reload()
    wait_until_connected(page)
    assert [role for role, _ in message_texts(page)] == ["user", "assistant"] * 2
    assert page.locator("#conversation-title").inner_text() == "Tell me about badgers"


def test_markdown_is_highlighted_and_copied(visitor):
    page = visitor.sign_in()
    start_conversation(
        page, "Example:\n\n```python\ndef greet(name):\n    return name.upper()\n```\n\nDone"
    )
    block = page.locator(LAST_REPLY).locator(".code-block")

    assert block.locator(".code-lang").inner_text() == "python"
    assert block.locator("code .hljs-keyword").first.inner_text() == "def"
    block.get_by_role("button", name="Copy code").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == "def greet(name):\n    return name.upper()"
    page.locator(LAST_REPLY).get_by_role("button", name="Copy reply").click()
    assert page.evaluate("navigator.clipboard.readText()").startswith("**You said:**")


def test_tool_steps_show_collapsed_with_arguments_and_result(visitor):
    page = visitor.sign_in()
    choose_assistant(page, "Calculator")
    start_conversation(page, 'call calculator {"expression": "6 * 7"}')
    reply = page.locator(LAST_REPLY)

    step = reply.locator("details.tool-step")
    assert step.count() == 1
    assert " ".join(step.locator("summary").inner_text().split()) == "Used calculator"
    assert not step.locator(".tool-body").is_visible()
    step.locator("summary").click()
    assert '"6 * 7"' in step.locator(".tool-body").inner_text()
    assert "42" in step.locator(".tool-body").inner_text()
    assert "The tool calculator returned:" in reply.locator(".msg-body").inner_text()


def test_the_view_follows_the_stream_unless_the_reader_scrolls_up(visitor):
    page = visitor.sign_in()
    start_conversation(page, "[[tokens:400]] A long first answer")
    send(page, "[[delay:0.03]] [[tokens:400]] And a long second one")
    page.locator(".msg-assistant.is-streaming").wait_for()
    page.wait_for_timeout(700)
    distance = (
        "() => { const t = document.getElementById('transcript');"
        " return t.scrollHeight - t.scrollTop - t.clientHeight; }"
    )
    assert page.evaluate(distance) < 50  # following

    page.locator("#transcript").evaluate("t => t.scrollTo({top: 0})")
    page.wait_for_timeout(700)
    assert page.locator("#transcript").evaluate("t => t.scrollTop") == 0  # left alone
    jump = page.get_by_role("button", name="Jump to latest")
    assert jump.is_visible()
    jump.click()
    wait_for_reply_to_finish(page)
    page.wait_for_timeout(500)
    assert page.evaluate(distance) < 50
    assert jump.is_hidden()


# --- The sidebar --------------------------------------------------------------------------


def test_rename_search_pin_and_delete_in_the_sidebar(visitor):
    page = visitor.sign_in()
    start_conversation(page, "Budget for the offsite")
    start_conversation(page, "Packing list: tent and stove")
    start_conversation(page, "Notes on the quarterly report")
    assert sidebar_titles(page, "today") == [
        "Notes on the quarterly report",
        "Packing list: tent and stove",
        "Budget for the offsite",
    ]

    # Rename in place from the row's "..." menu: Enter saves, the header follows.
    row_action(page, "Packing list", "Rename")
    title_box = page.get_by_role("textbox", name="Conversation title")
    title_box.fill("Camping trip")
    title_box.press("Enter")
    page.locator(".conv-title", has_text="Camping trip").wait_for()

    # Search finds titles and message text.
    search = page.get_by_role("searchbox", name="Search conversations")
    search.fill("camping")
    page.wait_for_function("() => document.querySelectorAll('.conv').length === 1")
    assert sidebar_titles(page) == ["Camping trip"]
    search.fill("stove")  # only in the messages now
    page.wait_for_function(
        "() => [...document.querySelectorAll('.conv-title')].map(t => t.textContent)"
        ".join() === 'Camping trip'"
    )
    search.fill("nothing like this")
    page.get_by_text("No conversations match").wait_for()
    search.press("Escape")
    page.wait_for_function("() => document.querySelectorAll('.conv').length === 3")

    # Pin: moves to the "Pinned" group, and stays there after a reload.
    row_action(page, "Budget for the offsite", "Pin to the top")
    page.locator('.conv-group[data-group="pinned"] .conv-title').wait_for()
    assert sidebar_titles(page, "pinned") == ["Budget for the offsite"]
    assert page.get_by_role("heading", name="Pinned").is_visible()
    page.reload()
    wait_until_connected(page)
    assert sidebar_titles(page, "pinned") == ["Budget for the offsite"]
    assert sidebar_titles(page, "today") == [
        "Notes on the quarterly report",
        "Camping trip",
    ]
    assert page.locator("#conversation-title").inner_text() == "Notes on the quarterly report"
    assert visitor.errors == []


def row_action(page, title: str, action: str) -> None:
    """Opens the "..." menu of the row titled `title` with the mouse and picks `action`."""
    row = page.locator(".conv", has_text=title)
    row.hover()
    row.get_by_role("button", name=re.compile("^Actions for")).click()
    page.get_by_role("menu", name="Conversation actions").locator("visible=true").get_by_role(
        "menuitem", name=action
    ).click()


def test_delete_asks_in_the_page_hides_at_once_and_undo_brings_it_back(visitor):
    page = visitor.sign_in()
    start_conversation(page, "Budget for the offsite")
    start_conversation(page, "Notes on the quarterly report")
    current_url = page.url

    # The page's own dialog, not confirm(): Cancel keeps everything, and the focus comes back.
    row_action(page, "Notes on the quarterly report", "Delete…")
    dialog = page.get_by_role("dialog", name="Delete “Notes on the quarterly report”?")
    dialog.wait_for()
    assert page.evaluate("document.activeElement.textContent") == "Cancel"
    assert_accessible(page, "the delete dialog")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # focus stays in the modal dialog
    assert page.evaluate("!!document.activeElement.closest('dialog')")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.classList.contains('conv-link')")
    assert len(sidebar_titles(page)) == 2

    # Delete: gone from the sidebar and the page at once, an Undo toast.
    row_action(page, "Notes on the quarterly report", "Delete…")
    dialog.get_by_role("button", name="Delete").click()
    page.wait_for_url(re.compile(r"/$"))
    toast = page.locator(".toast")
    toast.wait_for()
    assert "Deleted “Notes on the quarterly report”" in toast.inner_text()
    assert sidebar_titles(page) == ["Budget for the offsite"]
    assert_accessible(page, "the undo toast")
    # Answers like an unknown conversation meanwhile (the page is a 404).
    other = visitor.new_page()
    assert other.goto(current_url).status == 404
    other.close()
    visitor.errors.clear()  # that tab's console reported the 404, as it should

    toast.get_by_role("button", name="Undo").click()
    page.wait_for_url(current_url)
    page.wait_for_function("() => document.querySelectorAll('.conv').length === 2")
    wait_for_reply_to_finish(page)
    assert "Notes on the quarterly report" in message_texts(page)[0][1]

    # Deleted again and the window left to close: deleted for good, Undo no longer offered.
    row_action(page, "Notes on the quarterly report", "Delete…")
    dialog.get_by_role("button", name="Delete").click()
    toast.wait_for()
    toast.wait_for(state="detached", timeout=10_000)  # CHAT_UNDO_SECONDS=3 in the tests
    page.wait_for_timeout(2000)  # a sweep of the purge (every 1.5 s here)
    left = visitor.site.shell(
        "from chat.models import Conversation as C; "
        f"print(C.all_objects.filter(owner__username={visitor.username!r}).count())"
    )
    assert left.strip().splitlines()[-1] == "1"
    page.reload()
    wait_until_connected(page)
    assert sidebar_titles(page) == ["Budget for the offsite"]
    assert visitor.errors == []


def test_the_row_menu_works_from_the_keyboard(visitor):
    page = visitor.sign_in()
    start_conversation(page, "Keyboard menu")
    link = page.locator(".conv-link", has_text="Keyboard menu")
    link.focus()
    page.keyboard.press("Shift+F10")
    menu = page.get_by_role("menu", name="Conversation actions").locator("visible=true")
    menu.wait_for()
    button = page.get_by_role("button", name="Actions for “Keyboard menu”")
    assert button.get_attribute("aria-haspopup") == "menu"
    assert button.get_attribute("aria-expanded") == "true"
    focused = lambda: page.evaluate("document.activeElement.textContent.trim()")  # noqa: E731
    assert focused() == "Rename"
    page.keyboard.press("ArrowDown")
    assert focused() == "Pin to the top"
    page.keyboard.press("End")
    assert focused() == "Delete…"
    page.keyboard.press("ArrowDown")  # wraps
    assert focused() == "Rename"
    items = menu.get_by_role("menuitem").all_inner_texts()
    assert [i.strip() for i in items] == [
        "Rename",
        "Pin to the top",
        "Export as Markdown",
        "Export as JSON",
        "Share…",
        "Delete…",
    ]
    conversation_id = re.search(r"/c/(\d+)/", page.url).group(1)
    exports = menu.locator("a[download]")
    assert [exports.nth(i).get_attribute("href") for i in range(2)] == [
        f"/c/{conversation_id}/export.md",
        f"/c/{conversation_id}/export.json",
    ]
    assert_accessible(page, "the row menu")
    # Share… hands over to the share dialog's script, by an event.
    page.evaluate(
        "document.addEventListener('conversation-action', e => { window.__shared = e.detail })"
    )
    page.keyboard.press("End")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    assert page.evaluate("window.__shared") == {
        "action": "share",
        "conversationId": int(conversation_id),
    }
    link.focus()
    page.keyboard.press("Shift+F10")
    page.keyboard.press("Escape")
    menu.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.classList.contains('conv-link')")
    assert visitor.errors == []


def test_a_long_history_loads_page_by_page(visitor, live_site):
    live_site.shell(
        "from datetime import timedelta; from django.utils import timezone; "
        "from django.contrib.auth import get_user_model; "
        "from chat.models import Assistant, Conversation; now = timezone.now(); "
        f"owner = get_user_model().objects.get(username={visitor.username!r}); "
        "assistant = Assistant.objects.get(name='Demo assistant'); "
        "made = Conversation.objects.bulk_create(Conversation(owner=owner, assistant=assistant,"
        " title=f'Old conversation {i:03}') for i in range(120)); "
        "[Conversation.objects.filter(pk=c.pk).update(updated_at=now - timedelta(days=30, "
        "minutes=i)) for i, c in enumerate(made)]"
    )
    page = visitor.sign_in()
    assert page.locator(".conv").count() == 50  # the first page only

    for expected in (100, 120):
        page.locator(".conv").last.scroll_into_view_if_needed()
        page.wait_for_function(f"() => document.querySelectorAll('.conv').length === {expected}")
    titles = sidebar_titles(page, "older")
    assert titles == [f"Old conversation {i:03}" for i in range(120)]


# --- Several tabs, a dropped connection ---------------------------------------------------


def test_two_tabs_see_the_same_streaming_reply(visitor):
    first = visitor.sign_in()
    second = visitor.new_page()
    second.goto("/")
    wait_until_connected(second)
    message = "[[delay:0.05]] [[tokens:120]] Shared"

    first.get_by_role("button", name="New chat").click()
    send(first, message)
    # The other tab hears of the new conversation at once and opens it mid-stream.
    second.locator(".conv-title", has_text="Shared").click()
    second.locator(".msg-assistant.is-streaming").wait_for()
    assert "Shared" in second.locator("#conversation-title").inner_text()
    wait_for_reply_to_finish(first)
    wait_for_reply_to_finish(second)

    assert message_texts(first) == message_texts(second)
    assert padding_words(message_texts(second)[1][1]) == expected_padding(message)
    assert visitor.errors == []


def test_a_dropped_connection_recovers_without_duplicates(visitor):
    page = visitor.new_page()
    sockets = []

    def proxy(route):
        # Passes the page's socket through to the real server, keeping a handle to cut it.
        route.connect_to_server()
        sockets.append(route)

    page.route_web_socket(re.compile(r"/ws/chat/$"), proxy)
    visitor.sign_in(page)
    message = "[[delay:0.05]] [[tokens:150]] Through the storm"
    page.get_by_role("button", name="New chat").click()
    send(page, message)
    page.wait_for_function(
        "() => /w5\\b/.test([...document.querySelectorAll('.msg-assistant')]"
        ".pop()?.innerText ?? '')"
    )

    sockets[-1].close(code=4000, reason="network went away")
    page.locator("#connection", has_text="reconnecting").wait_for()
    page.wait_for_selector("#app[data-connection=open]", state="attached")
    wait_for_reply_to_finish(page)

    assert len(sockets) >= 2
    texts = message_texts(page)
    assert [role for role, _ in texts] == ["user", "assistant"]
    assert padding_words(texts[1][1]) == expected_padding(message)
    assert page.locator("#connection").is_hidden()
    page.reload()
    wait_until_connected(page)
    assert message_texts(page) == texts


# --- Model output is text, never code -----------------------------------------------------

HOSTILE = (
    "[click me](javascript:window.__pwned='link') and <b>raw bold</b>\n\n"
    "<script>window.__pwned = 'script'</script>\n\n"
    '<img src="x" onerror="window.__pwned = \'img\'">\n\n'
    "<a href=\"javascript:window.__pwned='a'\">raw link</a> "
    "<iframe src=\"javascript:window.__pwned='iframe'\"></iframe>"
)


def test_a_hostile_reply_executes_nothing_and_shows_as_text(visitor):
    page = visitor.sign_in()
    start_conversation(page, HOSTILE)
    reply = page.locator(LAST_REPLY).locator(".msg-body")

    for selector in ("script", "img", "iframe", "b", "[onerror]"):
        assert page.locator(f"#messages {selector}").count() == 0, selector
    text = reply.inner_text()
    assert "<script>window.__pwned = 'script'</script>" in text
    assert '<img src="x" onerror=' in text and "<b>raw bold</b>" in text
    hrefs = reply.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert all(href is None or not href.lower().startswith("javascript") for href in hrefs)
    # The markdown link became a link with no target; clicking it does nothing.
    link = reply.locator("a", has_text="click me")
    assert link.count() == 1 and link.get_attribute("href") is None
    link.click()
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned") is None
    # The user's own message is plain text, character for character.
    assert page.locator(".msg-user .msg-body").inner_text() == HOSTILE
    page.reload()
    wait_until_connected(page)
    assert page.locator("#messages script, #messages img, #messages iframe").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert len(page.context.pages) == 1


# --- Phone, keyboard ----------------------------------------------------------------------


def test_a_phone_can_open_the_sidebar_and_send(make_visitor):
    visitor = make_visitor(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = visitor.sign_in()
    sidebar = page.get_by_role("complementary", name="Conversations")
    assert not sidebar.is_visible()
    choose_assistant(page, "Demo assistant")
    # iOS zooms into a text box under 16 px; touch targets are 44 px at least.
    assert page.locator("#composer-input").evaluate("el => getComputedStyle(el).fontSize") == "16px"
    send_box = page.get_by_role("button", name="Send message").bounding_box()
    assert send_box["width"] >= 44 and send_box["height"] >= 44, send_box

    page.get_by_role("button", name="Show conversations").tap()
    sidebar.wait_for(state="visible")
    # A modal drawer: the page behind it is out of reach until it closes.
    assert page.locator("#main").evaluate("main => main.inert")
    assert page.evaluate("document.activeElement.id") == "new-chat"
    page.get_by_role("button", name="New chat").tap()
    sidebar.wait_for(state="hidden")
    assert not page.locator("#main").evaluate("main => main.inert")
    composer(page).fill("Hello from my phone")
    page.get_by_role("button", name="Send message").tap()
    wait_for_reply_to_finish(page)

    assert "Hello from my phone" in page.locator(LAST_REPLY).inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert_accessible(page, "the phone layout")
    page.get_by_role("button", name="Show conversations").tap()
    sidebar.wait_for(state="visible")
    page.wait_for_timeout(250)  # the drawer's slide
    assert sidebar_titles(page) == ["Hello from my phone"]
    # No hover on a phone: the row's "..." is shown, 44 px, and the title keeps its room.
    more = page.get_by_role("button", name="Actions for “Hello from my phone”")
    box = more.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44, box
    assert more.evaluate("el => getComputedStyle(el).opacity") == "1"
    assert page.locator(".conv-title").bounding_box()["width"] > 200
    assert_accessible(page, "the phone drawer")
    more.tap()
    menu = page.get_by_role("menu", name="Conversation actions").locator("visible=true")
    menu.wait_for()
    item = menu.get_by_role("menuitem", name="Rename").bounding_box()
    assert item["height"] >= 44
    assert visitor.errors == []


def test_the_keyboard_reaches_everything_with_a_visible_focus(visitor):
    page = visitor.sign_in()
    start_conversation(page, "Keyboard check")
    page.locator("#new-chat").focus()

    reached = []
    while not reached or reached[-1][0] != "composer-input":
        assert len(reached) < 20, reached
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                """() => {
                    const el = document.activeElement;
                    // The message box shows its focus on the whole composer around it.
                    const shown = el.id === 'composer-input' ? el.closest('.composer') : el;
                    const style = getComputedStyle(shown);
                    const ring = (style.outlineStyle !== 'none' && style.outlineWidth !== '0px')
                        || style.boxShadow.includes('0px 0px 0px');
                    const name = el.classList.contains('conv-link')
                        ? `link: ${el.querySelector('.conv-title').textContent}`
                        : el.id || el.getAttribute('aria-label') || el.textContent.trim();
                    return [name, ring];
                }"""
            )
        )

    # Sidebar first (one stop per row, its actions in the "..." menu), then the header, the
    # conversation's actions, then the message box.
    assert [name for name, _ in reached] == [
        "search",
        "link: Keyboard check",
        "user-button",
        "assistant-button",
        "shortcuts-button",
        "share-conversation",  # the header's Share button
        "Edit message",
        "Copy reply",
        "Regenerate reply",
        "Good reply",  # feedback on the reply (static/chat/feedback/)
        "Bad reply",
        "composer-input",
    ]
    assert [name for name, visible in reached if not visible] == []


def test_axe_finds_nothing_on_the_login_the_empty_chat_and_a_reply_with_code(visitor):
    page = visitor.new_page()
    page.goto("/")
    assert_accessible(page, "the login page")
    page.get_by_label("Username").fill(visitor.username)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").wait_for()
    assert_accessible(page, "the login page with its error")
    visitor.errors.clear()  # the refused sign-in's answer, in the console

    visitor.sign_in(page)
    assert_accessible(page, "the empty chat")
    start_conversation(page, DEMO_MESSAGE)
    assert page.locator(".msg-assistant .hljs-keyword").count() >= 1
    # The current row of the sidebar (its subtitle), highlight.js's colours, the actions.
    assert_accessible(page, "a reply with code, light theme")
    assert visitor.errors == []


def test_a_skip_link_and_the_keyboard_shortcuts(visitor):
    page = visitor.sign_in()
    start_conversation(page, "Shortcut check")
    # The focus at the top of the page, as after a load.
    page.evaluate("document.body.tabIndex = -1; document.body.focus()")

    # The first Tab stop skips the sidebar.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "skip-link"
    assert page.locator("#skip-link").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "composer-input"

    # "?" is a character while typing: it goes into the box, no sheet.
    page.keyboard.type("why?")
    assert composer(page).input_value() == "why?"
    assert page.get_by_role("dialog").count() == 0
    composer(page).fill("")
    page.locator("#conversation-title").click()
    page.keyboard.press("?")
    sheet = page.get_by_role("dialog", name="Keyboard shortcuts")
    sheet.wait_for()
    assert "Search conversations" in sheet.inner_text() and "New chat" in sheet.inner_text()
    assert_accessible(page, "the shortcuts sheet")
    page.keyboard.press("Escape")
    sheet.wait_for(state="detached")

    page.keyboard.press("Control+k")
    assert page.evaluate("document.activeElement.id") == "search"
    page.keyboard.press("Control+Shift+O")
    page.wait_for_url(re.compile(r"/$"))
    assert page.locator("#conversation-title").inner_text() == "New chat"

    # Esc stops the reply being written, wherever the focus is.
    send(page, "[[delay:0.05]] [[tokens:300]] a long one")
    page.locator(".msg-assistant.is-streaming").wait_for()
    page.wait_for_function("() => /w3\\b/.test(document.querySelector('.msg-assistant').innerText)")
    page.keyboard.press("Escape")
    page.locator(".msg-assistant .msg-status.is-cancelled").wait_for()
    assert visitor.errors == []


def test_the_user_menu_switches_the_theme_before_the_first_paint(make_visitor):
    visitor = make_visitor(viewport={"width": 1280, "height": 800}, color_scheme="light")
    page = visitor.sign_in()
    background = lambda: page.evaluate("getComputedStyle(document.body).backgroundColor")  # noqa: E731
    assert background() == "rgb(255, 255, 255)"

    page.get_by_role("button", name=re.compile("^Account:")).click()
    menu = page.get_by_role("menu", name="Account").locator("visible=true")
    assert (
        menu.get_by_role("menuitemradio", name="System theme").get_attribute("aria-checked")
        == "true"
    )
    assert menu.get_by_role("menuitem", name="Usage").get_attribute("href") == "/usage/"
    assert menu.get_by_role("menuitem", name="Sign out").is_visible()
    assert_accessible(page, "the user menu")
    menu.get_by_role("menuitemradio", name="Dark theme").click()
    assert background() != "rgb(255, 255, 255)"
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    # highlight.js follows: the dark sheet applies, the light one not.
    assert page.evaluate(
        "[...document.querySelectorAll('link[data-scheme]')].map(l => [l.dataset.scheme, l.media])"
    ) == [["light", "not all"], ["dark", "all"]]

    # Remembered, and applied before the page paints: the first frame is already dark.
    page.add_init_script(
        "new MutationObserver(() => { if (document.body && !window.__firstBody) {"
        " window.__firstBody = document.documentElement.dataset.theme || 'none'; } })"
        ".observe(document, {childList: true, subtree: true});"
    )
    page.reload()
    wait_until_connected(page)
    assert page.evaluate("window.__firstBody") == "dark"
    assert background() != "rgb(255, 255, 255)"
    assert_accessible(page, "dark mode")

    page.get_by_role("button", name=re.compile("^Account:")).click()
    menu.get_by_role("menuitemradio", name="System theme").click()
    assert background() == "rgb(255, 255, 255)"
    assert visitor.errors == []
    page.get_by_role("button", name=re.compile("^Account:")).click()
    menu.get_by_role("menuitem", name="Sign out").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))


def test_the_assistant_is_chosen_in_the_header_with_starter_prompts(visitor):
    visitor.site.manage(
        "assistant_set",
        "Writing coach",
        "--icon",
        "✍",
        "--starter-prompts",
        "Tighten this paragraph|Suggest a title",
    )
    page = visitor.sign_in()
    assert page.locator("#assistant-select").count() == 0  # no picker in the sidebar
    page.get_by_role("button", name=re.compile("^Assistant:")).click()
    menu = page.get_by_role("menu", name="Assistants").locator("visible=true")
    coach = menu.get_by_role("menuitemradio", name=re.compile("Writing coach"))
    assert "Helps you tighten drafts" in coach.inner_text() and "✍" in coach.inner_text()
    assert_accessible(page, "the assistant menu")
    coach.click()

    empty = page.locator("#empty-state")
    assert "Writing coach" in empty.locator("#empty-assistant").inner_text()
    cards = empty.get_by_role("button", name="Tighten this paragraph")
    assert empty.locator(".starter").all_inner_texts() == [
        "Tighten this paragraph",
        "Suggest a title",
    ]
    assert_accessible(page, "the empty state with starter prompts")
    # The empty state's card opens the same menu.
    page.locator("#empty-assistant").click()
    menu.wait_for()
    page.keyboard.press("Escape")
    menu.wait_for(state="hidden")
    assert page.evaluate("document.activeElement.id") == "empty-assistant"

    cards.click()  # a card sends its prompt
    page.wait_for_url(re.compile(r"/c/\d+/$"))
    wait_for_reply_to_finish(page)
    assert message_texts(page)[0] == ["user", "Tighten this paragraph"]
    # An open conversation keeps its assistant: the menu offers new chats instead.
    page.get_by_role("button", name="Assistant: Writing coach").click()
    assert menu.get_by_role("menuitemradio").count() == 0
    assert "This chat stays with Writing coach" in menu.inner_text()
    menu.get_by_role("menuitem", name="New chat with Calculator").click()
    page.wait_for_url(re.compile(r"/$"))
    assert page.get_by_role("button", name="Assistant: Calculator").is_visible()
    assert empty.locator(".starter").count() == 0
    visitor.site.manage("assistant_set", "Writing coach", "--icon", "", "--starter-prompts", "")
    assert visitor.errors == []


# --- Screenshots for the README -----------------------------------------------------------


DEMO_MESSAGE = (
    "How do I read a CSV file in Python and sum one column?\n\n"
    "```python\nimport csv\n\nwith open('sales.csv') as f:\n"
    "    total = sum(float(row['amount']) for row in csv.DictReader(f))\nprint(total)\n```"
)


def _demo_conversations(visitor, page):
    """A sidebar with some history: a pin, and conversations from earlier days."""
    choose_assistant(page, "Demo assistant")
    for text in (
        "Plan a three-day trip to Lisbon",
        "Draft a friendly reminder about Friday's deadline",
        "Compare two laptops for the design team",
        "Summarise the quarterly report in five bullets",
    ):
        start_conversation(page, text)
    visitor.site.shell(
        "from datetime import timedelta; from django.utils import timezone; "
        "from chat.models import Conversation as C; now = timezone.now(); "
        f"mine = C.objects.filter(owner__username={visitor.username!r}); "
        "mine.filter(title__startswith='Draft').update(updated_at=now - timedelta(days=1)); "
        "mine.filter(title__startswith='Compare').update(updated_at=now - timedelta(days=3)); "
        "mine.filter(title__startswith='Plan').update("
        "updated_at=now - timedelta(days=20), pinned_at=now)"
    )
    start_conversation(page, DEMO_MESSAGE)
    page.reload()
    wait_until_connected(page)


def _settle(page):
    """No hover, no focus ring, the transcript at its end: what a reader sees."""
    page.mouse.move(0, 0)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.evaluate("const t = document.getElementById('transcript'); t.scrollTop = t.scrollHeight")
    page.wait_for_timeout(200)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_desktop_screenshots(make_visitor, screenshot_dir, scheme):
    visitor = make_visitor(viewport={"width": 1280, "height": 800}, color_scheme=scheme)
    page = visitor.sign_in()
    _demo_conversations(visitor, page)
    composer(page).fill("Can you also show the average?")
    _settle(page)

    assert [g for g in ("pinned", "today", "yesterday", "week") if sidebar_titles(page, g)] == [
        "pinned",
        "today",
        "yesterday",
        "week",
    ]
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (background != "rgb(255, 255, 255)") == (scheme == "dark"), background
    page.screenshot(path=str(screenshot_dir / f"desktop-{scheme}.png"))


def test_phone_screenshot(make_visitor, screenshot_dir):
    visitor = make_visitor(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = visitor.sign_in()
    choose_assistant(page, "Demo assistant")
    start_conversation(page, DEMO_MESSAGE)
    _settle(page)
    page.screenshot(path=str(screenshot_dir / "phone.png"))
    page.get_by_role("button", name="Show conversations").tap()
    page.get_by_role("complementary", name="Conversations").wait_for(state="visible")
    page.wait_for_timeout(300)  # the drawer's slide
    page.screenshot(path=str(screenshot_dir / "phone-sidebar.png"))


def test_new_chat_menu_dialog_and_toast_screenshots(make_visitor, screenshot_dir):
    visitor = make_visitor(viewport={"width": 1280, "height": 800}, color_scheme="light")
    visitor.site.manage(
        "assistant_set",
        "Demo assistant",
        "--icon",
        "✦",
        "--starter-prompts",
        "Explain a CSV file in plain words|Draft a polite reminder email"
        "|Plan a three-day trip to Lisbon|Summarise a long text in five bullets",
    )
    try:
        page = visitor.sign_in()
        _demo_conversations(visitor, page)
        choose_assistant(page, "Demo assistant")
        _settle(page)
        assert page.locator("#empty-state .starter").count() == 4
        page.screenshot(path=str(screenshot_dir / "new-chat-starters.png"))

        page.locator("#assistant-button").click()
        page.get_by_role("menu", name="Assistants").locator("visible=true").wait_for()
        page.screenshot(path=str(screenshot_dir / "assistant-menu.png"))
        page.keyboard.press("Escape")

        row_action_menu = page.locator(".conv", has_text="Compare two laptops")
        row_action_menu.hover()
        row_action_menu.get_by_role("button", name=re.compile("^Actions for")).click()
        page.get_by_role("menu", name="Conversation actions").locator("visible=true").wait_for()
        page.screenshot(path=str(screenshot_dir / "row-menu.png"))
        page.get_by_role("menuitem", name="Delete…").click()
        page.get_by_role("dialog").wait_for()
        page.wait_for_timeout(150)
        page.screenshot(path=str(screenshot_dir / "delete-dialog.png"))
        page.get_by_role("dialog").get_by_role("button", name="Delete").click()
        page.locator(".toast").wait_for()
        page.mouse.move(0, 0)
        page.screenshot(path=str(screenshot_dir / "undo-toast.png"))
        page.locator(".toast").get_by_role("button", name="Undo").click()
        assert visitor.errors == []
    finally:
        visitor.site.manage(
            "assistant_set", "Demo assistant", "--icon", "", "--starter-prompts", ""
        )
