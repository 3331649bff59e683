"""Deleting an assistant or a conversation deletes its files and vector stores on the provider;
a deletion that fails is recorded and `manage.py retry_remote_cleanup` finishes it."""

import openai
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from chat.models import (
    Assistant,
    Conversation,
    KnowledgeFile,
    Message,
    OutputFile,
    RemoteCleanup,
    Upload,
)
from chat.services.assistants import assistant_delete
from chat.services.conversations import conversation_delete
from tests.chat.connections import connection
from tests.chat.purge import purge_now

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_provider_url")]


@pytest.fixture
def provider_down(settings):
    """The provider refuses everything until `provider_down.restore()`."""

    class Switch:
        def restore(self):
            settings.LOCAL_PROVIDER_API_KEY = key

    key = settings.LOCAL_PROVIDER_API_KEY
    settings.LOCAL_PROVIDER_API_KEY = "wrong-key"
    return Switch()


def gone(call) -> bool:
    try:
        call()
    except openai.NotFoundError:
        return True
    return False


def remote_file(remote, name: str, data: bytes, purpose="assistants") -> str:
    return remote.files.create(file=(name, data), purpose=purpose).id


def stored(model, *, name: str, data: bytes, **fields):
    record = model(name=name, content_type="text/plain", size=len(data), **fields)
    record.file.save(name, ContentFile(data), save=False)
    record.save()
    return record


def files_in(media_root) -> list:
    return [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []


def conversation_on_provider(remote, owner, *, thread=True) -> Conversation:
    """A conversation with an attachment in its vector store and a code output file, all on
    the local provider (as turns would have left them)."""
    assistant = Assistant.objects.create(name="Reader", model="local-echo-1", file_search=True)
    upload_id = remote_file(remote, "notes.txt", b"Notes.")
    output_id = remote_file(remote, "plot.png", b"\x89PNG\r\n\x1a\n", "assistants_output")
    store = remote.vector_stores.create(name="conversation", file_ids=[upload_id])
    conversation = Conversation.objects.create(
        owner=owner,
        assistant=assistant,
        remote_thread_id=remote.beta.threads.create().id if thread else "",
        remote_vector_store_id=store.id,
    )
    message = Message.objects.create(conversation=conversation, role="user", content="Look")
    reply = Message.objects.create(conversation=conversation, role="assistant", content="Plot")
    stored(
        Upload,
        name="notes.txt",
        data=b"Notes.",
        owner=owner,
        conversation=conversation,
        message=message,
        remote_file_id=upload_id,
        remote_provider="local",
    )
    stored(
        OutputFile,
        name="plot.png",
        data=b"\x89PNG\r\n\x1a\n",
        conversation=conversation,
        message=reply,
        remote_file_id=output_id,
        remote_provider="local",
    )
    return conversation


def assistant_with_knowledge(remote, *, protocol="assistants") -> Assistant:
    file_id = remote_file(remote, "faq.md", b"# FAQ")
    store = remote.vector_stores.create(name="knowledge", file_ids=[file_id])
    remote_id = ""
    if protocol == "assistants":
        remote_id = remote.beta.assistants.create(model="local-echo-1", name="Office").id
    assistant = Assistant.objects.create(
        name="Office",
        model="local-echo-1",
        protocol=protocol,
        remote_id=remote_id,
        file_search=True,
        remote_vector_store_id=store.id,
    )
    stored(
        KnowledgeFile,
        name="faq.md",
        data=b"# FAQ",
        assistant=assistant,
        status="ready",
        remote_file_id=file_id,
        remote_provider="local",
    )
    return assistant


# --- Nothing orphaned ---------------------------------------------------------------------


# transaction=True: the purge reads through database_sync_to_async, whose connection
# clean-up would close the test's connection inside its transaction on PostgreSQL. The
# local_connection fixture seeds again what an earlier test's flush removed.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_connection")
def test_deleting_a_conversation_deletes_its_thread_files_and_store(
    admin_user, admin_client, remote, media_root, django_capture_on_commit_callbacks
):
    conversation = conversation_on_provider(remote, admin_user)
    upload, output = Upload.objects.get(), OutputFile.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("chat:api_conversation_delete", args=[conversation.pk])
        )
        # Nothing leaves the provider while Undo can still bring the conversation back.
        assert response.status_code == 200
        assert remote.beta.threads.retrieve(conversation.remote_thread_id)
        assert remote.files.retrieve(upload.remote_file_id)
        assert purge_now() == 1

    assert gone(lambda: remote.beta.threads.retrieve(conversation.remote_thread_id))
    assert gone(lambda: remote.vector_stores.retrieve(conversation.remote_vector_store_id))
    assert gone(lambda: remote.files.retrieve(upload.remote_file_id))
    assert gone(lambda: remote.files.retrieve(output.remote_file_id))
    assert not (Upload.objects.exists() or OutputFile.objects.exists())
    assert files_in(media_root) == []
    assert not RemoteCleanup.objects.exists()


# transaction=True: the purge reads through database_sync_to_async, whose connection
# clean-up would close the test's connection inside its transaction on PostgreSQL. The
# local_connection fixture seeds again what an earlier test's flush removed.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_connection")
def test_a_responses_output_is_deleted_with_its_container(admin_user, remote):
    conversation = Conversation.objects.create(owner=admin_user)
    reply = Message.objects.create(conversation=conversation, role="assistant", content="x")
    container = remote.containers.create(name="run")
    stored(
        OutputFile,
        name="out.txt",
        data=b"out",
        conversation=conversation,
        message=reply,
        remote_file_id="cfile_whatever",
        remote_container_id=container.id,
        remote_provider="local",
    )

    conversation_delete(user=admin_user, conversation_id=conversation.pk)
    purge_now()

    assert gone(lambda: remote.containers.retrieve(container.id))


@pytest.mark.parametrize("how", ["service", "admin", "bulk action"])
def test_deleting_an_assistant_deletes_its_knowledge_files_and_store(
    admin_client, remote, media_root, django_capture_on_commit_callbacks, how
):
    assistant = assistant_with_knowledge(remote)
    knowledge = KnowledgeFile.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        if how == "service":
            assistant_delete(assistant=assistant)
        elif how == "admin":
            admin_client.post(
                reverse("admin:chat_assistant_delete", args=[assistant.pk]), {"post": "yes"}
            )
        else:
            admin_client.post(
                reverse("admin:chat_assistant_changelist"),
                {"action": "delete_remote_and_local", "_selected_action": [assistant.pk]},
            )

    assert not Assistant.objects.exists()
    assert gone(lambda: remote.beta.assistants.retrieve(assistant.remote_id))
    assert gone(lambda: remote.vector_stores.retrieve(assistant.remote_vector_store_id))
    assert gone(lambda: remote.files.retrieve(knowledge.remote_file_id))
    assert files_in(media_root) == []


# --- Failures are recorded and retried ----------------------------------------------------


# transaction=True: the purge reads through database_sync_to_async, whose connection
# clean-up would close the test's connection inside its transaction on PostgreSQL. The
# local_connection fixture seeds again what an earlier test's flush removed.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_connection")
def test_a_failing_file_deletion_is_recorded_and_the_command_finishes_it(
    admin_user, remote, provider_down, capsys
):
    # No remote thread, so only the files and the store are at stake.
    conversation = conversation_on_provider(remote, admin_user, thread=False)
    upload, output = Upload.objects.get(), OutputFile.objects.get()

    conversation_delete(user=admin_user, conversation_id=conversation.pk)
    purge_now()

    # The user's deletion went through; what the provider kept is on record.
    assert not Conversation.all_objects.exists()
    recorded = {(c.kind, c.remote_id, c.attempts) for c in RemoteCleanup.objects.all()}
    assert recorded == {
        ("vector_store", conversation.remote_vector_store_id, 1),
        ("file", upload.remote_file_id, 1),
        ("file", output.remote_file_id, 1),
    }
    assert "refused the credentials" in RemoteCleanup.objects.first().last_error

    # Still down: the command says so and fails, counting the attempt.
    with pytest.raises(CommandError, match="3 remote deletion"):
        call_command("retry_remote_cleanup")
    assert set(RemoteCleanup.objects.values_list("attempts", flat=True)) == {2}

    provider_down.restore()
    capsys.readouterr()
    call_command("retry_remote_cleanup")

    assert not RemoteCleanup.objects.exists()
    assert "3 remote object(s) deleted, 0 still failing." in capsys.readouterr().out
    assert gone(lambda: remote.vector_stores.retrieve(conversation.remote_vector_store_id))
    assert gone(lambda: remote.files.retrieve(upload.remote_file_id))
    assert gone(lambda: remote.files.retrieve(output.remote_file_id))


def test_a_failing_knowledge_deletion_is_recorded_and_retried(remote, provider_down):
    # The Responses protocol keeps no remote definition: only the knowledge is remote.
    assistant = assistant_with_knowledge(remote, protocol="responses")
    knowledge = KnowledgeFile.objects.get()

    assistant_delete(assistant=assistant)

    assert not Assistant.objects.exists()
    assert set(RemoteCleanup.objects.values_list("kind", "remote_id")) == {
        ("vector_store", assistant.remote_vector_store_id),
        ("file", knowledge.remote_file_id),
    }
    provider_down.restore()
    call_command("retry_remote_cleanup")
    assert not RemoteCleanup.objects.exists()
    assert gone(lambda: remote.files.retrieve(knowledge.remote_file_id))


# transaction=True: the purge reads through database_sync_to_async, whose connection
# clean-up would close the test's connection inside its transaction on PostgreSQL. The
# local_connection fixture seeds again what an earlier test's flush removed.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_connection")
def test_a_failing_thread_deletion_is_recorded_and_retried_after_the_purge(
    admin_user, admin_client, remote, provider_down
):
    # The user's delete is not held back by a provider that is down: the purge deletes the
    # conversation here and leaves the thread on record for retry_remote_cleanup.
    conversation = conversation_on_provider(remote, admin_user)

    response = admin_client.post(reverse("chat:api_conversation_delete", args=[conversation.pk]))
    assert response.status_code == 200
    assert purge_now() == 1

    assert not Conversation.all_objects.filter(pk=conversation.pk).exists()
    assert ("thread", conversation.remote_thread_id) in set(
        RemoteCleanup.objects.values_list("kind", "remote_id")
    )
    provider_down.restore()
    call_command("retry_remote_cleanup")
    assert not RemoteCleanup.objects.exists()
    assert gone(lambda: remote.beta.threads.retrieve(conversation.remote_thread_id))


def test_moving_an_assistant_to_another_provider_deletes_its_files_on_the_old_one(
    admin_user, remote, monkeypatch, site_server
):
    from chat.services.assistants import assistant_moved

    # The `openai` provider pointed at the same local service: another home, as far as the
    # site can tell.
    monkeypatch.setenv("OPENAI_BASE_URL", f"{site_server.base_url}/local/v1")
    monkeypatch.setenv("OPENAI_API_KEY", settings.LOCAL_PROVIDER_API_KEY)
    assistant = assistant_with_knowledge(remote, protocol="responses")
    conversation = conversation_on_provider(remote, admin_user, thread=False)
    conversation.assistant = assistant
    conversation.save()
    knowledge, upload = KnowledgeFile.objects.get(), Upload.objects.get()
    old_stores = [assistant.remote_vector_store_id, conversation.remote_vector_store_id]
    Assistant.objects.filter(pk=assistant.pk).update(connection=connection("openai"))
    assistant.refresh_from_db()

    assistant_moved(assistant=assistant, previous_connection=connection("local"))

    for store in old_stores:
        assert gone(lambda store=store: remote.vector_stores.retrieve(store))
    for file_id in (knowledge.remote_file_id, upload.remote_file_id):
        assert gone(lambda file_id=file_id: remote.files.retrieve(file_id))
    knowledge.refresh_from_db()
    upload.refresh_from_db()
    assert (knowledge.status, knowledge.remote_file_id) == ("pending", "")
    assert upload.remote_file_id == ""
    assert Assistant.objects.get(pk=assistant.pk).remote_vector_store_id == ""
    assert Conversation.objects.get().remote_vector_store_id == ""
