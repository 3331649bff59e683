"""Files, file search with citations, and the code interpreter in a real Chromium, against
the live site and its local provider (issue 7): what a user sees and does.

The local model answers a file-search question by quoting the best passages of the attached
files, each followed by a numbered citation, and runs the first fenced Python block of a
message in its sandbox when the assistant has the code interpreter (docs/local-provider.md).
"""

import os
import re
import struct
import zlib

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.conftest import SCREENSHOTS, choose_assistant, wait_until_connected
from tests.browser.test_chat_page import (
    LAST_REPLY,
    composer,
    send,
    wait_for_reply_to_finish,
)

pytestmark = pytest.mark.browser

LIGHTHOUSE = (
    "# The Skerry Point lighthouse\n\n## History\n\n"
    "The Skerry Point lighthouse was designed by the engineer Alan Stevenson and first lit in "
    "1852. Its granite tower stands 41 metres tall and its lamp can be seen 23 nautical miles "
    "out to sea.\n\n"
    "Keepers lived at the station until 1998, when the light was automated. The old keepers' "
    "cottages now house a small museum about life on the rock.\n"
)
BAKERY = (
    "# Harbour bakery\n\n"
    "The harbour bakery opens at six every morning and sells rye bread, cinnamon buns and "
    "oat biscuits. On Sundays it closes at noon.\n"
)
PLOT_CODE = (
    "import csv\n"
    "import matplotlib.pyplot as plt\n"
    "\n"
    "xs = list(range(1, 6))\n"
    "ys = [x * x for x in xs]\n"
    "plt.plot(xs, ys, marker='o')\n"
    "plt.title('Squares')\n"
    "plt.show()\n"
    "with open('squares.csv', 'w', newline='') as f:\n"
    "    writer = csv.writer(f)\n"
    "    writer.writerow(['x', 'square'])\n"
    "    writer.writerows(zip(xs, ys))\n"
    "print('total of squares:', sum(ys))\n"
)
PLOT_MESSAGE = f"Plot the first five squares and save them as CSV:\n\n```python\n{PLOT_CODE}```"


@pytest.fixture(scope="module", autouse=True)
def tool_assistants(live_site):
    """An assistant with file search and one with the code interpreter (once per module)."""
    live_site.shell(
        "from chat.models import Assistant; "
        "Assistant.objects.get_or_create(name='Librarian', defaults=dict(model='local-echo-1', "
        "file_search=True, description='Answers from your files, with citations.')); "
        "Assistant.objects.get_or_create(name='Analyst', defaults=dict(model='local-echo-1', "
        "code_interpreter=True, description='Runs Python for you.'))"
    )


# --- Helpers -------------------------------------------------------------------------------


def tiny_png(width: int = 24, height: int = 16) -> bytes:
    """A real (red) PNG: the server checks an image's signature, the browser decodes it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\xd0\x30\x30" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def choose(page, assistant: str) -> None:
    """Picks the assistant for the next new chat (the header's menu, on a phone too)."""
    choose_assistant(page, assistant)


def attach(page, *files: tuple[str, str | bytes, str]) -> None:
    """Attaches files through the paperclip's file input: (name, content, mime type)."""
    page.locator("#attach-input").set_input_files(
        [
            {
                "name": name,
                "mimeType": mime,
                "buffer": content.encode() if isinstance(content, str) else content,
            }
            for name, content, mime in files
        ]
    )


def drop(page, selector: str, name: str, content: str, mime: str) -> None:
    """Drags a file over `selector` and drops it, as the OS would (a DataTransfer of files)."""
    page.evaluate(
        """([selector, name, content, mime]) => {
            const target = document.querySelector(selector);
            const data = new DataTransfer();
            data.items.add(new File([content], name, { type: mime }));
            const fire = (type) => target.dispatchEvent(
                new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
            fire('dragenter');
            fire('dragover');
            window.__overlayShown = !document.getElementById('drop-overlay').hidden;
            fire('drop');
        }""",
        [selector, name, content, mime],
    )


def paste(page, name: str, content: str, mime: str) -> None:
    """Pastes a file into the message box, as copying a file in a file manager would."""
    page.evaluate(
        """([name, content, mime]) => {
            const data = new DataTransfer();
            data.items.add(new File([content], name, { type: mime }));
            const event = new ClipboardEvent(
                'paste', { clipboardData: data, bubbles: true, cancelable: true });
            document.getElementById('composer-input').dispatchEvent(event);
        }""",
        [name, content, mime],
    )


def chip(page, name: str):
    return page.locator(f'.attach-chip[data-name="{name}"]')


def wait_for_uploads(page) -> None:
    page.wait_for_function("() => !document.querySelector('.attach-chip.is-uploading')")


# --- Attaching -----------------------------------------------------------------------------


def test_attach_by_button_and_by_drop_remove_and_refused_files(visitor):
    page = visitor.sign_in()
    choose(page, "Librarian")
    attach_button = page.get_by_role("button", name="Attach files")
    assert attach_button.is_visible()

    attach(page, ("lighthouse.txt", LIGHTHOUSE, "text/plain"))
    drop(page, "#transcript", "bakery.md", BAKERY, "text/markdown")
    assert page.evaluate("window.__overlayShown") is True
    assert page.locator("#drop-overlay").is_hidden()
    paste(page, "pasted.csv", "a,b\n1,2\n", "text/csv")
    wait_for_uploads(page)

    for name, content in (
        ("lighthouse.txt", LIGHTHOUSE),
        ("bakery.md", BAKERY),
        ("pasted.csv", "a,b\n1,2\n"),
    ):
        item = chip(page, name)
        assert "is-done" in item.get_attribute("class"), item.inner_text()
        assert name in item.inner_text()
        assert f"{len(content)} B" in item.inner_text()

    # Refused before any upload (the page knows the allowed types) ...
    attach(page, ("setup.exe", b"MZ\x90\x00", "application/octet-stream"))
    refused = chip(page, "setup.exe")
    assert "is-error" in refused.get_attribute("class")
    assert "Files of type .exe cannot be attached." in refused.inner_text()
    # ... and by the server, whose message the chip shows: a "PNG" that is really text.
    attach(page, ("fake.png", "not a picture at all", "image/png"))
    page.wait_for_function(
        "() => document.querySelector('.attach-chip[data-name=\"fake.png\"]')"
        "?.classList.contains('is-error')"
    )
    server_message = chip(page, "fake.png").locator(".attach-meta").inner_text()
    assert "fake.png" in server_message, server_message

    # Removing: the refused ones go, and one upload is deleted on the server.
    chip(page, "setup.exe").get_by_role("button", name="Remove setup.exe").click()
    chip(page, "fake.png").get_by_role("button", name="Remove fake.png").click()
    chip(page, "pasted.csv").get_by_role("button", name="Remove pasted.csv").click()
    with page.expect_response(
        lambda r: r.request.method == "DELETE" and "/api/uploads/" in r.url
    ) as deleted:
        chip(page, "bakery.md").get_by_role("button", name="Remove bakery.md").click()
    assert deleted.value.status in (200, 204)
    assert page.locator(".attach-chip").count() == 1
    # Focus stays in the tray, on the remaining chip's remove button.
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == (
        "Remove lighthouse.txt"
    )

    # The draft's attachment survives a reload, like its text.
    composer(page).fill("a question for later")
    page.reload()
    wait_until_connected(page)
    assert "is-done" in chip(page, "lighthouse.txt").get_attribute("class")
    # The browser logs the refused upload's 400 itself; nothing else went wrong.
    assert [e for e in visitor.errors if "status of 400" not in e] == []


def test_files_for_an_assistant_without_file_tools_come_with_a_warning(visitor):
    page = visitor.sign_in()
    choose(page, "Demo assistant")
    attach(page, ("lighthouse.txt", LIGHTHOUSE, "text/plain"))
    wait_for_uploads(page)

    note = page.locator("#attach-note")
    assert note.is_visible()
    assert "neither file search nor the code interpreter" in note.inner_text()
    # The librarian can read them: no warning.
    choose(page, "Librarian")
    assert note.is_hidden()


def test_send_waits_for_uploads_and_the_message_carries_its_files(visitor):
    page = visitor.sign_in()
    choose(page, "Librarian")
    # The upload is held on its way, so the test sees the send button wait for it.
    held = []
    page.route("**/api/uploads/", lambda route: held.append(route))
    composer(page).fill("What does the bakery sell?")
    attach(page, ("bakery.md", BAKERY, "text/markdown"))
    while not held:
        page.wait_for_timeout(50)
    assert page.locator(".attach-chip.is-uploading").count() == 1
    assert "Uploading" in chip(page, "bakery.md").inner_text()
    assert page.get_by_role("button", name="Send message").is_disabled()
    held[0].continue_()
    wait_for_uploads(page)
    page.unroute("**/api/uploads/")
    assert page.get_by_role("button", name="Send message").is_enabled()
    composer(page).press("Enter")

    page.wait_for_url(re.compile(r"/c/\d+/$"))
    wait_for_reply_to_finish(page)
    assert page.locator(".attach-chip").count() == 0  # the tray emptied with the send
    sent = page.locator(".msg-user").last.locator(".msg-attachments .file-chip")
    assert sent.count() == 1 and "bakery.md" in sent.inner_text()
    with page.expect_download() as download:
        sent.click()
    assert download.value.suggested_filename == "bakery.md"
    assert open(download.value.path(), encoding="utf-8").read() == BAKERY
    assert visitor.errors == []


def test_files_alone_make_a_message_and_an_edit_keeps_or_drops_them(visitor):
    page = visitor.sign_in()
    choose(page, "Librarian")
    attach(page, ("bakery.md", BAKERY, "text/markdown"), ("red.png", tiny_png(), "image/png"))
    wait_for_uploads(page)
    # An image shows its own picture in the chip, at once.
    assert chip(page, "red.png").locator("img").evaluate("img => img.naturalWidth") == 24
    send_button = page.get_by_role("button", name="Send message")
    assert composer(page).input_value() == "" and send_button.is_enabled()
    send_button.click()
    page.wait_for_url(re.compile(r"/c/\d+/$"))
    wait_for_reply_to_finish(page)
    user_message = page.locator(".msg-user").last
    assert user_message.locator(".msg-body").is_hidden()  # no empty bubble
    assert "bakery.md" in user_message.locator(".msg-attachments").inner_text()
    # The image is a thumbnail of the site's copy; a click shows it full size.
    thumb = user_message.get_by_role("button", name="Open image red.png full size")
    assert re.match(r"^/files/\d+/$", thumb.locator("img").get_attribute("src"))
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 24", arg=thumb.locator("img").element_handle()
    )
    thumb.click()
    page.locator("dialog.image-viewer").wait_for()
    page.keyboard.press("Escape")
    page.locator("dialog.image-viewer").wait_for(state="hidden")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == (
        "Open image red.png full size"
    )

    # An edit lists the files again: kept unless removed.
    user_message.hover()
    user_message.get_by_role("button", name="Edit message").click()
    editor = page.get_by_role("textbox", name="Edit your message")
    assert page.locator(".msg-edit .attach-chip").count() == 2
    editor.fill("When does the bakery open?")
    editor.press("Enter")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.msg-user .msg-body')].pop()?.innerText"
        ".includes('When does the bakery open?')"
    )
    wait_for_reply_to_finish(page)
    user_message = page.locator(".msg-user").last
    user_message.locator(".msg-attachments").wait_for()
    assert "bakery.md" in user_message.locator(".msg-attachments").inner_text()

    user_message.hover()
    user_message.get_by_role("button", name="Edit message").click()
    page.locator(".msg-edit").get_by_role("button", name="Remove bakery.md").click()
    page.locator(".msg-edit").get_by_role("button", name="Remove red.png").click()
    assert page.evaluate("document.activeElement.id").startswith("edit-")
    page.get_by_role("textbox", name="Edit your message").press("Enter")
    page.wait_for_function(
        "() => { const m = [...document.querySelectorAll('.msg-user')].pop();"
        " return m && !m.classList.contains('is-sending')"
        " && !m.querySelector('.msg-attachments'); }"
    )
    wait_for_reply_to_finish(page)
    page.reload()
    wait_until_connected(page)
    assert page.locator(".msg-user").last.locator(".msg-attachments").count() == 0
    assert visitor.errors == []


def test_a_sandbox_link_without_its_file_and_a_stray_marker_stay_text(visitor):
    """The local model echoes the message, so the reply holds what the user typed: a link
    to a sandbox file the reply did not produce, and a [1] no citation backs."""
    page = visitor.sign_in()
    choose(page, "Demo assistant")
    send(
        page,
        "See [the data](sandbox:/mnt/data/data.csv) and [odd](sandbox:/mnt/data/..%2F..%2Fetc)"
        " as in [1].",
    )
    page.wait_for_url(re.compile(r"/c/\d+/$"))
    wait_for_reply_to_finish(page)
    body = page.locator(LAST_REPLY).locator(".msg-body")
    text = body.inner_text()
    assert "the data" in text and "odd" in text and "[1]" in text
    hrefs = body.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert not any(href and "sandbox" in href for href in hrefs), hrefs
    assert body.locator(".cite").count() == 0
    assert visitor.errors == []


# --- File search with citations ------------------------------------------------------------


def open_citation(page, number: int):
    pill = page.locator(LAST_REPLY).locator(f'.msg-body .cite[data-number="{number}"]')
    pill.click()
    popover = page.get_by_role("dialog")
    popover.wait_for()
    return pill, popover


def test_a_question_about_an_attached_file_is_answered_with_numbered_citations(visitor):
    page = visitor.sign_in()
    choose(page, "Librarian")
    attach(
        page,
        ("lighthouse.txt", LIGHTHOUSE, "text/plain"),
        ("bakery.md", BAKERY, "text/markdown"),
    )
    wait_for_uploads(page)
    # Slowed down, to see the marker become a button while the reply still streams: its
    # citation (message.citation) comes before the text that carries it.
    send(
        page, "[[delay:0.03]] Who designed the Skerry Point lighthouse, and when was it first lit?"
    )
    page.wait_for_url(re.compile(r"/c/\d+/$"))
    live_marker = page.locator(".msg-assistant.is-streaming .msg-body .cite").first
    # Where the user sees it: the button under the pointer is re-rendered with the stream.
    box = None
    while box is None:  # None when the stream replaced the button while it was measured
        live_marker.wait_for()
        box = live_marker.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.get_by_role("dialog").wait_for()
    # The popover stays open, on its marker, while the reply re-renders to the end.
    wait_for_reply_to_finish(page)
    assert page.get_by_role("dialog").is_visible()
    assert page.locator(LAST_REPLY).locator('.msg-body .cite[aria-expanded="true"]').count() == 1
    page.keyboard.press("Escape")

    reply = page.locator(LAST_REPLY)
    pills = reply.locator(".msg-body .cite")
    assert pills.count() >= 1
    assert pills.first.inner_text() == "1"
    # The markers are buttons, not "[1]" text.
    assert "[1]" not in reply.locator(".msg-body").inner_text()

    pill, popover = open_citation(page, 1)
    assert pill.get_attribute("aria-expanded") == "true"
    assert popover.locator(".cite-popover-title").inner_text() == "lighthouse.txt"
    quote = popover.locator(".cite-popover-quote").inner_text()
    assert "Alan Stevenson" in quote and "1852" in quote
    # Clean text, not the file's markdown; the sentence the reply's words match is marked.
    assert "#" not in quote and quote.startswith("The Skerry Point lighthouse. History.")
    # (The local model quotes the passage and puts the marker after it: the sentence before
    # the marker is the passage's last one.)
    marked = popover.locator(".cite-popover-quote mark").inner_text()
    assert marked == "The old keepers' cottages now house a small museum about life on the rock."
    # Readable at a glance: the accent colour, a 24 px target at least.
    size = pill.bounding_box()
    assert size["height"] >= 24 and size["width"] >= 24, size
    listed = page.locator(LAST_REPLY).locator(".sources .cite").first
    colour = listed.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(47, 107, 95)", colour  # --accent of the light theme
    # Placed so that it does not cover the user's question.
    question = page.locator(".msg-user").last.bounding_box()
    shown = popover.bounding_box()
    assert shown["y"] >= question["y"] + question["height"] or (
        shown["y"] + shown["height"] <= question["y"]
    ), (question, shown)
    assert_accessible(page, "citations with the popover open")
    link = popover.get_by_role("link", name=re.compile("lighthouse.txt"))
    assert re.match(r"^/files/\d+/$", link.get_attribute("href"))
    # Escape closes it and gives the focus back to the marker; Enter opens it again.
    page.keyboard.press("Escape")
    assert popover.is_hidden()
    assert page.evaluate("document.activeElement.dataset.number") == "1"
    page.keyboard.press("Enter")
    assert popover.is_visible()
    page.keyboard.press("Escape")

    # The sources list and the search step.
    sources = reply.locator(".sources .source")
    assert sources.count() == pills.evaluate_all(
        "ps => new Set(ps.map(p => p.dataset.number)).size"
    )
    assert "lighthouse.txt" in sources.first.inner_text()
    assert "#" not in reply.locator(".sources").inner_text()
    assert reply.locator(".sources .source-quote mark").count() >= 1
    step = reply.locator("details.tool-step-search")
    assert step.count() == 1
    assert "Searched files" in step.locator("summary").inner_text()
    step.locator("summary").click()
    assert "lighthouse.txt" in step.locator(".search-results").inner_text()
    # The question's files show on the user's message.
    chips = page.locator(".msg-user .msg-attachments .file-chip")
    assert sorted(chips.locator(".file-chip-name").all_inner_texts()) == [
        "bakery.md",
        "lighthouse.txt",
    ]
    assert f"{len(LIGHTHOUSE)} B" in chips.filter(has_text="lighthouse.txt").inner_text()

    page.reload()
    wait_until_connected(page)
    _, popover = open_citation(page, 1)
    assert "Alan Stevenson" in popover.locator(".cite-popover-quote").inner_text()
    assert page.locator(LAST_REPLY).locator(".sources .source").count() == sources.count()
    assert page.locator(".msg-user .msg-attachments .file-chip").count() == 2
    assert visitor.errors == []


# --- Code interpreter ----------------------------------------------------------------------


def test_code_interpreter_shows_code_output_an_inline_image_and_a_download(visitor):
    page = visitor.sign_in()
    choose(page, "Analyst")
    send(page, PLOT_MESSAGE)
    page.wait_for_url(re.compile(r"/c/\d+/$"))
    wait_for_reply_to_finish(page, timeout=60_000)

    def check(page):
        reply = page.locator(LAST_REPLY)
        step = reply.locator("details.tool-step-code")
        assert step.count() == 1
        assert step.locator("summary").inner_text().strip() == "Ran code", step.text_content()
        step.locator("summary").click()
        code = step.locator(".tool-code code")
        assert code.inner_text().strip() == PLOT_CODE.strip()
        assert code.locator(".hljs-keyword").first.inner_text() == "import"
        assert "total of squares: 55" in step.locator(".tool-logs").inner_text()

        image = reply.locator(".msg-images img")
        assert image.count() == 1, image.evaluate_all("is => is.map(i => i.alt)")
        image.scroll_into_view_if_needed()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
        csv_chip = reply.locator(".msg-file-chips a.file-chip", has_text="squares.csv")
        assert re.match(r"^/outputs/\d+/$", csv_chip.get_attribute("href"))
        with page.expect_download() as download:
            csv_chip.click()
        assert download.value.suggested_filename == "squares.csv"
        rows = open(download.value.path(), encoding="utf-8").read().splitlines()
        assert rows[0] == "x,square" and rows[-1] == "5,25"
        # The reply's sandbox: link goes to the same file on the site.
        link = reply.locator(".msg-body a", has_text="squares.csv")
        assert link.get_attribute("href") == csv_chip.get_attribute("href")
        return image

    image = check(page)
    # Clicking the image opens it full size; Escape closes the viewer.
    image.click()
    viewer = page.locator("dialog.image-viewer")
    viewer.wait_for()
    assert viewer.locator("img").evaluate("img => img.naturalWidth") > 0
    page.keyboard.press("Escape")
    viewer.wait_for(state="hidden")

    page.reload()
    wait_until_connected(page)
    check(page)
    assert visitor.errors == []


def test_a_failing_code_run_shows_its_error_in_the_step(visitor):
    page = visitor.sign_in()
    choose(page, "Analyst")
    send(page, "Divide:\n\n```python\nprint('before')\nprint(1 / 0)\n```")
    page.wait_for_url(re.compile(r"/c/\d+/$"))
    wait_for_reply_to_finish(page, timeout=60_000)

    step = page.locator(LAST_REPLY).locator("details.tool-step-code")
    assert " ".join(step.locator("summary").inner_text().split()) == "Ran code Error"
    step.locator("summary").press("Enter")  # the keyboard opens it too
    logs = step.locator(".tool-logs")
    assert "is-error" in logs.get_attribute("class")
    assert "before" in logs.inner_text() and "ZeroDivisionError" in logs.inner_text()
    assert_accessible(page, "a code step, open, with its error")
    assert visitor.errors == []


# --- Screenshots for the README -----------------------------------------------------------


@pytest.fixture
def screenshot_dir(tmp_path):
    """docs/screenshots with UPDATE_SCREENSHOTS=1, else a temporary folder."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path


def _files_conversation(page):
    """One conversation with a cited answer, then a code run with its plot."""
    choose(page, "Librarian")
    attach(page, ("lighthouse.txt", LIGHTHOUSE, "text/plain"))
    wait_for_uploads(page)
    send(page, "Who designed the Skerry Point lighthouse, and when was it first lit?")
    page.wait_for_url(re.compile(r"/c/\d+/$"))
    wait_for_reply_to_finish(page)
    conversation_url = page.url
    page.goto("/")
    wait_until_connected(page)
    choose(page, "Analyst")
    send(page, PLOT_MESSAGE)
    page.wait_for_url(re.compile(r"/c/\d+/$"))
    wait_for_reply_to_finish(page, timeout=60_000)
    return conversation_url


def _settle(page, scroll_to: str | None = None):
    """No hover, no focus ring; the transcript at its end, or with `scroll_to` at its top."""
    page.mouse.move(0, 0)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.evaluate(
        """(selector) => {
            const t = document.getElementById('transcript');
            const target = selector && document.querySelector(selector);
            if (!target) { t.scrollTop = t.scrollHeight; return; }
            t.scrollTop += target.getBoundingClientRect().top - t.getBoundingClientRect().top - 12;
        }""",
        scroll_to,
    )
    page.wait_for_timeout(300)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_files_screenshots(make_visitor, screenshot_dir, scheme):
    visitor = make_visitor(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    page = visitor.sign_in()
    cited_url = _files_conversation(page)

    # The code run: its step open, the plot inline, the CSV as a chip (a tall window, to
    # show them together).
    page.set_viewport_size({"width": 1280, "height": 1500})
    page.locator(LAST_REPLY).locator("details.tool-step-code summary").click()
    page.locator(LAST_REPLY).locator(".msg-images img").evaluate(
        "img => img.decode ? img.decode() : null"
    )
    _settle(page)
    page.screenshot(path=str(screenshot_dir / f"files-code-{scheme}.png"))
    page.set_viewport_size({"width": 1280, "height": 900})

    # The cited answer with a source open, and a file waiting in the composer.
    page.goto(cited_url)
    wait_until_connected(page)
    _settle(page)
    attach(page, ("quarterly-report.pdf", b"%PDF-1.4\n%fake\n", "application/pdf"))
    attach(page, ("setup.exe", b"MZ", "application/octet-stream"))
    wait_for_uploads(page)
    page.locator(LAST_REPLY).locator('.msg-body .cite[data-number="1"]').click()
    page.wait_for_timeout(200)
    page.screenshot(path=str(screenshot_dir / f"files-citations-{scheme}.png"))
    assert visitor.errors == []


def test_files_phone_screenshot(make_visitor, screenshot_dir):
    visitor = make_visitor(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    page = visitor.sign_in()
    cited_url = _files_conversation(page)
    page.locator(LAST_REPLY).locator(".msg-images img").evaluate(
        "img => img.decode ? img.decode() : null"
    )
    _settle(page)  # the end of the reply: its plot and the CSV to download
    page.screenshot(path=str(screenshot_dir / "phone-files-code.png"))
    page.goto(cited_url)
    wait_until_connected(page)
    _settle(page)
    page.locator(LAST_REPLY).locator('.msg-body .cite[data-number="1"]').tap()
    page.wait_for_timeout(200)
    page.screenshot(path=str(screenshot_dir / "phone-files-citations.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert visitor.errors == []
