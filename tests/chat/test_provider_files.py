"""ProviderFiles against providers that lack or refuse the Files API (a mock transport), and the
conversation admin's deletion through the service."""

import httpx2
import openai
import pytest
from django.urls import reverse

from chat.agents import ProviderError
from chat.agents.files import ProviderFiles
from chat.models import Conversation, RemoteCleanup


def provider(handler) -> ProviderFiles:
    client = openai.AsyncOpenAI(
        base_url="http://provider.test/v1",
        api_key="key",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)),
    )
    return ProviderFiles(client)


def not_found(request):
    return httpx2.Response(404, json={"error": {"message": "Resource not found"}})


async def test_a_provider_without_a_files_api_says_so():
    files = provider(not_found)

    with pytest.raises(ProviderError, match="does not support file uploads") as upload:
        await files.upload(name="a.txt", data=b"a")
    with pytest.raises(ProviderError, match="does not support vector stores") as store:
        await files.create_vector_store(name="store")

    assert upload.value.code == store.value.code == "unsupported_tool"


async def test_deleting_what_is_already_gone_counts_as_deleted():
    files = provider(not_found)

    await files.delete_file("file-gone")
    await files.delete_vector_store("vs_gone")
    await files.delete_container("cntr_gone")
    await files.remove_from_vector_store("vs_gone", "file-gone")


async def test_other_failures_are_readable_provider_errors():
    files = provider(lambda request: httpx2.Response(500, json={"error": {"message": "boom"}}))

    with pytest.raises(ProviderError, match=r"internal error \(500\)"):
        await files.delete_file("file-1")
    with pytest.raises(ProviderError, match=r"internal error \(500\)"):
        await files.download(file_id="file-1")


async def test_a_file_that_cannot_be_indexed_is_reported_with_the_providers_reason():
    def handler(request):
        return httpx2.Response(
            200,
            json={
                "id": "file-1",
                "object": "vector_store.file",
                "created_at": 0,
                "usage_bytes": 0,
                "vector_store_id": "vs_1",
                "status": "failed",
                "last_error": {"code": "unsupported_file", "message": "No text in this file."},
            },
        )

    failures = await provider(handler).add_to_vector_store("vs_1", ["file-1"])

    assert [(f.file_id, f.reason) for f in failures] == [("file-1", "No text in this file.")]


@pytest.mark.django_db
@pytest.mark.usefixtures("local_provider_url")
def test_the_conversation_admin_deletes_through_the_service(admin_client, admin_user):
    conversation = Conversation.objects.create(owner=admin_user, title="Old")

    response = admin_client.post(
        reverse("admin:chat_conversation_changelist"),
        {"action": "delete_remote_and_local", "_selected_action": [conversation.pk]},
    )

    assert response.status_code == 302
    assert not Conversation.objects.exists()
    assert not RemoteCleanup.objects.exists()
    actions = admin_client.get(reverse("admin:chat_conversation_changelist")).content.decode()
    assert "delete_selected" not in actions


@pytest.mark.django_db
def test_staff_see_the_pending_remote_deletions(admin_client):
    RemoteCleanup.objects.create(
        provider="local", kind="file", remote_id="file-1", attempts=2, last_error="boom"
    )

    listing = admin_client.get(reverse("admin:chat_remotecleanup_changelist"))

    assert listing.status_code == 200
    assert "file-1" in listing.content.decode()
    assert admin_client.get(reverse("admin:chat_remotecleanup_add")).status_code == 403
