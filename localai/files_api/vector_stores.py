"""Vector stores: their reads and writes, indexing a file when it is added, and search.

Indexing is synchronous: a file added to a store is read, chunked (retrieval.documents) and stored
before the request answers, so it is `completed` (or `failed`, with the reason) at once and
the SDK's polling helpers return on their first look.
"""

import asyncio
from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from localai.files_api.files import file_content, file_get
from localai.http.errors import not_found
from localai.models import (
    Chunk,
    VectorStore,
    VectorStoreFile,
    VectorStoreFileBatch,
    unix_now,
)
from retrieval.documents import UnreadableFile, chunk_text, extract_text
from retrieval.ranking import rank, unit_score

DEFAULT_CHUNKING_STRATEGY = {
    "type": "static",
    # What the local chunker does, in the API's words: about 800 characters with 200 of
    # overlap (the API counts tokens; a token is about four characters of English).
    "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50},
}
DEFAULT_MAX_RESULTS = 20


@dataclass(frozen=True)
class SearchResult:
    file_id: str
    filename: str
    score: float  # in [0, 1), see retrieval.ranking.unit_score
    text: str  # the chunk
    attributes: dict


# --- reads ---------------------------------------------------------------------------------


def entries_with_files():
    """Vector store files with their file (its bytes left in the database) and store."""
    return VectorStoreFile.objects.select_related("file", "vector_store").defer("file__content")


async def vector_store_get(public_id: str, param: str | None = None) -> VectorStore:
    try:
        return await VectorStore.objects.aget(public_id=public_id)
    except VectorStore.DoesNotExist:
        raise not_found("vector store", public_id, param) from None


async def vector_store_file_get(vector_store: VectorStore, file_id: str) -> VectorStoreFile:
    try:
        return await entries_with_files().aget(vector_store=vector_store, file__public_id=file_id)
    except VectorStoreFile.DoesNotExist:
        raise not_found("file", file_id) from None


async def file_batch_get(vector_store: VectorStore, public_id: str) -> VectorStoreFileBatch:
    try:
        return await VectorStoreFileBatch.objects.select_related("vector_store").aget(
            vector_store=vector_store, public_id=public_id
        )
    except VectorStoreFileBatch.DoesNotExist:
        raise not_found("vector store file batch", public_id) from None


async def file_counts(files) -> dict:
    """The API's `file_counts` of a queryset of vector store files."""
    counts = await files.aaggregate(
        total=Count("pk"),
        completed=Count("pk", filter=Q(status="completed")),
        failed=Count("pk", filter=Q(status="failed")),
        in_progress=Count("pk", filter=Q(status="in_progress")),
        cancelled=Count("pk", filter=Q(status="cancelled")),
    )
    return counts


async def usage_bytes(vector_store: VectorStore) -> int:
    total = await VectorStoreFile.objects.filter(vector_store=vector_store).aaggregate(
        total=Sum("usage_bytes")
    )
    return total["total"] or 0


async def search(
    *,
    vector_store_ids: list[str],
    query: str,
    max_num_results: int = DEFAULT_MAX_RESULTS,
    score_threshold: float = 0.0,
) -> list[SearchResult]:
    """The chunks of the stores' indexed files that match `query`, best first (BM25 over
    all the chunks searched). Unknown store ids are ignored."""
    chunks = [
        chunk
        async for chunk in Chunk.objects.filter(
            vector_store_file__vector_store__public_id__in=vector_store_ids,
            vector_store_file__status="completed",
        )
        .select_related("vector_store_file__file")
        .defer("vector_store_file__file__content")
        .order_by("vector_store_file__pk", "position")
    ]
    results = []
    ranked = await asyncio.to_thread(rank, query, [chunk.text for chunk in chunks])
    for index, raw_score in ranked:
        score = unit_score(raw_score)
        if score < score_threshold:
            continue
        entry = chunks[index].vector_store_file
        results.append(
            SearchResult(
                file_id=entry.file.public_id,
                filename=entry.file.filename,
                score=score,
                text=chunks[index].text,
                attributes=entry.attributes,
            )
        )
        if len(results) >= max_num_results:
            break
    if vector_store_ids:
        await VectorStore.objects.filter(public_id__in=vector_store_ids).aupdate(
            last_active_at=unix_now()
        )
    return results


async def has_indexed_files(vector_store_ids: list[str]) -> bool:
    return await VectorStoreFile.objects.filter(
        vector_store__public_id__in=vector_store_ids, status="completed"
    ).aexists()


# --- writes --------------------------------------------------------------------------------


async def vector_store_create(
    *, name: str, metadata: dict, expires_after: dict | None, file_ids: list[str]
) -> VectorStore:
    for file_id in file_ids:
        await file_get(file_id, param="file_ids")
    vector_store = await VectorStore.objects.acreate(
        name=name, metadata=metadata, expires_after=expires_after
    )
    for file_id in file_ids:
        await vector_store_file_add(vector_store=vector_store, file_id=file_id)
    return vector_store


async def vector_store_update(*, vector_store: VectorStore, fields: dict) -> VectorStore:
    for name, value in fields.items():
        setattr(vector_store, name, value)
    await vector_store.asave(update_fields=list(fields) or None)
    return vector_store


async def vector_store_delete(*, vector_store: VectorStore) -> None:
    # Its files stay in the Files API, as in the real API; their chunks go.
    await vector_store.adelete()


async def vector_store_file_add(
    *,
    vector_store: VectorStore,
    file_id: str,
    attributes: dict | None = None,
    chunking_strategy: dict | None = None,
    batch: VectorStoreFileBatch | None = None,
) -> VectorStoreFile:
    """Adds a file to a store and indexes it. Adding a file twice indexes it again."""
    file = await file_get(file_id, param="file_id")
    entry, _ = await VectorStoreFile.objects.aupdate_or_create(
        vector_store=vector_store,
        file=file,
        defaults={
            "status": "in_progress",
            "last_error": None,
            "attributes": attributes or {},
            "chunking_strategy": chunking_strategy or DEFAULT_CHUNKING_STRATEGY,
            "batch": batch,
        },
    )
    await Chunk.objects.filter(vector_store_file=entry).adelete()
    content = await file_content(file)
    try:
        # Reading a large PDF takes a while: not on the event loop.
        chunks = await asyncio.to_thread(_chunks_of, file.filename, content)
    except UnreadableFile as exc:
        entry.status = "failed"
        entry.last_error = {"code": exc.code, "message": exc.message}
        entry.usage_bytes = 0
    else:
        await Chunk.objects.abulk_create(
            Chunk(vector_store_file=entry, position=position, text=chunk)
            for position, chunk in enumerate(chunks)
        )
        entry.status = "completed"
        entry.usage_bytes = sum(len(chunk.encode()) for chunk in chunks)
    entry.file = file
    await entry.asave(update_fields=["status", "last_error", "usage_bytes"])
    await VectorStore.objects.filter(pk=vector_store.pk).aupdate(last_active_at=unix_now())
    return entry


def _chunks_of(filename: str, content: bytes) -> list[str]:
    return chunk_text(extract_text(filename=filename, content=content))


async def vector_store_file_update(*, entry: VectorStoreFile, attributes: dict) -> VectorStoreFile:
    entry.attributes = attributes
    await entry.asave(update_fields=["attributes"])
    return entry


async def vector_store_file_remove(*, entry: VectorStoreFile) -> None:
    # The file itself stays in the Files API.
    await entry.adelete()


async def file_batch_create(
    *, vector_store: VectorStore, files: list[dict], chunking_strategy: dict | None
) -> VectorStoreFileBatch:
    """`files` are {"file_id", "attributes"?} entries; every id must exist."""
    for entry in files:
        await file_get(entry["file_id"], param="file_ids")
    batch = await VectorStoreFileBatch.objects.acreate(vector_store=vector_store)
    for entry in files:
        await vector_store_file_add(
            vector_store=vector_store,
            file_id=entry["file_id"],
            attributes=entry.get("attributes"),
            chunking_strategy=entry.get("chunking_strategy") or chunking_strategy,
            batch=batch,
        )
    return batch
