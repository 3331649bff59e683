"""Staff manage assistants in the admin; the definitions follow on the local provider."""

import json

import openai
import pytest
from django.urls import reverse

from chat.models import Assistant
from tests.chat.connections import connection

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_provider_url")]


@pytest.fixture
def broken_provider(settings):
    settings.LOCAL_PROVIDER_API_KEY = "wrong-key"


def form_data(**overrides):
    data = {
        "name": "Travel helper",
        "description": "Plans trips",
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


def test_creating_an_assistant_creates_its_definition_on_the_provider(admin_client, remote):
    response = admin_client.post(reverse("admin:chat_assistant_add"), form_data())

    assert response.status_code == 302
    assistant = Assistant.objects.get(name="Travel helper")
    assert assistant.remote_id.startswith("asst_")
    stored = remote.beta.assistants.retrieve(assistant.remote_id)
    assert (stored.name, stored.instructions, stored.model) == (
        "Travel helper",
        "Be brief.",
        "local-echo-1",
    )


def test_editing_an_assistant_updates_it_on_the_provider(admin_client, remote):
    admin_client.post(reverse("admin:chat_assistant_add"), form_data())
    assistant = Assistant.objects.get()
    function = {"name": "get_time", "parameters": {"type": "object", "properties": {}}}
    tools = json.dumps([{"type": "function", "function": function}])

    response = admin_client.post(
        reverse("admin:chat_assistant_change", args=[assistant.pk]),
        form_data(instructions="Answer in French.", tools=tools),
    )

    assert response.status_code == 302
    stored = remote.beta.assistants.retrieve(assistant.remote_id)
    assert stored.instructions == "Answer in French."
    assert [tool.function.name for tool in stored.tools] == ["get_time"]
    assert Assistant.objects.get().remote_id == assistant.remote_id


def test_deleting_an_assistant_deletes_it_on_the_provider(admin_client, remote):
    admin_client.post(reverse("admin:chat_assistant_add"), form_data())
    assistant = Assistant.objects.get()

    response = admin_client.post(
        reverse("admin:chat_assistant_delete", args=[assistant.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Assistant.objects.exists()
    with pytest.raises(openai.NotFoundError):
        remote.beta.assistants.retrieve(assistant.remote_id)


def test_the_bulk_delete_action_deletes_on_the_provider(admin_client, remote):
    for name in ("One", "Two"):
        admin_client.post(reverse("admin:chat_assistant_add"), form_data(name=name))
    ids = list(Assistant.objects.values_list("pk", "remote_id"))

    admin_client.post(
        reverse("admin:chat_assistant_changelist"),
        {"action": "delete_remote_and_local", "_selected_action": [pk for pk, _ in ids]},
    )

    assert not Assistant.objects.exists()
    for _, remote_id in ids:
        with pytest.raises(openai.NotFoundError):
            remote.beta.assistants.retrieve(remote_id)


def test_importing_a_remote_assistant_by_id(admin_client, remote):
    made = remote.beta.assistants.create(
        model="local-echo-1",
        name="Made elsewhere",
        instructions="Imported instructions",
        description="From the provider",
    )

    response = admin_client.post(
        reverse("admin:chat_assistant_import"),
        {"connection": connection("local").pk, "protocol": "assistants", "remote_id": made.id},
    )

    assistant = Assistant.objects.get(remote_id=made.id)
    assert response.status_code == 302
    assert response.url == reverse("admin:chat_assistant_change", args=[assistant.pk])
    assert (assistant.name, assistant.instructions, assistant.description) == (
        "Made elsewhere",
        "Imported instructions",
        "From the provider",
    )


def test_importing_keeps_the_remote_assistants_provider_tools_and_knowledge(admin_client, remote):
    store = remote.vector_stores.create(name="Handbook")
    made = remote.beta.assistants.create(
        model="local-echo-1",
        name="Librarian",
        tools=[{"type": "file_search"}, {"type": "code_interpreter"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )

    admin_client.post(
        reverse("admin:chat_assistant_import"),
        {"connection": connection("local").pk, "protocol": "assistants", "remote_id": made.id},
    )

    assistant = Assistant.objects.get(remote_id=made.id)
    assert (assistant.file_search, assistant.code_interpreter) == (True, True)
    assert assistant.remote_vector_store_id == store.id


def test_importing_an_unknown_id_shows_why(admin_client):
    response = admin_client.post(
        reverse("admin:chat_assistant_import"),
        {
            "connection": connection("local").pk,
            "protocol": "assistants",
            "remote_id": "asst_missing",
        },
    )

    assert response.status_code == 200
    assert "Could not import" in response.content.decode()
    assert not Assistant.objects.exists()


def test_a_provider_failure_on_create_shows_an_error_and_saves_nothing(
    admin_client, broken_provider
):
    response = admin_client.post(reverse("admin:chat_assistant_add"), form_data())

    assert response.status_code == 200
    assert "The provider refused this assistant" in response.content.decode()
    assert not Assistant.objects.exists()


def test_a_provider_failure_on_edit_leaves_the_local_record_as_it_was(
    admin_client, remote, settings
):
    admin_client.post(reverse("admin:chat_assistant_add"), form_data())
    assistant = Assistant.objects.get()
    settings.LOCAL_PROVIDER_API_KEY = "wrong-key"

    response = admin_client.post(
        reverse("admin:chat_assistant_change", args=[assistant.pk]),
        form_data(instructions="Changed"),
    )

    assert response.status_code == 200
    assert "credentials" in response.content.decode()
    assert Assistant.objects.get().instructions == "Be brief."


def test_a_provider_failure_on_delete_keeps_the_assistant(admin_client, remote, settings):
    admin_client.post(reverse("admin:chat_assistant_add"), form_data())
    assistant = Assistant.objects.get()
    settings.LOCAL_PROVIDER_API_KEY = "wrong-key"

    response = admin_client.post(
        reverse("admin:chat_assistant_delete", args=[assistant.pk]), {"post": "yes"}, follow=True
    )

    assert "Not deleted" in response.content.decode()
    assert Assistant.objects.filter(pk=assistant.pk).exists()
    remote_copy = remote.beta.assistants.retrieve(assistant.remote_id)
    assert remote_copy.id == assistant.remote_id


def test_the_admin_is_staff_only(client, django_user_model):
    user = django_user_model.objects.create_user("plain", password="pw-123456789")
    client.force_login(user)

    response = client.get(reverse("admin:chat_assistant_changelist"))

    assert response.status_code == 302 and "/admin/login/" in response.url
