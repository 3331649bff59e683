"""The Containers API through the real SDK (client.containers), its raw JSON validated
strictly against the SDK's models."""

import openai
import pytest
from openai.types import ContainerCreateResponse, ContainerListResponse
from openai.types.containers import FileCreateResponse, FileListResponse

from tests.localai.sdk import make_client
from tests.localai.test_contract import RawAPI, strict


@pytest.fixture
async def client(api_url):
    client = make_client(api_url)
    yield client
    await client.close()


@pytest.fixture
async def raw(site_server):
    api = RawAPI(
        f"{site_server.base_url}/local/v1", headers={"Authorization": "Bearer local-dev-key"}
    )
    yield api
    await api.close()


async def test_containers_and_their_files(client, raw):
    source = await client.files.create(file=("notes.md", b"# Notes\n"), purpose="user_data")
    container = await client.containers.create(name="work", file_ids=[source.id])
    assert container.status == "running"
    strict(ContainerCreateResponse, await raw.call("GET", f"/containers/{container.id}"))
    assert (await client.containers.retrieve(container.id)).name == "work"
    listed = await raw.call("GET", "/containers?name=work")
    for item in listed["data"]:
        strict(ContainerListResponse, item)
    assert container.id in [item["id"] for item in listed["data"]]

    uploaded = await client.containers.files.create(
        container_id=container.id, file=("data.csv", b"a,b\n1,2\n")
    )
    assert uploaded.path == "/mnt/data/data.csv"
    assert uploaded.source == "user"
    assert uploaded.bytes == 8
    copied = await client.containers.files.create(container_id=container.id, file_id=source.id)
    # Copying the same file again replaces the one at its path.
    files = await raw.call("GET", f"/containers/{container.id}/files")
    for item in files["data"]:
        strict(FileListResponse, item)
    assert sorted(item["path"] for item in files["data"]) == [
        "/mnt/data/data.csv",
        "/mnt/data/notes.md",
    ]
    strict(
        FileCreateResponse,
        await raw.call("GET", f"/containers/{container.id}/files/{uploaded.id}"),
    )
    content = await client.containers.files.content.retrieve(uploaded.id, container_id=container.id)
    assert content.read() == b"a,b\n1,2\n"
    notes = await client.containers.files.content.retrieve(copied.id, container_id=container.id)
    assert notes.read() == b"# Notes\n"

    await client.containers.files.delete(uploaded.id, container_id=container.id)
    with pytest.raises(openai.NotFoundError):
        await client.containers.files.retrieve(uploaded.id, container_id=container.id)
    deleted = await raw.call("DELETE", f"/containers/{container.id}")
    assert deleted == {"id": container.id, "object": "container.deleted", "deleted": True}
    with pytest.raises(openai.NotFoundError):
        await client.containers.retrieve(container.id)
    # The File it was copied from stays.
    assert (await client.files.retrieve(source.id)).id == source.id


async def test_container_errors(client):
    with pytest.raises(openai.BadRequestError):
        await client.containers.create(name="")
    with pytest.raises(openai.NotFoundError):
        await client.containers.files.list(container_id="cntr_missing")
    container = await client.containers.create(name="x")
    with pytest.raises(openai.NotFoundError):
        await client.containers.files.create(container_id=container.id, file_id="file-missing")
