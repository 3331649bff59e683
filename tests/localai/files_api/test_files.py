"""The Files API through the real SDK: upload, retrieve, content, list, delete, limits."""

import openai
import pytest

from tests.localai.documents import VOLCANO_NOTES
from tests.localai.sdk import make_azure_client, make_client
from tests.provider_server import SiteServer


@pytest.fixture(scope="module")
def small_cap_api_url(tmp_path_factory):
    """A site whose local provider accepts files of at most 1000 bytes."""
    server = SiteServer(
        tmp_path_factory.mktemp("small-cap"), extra_env={"LOCAL_PROVIDER_MAX_FILE_BYTES": "1000"}
    ).start()
    yield f"{server.base_url}/local/v1"
    server.stop()


async def test_upload_retrieve_content_list_delete(api_url):
    client = make_client(api_url)
    data = VOLCANO_NOTES.encode()
    uploaded = await client.files.create(file=("volcanoes.md", data), purpose="assistants")
    assert uploaded.id.startswith("file-")
    assert (uploaded.object, uploaded.filename, uploaded.bytes) == (
        "file",
        "volcanoes.md",
        len(data),
    )
    assert (uploaded.purpose, uploaded.status, uploaded.expires_at) == (
        "assistants",
        "processed",
        None,
    )

    fetched = await client.files.retrieve(uploaded.id)
    assert fetched.model_dump() == uploaded.model_dump()

    content = await client.files.content(uploaded.id)
    assert content.content == data
    assert content.response.headers["content-type"].startswith("text/markdown")

    image = await client.files.create(file=("dot.png", b"\x89PNG\r\n\x1a\n..."), purpose="vision")
    assert (await client.files.content(image.id)).response.headers["content-type"] == "image/png"

    listed = [file.id async for file in client.files.list()]
    assert uploaded.id in listed and image.id in listed
    only_vision = [file.id async for file in client.files.list(purpose="vision")]
    assert image.id in only_vision and uploaded.id not in only_vision

    deleted = await client.files.delete(uploaded.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (uploaded.id, "file", True)
    with pytest.raises(openai.NotFoundError):
        await client.files.retrieve(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        await client.files.content(uploaded.id)
    with pytest.raises(openai.NotFoundError):
        await client.files.delete(uploaded.id)


async def test_upload_needs_a_known_purpose(api_url):
    client = make_client(api_url)
    with pytest.raises(openai.BadRequestError) as caught:
        await client.files.create(file=("a.txt", b"text"), purpose="nonsense")  # type: ignore[arg-type]
    assert caught.value.body["param"] == "purpose"


async def test_upload_over_the_size_cap_is_refused(small_cap_api_url):
    client = make_client(small_cap_api_url)
    accepted = await client.files.create(file=("small.txt", b"x" * 1000), purpose="assistants")
    assert accepted.bytes == 1000
    with pytest.raises(openai.BadRequestError) as caught:
        await client.files.create(file=("big.txt", b"x" * 1001), purpose="assistants")
    assert caught.value.status_code == 400
    assert caught.value.body["type"] == "invalid_request_error"
    assert caught.value.body["code"] == "file_too_large"
    assert "at most 1000 bytes" in caught.value.message


async def test_files_and_vector_stores_on_the_azure_routes(site_url):
    """The same endpoints answer on the Azure-style routes, where the Assistants API is
    retired: files and vector stores serve the Responses API there."""
    client = make_azure_client(site_url)
    uploaded = await client.files.create(
        file=("volcanoes.md", VOLCANO_NOTES.encode()), purpose="assistants"
    )
    store = await client.vector_stores.create(name="Azure", file_ids=[uploaded.id])
    assert store.file_counts.completed == 1
    page = await client.vector_stores.search(store.id, query="Hekla gateway")
    assert page.data[0].file_id == uploaded.id
    response = await client.responses.create(
        model="local-echo-1",
        input="What did medieval Europeans call Hekla?",
        tools=[{"type": "file_search", "vector_store_ids": [store.id]}],
    )
    assert "gateway to hell" in response.output_text
    assert response.output[1].content[0].annotations[0].file_id == uploaded.id
    await client.vector_stores.delete(store.id)
    assert (await client.files.delete(uploaded.id)).deleted
