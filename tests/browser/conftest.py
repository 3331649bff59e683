"""A real Chromium (Debian's, driven by Playwright) against the whole site in a Daphne
subprocess with its own SQLite files and the local provider.

Never `playwright install`: the tests use the system browser through `executable_path`, and
skip with a reason when it is missing (`.ci/run` installs it with apt).
"""

import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.provider_server import ROOT, SiteServer

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "browser-pass-123"
SCREENSHOTS = ROOT / "docs" / "screenshots"

_usernames = itertools.count(1)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[test]')")
    return CHROMIUM


USER_POOL = 40


class LiveSite:
    """The site under test, plus helpers that write to its database like an admin would."""

    def __init__(self, server: SiteServer):
        self.server = server
        self.url = server.base_url
        self.spare_users: list[str] = []

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.server.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code)

    def create_users(self, count: int) -> list[str]:
        """Users with the test password, made in one go: a management command costs a
        second or two to start, and each password hash a fraction of one."""
        usernames = [f"user{next(_usernames)}" for _ in range(count)]
        self.shell(
            "from django.contrib.auth import get_user_model; "
            "from django.contrib.auth.hashers import make_password; "
            f"User = get_user_model(); hashed = make_password({PASSWORD!r}); "
            "User.objects.bulk_create(User(username=name, password=hashed) "
            f"for name in {usernames!r})"
        )
        return usernames

    def create_user(self) -> str:
        """A user of one's own for each test: sidebars never mix."""
        if not self.spare_users:
            self.spare_users = self.create_users(USER_POOL)
        return self.spare_users.pop(0)


@pytest.fixture(scope="session")
def live_site(chromium_path, tmp_path_factory):
    server = SiteServer(
        tmp_path_factory.mktemp("browser-site"),
        extra_env={
            # Fast by default; tests that need to watch a reply stream slow it with
            # [[delay:...]] in the message.
            "LOCAL_PROVIDER_TOKEN_DELAY": "0.01",
            "CHAT_RATE_LIMIT_FRAMES": "1000",
            "REDIS_URL": "",
            # Undo stays offered this long; then the purge deletes for good.
            "CHAT_UNDO_SECONDS": "3",
            # What users get (DEBUG off): the page's modules as one bundle. The modules one
            # by one (DEBUG's way) are tested by test_page_modules.py.
            "CHAT_JS_BUNDLE": "true",
        },
    ).start()
    site = LiveSite(server)
    site.shell(
        "from chat.models import Assistant; "
        "Assistant.objects.create(name='Demo assistant', model='local-echo-1', "
        "description='The built-in offline model: deterministic, instant, no API key needed.'); "
        "Assistant.objects.create(name='Writing coach', model='local-echo-1', "
        "description='Helps you tighten drafts. Also the local model, under another name.'); "
        "Assistant.objects.create(name='Calculator', model='local-echo-1', "
        "function_tools=['calculator'], description='Does sums with a calculator tool.')"
    )
    yield site
    server.stop()


# Module scope, not session: sync_playwright runs an event loop in the main thread until it
# exits, and while it runs every async test after the browser suite fails with "Runner.run()
# cannot be called from a running event loop".
@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


class Visitor:
    """One signed-in user in one browser context (tabs share its cookies)."""

    def __init__(self, browser, site: LiveSite, **context_options):
        self.site = site
        self.context = browser.new_context(
            base_url=site.url,
            permissions=["clipboard-read", "clipboard-write"],
            **context_options,
        )
        self.context.set_default_timeout(15_000)
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.username = site.create_user()

    def new_page(self):
        page = self.context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "console",
            lambda message: self.errors.append(message.text) if message.type == "error" else None,
        )
        return page

    def sign_in(self, page=None):
        page = page or self.new_page()
        page.goto("/")
        page.get_by_label("Username").fill(self.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{self.site.url}/")
        wait_until_connected(page)
        return page

    def close(self):
        self.context.close()


def wait_until_connected(page):
    page.wait_for_selector("#app[data-connection=open]", state="attached")


@pytest.fixture
def visitor(browser, live_site):
    visitor = Visitor(browser, live_site, viewport={"width": 1280, "height": 800})
    yield visitor
    visitor.close()


@pytest.fixture
def make_visitor(browser, live_site):
    made = []

    def make(**context_options):
        visitor = Visitor(browser, live_site, **context_options)
        made.append(visitor)
        return visitor

    yield make
    for visitor in made:
        visitor.close()


@pytest.fixture
def screenshot_dir(tmp_path):
    """docs/screenshots with UPDATE_SCREENSHOTS=1, else a temporary folder (the pages are
    still drawn, so a broken theme fails here)."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path


def choose_assistant(page, name: str) -> None:
    """Picks the assistant of the next new chat in the header's menu (on an open
    conversation: its "New chat with ..." item)."""
    page.locator("#assistant-button").click()
    menu = page.get_by_role("menu", name="Assistants").locator("visible=true")
    radio = menu.get_by_role("menuitemradio", name=name)
    if radio.count():
        radio.click()
    else:
        menu.get_by_role("menuitem", name=f"New chat with {name}").click()
    menu.wait_for(state="hidden")
