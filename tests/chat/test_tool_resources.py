"""A conversation's attachments reach the provider before a run: files, vector store, code files.

Checked with the plain SDK against the local provider, as a remote service would be.
"""

import pytest
from asgiref.sync import async_to_sync
from django.core.files.base import ContentFile

from chat.agents import ProviderError, ToolResources
from chat.models import Assistant, Conversation, Message, Upload
from chat.services.tool_resources import conversation_tool_resources

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_provider_url")]

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 40


def conversation_with(admin_user, files: dict[str, bytes], **tools) -> Conversation:
    assistant = Assistant.objects.create(name="Reader", model="local-echo-1", **tools)
    conversation = Conversation.objects.create(owner=admin_user, assistant=assistant)
    message = Message.objects.create(conversation=conversation, role="user", content="Look")
    for name, data in files.items():
        upload = Upload(
            owner=admin_user,
            conversation=conversation,
            message=message,
            name=name,
            content_type="image/png" if name.endswith(".png") else "text/plain",
            size=len(data),
        )
        upload.file.save(name, ContentFile(data), save=False)
        upload.save()
    return Conversation.objects.select_related("assistant__connection").get(pk=conversation.pk)


def resources_for(conversation) -> ToolResources:
    return async_to_sync(conversation_tool_resources)(conversation=conversation)


def test_file_search_gets_a_vector_store_of_the_readable_attachments(admin_user, remote):
    conversation = conversation_with(
        admin_user,
        {"lisbon.txt": b"Lisbon is the capital of Portugal.", "plot.png": PNG},
        file_search=True,
    )

    resources = resources_for(conversation)

    conversation.refresh_from_db()
    text, image = Upload.objects.order_by("id")
    assert resources.vector_store_ids == (conversation.remote_vector_store_id,)
    assert resources.code_file_ids == ()
    assert remote.files.retrieve(text.remote_file_id).filename == "lisbon.txt"
    assert remote.files.content(text.remote_file_id).content == (
        b"Lisbon is the capital of Portugal."
    )
    stored = remote.vector_stores.files.list(vector_store_id=conversation.remote_vector_store_id)
    # Images have no text to search: uploaded (the code interpreter could use them), not indexed.
    assert [(f.id, f.status) for f in stored.data] == [(text.remote_file_id, "completed")]
    assert image.remote_file_id and image.remote_provider == "local"


def test_a_second_turn_reuses_the_files_and_the_store(admin_user, remote):
    conversation = conversation_with(admin_user, {"a.txt": b"alpha"}, file_search=True)
    first = resources_for(conversation)
    file_id = Upload.objects.get().remote_file_id

    second = resources_for(conversation)

    assert second == first
    assert Upload.objects.get().remote_file_id == file_id
    stored = remote.vector_stores.files.list(vector_store_id=first.vector_store_ids[0])
    assert len(stored.data) == 1


def test_the_code_interpreter_gets_every_attachment(admin_user):
    conversation = conversation_with(
        admin_user, {"data.csv": b"a,b\n1,2\n", "plot.png": PNG}, code_interpreter=True
    )

    resources = resources_for(conversation)

    ids = tuple(Upload.objects.order_by("id").values_list("remote_file_id", flat=True))
    assert resources == ToolResources(vector_store_ids=(), code_file_ids=ids)
    assert not Conversation.objects.get().remote_vector_store_id


def test_without_provider_tools_nothing_is_uploaded(admin_user):
    conversation = conversation_with(admin_user, {"a.txt": b"alpha"})

    assert resources_for(conversation) == ToolResources()
    assert Upload.objects.get().remote_file_id == ""


def test_a_provider_failure_is_a_readable_error(admin_user, settings):
    conversation = conversation_with(admin_user, {"a.txt": b"alpha"}, file_search=True)
    settings.LOCAL_PROVIDER_API_KEY = "wrong-key"

    with pytest.raises(ProviderError, match="refused the credentials"):
        resources_for(conversation)


def test_an_attachment_whose_bytes_are_lost_is_left_out(admin_user):
    conversation = conversation_with(
        admin_user, {"a.txt": b"alpha", "b.txt": b"beta"}, code_interpreter=True
    )
    lost = Upload.objects.order_by("id").first()
    lost.file.delete(save=False)

    resources = resources_for(conversation)

    kept = Upload.objects.order_by("id").last()
    assert resources.code_file_ids == (kept.remote_file_id,)
