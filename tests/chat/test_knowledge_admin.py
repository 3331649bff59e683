"""Staff give an assistant knowledge files in the admin; they land in its vector store."""

import openai
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from chat.models import Assistant, KnowledgeFile
from tests.chat.connections import connection

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_provider_url")]

FAQ = b"# Opening hours\n\nThe office opens at nine and closes at five on weekdays.\n"


def form_data(files=(), existing=(), protocol="assistants", **overrides):
    """The assistant form with its knowledge inline: `existing` rows (id, delete?) first."""
    data = {
        "name": "Office helper",
        "description": "",
        "connection": connection("local").pk,
        "protocol": protocol,
        "model": "local-echo-1",
        "instructions": "",
        "tools": "[]",
        "is_active": "on",
        "file_search": "on",
        "knowledge_files-TOTAL_FORMS": str(len(existing) + len(files)),
        "knowledge_files-INITIAL_FORMS": str(len(existing)),
    }
    for index, (pk, delete) in enumerate(existing):
        data[f"knowledge_files-{index}-id"] = str(pk)
        data[f"knowledge_files-{index}-assistant"] = ""
        if delete:
            data[f"knowledge_files-{index}-DELETE"] = "on"
    for index, (name, content) in enumerate(files, start=len(existing)):
        data[f"knowledge_files-{index}-file"] = SimpleUploadedFile(name, content)
    return {**data, **overrides}


def add_assistant(admin_client, **form):
    response = admin_client.post(reverse("admin:chat_assistant_add"), form_data(**form))
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    return Assistant.objects.get(name="Office helper")


def test_the_form_offers_the_tools_and_the_knowledge_inline(admin_client):
    page = admin_client.get(reverse("admin:chat_assistant_add")).content.decode()

    assert 'name="file_search"' in page
    assert 'name="code_interpreter"' in page
    assert 'name="knowledge_files-0-file"' in page


@pytest.mark.parametrize("protocol", ["assistants", "responses"])
def test_a_knowledge_file_goes_to_the_provider_and_the_assistants_vector_store(
    admin_client, remote, protocol
):
    assistant = add_assistant(admin_client, files=[("faq.md", FAQ)], protocol=protocol)

    knowledge = KnowledgeFile.objects.get()
    assert (knowledge.name, knowledge.status, knowledge.error) == ("faq.md", "ready", "")
    assert knowledge.remote_provider == "local"
    assert remote.files.content(knowledge.remote_file_id).content == FAQ
    store = assistant.remote_vector_store_id
    stored = remote.vector_stores.files.list(vector_store_id=store)
    assert [(f.id, f.status) for f in stored.data] == [(knowledge.remote_file_id, "completed")]
    if protocol == "assistants":
        # The remote definition points file search at the store.
        definition = remote.beta.assistants.retrieve(assistant.remote_id)
        assert definition.tool_resources.file_search.vector_store_ids == [store]
        assert "file_search" in [tool.type for tool in definition.tools]


def test_removing_a_knowledge_file_deletes_it_on_the_provider(admin_client, remote):
    assistant = add_assistant(admin_client, files=[("faq.md", FAQ), ("more.txt", b"More.")])
    faq, more = KnowledgeFile.objects.order_by("id")

    response = admin_client.post(
        reverse("admin:chat_assistant_change", args=[assistant.pk]),
        form_data(existing=[(faq.pk, True), (more.pk, False)]),
    )

    assert response.status_code == 302
    assert list(KnowledgeFile.objects.all()) == [more]
    with pytest.raises(openai.NotFoundError):
        remote.files.retrieve(faq.remote_file_id)
    stored = remote.vector_stores.files.list(vector_store_id=assistant.remote_vector_store_id)
    assert [f.id for f in stored.data] == [more.remote_file_id]


def test_images_and_bad_files_are_refused_in_the_form(admin_client):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 40

    response = admin_client.post(
        reverse("admin:chat_assistant_add"), form_data(files=[("plot.png", png)])
    )

    assert response.status_code == 200
    assert "file search cannot read images" in response.content.decode()
    assert not Assistant.objects.exists()


def test_a_file_the_provider_cannot_index_is_marked_failed_with_the_reason(admin_client):
    # A PDF signature with nothing readable behind it: stored here, refused by the indexer.
    response = admin_client.post(
        reverse("admin:chat_assistant_add"),
        form_data(files=[("broken.pdf", b"%PDF-1.4\nnot really a pdf")]),
        follow=True,
    )

    knowledge = KnowledgeFile.objects.get()
    assert knowledge.status == "failed"
    assert knowledge.error.startswith("The provider could not index it:")
    messages = [str(m) for m in response.context["messages"]]
    assert any("broken.pdf" in m and "could not index" in m for m in messages)


def test_a_provider_failure_keeps_the_file_and_says_why(admin_client, settings):
    assistant = add_assistant(admin_client, protocol="responses")
    settings.LOCAL_PROVIDER_API_KEY = "wrong-key"

    response = admin_client.post(
        reverse("admin:chat_assistant_change", args=[assistant.pk]),
        form_data(files=[("faq.md", FAQ)], protocol="responses"),
        follow=True,
    )

    knowledge = KnowledgeFile.objects.get()
    assert (knowledge.status, knowledge.remote_file_id) == ("failed", "")
    assert "refused the credentials" in knowledge.error
    assert knowledge.file.read() == FAQ  # nothing lost here
    messages = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("Knowledge file not ready: faq.md") for m in messages)

    # The next save, with the provider back, finishes the job.
    settings.LOCAL_PROVIDER_API_KEY = "local-dev-key"
    admin_client.post(
        reverse("admin:chat_assistant_change", args=[assistant.pk]),
        form_data(existing=[(knowledge.pk, False)], protocol="responses"),
    )
    knowledge.refresh_from_db()
    assert (knowledge.status, knowledge.error) == ("ready", "")
