"""Vector stores through the real SDK: life cycle, files and batches, file_counts, indexing
(text, Markdown, PDF; unreadable files fail with a reason) and search."""

import openai
import pytest

from tests.localai.documents import BAKERY_GUIDE, VOLCANO_NOTES, minimal_pdf
from tests.localai.sdk import make_client


async def _upload(client, name: str, data: bytes):
    return await client.files.create(file=(name, data), purpose="assistants")


async def test_vector_store_life_cycle_and_file_counts(api_url):
    client = make_client(api_url)
    volcano = await _upload(client, "volcanoes.md", VOLCANO_NOTES.encode())
    bakery = await _upload(client, "bakery.txt", BAKERY_GUIDE.encode())

    store = await client.vector_stores.create(
        name="Knowledge", file_ids=[volcano.id], metadata={"owner": "tests"}
    )
    assert store.id.startswith("vs_")
    assert (store.object, store.name, store.status) == ("vector_store", "Knowledge", "completed")
    assert store.metadata == {"owner": "tests"}
    assert (store.file_counts.total, store.file_counts.completed) == (1, 1)
    assert store.usage_bytes > 0

    added = await client.vector_stores.files.create_and_poll(
        file_id=bakery.id, vector_store_id=store.id, attributes={"topic": "bread"}
    )
    assert (added.id, added.object, added.status) == (bakery.id, "vector_store.file", "completed")
    assert (added.vector_store_id, added.last_error, added.attributes) == (
        store.id,
        None,
        {"topic": "bread"},
    )
    fetched = await client.vector_stores.retrieve(store.id)
    assert (fetched.file_counts.total, fetched.file_counts.completed) == (2, 2)

    listed = [entry.id async for entry in client.vector_stores.files.list(store.id)]
    assert sorted(listed) == sorted([volcano.id, bakery.id])
    assert (await client.vector_stores.files.retrieve(bakery.id, vector_store_id=store.id)).id

    renamed = await client.vector_stores.update(store.id, name="Renamed")
    assert renamed.name == "Renamed"
    assert store.id in [entry.id async for entry in client.vector_stores.list()]

    removed = await client.vector_stores.files.delete(bakery.id, vector_store_id=store.id)
    assert (removed.id, removed.deleted) == (bakery.id, True)
    counts = (await client.vector_stores.retrieve(store.id)).file_counts
    assert (counts.total, counts.completed) == (1, 1)
    # Removed from the store, the file itself stays.
    assert (await client.files.retrieve(bakery.id)).id == bakery.id

    # Deleting a file removes it from every store.
    await client.files.delete(volcano.id)
    assert (await client.vector_stores.retrieve(store.id)).file_counts.total == 0

    deleted = await client.vector_stores.delete(store.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (store.id, "vector_store.deleted", True)
    with pytest.raises(openai.NotFoundError):
        await client.vector_stores.retrieve(store.id)
    # Deleting the store does not delete its files.
    assert (await client.files.retrieve(bakery.id)).id == bakery.id


async def test_file_batches_upload_and_poll(api_url):
    client = make_client(api_url)
    store = await client.vector_stores.create(name="Batch")
    batch = await client.vector_stores.file_batches.upload_and_poll(
        store.id,
        files=[
            ("volcanoes.md", VOLCANO_NOTES.encode()),
            ("bakery.md", BAKERY_GUIDE.encode()),
            ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        ],
        poll_interval_ms=20,
    )
    assert batch.id.startswith("vsfb_")
    assert (batch.object, batch.status, batch.vector_store_id) == (
        "vector_store.files_batch",
        "completed",
        store.id,
    )
    counts = batch.file_counts
    assert (counts.total, counts.completed, counts.failed, counts.in_progress) == (3, 2, 1, 0)
    failed = [
        entry
        async for entry in client.vector_stores.file_batches.list_files(
            batch.id, vector_store_id=store.id, filter="failed"
        )
    ]
    assert len(failed) == 1
    assert failed[0].last_error.code == "unsupported_file"
    assert "photo.png" in failed[0].last_error.message

    again = await client.vector_stores.file_batches.retrieve(batch.id, vector_store_id=store.id)
    assert again.file_counts.total == 3
    store_counts = (await client.vector_stores.retrieve(store.id)).file_counts
    assert (store_counts.total, store_counts.completed, store_counts.failed) == (3, 2, 1)


@pytest.mark.parametrize(
    ("name", "data", "code", "reason"),
    [
        ("blob.bin", b"\x00\x01\x02\x03binary", "unsupported_file", "binary"),
        ("notes.txt", "café".encode("latin-1"), "invalid_file", "not UTF-8 text"),
        ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", "invalid_file", "PDF"),
        ("empty.md", b"   \n\n ", "invalid_file", "contains no text"),
    ],
)
async def test_unreadable_files_fail_with_a_reason(api_url, name, data, code, reason):
    client = make_client(api_url)
    store = await client.vector_stores.create(name="Unreadable")
    file = await _upload(client, name, data)
    entry = await client.vector_stores.files.create_and_poll(
        file_id=file.id, vector_store_id=store.id
    )
    assert entry.status == "failed"
    assert entry.last_error.code == code
    assert reason in entry.last_error.message and name in entry.last_error.message
    counts = (await client.vector_stores.retrieve(store.id)).file_counts
    assert (counts.failed, counts.completed) == (1, 0)


async def test_pdf_text_is_indexed_and_searchable(api_url):
    client = make_client(api_url)
    pdf = minimal_pdf(
        [
            "Quarterly report of the Lighthouse Company.",
            "The keeper climbs 217 steps to reach the lamp every evening.",
        ]
    )
    file = await _upload(client, "report.pdf", pdf)
    store = await client.vector_stores.create(name="PDF", file_ids=[file.id])
    assert store.file_counts.completed == 1
    content = await client.vector_stores.files.content(file.id, vector_store_id=store.id)
    assert "climbs 217 steps" in " ".join(part.text for part in content.data)

    page = await client.vector_stores.search(
        store.id, query="How many steps does the keeper climb?"
    )
    (hit,) = page.data
    assert (hit.file_id, hit.filename) == (file.id, "report.pdf")
    assert "217 steps" in hit.content[0].text


async def test_search_ranks_the_file_that_answers_first(api_url):
    client = make_client(api_url)
    volcano = await _upload(client, "volcanoes.md", VOLCANO_NOTES.encode())
    bakery = await _upload(client, "bakery.md", BAKERY_GUIDE.encode())
    store = await client.vector_stores.create(name="Search", file_ids=[volcano.id, bakery.id])

    page = await client.vector_stores.search(store.id, query="What temperature do loaves bake at?")
    results = list(page.data)
    assert results[0].file_id == bakery.id
    assert 0 < results[0].score < 1
    assert "250 degrees" in results[0].content[0].text

    nothing = await client.vector_stores.search(store.id, query="the of and what")
    assert list(nothing.data) == []
    with pytest.raises(openai.BadRequestError):
        await client.vector_stores.search(store.id, query="")


async def test_unknown_ids_answer_404(api_url):
    client = make_client(api_url)
    with pytest.raises(openai.NotFoundError):
        await client.vector_stores.retrieve("vs_missing")
    store = await client.vector_stores.create(name="Empty")
    with pytest.raises(openai.NotFoundError):
        await client.vector_stores.files.create(vector_store_id=store.id, file_id="file-missing")
    with pytest.raises(openai.NotFoundError):
        await client.vector_stores.files.retrieve("file-missing", vector_store_id=store.id)
