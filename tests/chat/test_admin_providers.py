"""Staff in the admin: function tools, the `responses` protocol, checking a provider
connection, and provider failures as admin messages."""

import itertools

import openai
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from chat.models import Assistant, Conversation
from tests.chat.connections import connection
from tests.chat.fault_server import Fault, FaultServer
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


@pytest.fixture
def fault_server(monkeypatch, settings):
    """The `openai` provider pointed at a server that answers every request with a fault."""
    server = FaultServer().start()
    monkeypatch.setenv("OPENAI_BASE_URL", f"{server.url}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    settings.PROVIDER_TIMEOUT = 0.5
    yield server
    server.stop()


def form_data(**overrides):
    data = {
        "name": "Travel helper",
        "description": "",
        "connection": connection("local").pk,
        "protocol": "assistants",
        "model": "local-echo-1",
        "instructions": "Be brief.",
        "tools": "[]",
        "is_active": "on",
        # The knowledge-file inline's management form, as the page sends it (no files).
        "knowledge_files-TOTAL_FORMS": "0",
        "knowledge_files-INITIAL_FORMS": "0",
    }
    return {**data, **overrides}


def changelist_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def check(admin_client, *assistants):
    return admin_client.post(
        reverse("admin:chat_assistant_changelist"),
        {"action": "check_provider_connection", "_selected_action": [a.pk for a in assistants]},
        follow=True,
    )


# --- Function tools ---------------------------------------------------------------------


def test_the_form_offers_the_registered_function_tools(admin_client, local):
    page = admin_client.get(reverse("admin:chat_assistant_add")).content.decode()

    assert 'name="function_tools" value="calculator"' in page
    assert 'name="function_tools" value="current_time"' in page


def test_chosen_function_tools_are_sent_with_their_schemas(admin_client, remote):
    response = admin_client.post(
        reverse("admin:chat_assistant_add"),
        form_data(function_tools=["calculator", "current_time"]),
    )

    assert response.status_code == 302
    assistant = Assistant.objects.get()
    assert assistant.function_tools == ["calculator", "current_time"]
    stored = remote.beta.assistants.retrieve(assistant.remote_id)
    functions = {tool.function.name: tool.function for tool in stored.tools}
    assert set(functions) == {"calculator", "current_time"}
    assert functions["calculator"].parameters["required"] == ["expression"]


def test_an_unknown_function_tool_is_refused(admin_client, local):
    response = admin_client.post(
        reverse("admin:chat_assistant_add"), form_data(function_tools=["rm_rf"])
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Assistant.objects.exists()


# --- The responses protocol -------------------------------------------------------------


def test_a_responses_assistant_is_kept_here_with_no_remote_definition(admin_client, remote):
    before = len(remote.beta.assistants.list(limit=100).data)

    response = admin_client.post(
        reverse("admin:chat_assistant_add"),
        form_data(protocol="responses", model="", function_tools=["calculator"]),
    )

    assert response.status_code == 302
    assistant = Assistant.objects.get()
    assert (assistant.protocol, assistant.remote_id, assistant.model) == ("responses", "", "")
    assert len(remote.beta.assistants.list(limit=100).data) == before


def test_a_blank_model_needs_the_providers_default(admin_client, local, monkeypatch):
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:9/local")
    monkeypatch.delenv("AZURE_OPENAI_CHAT_DEPLOYMENT_NAME", raising=False)

    response = admin_client.post(
        reverse("admin:chat_assistant_add"),
        form_data(connection=connection("azure").pk, protocol="responses", model=""),
    )

    assert "AZURE_OPENAI_CHAT_DEPLOYMENT_NAME is not set" in response.content.decode()
    assert not Assistant.objects.exists()


def test_importing_by_id_is_refused_for_responses_with_the_reason(admin_client, local):
    response = admin_client.post(
        reverse("admin:chat_assistant_import"),
        {"connection": connection("local").pk, "protocol": "responses", "remote_id": "pmpt_123"},
    )

    page = response.content.decode()
    assert "Could not import" in page and "keeps an assistant&#x27;s definition" in page
    assert not Assistant.objects.exists()


def test_an_assistant_can_move_to_responses_and_its_chats_start_new_conversations(
    admin_client, remote, django_user_model
):
    admin_client.post(reverse("admin:chat_assistant_add"), form_data())
    assistant = Assistant.objects.get()
    owner = django_user_model.objects.create_user("owner", password="pw-123456789")
    chat = Conversation.objects.create(
        owner=owner, assistant=assistant, remote_thread_id="thread_old"
    )

    response = admin_client.post(
        reverse("admin:chat_assistant_change", args=[assistant.pk]),
        form_data(protocol="responses"),
    )

    assert response.status_code == 302
    assistant.refresh_from_db()
    assert (assistant.protocol, assistant.remote_id) == ("responses", "")
    chat.refresh_from_db()
    assert chat.remote_thread_id == ""


def test_an_assistant_cannot_move_between_providers_with_its_remote_definition(
    admin_client, remote, monkeypatch
):
    admin_client.post(reverse("admin:chat_assistant_add"), form_data())
    assistant = Assistant.objects.get()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")

    response = admin_client.post(
        reverse("admin:chat_assistant_change", args=[assistant.pk]),
        form_data(connection=connection("openai").pk),
    )

    assert "cannot move to another connection" in response.content.decode()
    assert Assistant.objects.get().connection.name == "local"


# --- Checking a provider connection -----------------------------------------------------


def test_the_check_action_reports_success_for_each_protocol(admin_client, local):
    admin_client.post(reverse("admin:chat_assistant_add"), form_data(name="Stored"))
    admin_client.post(
        reverse("admin:chat_assistant_add"), form_data(name="Sent", protocol="responses")
    )
    stored, sent = Assistant.objects.get(name="Stored"), Assistant.objects.get(name="Sent")

    shown = changelist_messages(check(admin_client, stored, sent))

    assert (
        f"Stored: local (assistants) at {settings.LOCAL_PROVIDER_BASE_URL}: OK, the "
        f"assistant {stored.remote_id} (Stored) is there." in shown
    )
    assert (
        f"Sent: local (responses) at {settings.LOCAL_PROVIDER_BASE_URL}: OK, the model "
        "'local-echo-1' answers through the Responses API." in shown
    )


def test_the_check_action_reports_a_bad_key(admin_client, local, settings):
    assistant = Assistant.objects.create(name="A", protocol="responses", model="")
    settings.LOCAL_PROVIDER_API_KEY = "wrong-key"

    [shown] = changelist_messages(check(admin_client, assistant))

    assert "The provider refused the credentials (401)" in shown and "Check the API key" in shown


def test_the_check_action_reports_a_retired_assistants_api(
    admin_client, site_server, monkeypatch, settings
):
    configure(
        "azure-key", site_url=site_server.base_url, monkeypatch=monkeypatch, settings=settings
    )
    assistant = Assistant.objects.create(
        name="Old", connection=connection("azure"), protocol="assistants", model=""
    )

    [shown] = changelist_messages(check(admin_client, assistant))

    assert "retired the Assistants API (410)" in shown and "'responses'" in shown


def test_the_check_action_reports_an_unreachable_provider(admin_client, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assistant = Assistant.objects.create(
        name="A", connection=connection("openai"), model="gpt-test"
    )

    [shown] = changelist_messages(check(admin_client, assistant))

    assert "The connection to the assistant's provider failed" in shown
    assert "http://127.0.0.1:9/v1" in shown


def test_the_check_action_reports_an_entra_id_identity_that_cannot_sign_in(
    admin_client, site_server, monkeypatch, settings
):
    configure(
        "azure-entra", site_url=site_server.base_url, monkeypatch=monkeypatch, settings=settings
    )
    settings.AZURE_CREDENTIAL_FACTORY = "tests.chat.provider_configs.UnavailableCredential"
    assistant = Assistant.objects.create(
        name="A", connection=connection("azure"), protocol="responses"
    )

    [shown] = changelist_messages(check(admin_client, assistant))

    assert "Could not get a Microsoft Entra ID token for Azure OpenAI" in shown
    assert "AZURE_OPENAI_API_KEY" in shown


@pytest.mark.parametrize(
    ("fault", "readable"),
    [
        (Fault(401, "Incorrect API key provided"), "refused the credentials (401): Incorrect"),
        (Fault(403, "Principal lacks the role"), "refused the credentials (403): Principal"),
        (
            Fault(404, "The API deployment for this resource does not exist."),
            "does not know this object (404): The API deployment for this resource does not "
            "exist. The model or Azure deployment 'gpt-missing' is probably unknown there.",
        ),
        (Fault(410, "Gone"), "no longer offers this API (410)"),
        (Fault(429, "Slow down", {"retry-after": "0.1"}), "rate limiting requests (429)"),
        (Fault(500), "had an internal error (500)"),
        (Fault(503), "had an internal error (503)"),
        (Fault(200, hang=3), "did not answer in time"),
    ],
    ids=lambda value: str(getattr(value, "status", "")) or None,
)
def test_the_check_action_reports_each_failure_readably(
    admin_client, fault_server, fault, readable
):
    fault_server.fault = fault
    assistant = Assistant.objects.create(
        name="A", connection=connection("openai"), protocol="responses", model="gpt-missing"
    )

    [shown] = changelist_messages(check(admin_client, assistant))

    assert shown.startswith(
        f"A: openai (responses) at {fault_server.url}/v1: The provider"
    ) or shown.startswith(f"A: openai (responses) at {fault_server.url}/v1: The assistant's")
    assert readable in shown
    assert len(fault_server.requests) == 1  # a check does not retry


@pytest.mark.parametrize(
    ("fault", "readable"),
    [
        (Fault(401, "Incorrect API key provided"), "refused the credentials (401)"),
        (Fault(403, "Forbidden"), "refused the credentials (403)"),
        (Fault(404, "Not found"), "does not know this object (404)"),
        (Fault(410, "Gone"), "retired the Assistants API (410)"),
        (Fault(500), "had an internal error (500)"),
        (Fault(200, hang=3), "did not answer in time"),
    ],
    ids=lambda value: str(getattr(value, "status", "")) or None,
)
def test_saving_shows_each_provider_failure_and_saves_nothing(
    admin_client, fault_server, settings, fault, readable
):
    settings.PROVIDER_MAX_RETRIES = 0
    fault_server.fault = fault

    response = admin_client.post(
        reverse("admin:chat_assistant_add"),
        form_data(connection=connection("openai").pk, model="gpt-test"),
    )

    page = response.content.decode().replace("&#x27;", "'")
    assert response.status_code == 200
    assert "The provider refused this assistant: " in page and readable in page
    assert not Assistant.objects.exists()


def test_saving_retries_a_rate_limit_within_the_bound_honouring_retry_after(
    admin_client, fault_server, settings
):
    settings.PROVIDER_MAX_RETRIES = 2
    fault_server.fault = Fault(429, "Slow down", {"retry-after": "0.3"})

    response = admin_client.post(
        reverse("admin:chat_assistant_add"),
        form_data(connection=connection("openai").pk, model="gpt-test"),
    )

    assert "rate limiting requests (429)" in response.content.decode()
    times = fault_server.request_times
    assert len(times) == 3  # the first try and PROVIDER_MAX_RETRIES retries, no more
    assert all(later - earlier >= 0.3 for earlier, later in itertools.pairwise(times))


# --- manage.py check_provider -----------------------------------------------------------


@pytest.mark.parametrize("protocol", ["assistants", "responses"])
def test_the_command_reports_success(local, protocol, capsys):
    call_command("check_provider", "local", "--protocol", protocol)

    out = capsys.readouterr().out
    assert out.startswith(f"local ({protocol}) at {settings.LOCAL_PROVIDER_BASE_URL}: OK")


def test_the_command_fails_with_the_reason(fault_server):
    fault_server.fault = Fault(401, "Incorrect API key provided")

    with pytest.raises(CommandError) as failed:
        call_command("check_provider", "openai", "--model", "gpt-test")

    assert "refused the credentials (401): Incorrect API key provided" in str(failed.value)


def test_the_command_says_what_configuration_is_missing(monkeypatch):
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)

    with pytest.raises(CommandError, match="AZURE_OPENAI_ENDPOINT is not set"):
        call_command("check_provider", "azure")
