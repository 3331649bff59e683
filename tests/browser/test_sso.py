"""Single sign-on in Chromium, through a real OpenID provider (oidc-provider in Node,
tests/oidc/provider.mjs): the authorization code flow with PKCE, state and nonce; users,
groups and staff from the claims; a changed group at the next sign-in; a tampered state and
a wrong issuer refused; sign-out ending the provider's session; the password form switched
off. Screenshots (UPDATE_SCREENSHOTS=1): docs/screenshots/login-sso.png and
login-sso-refused.png.

One provider and three sites for the whole module (starting them is most of its time):
`main` (SSO and passwords, staff from the group chat-admins), `wrong_issuer` (configured with
http://localhost:PORT, while the provider calls itself http://127.0.0.1:PORT) and
`no_password` (PASSWORD_LOGIN_ENABLED=false, OIDC_CREATE_USERS=false).
"""

import json
import re
import shutil
from types import SimpleNamespace
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import pytest

from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveSite, wait_until_connected
from tests.oidc.provider import OpenIDProvider, node_missing
from tests.provider_server import SiteServer

pytestmark = pytest.mark.browser

PASSWORD = "provider-pass-123"
BUTTON = "Sign in with Test ID"


@pytest.fixture(scope="module")
def sso(chromium_path, tmp_path_factory):
    if reason := node_missing():
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("sso")
    (root / "provider").mkdir()
    provider = OpenIDProvider(root / "provider")
    common = {"LOCAL_PROVIDER_TOKEN_DELAY": "0.01", "REDIS_URL": "", "LOG_LEVEL": "WARNING"}
    main = SiteServer(
        root / "main", {**common, **provider.site_env(OIDC_STAFF_GROUPS="chat-admins")}
    )
    wrong_issuer = SiteServer(
        root / "wrong-issuer",
        {**common, **provider.site_env(OIDC_ISSUER=f"http://localhost:{provider.port}")},
        migrate=False,
    )
    no_password = SiteServer(
        root / "no-password",
        {
            **common,
            **provider.site_env(PASSWORD_LOGIN_ENABLED="false", OIDC_CREATE_USERS="false"),
        },
        migrate=False,
    )
    sites = [main, wrong_issuer, no_password]
    provider.start(site_urls=[site.base_url for site in sites])
    try:
        main.start()
        # Migrated once: the other two start from copies of its database files.
        for site in sites[1:]:
            site.var_dir.mkdir()
            for name in ("db.sqlite3", "localai.sqlite3"):
                shutil.copy(main.var_dir / name, site.var_dir / name)
            site.start()
        live = SimpleNamespace(
            provider=provider,
            main=LiveSite(main),
            wrong_issuer=LiveSite(wrong_issuer),
            no_password=LiveSite(no_password),
        )
        live.main.shell(
            "from chat.models import Assistant; "
            "from organisation.services.settings import assistant_access_set; "
            "Assistant.objects.create(name='Demo assistant', model='local-echo-1'); "
            "desk = Assistant.objects.create(name='Research desk', model='local-echo-1'); "
            "assistant_access_set(assistant=desk, everyone=False, group_names=['research'])"
        )
        yield live
    finally:
        for site in sites:
            site.stop()
        provider.stop()


@pytest.fixture
def new_page(browser):
    contexts = []

    def make(site: LiveSite, **options):
        context = browser.new_context(
            base_url=site.url, viewport={"width": 1280, "height": 800}, **options
        )
        # Generous: two servers and a browser share two busy cores.
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def person(sso, login: str, *groups: str, name: str = "Ada Lovelace") -> None:
    given, _, family = name.partition(" ")
    sso.provider.set_user(
        login,
        password=PASSWORD,
        preferred_username=login,
        email=f"{login}@example.org",
        email_verified=True,
        name=name,
        given_name=given,
        family_name=family,
        groups=list(groups),
    )


def account(site: LiveSite, username: str) -> dict | None:
    """What the site's database holds about `username`, as the admin would show it."""
    out = site.shell(
        "import json; from django.contrib.auth import get_user_model; "
        f"u = get_user_model().objects.filter(username={username!r}).first(); "
        "print(json.dumps(u and {'id': u.pk, 'email': u.email, 'first_name': u.first_name, "
        "'last_name': u.last_name, 'is_staff': u.is_staff, "
        "'usable_password': u.has_usable_password(), "
        "'groups': sorted(u.groups.values_list('name', flat=True)), "
        "'identities': u.sso_identities.count()}))"
    )
    return json.loads(out.strip().splitlines()[-1])


def provider_sign_in(page, login: str) -> None:
    """On the provider's page: the test user types their login and password."""
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()


def sso_sign_in(page, site: LiveSite, login: str) -> None:
    page.goto("/")
    page.get_by_role("link", name=BUTTON).click()
    provider_sign_in(page, login)
    page.wait_for_url(f"{site.url}/")
    wait_until_connected(page)


def picker(page) -> list[str]:
    """The assistants the page offers for a new chat (its assistant menu is drawn from these)."""
    return page.evaluate(
        "JSON.parse(document.getElementById('chat-data').textContent).assistants.map(a => a.name)"
    )


def refusal(page) -> str:
    page.get_by_role("heading", name="Could not sign you in").wait_for()
    return page.locator("#refusal").inner_text()


def tamper_callback(page, sso, **changes: str) -> list[str]:
    """Rewrites query parameters of the provider's redirect back to the site, as someone
    handing the browser a forged answer would; returns the URLs as the provider sent them.

    Playwright routes only the first request of a redirect chain, so the chain that starts
    at the provider's sign-in form (303 to its /auth resume URL, 303 to our callback) is
    followed here, in the context (its cookies), up to the callback's URL."""
    seen = []

    def handle(route):
        if route.request.method != "POST":
            route.continue_()
            return
        location = route.fetch(max_redirects=0).headers["location"]
        resumed = page.request.get(urljoin(sso.provider.issuer, location), max_redirects=0).headers[
            "location"
        ]
        seen.append(resumed)
        parts = urlsplit(resumed)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        forged = urlunsplit(parts._replace(query=urlencode({**query, **changes})))
        route.fulfill(status=303, headers={"location": forged})

    page.route(re.compile(re.escape(f"{sso.provider.issuer}/interaction/") + ".*"), handle)
    return seen


# --- Signing in ------------------------------------------------------------------------------


def test_first_sign_in_creates_the_user_with_groups_and_staff(sso, new_page):
    person(sso, "ada", "chat-admins", "research")
    page = new_page(sso.main)
    navigations = []
    page.on("request", lambda request: navigations.append(request.url))
    assert account(sso.main, "ada") is None

    sso_sign_in(page, sso.main, "ada")

    # The authorization request: code flow, PKCE with S256, state and nonce.
    authorize = [url for url in navigations if url.startswith(f"{sso.provider.issuer}/auth?")]
    query = parse_qs(urlsplit(authorize[0]).query)
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert account(sso.main, "ada") == {
        "id": account(sso.main, "ada")["id"],
        "email": "ada@example.org",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "is_staff": True,  # chat-admins is OIDC_STAFF_GROUPS
        "usable_password": False,  # an SSO account has no password to guess
        "groups": ["chat-admins", "research"],
        "identities": 1,
    }
    # The access rules of the organisation app see the groups: research's assistant is offered.
    assert "Research desk" in picker(page)
    page.goto("/admin/")
    assert page.get_by_role("heading", name="Site administration").is_visible()

    # The provider's answer replayed (a URL from the history, a shared link): its state was
    # spent, so it signs nobody in, and the session that used it stays as it was.
    callbacks = [url for url in navigations if "/accounts/oidc/callback/" in url]
    page.goto(callbacks[0])
    assert "state does not match a sign-in started in this browser" in refusal(page)
    page.goto("/")
    wait_until_connected(page)


def test_a_changed_group_is_applied_at_the_next_sign_in(sso, new_page):
    person(sso, "bo", "chat-admins", "research", name="Bo Hansen")
    sso_sign_in(new_page(sso.main), sso.main, "bo")
    before = account(sso.main, "bo")
    assert before["groups"] == ["chat-admins", "research"] and before["is_staff"]

    person(sso, "bo", "finance", name="Bo Jensen")  # moved at the provider
    page = new_page(sso.main)  # another browser: the provider asks again
    sso_sign_in(page, sso.main, "bo")

    after = account(sso.main, "bo")
    assert after["id"] == before["id"] and after["identities"] == 1  # the same account
    assert after["groups"] == ["finance"]
    assert after["is_staff"] is False
    assert after["last_name"] == "Jensen"
    assert "Research desk" not in picker(page) and "Demo assistant" in picker(page)


def test_sign_out_ends_the_provider_session_too(sso, new_page):
    person(sso, "cy", "research", name="Cy Twombly")
    page = new_page(sso.main)
    sso_sign_in(page, sso.main, "cy")

    page.get_by_role("button", name=re.compile("^Account:")).click()
    page.get_by_role("menuitem", name="Sign out").click()
    # The provider's end-session page (RP-initiated logout, with the id_token_hint).
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{sso.main.url}/accounts/login/")

    page.goto("/")
    assert urlsplit(page.url).path == "/accounts/login/"  # the site's session is gone
    page.get_by_role("link", name=BUTTON).click()
    # ...and the provider's: it asks who you are again instead of answering at once.
    page.get_by_label("Login").wait_for()
    provider_sign_in(page, "cy")
    page.wait_for_url(f"{sso.main.url}/")


# --- Refused ---------------------------------------------------------------------------------


def test_a_tampered_state_is_refused(sso, new_page):
    person(sso, "di", "research", name="Di Ng")
    page = new_page(sso.main)
    sent = tamper_callback(page, sso, state="forged-state-0123456789abcdefghijkl")
    page.goto("/")
    page.get_by_role("link", name=BUTTON).click()
    with page.expect_response(re.compile(r"/accounts/oidc/callback/")) as answer:
        provider_sign_in(page, "di")

    assert "state=" in sent[0]
    assert answer.value.status == 400
    assert "state does not match a sign-in started in this browser" in refusal(page)
    assert account(sso.main, "di") is None
    page.get_by_role("link", name="Back to the sign-in page").click()
    page.get_by_role("link", name=BUTTON).wait_for()


def test_a_wrong_issuer_is_refused(sso, new_page, screenshot_dir):
    # A site configured with an issuer the provider does not call itself.
    page = new_page(sso.wrong_issuer, color_scheme="light")
    page.goto("/accounts/login/")
    with page.expect_response(re.compile(r"/accounts/oidc/start/")) as answer:
        page.get_by_role("link", name=BUTTON).click()
    said = refusal(page)
    assert answer.value.status == 502
    assert f"says its issuer is 'http://127.0.0.1:{sso.provider.port}'" in said
    assert f"not the configured 'http://localhost:{sso.provider.port}'" in said
    assert_accessible(page, "the refused sign-in page")
    page.screenshot(path=str(screenshot_dir / "login-sso-refused.png"))

    # An answer naming another issuer (RFC 9207's `iss`, a mix-up attack) on the right site.
    person(sso, "ed", "research", name="Ed Ruscha")
    page = new_page(sso.main)
    sent = tamper_callback(page, sso, iss="https://login.example.com")
    page.goto("/")
    page.get_by_role("link", name=BUTTON).click()
    provider_sign_in(page, "ed")
    assert f"iss={sso.provider.issuer.replace(':', '%3A').replace('/', '%2F')}" in sent[0]
    assert "not from the configured" in refusal(page)
    assert account(sso.main, "ed") is None


# --- Password sign-in switched off -----------------------------------------------------------


def test_password_sign_in_switched_off(sso, new_page):
    site = sso.no_password
    site.shell(
        "from django.contrib.auth import get_user_model; "
        "get_user_model().objects.create_user('eve')"  # no password: SSO may claim it
    )
    person(sso, "eve", "research", name="Eve Arnold")
    person(sso, "fay", "research", name="Fay Godwin")
    page = new_page(site)

    page.goto("/admin/")  # the admin's login sends to the site's
    assert urlsplit(page.url).path == "/accounts/login/"
    assert page.get_by_role("link", name=BUTTON).is_visible()
    assert page.get_by_label("Username").count() == 0
    assert page.get_by_label("Password").count() == 0

    # Sign-up is off: someone the provider knows but the site does not is refused.
    page.get_by_role("link", name=BUTTON).click()
    provider_sign_in(page, "fay")
    assert "there is no account for 'fay' on this site" in refusal(page)
    assert account(site, "fay") is None

    # An account staff made without a password is signed in to.
    page = new_page(site)
    sso_sign_in(page, site, "eve")
    assert account(site, "eve")["groups"] == ["research"]

    # Deactivated in the admin: the provider still vouches for eve, the site does not.
    site.shell(
        "from django.contrib.auth import get_user_model; "
        "get_user_model().objects.filter(username='eve').update(is_active=False)"
    )
    page = new_page(site)
    page.goto("/")
    page.get_by_role("link", name=BUTTON).click()
    provider_sign_in(page, "eve")
    assert "the account 'eve' is deactivated on this site" in refusal(page)


# --- The page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_login_page_with_sso_is_accessible(sso, new_page, screenshot_dir, scheme):
    page = new_page(sso.main, color_scheme=scheme)
    page.goto("/accounts/login/")
    button = page.get_by_role("link", name=BUTTON)
    assert button.is_visible() and page.get_by_label("Username").is_visible()
    assert_accessible(page, f"the login page with single sign-on ({scheme})")
    if scheme == "light":
        page.screenshot(path=str(screenshot_dir / "login-sso.png"))
    page.keyboard.press("Tab")  # the first stop is the provider's button
    assert page.evaluate("document.activeElement.textContent.trim()") == BUTTON
