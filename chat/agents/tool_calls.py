"""Running the function calls a model asked for, shared by every protocol.

One of them may be the site's own file search, where the server has no vector stores (Chat
Completions, stateless Responses): the function `file_search`, offered beside the
assistant's own function tools and answered here. The search itself (the index of the
conversation's attachments and the assistant's knowledge) is the caller's, handed in as a
`SiteFileSearch` with the turn's resources: the agent layer reads no database. Each passage
found gets a number, `[n]` in the tool output, and the output asks the model to cite it so;
a model writes free text, so the `[n]` in its reply are looked for as it streams, and each
one that names a passage found becomes a Citation sent just before the text holding it, as
the provider path does.
"""

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from chat.tools import registry

from .definition import (
    AssistantDefinition,
    FileSearchResult,
    FoundPassage,
    SiteFileSearch,
    SiteTools,
    ToolResources,
)
from .events import Citation, TextDelta, ToolStep
from .provider_tools import search_result, search_summary

logger = logging.getLogger(__name__)

# Rounds of tool calls one reply may make before it is stopped: a model that keeps calling
# tools would otherwise never answer.
MAX_TOOL_ROUNDS = 5
TOOL_LIMIT_REASON = (
    f"The assistant called tools more than {MAX_TOOL_ROUNDS} times in one reply, "
    "so the reply was stopped."
)
# The output each call of the last allowed round gets instead of running: the API needs
# one per call, and the model is then asked to answer without tools.
TOOL_LIMIT_OUTPUT = (
    "Error: this reply reached its limit of tool calls; answer without calling tools."
)


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str

    def step(self, output: str | None = None) -> ToolStep:
        return ToolStep(self.id, self.name, self.arguments, output)


# --- The site's file search ---------------------------------------------------------------

FILE_SEARCH = "file_search"
DESCRIPTION = (
    "Searches the files of this conversation (the user's attachments and the assistant's "
    "knowledge files) and returns the most relevant passages, each numbered [n]. Use it to "
    "answer from the files; cite a passage you use by writing its number in square brackets, "
    "e.g. [1], right after the sentence it supports."
)
PARAMETERS = {
    "type": "object",
    "properties": {
        "query": {
            "type": "string",
            "description": "What to look for: the key words of the question, e.g. "
            "'expense receipts deadline'.",
        }
    },
    "required": ["query"],
    "additionalProperties": False,
}
# A search reads the index only, but the first one of a file builds its index (a long PDF
# takes a while); beyond this the model is told it failed.
SEARCH_TIMEOUT = 60.0
MAX_QUERY_CHARS = 500
# `[12]`, and the start of one cut by the end of a delta (held back until the next one).
MARKER = re.compile(r"\[(\d{1,3})\]")
PARTIAL_MARKER = re.compile(r"\[\d{0,3}$")


def chat_completions_schema() -> dict:
    return {
        "type": "function",
        "function": {"name": FILE_SEARCH, "description": DESCRIPTION, "parameters": PARAMETERS},
    }


def responses_schema() -> dict:
    return {
        "type": "function",
        "name": FILE_SEARCH,
        "description": DESCRIPTION,
        "parameters": PARAMETERS,
        "strict": False,
    }


def _query_of(arguments: str) -> str:
    """The query of a call; ValueError with what the model should read."""
    try:
        parsed = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"the arguments are not valid JSON ({exc.msg}).") from None
    query = parsed.get("query") if isinstance(parsed, dict) else None
    if not isinstance(query, str) or not query.strip():
        raise ValueError('give the words to look for as {"query": "..."}.')
    return query.strip()[:MAX_QUERY_CHARS]


class SiteSources:
    """One reply's site file search: the passages its calls found, numbered from 1 across
    the reply (a passage found again keeps its number), and the citations its text makes."""

    def __init__(self, search: SiteFileSearch):
        self._search = search
        self.passages: dict[int, FoundPassage] = {}
        self._numbers: dict[tuple[str, str], int] = {}
        self._steps: dict[str, tuple[str, dict]] = {}  # call id -> (output shown, details)
        self._cited: set[int] = set()
        self._held = ""  # the end of the text so far, when it may be the start of a marker

    @staticmethod
    def handles(call) -> bool:
        return call.name == FILE_SEARCH

    def step(self, call, output: str | None = None) -> ToolStep:
        """The call as the transcript shows it: a file search, running until answered."""
        shown, details = self._steps.get(call.id, (None, {}))
        if output is None:
            shown, details = None, {"queries": _queries(call.arguments), "results": []}
        return ToolStep(
            call.id, FILE_SEARCH, call.arguments, shown, type="file_search", details=details
        )

    async def search(self, call) -> FileSearchResult | str:
        """The result of one call, or the error text the model reads instead."""
        try:
            query = _query_of(call.arguments)
        except ValueError as exc:
            return f"Error: {exc}"
        try:
            async with asyncio.timeout(SEARCH_TIMEOUT):
                return await self._search.search(query)
        except TimeoutError:
            return f"Error: the file search did not finish within {SEARCH_TIMEOUT:g} seconds."
        except Exception:
            logger.exception("Site file search failed for %r", query)
            return "Error: the file search failed unexpectedly."

    def answer(self, call, result: FileSearchResult | str) -> str:
        """The tool output for `result` (passages numbered for this reply); the step shown
        is kept for `step`."""
        queries = _queries(call.arguments)
        if isinstance(result, str):
            self._steps[call.id] = (result, {"queries": queries, "results": [], "status": "failed"})
            return result
        numbered = [(self._number(passage), passage) for passage in result.passages]
        results = [
            search_result(file_id=p.file_id, filename=p.filename, score=p.score, text=p.text)
            for _, p in numbered
        ]
        self._steps[call.id] = (search_summary(results), {"queries": queries, "results": results})
        return _output(queries[0] if queries else "", result, numbered)

    def _number(self, passage: FoundPassage) -> int:
        key = (passage.file_id, passage.text)
        if key not in self._numbers:
            self._numbers[key] = len(self._numbers) + 1
            self.passages[self._numbers[key]] = passage
        return self._numbers[key]

    def text(self, text: str) -> list:
        """The Citations that `text` (the next piece of the reply) makes, then the text; the
        start of a marker at its end waits for the rest."""
        text, self._held = self._held + text, ""
        if held := PARTIAL_MARKER.search(text):
            text, self._held = text[: held.start()], text[held.start() :]
        return self._cited_in(text)

    def flush(self) -> list:
        """What `text` held back, once no more text follows it in this stream."""
        text, self._held = self._held, ""
        return self._cited_in(text)

    def _cited_in(self, text: str) -> list:
        if not text:
            return []
        events = []
        for match in MARKER.finditer(text):
            number = int(match[1])
            passage = self.passages.get(number)
            if passage is not None and number not in self._cited:
                self._cited.add(number)
                events.append(Citation(number, passage.file_id, passage.filename, passage.quote))
        events.append(TextDelta(text))
        return events


async def with_site_citations(events: AsyncIterator, sources: SiteSources | None) -> AsyncIterator:
    """The events, their text passed through `sources` (no change without one)."""
    if sources is None:
        async for event in events:
            yield event
        return
    async for event in events:
        if isinstance(event, TextDelta):
            for item in sources.text(event.text):
                yield item
            continue
        for item in sources.flush():
            yield item
        yield event
    for item in sources.flush():
        yield item


def _queries(arguments: str) -> list[str]:
    try:
        return [_query_of(arguments)]
    except ValueError:
        return []


def _output(query: str, result: FileSearchResult, numbered: list) -> str:
    lines = []
    if not result.files:
        lines.append("There are no readable files to search in this conversation.")
    elif not numbered:
        lines.append(f"Nothing in the files matches {query!r}. Try other words.")
    else:
        count = len(numbered)
        lines.append(
            f"{count} passage{'s' if count != 1 else ''} from the files, best first. Cite a "
            f"passage you use by its number in square brackets, e.g. [{numbered[0][0]}], right "
            "after the sentence it supports."
        )
        for number, passage in numbered:
            lines.append(f"[{number}] {passage.filename}\n{passage.text}")
    if result.unreadable:
        lines.append("These files could not be read: " + "; ".join(result.unreadable))
    return "\n\n".join(lines)


# --- A round of calls ------------------------------------------------------------------------


def site_sources(resources: ToolResources | None) -> SiteSources | None:
    """The reply's site file search, where the turn's resources hand one in."""
    search = resources.site_file_search if resources else None
    return SiteSources(search) if search is not None else None


def site_tools_of(resources: ToolResources | None) -> SiteTools | None:
    return resources.site_tools if resources else None


def call_step(
    call: ToolCall,
    site: SiteSources | None,
    output: str | None = None,
    tools: SiteTools | None = None,
) -> ToolStep:
    """The call as the transcript shows it: the site's file search as a search step, a
    site tool (MCP) as its own."""
    if site is not None and site.handles(call):
        return site.step(call, output)
    if tools is not None and tools.handles(call.name):
        return tools.step(call, output)
    return call.step(output)


async def run_tool_calls(
    calls: list[ToolCall],
    definition: AssistantDefinition,
    site: SiteSources | None = None,
    tools: SiteTools | None = None,
) -> list[str]:
    """The outputs of the calls, in order; only the assistant's own tools run, the site's
    file search where `site` is given, and the site tools in `tools`."""

    async def run(call: ToolCall):
        if site is not None and site.handles(call):
            return await site.search(call)
        if tools is not None and tools.handles(call.name):
            return await tools.run(call)
        return await registry.call(call.name, call.arguments, allowed=definition.function_tools)

    results = await asyncio.gather(*(run(call) for call in calls))
    # Numbered in the order of the calls, whichever search finished first.
    return [
        site.answer(call, result) if site is not None and site.handles(call) else result
        for call, result in zip(calls, results, strict=True)
    ]
