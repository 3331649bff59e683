"""The file_search tool as the deterministic model uses it, for both protocols.

A file search ranks the chunks of the offered vector stores against the user's message
(vector_stores.search, BM25), then picks the passages the reply quotes: the best results,
at most MAX_PASSAGES, each with a BM25 score at least MIN_RELATIVE_SCORE of the best one's,
one quote per distinct passage. How the reply reads is model.file_search_reply.
"""

from dataclasses import dataclass

from localai.engine.model import Passage, citation_marker, parse_directives
from localai.engine.token_stream import Annotate, annotate_tokens
from localai.files_api.files import file_get
from localai.files_api.vector_stores import (
    DEFAULT_MAX_RESULTS,
    SearchResult,
    has_indexed_files,
    search,
    vector_store_create,
    vector_store_file_add,
)
from localai.http.params import invalid
from localai.models import Assistant, Thread, VectorStore
from retrieval.ranking import bm25_score, passage_quote

MAX_PASSAGES = 3
# A result much weaker than the best one is not worth quoting (it shares a word or two).
MIN_RELATIVE_SCORE = 0.5
QUOTE_CHARS = 400
# The ranker the Assistants API reports (the Responses API names none in its item).
ASSISTANTS_RANKER = "default_2024_08_21"
ASSISTANTS_INCLUDE = "step_details.tool_calls[*].file_search.results[*].content"
RESPONSES_INCLUDE = "file_search_call.results"


@dataclass(frozen=True)
class FileSearch:
    query: str
    results: list[SearchResult]
    passages: list[Passage]
    score_threshold: float


def file_search_tool(tools: list[dict]) -> dict | None:
    for tool in tools:
        if isinstance(tool, dict) and tool.get("type") == "file_search":
            return tool
    return None


def quoted_passages(query: str, results: list[SearchResult]) -> list[Passage]:
    passages: list[Passage] = []
    if not results:
        return passages
    best = bm25_score(results[0].score)
    for index, result in enumerate(results):
        if len(passages) == MAX_PASSAGES:
            break
        if bm25_score(result.score) < best * MIN_RELATIVE_SCORE:
            break
        quote = passage_quote(result.text, query, QUOTE_CHARS)
        # Overlapping chunks can yield the same passage twice.
        if any(quote in earlier.quote or earlier.quote in quote for earlier in passages):
            continue
        passages.append(Passage(result.file_id, result.filename, quote, index))
    return passages


async def file_search_make(
    *,
    vector_store_ids: list[str],
    input_text: str,
    max_num_results: int | None = None,
    score_threshold: float | None = None,
) -> FileSearch | None:
    """The search a message gets, or None when the stores hold no indexed file (then the
    model answers as it would without the tool)."""
    if not vector_store_ids or not await has_indexed_files(vector_store_ids):
        return None
    query, _ = parse_directives(input_text)
    threshold = score_threshold or 0.0
    results = await search(
        vector_store_ids=vector_store_ids,
        query=query,
        max_num_results=max_num_results or DEFAULT_MAX_RESULTS,
        score_threshold=threshold,
    )
    return FileSearch(query, results, quoted_passages(query, results), threshold)


# --- Assistants API ------------------------------------------------------------------------


def _store_ids(tool_resources: dict | None) -> list[str]:
    file_search = (tool_resources or {}).get("file_search") or {}
    ids = file_search.get("vector_store_ids") or []
    return [store_id for store_id in ids if isinstance(store_id, str)]


async def run_vector_store_ids(*, assistant_id: str, thread_id: int) -> list[str]:
    """The union of the assistant's and the thread's file search stores."""
    assistant = await Assistant.objects.filter(public_id=assistant_id).afirst()
    thread = await Thread.objects.filter(pk=thread_id).afirst()
    ids = _store_ids(assistant.tool_resources if assistant else None)
    ids += _store_ids(thread.tool_resources if thread else None)
    return list(dict.fromkeys(ids))


def assistants_tool_options(tool: dict) -> tuple[int | None, float | None]:
    """`max_num_results` and `ranking_options.score_threshold` of an Assistants tool."""
    options = tool.get("file_search") if isinstance(tool.get("file_search"), dict) else {}
    ranking = options.get("ranking_options") or {}
    return options.get("max_num_results"), ranking.get("score_threshold")


def assistants_tool_call(call_id: str, search: FileSearch | None, *, with_content: bool) -> dict:
    """A run step's file_search tool call; no search yet: the call as it starts."""
    details: dict = {}
    if search is not None:
        details = {
            "ranking_options": {
                "ranker": ASSISTANTS_RANKER,
                "score_threshold": search.score_threshold,
            },
            "results": [
                {
                    "file_id": result.file_id,
                    "file_name": result.filename,
                    "score": result.score,
                    **(
                        {"content": [{"type": "text", "text": result.text}]} if with_content else {}
                    ),
                }
                for result in search.results
            ]
            if with_content
            else [],
        }
    return {"id": call_id, "type": "file_search", "file_search": details}


def assistants_citations(citations: dict[int, Passage]) -> Annotate:
    """A marker token's file_citation annotation, spanning the marker."""

    def citation(passage: Passage, start: int, end: int) -> dict:
        marker = citation_marker(passage)
        return {
            "type": "file_citation",
            "text": marker,
            "start_index": start,
            "end_index": start + len(marker),
            "file_citation": {"file_id": passage.file_id},
        }

    return annotate_tokens(citations, citation)


# --- Responses API -------------------------------------------------------------------------


def responses_tool_options(tool: dict) -> tuple[list[str], int | None, float | None]:
    ranking = tool.get("ranking_options") or {}
    return (
        tool.get("vector_store_ids") or [],
        tool.get("max_num_results"),
        ranking.get("score_threshold"),
    )


def responses_call_body(search: FileSearch | None, query: str, *, status: str, with_results: bool):
    results = None
    if with_results and search is not None:
        results = [
            {
                "file_id": result.file_id,
                "filename": result.filename,
                "score": result.score,
                "text": result.text,
                "attributes": result.attributes,
            }
            for result in search.results
        ]
    return {
        "type": "file_search_call",
        "status": status,
        "queries": [query],
        "results": results,
    }


def responses_citations(citations: dict[int, Passage]) -> Annotate:
    """The file_citation annotation that follows a quoted passage's last token."""

    def citation(passage: Passage, start: int, end: int) -> dict:
        return {
            "type": "file_citation",
            "file_id": passage.file_id,
            "filename": passage.filename,
            "index": end,
        }

    return annotate_tokens(citations, citation)


async def file_search_resources(tool_resources: object, param: str = "tool_resources") -> dict:
    """An assistant's or thread's `tool_resources` with its file_search part checked, and
    the `vector_stores` helper ({"file_ids": [...]} entries: stores made on the spot)
    turned into `vector_store_ids`, as the real API does."""
    if not tool_resources:
        return {}
    if not isinstance(tool_resources, dict):
        raise invalid(param, f"Invalid '{param}': expected an object.")
    file_search = tool_resources.get("file_search")
    if file_search is None:
        return tool_resources
    where = f"{param}.file_search"
    if not isinstance(file_search, dict):
        raise invalid(where, f"Invalid '{where}': expected an object.")
    store_ids = file_search.get("vector_store_ids") or []
    if not isinstance(store_ids, list) or not all(isinstance(item, str) for item in store_ids):
        raise invalid(f"{where}.vector_store_ids", f"Invalid '{where}.vector_store_ids'.")
    helpers = file_search.get("vector_stores") or []
    if not isinstance(helpers, list) or not all(isinstance(item, dict) for item in helpers):
        raise invalid(f"{where}.vector_stores", f"Invalid '{where}.vector_stores'.")
    for helper in helpers:
        file_ids = helper.get("file_ids") or []
        if not isinstance(file_ids, list) or not all(isinstance(item, str) for item in file_ids):
            raise invalid(f"{where}.vector_stores", f"Invalid '{where}.vector_stores.file_ids'.")
        metadata = helper.get("metadata") if isinstance(helper.get("metadata"), dict) else {}
        store = await vector_store_create(
            name="", metadata=metadata, expires_after=None, file_ids=file_ids
        )
        store_ids = [*store_ids, store.public_id]
    return {**tool_resources, "file_search": {"vector_store_ids": store_ids}}


def _attached_for_search(messages: list[dict]) -> list[str]:
    file_ids = []
    for fields in messages:
        for attachment in fields.get("attachments") or []:
            tools = attachment.get("tools") if isinstance(attachment, dict) else None
            if file_search_tool(tools or []) and isinstance(attachment.get("file_id"), str):
                file_ids.append(attachment["file_id"])
    return list(dict.fromkeys(file_ids))


async def thread_attachments_index(*, thread: Thread, messages: list[dict]) -> None:
    """Files attached to messages for file_search join the thread's vector store, made on
    the spot when the thread has none (expiring 7 days after its last use), as the real
    API does. `messages` are the new messages' fields."""
    file_ids = _attached_for_search(messages)
    if not file_ids:
        return
    for file_id in file_ids:
        await file_get(file_id, param="attachments")
    store_ids = _store_ids(thread.tool_resources)
    store = await VectorStore.objects.filter(public_id__in=store_ids[:1]).afirst()
    if store is None:
        store = await vector_store_create(
            name=f"Vector store for {thread.public_id}",
            metadata={},
            expires_after={"anchor": "last_active_at", "days": 7},
            file_ids=[],
        )
        resources = dict(thread.tool_resources or {})
        resources["file_search"] = {"vector_store_ids": [store.public_id]}
        thread.tool_resources = resources
        await Thread.objects.filter(pk=thread.pk).aupdate(tool_resources=resources)
    for file_id in file_ids:
        await vector_store_file_add(vector_store=store, file_id=file_id)
