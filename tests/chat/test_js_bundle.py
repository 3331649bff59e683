"""The chat page's module bundle (static/chat/dist/, `make bundle`): committed current, and
served instead of the modules whenever CHAT_JS_BUNDLE says so (by default, DEBUG off)."""

import filecmp
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse

from chat.templatetags.page_module import bundle_path, module_graph

ROOT = Path(__file__).resolve().parents[2]
ESBUILD = ROOT / "node_modules" / ".bin" / "esbuild"
ENTRY = "chat/chat_page.js"


def test_the_committed_bundle_is_what_make_bundle_writes_from_the_sources(tmp_path):
    if not ESBUILD.exists():
        pytest.skip("no node_modules/.bin/esbuild (make node-install)")
    subprocess.run(
        ["make", "--no-print-directory", "bundle", f"BUNDLE_DIR={tmp_path}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    committed = ROOT / "static" / bundle_path(ENTRY)
    fresh = tmp_path / committed.name
    assert fresh.exists()
    assert filecmp.cmp(committed, fresh, shallow=False), (
        f"{committed.relative_to(ROOT)} is stale: run `make bundle` after editing static/chat/"
    )


def test_the_bundle_holds_every_module_of_the_page():
    bundle = (ROOT / "static" / bundle_path(ENTRY)).read_text()
    modules = module_graph((ENTRY,))
    assert "chat/transcript/transcript.js" in modules and "chat/feedback/feedback.js" in modules
    # esbuild heads each module's code with a comment naming its source.
    missing = [m for m in modules if f"// static/{m}\n" not in bundle]
    assert missing == []


@pytest.mark.django_db
def test_with_debug_off_the_page_loads_the_bundle_alone(client, django_user_model, settings):
    settings.DEBUG, settings.CHAT_JS_BUNDLE = False, None
    client.force_login(django_user_model.objects.create_user("reader"))
    page = client.get(reverse("chat:index")).content.decode()
    assert '<script type="module" src="/static/chat/dist/chat_page.js"></script>' in page
    assert "modulepreload" not in page
    assert "/static/chat/chat.js" not in page


@pytest.mark.django_db
@pytest.mark.parametrize("debug, chosen", [(True, None), (False, False)])
def test_in_debug_or_when_switched_off_the_page_loads_the_modules(
    client, django_user_model, settings, debug, chosen
):
    settings.DEBUG, settings.CHAT_JS_BUNDLE = debug, chosen
    client.force_login(django_user_model.objects.create_user("reader"))
    page = client.get(reverse("chat:index")).content.decode()
    assert '<script type="module" src="/static/chat/chat_page.js"></script>' in page
    assert '<link rel="modulepreload" href="/static/chat/transcript/transcript.js">' in page
    assert "dist/" not in page
