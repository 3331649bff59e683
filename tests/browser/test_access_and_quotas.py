"""In Chromium: the composer over budget, a conversation made read-only by a lost group, and
the staff's usage report (screenshots: docs/screenshots/composer-over-budget.png and
usage-admin.png, written with UPDATE_SCREENSHOTS=1)."""

import re

import pytest

from tests.browser.conftest import choose_assistant, wait_until_connected
from tests.browser.test_chat_page import (
    _settle,
    composer,
    send,
    start_conversation,
)

pytestmark = pytest.mark.browser


def test_over_budget_the_composer_says_so_and_keeps_the_message(make_visitor, screenshot_dir):
    visitor = make_visitor(viewport={"width": 1280, "height": 800}, color_scheme="light")
    visitor.site.manage("quota_set", "--user", visitor.username, "--daily", "60")
    page = visitor.sign_in()
    start_conversation(page, "Plan a three-day trip to Lisbon")  # admitted: 0 of 60 used

    send(page, "And what should we eat there?")
    notice = page.locator("#composer-notice")
    notice.wait_for(state="visible")

    said = notice.inner_text()
    assert re.search(r"used your daily token budget\. You can send again after ", said)
    assert composer(page).input_value() == "And what should we eat there?"  # not lost
    assert page.get_by_role("button", name="Send message").is_disabled()
    assert len(page.locator("#messages > .msg").all()) == 2  # nothing was added
    assert page.locator(".alert").count() == 0  # no alert repeats the notice
    _settle(page)
    page.screenshot(path=str(screenshot_dir / "composer-over-budget.png"))

    # A reload knows it too, before anything is sent.
    page.reload()
    wait_until_connected(page)
    page.locator("#composer-notice").wait_for(state="visible")
    assert page.get_by_role("button", name="Send message").is_disabled()
    # The user's pages are in the user menu at the foot of the sidebar.
    page.get_by_role("button", name=re.compile("^Account:")).click()
    page.get_by_role("menuitem", name="Usage").click()
    page.wait_for_url(re.compile(r"/usage/$"))
    assert "0</strong> left" in page.content() and "budget spent" in page.content()
    assert visitor.errors == []


def test_a_lost_group_leaves_the_conversation_readable_and_read_only(make_visitor):
    visitor = make_visitor(viewport={"width": 1280, "height": 800})
    site = visitor.site
    site.shell(
        "from chat.models import Assistant; from django.contrib.auth.models import Group; "
        "from django.contrib.auth import get_user_model; "
        "from organisation.services.settings import assistant_access_set; "
        "a, _ = Assistant.objects.get_or_create(name='Finance desk', model='local-echo-1'); "
        "assistant_access_set(assistant=a, everyone=False, group_names=['finance']); "
        f"get_user_model().objects.get(username={visitor.username!r}).groups.add("
        "Group.objects.get(name='finance'))"
    )
    page = visitor.sign_in()
    choose_assistant(page, "Finance desk")
    start_conversation(page, "What is our travel budget?")
    site.shell(
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.get(username={visitor.username!r}).groups.clear()"
    )

    # The open tab learns it from the refusal of its next message.
    send(page, "And for hotels?")
    notice = page.locator("#composer-notice")
    notice.wait_for(state="visible")
    assert "stays readable" in notice.inner_text()
    assert page.locator("#composer").is_hidden()
    # A reload: readable, read-only, and the assistant is gone from the picker.
    page.reload()
    wait_until_connected(page)
    assert page.locator("#composer-notice").is_visible()
    assert page.locator("#composer").is_hidden()
    assert "What is our travel budget?" in page.locator("#messages").inner_text()
    page.locator("#assistant-button").click()
    options = page.get_by_role("menu", name="Assistants").locator("visible=true").inner_text()
    assert "New chat with Finance desk" not in options
    assert "New chat with Demo assistant" in options
    page.keyboard.press("Escape")
    assert visitor.errors == []


USAGE_DATA = """
from datetime import timedelta
from decimal import Decimal
from django.contrib.auth import get_user_model
from django.utils import timezone
from organisation.models import ModelPrice, UsageRecord
User = get_user_model()
people = [User.objects.get_or_create(username=n)[0] for n in ("amira", "bruno", "chen", "dana")]
ModelPrice.objects.get_or_create(model="gpt-4.1-mini", defaults={
    "input_per_million": Decimal("0.40"), "output_per_million": Decimal("1.60")})
ModelPrice.objects.get_or_create(model="gpt-4.1", defaults={
    "input_per_million": Decimal("2.00"), "output_per_million": Decimal("8.00")})
plan = [("Travel helper", "gpt-4.1-mini"), ("Finance desk", "gpt-4.1"),
        ("Writing coach", "gpt-4.1-mini"), ("Demo assistant", "local-echo-1")]
now = timezone.now()
rows = []
for day in range(14):
    for n, (assistant, model) in enumerate(plan):
        for k, person in enumerate(people[: 1 + (day + n) % 4]):
            at = now - timedelta(days=day, hours=k)
            inp = 1500 + 900 * ((day * 7 + n * 3 + k) % 5)
            out = 600 + 400 * ((day + n + k) % 4)
            rows.append(UsageRecord(user=person, assistant_name=assistant, connection="openai"
                if model != "local-echo-1" else "local", model=model, input_tokens=inp,
                output_tokens=out, total_tokens=inp + out, estimated=(day + k) % 9 == 0,
                created_at=at, finished_at=at))
UsageRecord.objects.bulk_create(rows)
"""


def test_the_staff_usage_report(make_visitor, screenshot_dir):
    visitor = make_visitor(viewport={"width": 1280, "height": 1100}, color_scheme="light")
    site = visitor.site
    site.shell(USAGE_DATA)
    site.shell(
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.filter(username={visitor.username!r})"
        ".update(is_staff=True, is_superuser=True)"
    )
    page = visitor.sign_in()
    page.goto("/admin/organisation/usagerecord/?by=assistant")
    page.get_by_text("Tokens per day, per assistant").wait_for()

    assert page.locator(".usage-chart rect").count() > 40
    assert page.locator(".usage-legend").first.inner_text().count("\n") >= 3
    assert "estimated from their text" in page.locator(".usage-summary").inner_text()
    assert page.locator(".usage-table").first.locator("tbody tr").count() >= 4
    page.mouse.move(0, 0)
    page.screenshot(path=str(screenshot_dir / "usage-admin.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    assert download.value.suggested_filename.startswith("usage-")
