"""/v1/vector_stores: stores, their files, file batches, and search."""

from django.db.models import F
from django.http import HttpRequest, JsonResponse

from localai.files_api import vector_stores
from localai.files_api.objects import (
    file_batch_object,
    search_results_page,
    vector_store_file_object,
    vector_store_object,
)
from localai.files_api.vector_stores import DEFAULT_CHUNKING_STRATEGY, DEFAULT_MAX_RESULTS
from localai.http import params
from localai.http.objects import deleted_object
from localai.http.pagination import paginate
from localai.http.params import read_json
from localai.models import VectorStore, VectorStoreFile

FILE_STATUSES = ("in_progress", "completed", "failed", "cancelled")


def _string_list(body: dict, param: str) -> list[str]:
    value = body.get(param)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise params.invalid(param, f"Invalid '{param}': expected an array of strings.")
    return value


def _chunking_strategy(body: dict) -> dict | None:
    """A static strategy is kept as given; `auto` (or none) is the local chunker's."""
    value = body.get("chunking_strategy")
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("type") not in ("auto", "static"):
        raise params.invalid("chunking_strategy", "Invalid 'chunking_strategy'.")
    if value["type"] == "static":
        static = value.get("static")
        if not isinstance(static, dict):
            raise params.invalid("chunking_strategy", "Invalid 'chunking_strategy.static'.")
        return {"type": "static", "static": static}
    return DEFAULT_CHUNKING_STRATEGY


def _attributes(body: dict) -> dict | None:
    value = body.get("attributes")
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > 16:
        raise params.invalid("attributes", "Invalid 'attributes': at most 16 pairs.")
    return value


def _expires_after(body: dict) -> dict | None:
    value = body.get("expires_after")
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or value.get("anchor") != "last_active_at"
        or not isinstance(value.get("days"), int)
        or not 1 <= value["days"] <= 365
    ):
        raise params.invalid("expires_after", "Invalid 'expires_after'.")
    return {"anchor": "last_active_at", "days": value["days"]}


async def _render(vector_store: VectorStore) -> dict:
    counts = await vector_stores.file_counts(
        VectorStoreFile.objects.filter(vector_store=vector_store)
    )
    return vector_store_object(vector_store, counts, await vector_stores.usage_bytes(vector_store))


async def vector_store_create(request: HttpRequest) -> JsonResponse:
    body = read_json(request)
    vector_store = await vector_stores.vector_store_create(
        name=params.optional_string(body, "name", max_length=256) or "",
        metadata=params.metadata(body) or {},
        expires_after=_expires_after(body),
        file_ids=_string_list(body, "file_ids"),
    )
    return JsonResponse(await _render(vector_store))


async def vector_store_list(request: HttpRequest) -> JsonResponse:
    # Rendering a store counts its files (a query), so the page renders after paging.
    stores = {}

    def remember(store: VectorStore) -> dict:
        stores[store.public_id] = store
        return {"id": store.public_id}

    page = await paginate(VectorStore.objects.all(), request, remember)
    page["data"] = [await _render(stores[row["id"]]) for row in page["data"]]
    return JsonResponse(page)


async def vector_store_retrieve(request: HttpRequest, vector_store_id: str) -> JsonResponse:
    return JsonResponse(await _render(await vector_stores.vector_store_get(vector_store_id)))


async def vector_store_update(request: HttpRequest, vector_store_id: str) -> JsonResponse:
    vector_store = await vector_stores.vector_store_get(vector_store_id)
    body = read_json(request)
    fields = {}
    if "name" in body:
        fields["name"] = params.optional_string(body, "name", max_length=256) or ""
    if "metadata" in body:
        fields["metadata"] = params.metadata(body) or {}
    if "expires_after" in body:
        fields["expires_after"] = _expires_after(body)
    vector_store = await vector_stores.vector_store_update(vector_store=vector_store, fields=fields)
    return JsonResponse(await _render(vector_store))


async def vector_store_delete(request: HttpRequest, vector_store_id: str) -> JsonResponse:
    vector_store = await vector_stores.vector_store_get(vector_store_id)
    await vector_stores.vector_store_delete(vector_store=vector_store)
    return JsonResponse(deleted_object(vector_store_id, "vector_store"))


async def vector_store_search(request: HttpRequest, vector_store_id: str) -> JsonResponse:
    vector_store = await vector_stores.vector_store_get(vector_store_id)
    body = read_json(request)
    query = body.get("query")
    if isinstance(query, list) and all(isinstance(item, str) for item in query):
        query = " ".join(query)
    if not isinstance(query, str) or not query.strip():
        raise params.missing("query")
    max_results = body.get("max_num_results", DEFAULT_MAX_RESULTS)
    if (
        isinstance(max_results, bool)
        or not isinstance(max_results, int)
        or not 1 <= max_results <= 50
    ):
        raise params.invalid("max_num_results", "Invalid 'max_num_results': expected 1 to 50.")
    ranking = body.get("ranking_options") or {}
    threshold = ranking.get("score_threshold", 0.0) if isinstance(ranking, dict) else 0.0
    results = await vector_stores.search(
        vector_store_ids=[vector_store.public_id],
        query=query,
        max_num_results=max_results,
        score_threshold=float(threshold or 0.0),
    )
    return JsonResponse(search_results_page(query, results))


# --- files of a store ----------------------------------------------------------------------


def _entries(**filters):
    # The API pages vector store files by their file id.
    return (
        vector_stores.entries_with_files()
        .annotate(public_id=F("file__public_id"))
        .filter(**filters)
    )


async def _entry_get(vector_store_id: str, file_id: str) -> VectorStoreFile:
    vector_store = await vector_stores.vector_store_get(vector_store_id)
    return await vector_stores.vector_store_file_get(vector_store, file_id)


def _status_filter(request: HttpRequest, queryset):
    status = request.GET.get("filter")
    if status is None:
        return queryset
    if status not in FILE_STATUSES:
        raise params.invalid(
            "filter", f"Invalid 'filter': expected one of {', '.join(FILE_STATUSES)}."
        )
    return queryset.filter(status=status)


async def vector_store_file_create(request: HttpRequest, vector_store_id: str) -> JsonResponse:
    vector_store = await vector_stores.vector_store_get(vector_store_id)
    body = read_json(request)
    file_id = params.optional_string(body, "file_id")
    if not file_id:
        raise params.missing("file_id")
    entry = await vector_stores.vector_store_file_add(
        vector_store=vector_store,
        file_id=file_id,
        attributes=_attributes(body),
        chunking_strategy=_chunking_strategy(body),
    )
    entry.vector_store = vector_store
    return JsonResponse(vector_store_file_object(entry))


async def vector_store_file_list(request: HttpRequest, vector_store_id: str) -> JsonResponse:
    vector_store = await vector_stores.vector_store_get(vector_store_id)
    queryset = _status_filter(request, _entries(vector_store=vector_store))
    return JsonResponse(await paginate(queryset, request, vector_store_file_object))


async def vector_store_file_retrieve(
    request: HttpRequest, vector_store_id: str, file_id: str
) -> JsonResponse:
    entry = await _entry_get(vector_store_id, file_id)
    return JsonResponse(vector_store_file_object(entry))


async def vector_store_file_update(
    request: HttpRequest, vector_store_id: str, file_id: str
) -> JsonResponse:
    entry = await _entry_get(vector_store_id, file_id)
    attributes = _attributes(read_json(request)) or {}
    entry = await vector_stores.vector_store_file_update(entry=entry, attributes=attributes)
    return JsonResponse(vector_store_file_object(entry))


async def vector_store_file_delete(
    request: HttpRequest, vector_store_id: str, file_id: str
) -> JsonResponse:
    entry = await _entry_get(vector_store_id, file_id)
    await vector_stores.vector_store_file_remove(entry=entry)
    return JsonResponse(deleted_object(file_id, "vector_store.file"))


async def vector_store_file_content(
    request: HttpRequest, vector_store_id: str, file_id: str
) -> JsonResponse:
    """The file's parsed text, chunk by chunk, as the API's content page."""
    entry = await _entry_get(vector_store_id, file_id)
    data = [
        {"type": "text", "text": chunk.text} async for chunk in entry.chunks.order_by("position")
    ]
    return JsonResponse(
        {
            "object": "vector_store.file_content.page",
            "data": data,
            "has_more": False,
            "next_page": None,
        }
    )


# --- file batches --------------------------------------------------------------------------


def _batch_files(body: dict) -> list[dict]:
    """The batch's files: `file_ids` (with the shared `attributes`) or `files` entries."""
    entries = []
    attributes = _attributes(body)
    for file_id in _string_list(body, "file_ids"):
        entries.append({"file_id": file_id, "attributes": attributes})
    files = body.get("files")
    if files is not None:
        if not isinstance(files, list):
            raise params.invalid("files", "Invalid 'files': expected an array.")
        for index, item in enumerate(files):
            if not isinstance(item, dict) or not isinstance(item.get("file_id"), str):
                raise params.missing(f"files[{index}].file_id")
            entries.append(
                {
                    "file_id": item["file_id"],
                    "attributes": _attributes(item),
                    "chunking_strategy": _chunking_strategy(item),
                }
            )
    if not entries:
        raise params.missing("file_ids")
    return entries


async def _render_batch(batch) -> dict:
    counts = await vector_stores.file_counts(VectorStoreFile.objects.filter(batch=batch))
    return file_batch_object(batch, counts)


async def file_batch_create(request: HttpRequest, vector_store_id: str) -> JsonResponse:
    vector_store = await vector_stores.vector_store_get(vector_store_id)
    body = read_json(request)
    batch = await vector_stores.file_batch_create(
        vector_store=vector_store,
        files=_batch_files(body),
        chunking_strategy=_chunking_strategy(body),
    )
    batch.vector_store = vector_store
    return JsonResponse(await _render_batch(batch))


async def file_batch_retrieve(
    request: HttpRequest, vector_store_id: str, batch_id: str
) -> JsonResponse:
    vector_store = await vector_stores.vector_store_get(vector_store_id)
    batch = await vector_stores.file_batch_get(vector_store, batch_id)
    return JsonResponse(await _render_batch(batch))


async def file_batch_cancel(
    request: HttpRequest, vector_store_id: str, batch_id: str
) -> JsonResponse:
    # Nothing to stop: a batch is indexed before its creation answers.
    return await file_batch_retrieve(request, vector_store_id, batch_id)


async def file_batch_file_list(
    request: HttpRequest, vector_store_id: str, batch_id: str
) -> JsonResponse:
    vector_store = await vector_stores.vector_store_get(vector_store_id)
    batch = await vector_stores.file_batch_get(vector_store, batch_id)
    queryset = _status_filter(request, _entries(batch=batch))
    return JsonResponse(await paginate(queryset, request, vector_store_file_object))
