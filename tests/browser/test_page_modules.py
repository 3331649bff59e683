"""The chat page from its ES modules one by one, as a developer's DEBUG site serves them
(the rest of the browser suite runs the bundle, static/chat/dist/, as users get it)."""

import pytest

from tests.browser.conftest import LiveSite, Visitor
from tests.browser.test_chat_page import LAST_REPLY, send, wait_for_reply_to_finish
from tests.provider_server import SiteServer


@pytest.fixture(scope="module")
def modules_site(chromium_path, tmp_path_factory):
    server = SiteServer(
        tmp_path_factory.mktemp("modules-site"),
        extra_env={"CHAT_JS_BUNDLE": "false", "REDIS_URL": "", "LOCAL_PROVIDER_TOKEN_DELAY": "0"},
    ).start()
    site = LiveSite(server)
    site.shell(
        "from chat.models import Assistant; "
        "Assistant.objects.create(name='Demo assistant', model='local-echo-1')"
    )
    yield site
    server.stop()


def test_the_page_runs_from_its_modules_and_a_reply_renders(browser, modules_site):
    visitor = Visitor(browser, modules_site, viewport={"width": 1280, "height": 800})
    try:
        scripts = []
        page = visitor.new_page()
        page.on(
            "request",
            lambda request: (
                scripts.append(request.url.split("/static/", 1)[-1])
                if request.resource_type == "script"
                else None
            ),
        )
        visitor.sign_in(page)
        assert "chat/chat_page.js" in scripts and "chat/transcript/transcript.js" in scripts
        assert not [s for s in scripts if "dist/" in s]
        send(page, "Say **hello** with `code`")
        wait_for_reply_to_finish(page)
        reply = page.locator(LAST_REPLY)
        assert reply.locator(".msg-body strong", has_text="hello").count() == 1
        assert reply.locator(".msg-body code").inner_text() == "code"
        assert visitor.errors == []
    finally:
        visitor.close()
