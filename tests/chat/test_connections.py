"""Provider connections: the admin screen (secrets write-only and encrypted at rest), the
refusal to delete one in use, the clients they build (Foundry, headers, Entra ID), and the
data migration that turns today's settings into connections."""

import pytest
from django.db import connection as db_connection
from django.urls import reverse

from chat.agents import ProviderError, client_for
from chat.agents.clients import FOUNDRY_TOKEN_SCOPE, NO_API_KEY, build_client, provider_config
from chat.agents.responses import response_text
from chat.encryption import secret_decrypt, secret_encrypt
from chat.models import Assistant, Connection
from tests.chat import provider_configs
from tests.chat.connections import connection

pytestmark = [pytest.mark.django_db]

SECRET = "sk-live-do-not-show-me-0123456789"
HEADER_SECRET = "hdr-secret-9876543210"


def connection_form(**overrides):
    data = {
        "name": "lab",
        "kind": "openai",
        "base_url": "https://models.example.org/v1",
        "auth": "api_key",
        "api_key": "",
        "api_key_env": "",
        "headers_text": "",
        "default_model": "lab-model",
        "api_version": "",
        "timeout": "",
        "max_retries": "",
    }
    return {**data, **overrides}


def stored_row(pk: int) -> str:
    """Everything the database holds for the connection, as one string."""
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT * FROM chat_connection WHERE id = %s", [pk])
        return " ".join(str(value) for value in cursor.fetchone())


# --- The admin screen -------------------------------------------------------------------


def test_staff_create_a_connection_whose_key_is_stored_encrypted_and_never_shown(admin_client):
    response = admin_client.post(
        reverse("admin:chat_connection_add"),
        connection_form(
            api_key=SECRET, headers_text=f"X-Team=TEAM_VARIABLE\nX-Token: {HEADER_SECRET}"
        ),
    )

    assert response.status_code == 302
    lab = Connection.objects.get(name="lab")
    row = stored_row(lab.pk)
    assert SECRET not in row and HEADER_SECRET not in row  # encrypted at rest
    assert lab.stored_api_key() == SECRET
    assert secret_decrypt(lab.headers["X-Token"]["encrypted"]) == HEADER_SECRET
    assert lab.headers["X-Team"] == {"env": "TEAM_VARIABLE"}
    page = admin_client.get(reverse("admin:chat_connection_change", args=[lab.pk]))
    html = page.content.decode()
    assert SECRET not in html and HEADER_SECRET not in html
    assert "A key is stored (encrypted)" in html
    assert "X-Team=TEAM_VARIABLE" in html and "X-Token: ••••••••" in html
    listing = admin_client.get(reverse("admin:chat_connection_changelist")).content.decode()
    assert "stored (encrypted)" in listing and SECRET not in listing


def test_saving_again_without_typing_the_secrets_keeps_them(admin_client, monkeypatch):
    admin_client.post(
        reverse("admin:chat_connection_add"),
        connection_form(api_key=SECRET, headers_text=f"X-Token: {HEADER_SECRET}"),
    )
    lab = Connection.objects.get(name="lab")

    response = admin_client.post(
        reverse("admin:chat_connection_change", args=[lab.pk]),
        connection_form(default_model="other-model", headers_text="X-Token: ••••••••"),
    )

    assert response.status_code == 302
    lab.refresh_from_db()
    assert lab.default_model == "other-model"
    assert lab.stored_api_key() == SECRET
    monkeypatch.setenv("UNUSED", "x")
    assert lab.header_values() == {"X-Token": HEADER_SECRET}


def test_a_stored_key_can_be_forgotten_and_an_env_variable_used_instead(admin_client, monkeypatch):
    admin_client.post(reverse("admin:chat_connection_add"), connection_form(api_key=SECRET))
    lab = Connection.objects.get(name="lab")
    monkeypatch.setenv("LAB_API_KEY", "from-the-environment")

    admin_client.post(
        reverse("admin:chat_connection_change", args=[lab.pk]),
        connection_form(clear_api_key="on", api_key_env="LAB_API_KEY"),
    )

    lab.refresh_from_db()
    assert not lab.has_stored_api_key
    assert provider_config(lab).api_key == "from-the-environment"


def test_entra_id_is_offered_for_the_azure_kinds_only(admin_client):
    response = admin_client.post(
        reverse("admin:chat_connection_add"), connection_form(auth="entra_id")
    )

    assert "Microsoft Entra ID is for the Azure kinds only" in response.content.decode()
    assert not Connection.objects.filter(name="lab").exists()


def test_a_connection_in_use_is_not_deleted_and_the_admin_says_by_whom(admin_client):
    lab = Connection.objects.create(name="lab", kind="openai", api_key_env="LAB_KEY")
    Assistant.objects.create(name="Travel helper", connection=lab, protocol="responses")
    Assistant.objects.create(name="Code helper", connection=lab, protocol="responses")

    response = admin_client.post(
        reverse("admin:chat_connection_delete", args=[lab.pk]), {"post": "yes"}, follow=True
    )

    shown = [str(message) for message in response.context["messages"]]
    assert shown == [
        "The connection “lab” is used by 2 assistant(s): Code helper, Travel helper. Move "
        "them to another connection or delete them first."
    ]
    assert Connection.objects.filter(pk=lab.pk).exists()


def test_an_unused_connection_is_deleted(admin_client):
    lab = Connection.objects.create(name="lab", kind="openai")

    admin_client.post(reverse("admin:chat_connection_delete", args=[lab.pk]), {"post": "yes"})

    assert not Connection.objects.filter(pk=lab.pk).exists()


def test_renaming_a_connection_keeps_track_of_what_it_holds_remotely(admin_client):
    from chat.models import RemoteCleanup

    lab = Connection.objects.create(name="lab", kind="openai", default_model="m")
    RemoteCleanup.objects.create(provider="lab", kind="file", remote_id="file-1")

    admin_client.post(
        reverse("admin:chat_connection_change", args=[lab.pk]),
        connection_form(name="lab-eu", base_url="", default_model="m"),
    )

    assert RemoteCleanup.objects.get().provider == "lab-eu"


def test_the_assistant_form_offers_a_model_picker_fed_by_a_staff_only_view(
    admin_client, client, local_provider_url
):
    page = admin_client.get(reverse("admin:chat_assistant_add")).content.decode()
    assert 'list="connection-models"' in page and "chat/admin/model_picker.js" in page

    url = f"{reverse('admin:chat_connection_models')}?connection={connection('local').pk}"
    answer = admin_client.get(url)
    assert answer.status_code == 200
    models = answer.json()["models"]
    # The local provider may or may not list its models (GET /models): a list or null.
    assert models is None or "local-echo-1" in models
    assert client.get(url).status_code == 302  # to the login page


# --- Clients from connections -----------------------------------------------------------


def test_a_foundry_project_is_reached_on_its_openai_v1_path_with_the_key_header():
    foundry = Connection(
        name="foundry",
        kind="foundry",
        base_url="https://res.services.ai.azure.com/api/projects/proj",
        auth="api_key",
    )
    foundry.api_key_encrypted = secret_encrypt("k-1")

    client = build_client(provider_config(foundry))

    assert str(client.base_url) == "https://res.services.ai.azure.com/api/projects/proj/openai/v1/"
    assert client.default_headers["api-key"] == "k-1"


def test_extra_headers_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("TEAM_VARIABLE", "blue")
    lab = Connection(
        name="lab",
        kind="openai",
        base_url="https://models.example.org/v1",
        api_key_env="TEAM_VARIABLE",
        headers={"X-Team": {"env": "TEAM_VARIABLE"}, "X-Missing": {"env": "NOT_SET_ANYWHERE"}},
        timeout=7.5,
        max_retries=0,
    )

    client = build_client(provider_config(lab))

    assert client.default_headers["X-Team"] == "blue"
    assert "X-Missing" not in client.default_headers
    assert (client.max_retries, client.timeout.read) == (0, 7.5)


def test_a_server_without_authentication_needs_no_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("LAB_KEY", raising=False)
    own_server = Connection(name="lab", kind="openai", base_url="http://127.0.0.1:8081/v1")

    assert provider_config(own_server).api_key == NO_API_KEY  # any bearer: it is ignored
    # A variable named but not set, or OpenAI's own API with no key, are mistakes to say.
    for mistake, reason in [
        (
            Connection(
                name="lab", kind="openai", base_url=own_server.base_url, api_key_env="LAB_KEY"
            ),
            "Connection 'lab' has no API key: LAB_KEY is not set on the server.",
        ),
        (Connection(name="lab", kind="openai"), "Connection 'lab' has no API key."),
    ]:
        with pytest.raises(ProviderError) as raised:
            provider_config(mistake)
        assert str(raised.value) == reason


def test_a_key_encrypted_with_another_key_is_a_readable_error(settings):
    lab = Connection(name="lab", kind="openai")
    lab.api_key_encrypted = secret_encrypt(SECRET)
    settings.FIELD_ENCRYPTION_KEY = ["a-new-key"]

    with pytest.raises(ProviderError, match="cannot be decrypted with FIELD_ENCRYPTION_KEY"):
        provider_config(lab)


def test_rotating_the_encryption_key_keeps_the_old_secrets_readable(settings):
    settings.FIELD_ENCRYPTION_KEY = ["old-key"]
    lab = Connection(name="lab", kind="openai")
    lab.api_key_encrypted = secret_encrypt(SECRET)

    settings.FIELD_ENCRYPTION_KEY = ["new-key", "old-key"]

    assert lab.stored_api_key() == SECRET


@pytest.mark.parametrize("kind", ["azure", "foundry"])
async def test_entra_id_signs_in_for_the_azure_kinds(kind, site_server, settings):
    settings.AZURE_CREDENTIAL_FACTORY = "tests.chat.provider_configs.short_lived_credential"
    azure = Connection(
        name=f"entra-{kind}",
        kind=kind,
        base_url=f"{site_server.base_url}/local",
        auth="entra_id",
        api_key_env="LOCAL_KEY_NOT_USED",
        default_model=provider_configs.DEPLOYMENT,
    )

    text = await response_text(
        client=client_for(azure),
        model=provider_configs.DEPLOYMENT,
        input="Hi",
        max_output_tokens=16,
    )

    assert text
    credential = provider_configs.issued_credentials[-1]
    assert credential.issued_count >= 1
    if kind == "foundry":
        assert credential.scopes[-1] == (FOUNDRY_TOKEN_SCOPE,)


# --- The data migration -----------------------------------------------------------------


# Before 0005 an assistant had a provider; one of each, then the migration. In a database
# of its own (a subprocess), so the test database's schema never goes back and forth.
BEFORE = """
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
state = MigrationExecutor(connection).loader.project_state([("chat", "0004_files_and_code_tools")])
Assistant = state.apps.get_model("chat", "Assistant")
for provider in ("local", "openai", "azure"):
    Assistant.objects.create(name=f"On {provider}", provider=provider, remote_id="x")
"""
AFTER = """
import json
from chat.models import Assistant, Connection
print(json.dumps({
    "connections": {
        c.name: [c.kind, c.auth, c.api_key_env, c.base_url] for c in Connection.objects.all()
    },
    "assistants": {a.name: a.connection.name for a in Assistant.objects.all()},
}))
"""


def test_the_migration_turns_todays_providers_into_connections(tmp_path):
    import json

    from tests.provider_server import SiteServer

    site = SiteServer(tmp_path)
    site.manage("migrate", "chat", "0004_files_and_code_tools", "-v", "0")
    site.manage("shell", "-c", BEFORE)
    site.manage("migrate", "-v", "0")

    after = json.loads(site.manage("shell", "-v", "0", "-c", AFTER).splitlines()[-1])

    assert after["connections"] == {
        "azure": ["azure", "key_or_entra_id", "AZURE_OPENAI_API_KEY", ""],
        "local": ["local", "api_key", "", ""],
        "openai": ["openai", "api_key", "OPENAI_API_KEY", ""],
    }
    assert after["assistants"] == {"On local": "local", "On openai": "openai", "On azure": "azure"}


def test_the_seeded_connections_read_the_environment_at_run_time(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "https://proxy.example.org/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com")
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)

    openai_config = provider_config(connection("openai"))
    azure_config = provider_config(connection("azure"))

    assert (openai_config.base_url, openai_config.api_key) == (
        "https://proxy.example.org/v1",
        "sk-env",
    )
    assert azure_config.base_url == "https://res.openai.azure.com"
    assert azure_config.uses_entra_id  # no key: Entra ID, as before connections
