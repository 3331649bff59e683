"""Connections and assistants kept in code: `provider_set`, `provider_check` and
`assistant_set`, against the local provider of a Daphne subprocess over real HTTP."""

import openai
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from chat.models import Assistant, Connection
from tests.chat.provider_configs import configure

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def local(site_server, monkeypatch, settings):
    return configure(
        "local", site_url=site_server.base_url, monkeypatch=monkeypatch, settings=settings
    )


@pytest.fixture
def remote(local):
    return openai.OpenAI(
        base_url=settings.LOCAL_PROVIDER_BASE_URL,
        api_key=settings.LOCAL_PROVIDER_API_KEY,
        max_retries=0,
    )


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- provider_set -----------------------------------------------------------------------


def test_provider_set_creates_then_updates_a_connection(local, monkeypatch):
    out = run(
        "provider_set",
        "lab",
        "--kind",
        "openai",
        "--base-url",
        f"{local.site_url}/local/v1",
        "--api-key-env",
        "LAB_KEY",
        "--model",
        "local-echo-1",
        "--header",
        "X-Team=LAB_TEAM",
        "--timeout",
        "5",
        "--max-retries",
        "1",
    )

    assert out.strip() == "Created connection lab (OpenAI or compatible server)."
    lab = Connection.objects.get(name="lab")
    assert (lab.kind, lab.api_key_env, lab.default_model) == ("openai", "LAB_KEY", "local-echo-1")
    assert (lab.timeout, lab.max_retries, lab.headers) == (5.0, 1, {"X-Team": {"env": "LAB_TEAM"}})

    out = run("provider_set", "lab", "--model", "other-model")

    assert out.strip() == "Updated connection lab (OpenAI or compatible server)."
    lab.refresh_from_db()
    assert (lab.default_model, lab.api_key_env, lab.headers) == (
        "other-model",
        "LAB_KEY",
        {"X-Team": {"env": "LAB_TEAM"}},
    )


def test_provider_set_refuses_bad_values_readably():
    with pytest.raises(CommandError, match="Enter a valid URL"):
        run("provider_set", "lab", "--kind", "openai", "--base-url", "not a url")
    with pytest.raises(CommandError, match="write NAME=ENV_VAR"):
        run("provider_set", "lab", "--kind", "openai", "--header", "X-Token")
    assert not Connection.objects.filter(name="lab").exists()


def test_a_new_azure_connection_without_a_key_variable_signs_in_with_entra_id():
    run("provider_set", "eu", "--kind", "foundry", "--base-url", "https://r.services.ai.azure.com")

    assert Connection.objects.get(name="eu").auth == "entra_id"


# --- provider_check ---------------------------------------------------------------------


def test_provider_check_lists_what_the_local_provider_answers(local):
    lines = run("provider_check", "local").splitlines()

    apis = [line.split(":")[0] for line in lines[:-1]]
    assert apis == [
        "models",
        "chat completions",
        "responses",
        "stored responses",
        "conversations",
        "assistants",
        "files",
        "vector stores",
    ]
    for answered in ("responses", "conversations", "assistants", "files", "vector stores"):
        assert any(line.startswith(f"{answered}: ok") for line in lines), answered
    assert lines[-1] == "recommended protocol: responses (thread: conversation)"


def test_provider_check_of_a_connection_made_by_provider_set(local, monkeypatch):
    monkeypatch.setenv("LAB_KEY", settings.LOCAL_PROVIDER_API_KEY)
    run(
        "provider_set",
        "lab",
        "--kind",
        "openai",
        "--base-url",
        f"{local.site_url}/local/v1",
        "--api-key-env",
        "LAB_KEY",
        "--model",
        "local-echo-1",
    )

    out = run("provider_check", "lab")

    assert "responses: ok (model local-echo-1)" in out.splitlines()


def test_provider_check_exits_1_when_nothing_answers(monkeypatch, settings):
    settings.PROVIDER_TIMEOUT = 0.5
    monkeypatch.setenv("DEAD_KEY", "sk-test")
    Connection.objects.create(
        name="dead",
        kind="openai",
        base_url="http://127.0.0.1:9/v1",  # nothing listens there
        api_key_env="DEAD_KEY",
        default_model="m",
    )

    with pytest.raises(CommandError, match="No API answers on the connection 'dead'") as failed:
        call_command("provider_check", "dead")

    assert failed.value.returncode == 1


def test_provider_check_names_the_connections_there_are():
    with pytest.raises(CommandError, match=r"no connection named 'nope'.*local"):
        call_command("provider_check", "nope")


def test_the_admin_action_shows_the_same_check(admin_client, local):
    from django.urls import reverse

    response = admin_client.post(
        reverse("admin:chat_connection_changelist"),
        {
            "action": "check_connections",
            "_selected_action": [Connection.objects.get(name="local").pk],
        },
        follow=True,
    )

    [shown] = [str(message) for message in response.context["messages"]]
    assert shown.startswith("local: models: ")
    assert "assistants: ok" in shown and "conversations: ok" in shown
    assert shown.endswith("Recommended protocol: responses (thread: conversation).")


# --- assistant_set ----------------------------------------------------------------------


def test_assistant_set_stores_the_definition_remotely_and_updates_it(local, remote):
    out = run(
        "assistant_set",
        "Travel helper",
        "--connection",
        "local",
        "--protocol",
        "assistants",
        "--instructions",
        "Be brief.",
    )

    assistant = Assistant.objects.get(name="Travel helper")
    assert out.strip() == (
        f"Created assistant Travel helper on local (assistants, remote id {assistant.remote_id})."
    )
    stored = remote.beta.assistants.retrieve(assistant.remote_id)
    assert (stored.name, stored.instructions) == ("Travel helper", "Be brief.")

    run(
        "assistant_set",
        "Travel helper",
        "--connection",
        "local",
        "--protocol",
        "assistants",
        "--instructions",
        "Be thorough.",
    )

    assert Assistant.objects.get().remote_id == assistant.remote_id
    assert remote.beta.assistants.retrieve(assistant.remote_id).instructions == "Be thorough."


def test_assistant_set_with_responses_keeps_the_definition_here(local, remote):
    run("assistant_set", "Sent", "--connection", "local", "--protocol", "responses")

    assistant = Assistant.objects.get(name="Sent")
    assert (assistant.connection.name, assistant.protocol, assistant.remote_id) == (
        "local",
        "responses",
        "",
    )


def test_assistant_set_takes_the_thread_the_check_recommends_and_a_context_budget(local, remote):
    run(
        "assistant_set",
        "Chained",
        "--connection",
        "local",
        "--protocol",
        "responses",
        "--thread",
        "stored",
        "--context-budget",
        "2000",
    )
    run("assistant_set", "Chained", "--connection", "local", "--protocol", "responses")

    assistant = Assistant.objects.get(name="Chained")
    # Left out on the second call: both stay as the first call set them.
    assert (assistant.responses_thread, assistant.context_budget) == ("stored", 2000)


def test_assistant_set_refuses_to_move_a_stored_definition(local, remote, monkeypatch):
    run("assistant_set", "Stored", "--connection", "local", "--protocol", "assistants")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")

    with pytest.raises(CommandError, match="cannot move to another connection"):
        run("assistant_set", "Stored", "--connection", "openai", "--protocol", "assistants")

    assert Assistant.objects.get().connection.name == "local"


def test_assistant_set_reports_the_providers_refusal_and_saves_nothing(local, settings):
    settings.LOCAL_PROVIDER_API_KEY = "wrong-key"

    with pytest.raises(CommandError, match="refused the credentials"):
        run("assistant_set", "A", "--connection", "local", "--protocol", "assistants")

    assert not Assistant.objects.exists()


def test_assistant_set_sets_the_icon_and_starter_prompts_without_the_provider(local, settings):
    run("assistant_set", "Coach", "--connection", "local", "--protocol", "responses")
    # The provider refusing everything: presentation is no part of the definition.
    settings.LOCAL_PROVIDER_API_KEY = "wrong-key"

    out = run(
        "assistant_set", "Coach", "--icon", "✍️", "--starter-prompts", "Tighten this| Title it |"
    )

    coach = Assistant.objects.get(name="Coach")
    assert (coach.icon, coach.starter_prompts) == ("✍️", ["Tighten this", "Title it"])
    assert "starter prompts: Tighten this, Title it" in out
    run("assistant_set", "Coach", "--starter-prompts", "")
    coach.refresh_from_db()
    assert coach.starter_prompts == [] and coach.icon == "✍️"


def test_assistant_set_refuses_starter_prompts_the_page_cannot_show(local):
    run("assistant_set", "Coach", "--connection", "local", "--protocol", "responses")

    with pytest.raises(CommandError, match="At most 6 starter prompts"):
        run("assistant_set", "Coach", "--starter-prompts", "|".join("abcdefg"))
    with pytest.raises(CommandError, match="at most 8 characters"):
        run("assistant_set", "Coach", "--icon", "much too long")
    with pytest.raises(CommandError, match="No assistant 'Nobody'"):
        run("assistant_set", "Nobody", "--icon", "N")
