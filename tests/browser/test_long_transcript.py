"""A long conversation in the browser: it opens with its latest messages, older ones load as
the reader scrolls up (the reader's place kept), and the socket's snapshot neither paints the
shown messages again nor drops the older ones the reader loaded."""

import re

import pytest

from tests.browser.conftest import wait_until_connected

pytestmark = pytest.mark.browser

MESSAGES = 130
PAGE_SIZE = 50  # CHAT_TRANSCRIPT_PAGE_SIZE's default

# Before the page's own scripts: counts the message elements ever added to the transcript
# and the snapshots the socket brought.
WATCH = """
window.__painted = 0;
window.__snapshots = 0;
new MutationObserver((records) => {
  for (const record of records) {
    for (const node of record.addedNodes) {
      if (node.nodeType === 1 && node.matches('li.msg')) window.__painted += 1;
    }
  }
}).observe(document, { childList: true, subtree: true });
const NativeSocket = window.WebSocket;
window.WebSocket = class extends NativeSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', (event) => {
      if (JSON.parse(event.data).type === 'conversation.snapshot') window.__snapshots += 1;
    });
  }
};
"""


def long_conversation(live_site, username: str) -> int:
    return int(
        live_site.shell(
            "from django.contrib.auth import get_user_model; "
            "from chat.models import Assistant, Conversation, Message; "
            f"owner = get_user_model().objects.get(username={username!r}); "
            "c = Conversation.objects.create(owner=owner, title='A long talk', "
            "assistant=Assistant.objects.get(name='Demo assistant')); "
            "Message.objects.bulk_create(Message(conversation=c, "
            "role='user' if i % 2 == 0 else 'assistant', status='done', "
            f"content=f'Line {{i:03}} of the long talk.') for i in range({MESSAGES})); "
            "print(c.pk)"
        )
        .strip()
        .splitlines()[-1]
    )


def shown_lines(page) -> list[int]:
    texts = page.locator("#messages li.msg .msg-body").all_inner_texts()
    return [int(m.group(1)) for t in texts if (m := re.search(r"Line (\d+)", t))]


def open_long_conversation(visitor, live_site):
    page = visitor.new_page()
    page.add_init_script(WATCH)
    visitor.sign_in(page)
    conversation_id = long_conversation(live_site, visitor.username)
    page.goto(f"/c/{conversation_id}/")
    wait_until_connected(page)
    page.wait_for_function("() => window.__snapshots >= 1")
    return page


def scroll_to_top_until(page, count: int) -> None:
    page.locator("#transcript").evaluate("el => { el.scrollTop = 0; }")
    page.wait_for_function(f"() => document.querySelectorAll('#messages li.msg').length >= {count}")


def test_a_long_conversation_opens_at_its_end_and_the_snapshot_paints_nothing_again(
    visitor, live_site
):
    page = open_long_conversation(visitor, live_site)

    assert shown_lines(page) == list(range(MESSAGES - PAGE_SIZE, MESSAGES))
    # The page painted them once; the socket's snapshot matched and left them alone.
    assert page.evaluate("window.__painted") == PAGE_SIZE
    assert page.get_by_role("button", name="Load earlier messages").count() == 1
    # The reader is at the end of the conversation.
    assert page.locator("#transcript").evaluate(
        "el => el.scrollHeight - el.scrollTop - el.clientHeight < 48"
    )
    assert visitor.errors == []


def test_scrolling_up_loads_everything_once_in_order_and_keeps_the_readers_place(
    visitor, live_site
):
    page = open_long_conversation(visitor, live_site)
    # Where the first shown message sits in the scrolled content: at the top of the view
    # once the reader scrolls all the way up.
    offset = page.locator("#messages li.msg").first.evaluate(
        """el => {
            const scroller = document.getElementById('transcript');
            return el.getBoundingClientRect().top - scroller.getBoundingClientRect().top
                + scroller.scrollTop;
        }"""
    )
    first_shown = page.locator("#messages li.msg", has_text=f"Line {MESSAGES - PAGE_SIZE:03}")

    scroll_to_top_until(page, PAGE_SIZE + 1)
    page.wait_for_function("() => document.getElementById('older-messages').ariaBusy !== 'true'")

    # What the reader was looking at did not jump: older messages went in above it.
    on_screen = first_shown.evaluate(
        "el => el.getBoundingClientRect().top"
        " - document.getElementById('transcript').getBoundingClientRect().top"
    )
    assert abs(on_screen - offset) < 4
    for _ in range(5):
        if len(shown_lines(page)) == MESSAGES:
            break
        scroll_to_top_until(page, len(shown_lines(page)) + 1)
    assert shown_lines(page) == list(range(MESSAGES))
    page.locator("#older-messages").wait_for(state="hidden")
    assert visitor.errors == []


def test_a_reconnect_keeps_the_older_messages_the_reader_loaded(visitor, live_site):
    page = visitor.new_page()
    page.add_init_script(WATCH)
    sockets = []

    def proxy(route):
        route.connect_to_server()
        sockets.append(route)

    page.route_web_socket(re.compile(r"/ws/chat/$"), proxy)
    visitor.sign_in(page)
    conversation_id = long_conversation(live_site, visitor.username)
    page.goto(f"/c/{conversation_id}/")
    wait_until_connected(page)
    page.wait_for_function("() => window.__snapshots >= 1")
    scroll_to_top_until(page, PAGE_SIZE + 1)
    loaded = shown_lines(page)
    painted = page.evaluate("window.__painted")

    sockets[-1].close(code=4000, reason="network went away")
    page.wait_for_function("() => window.__snapshots >= 2")

    assert shown_lines(page) == loaded
    assert page.evaluate("window.__painted") == painted
    assert visitor.errors == []
