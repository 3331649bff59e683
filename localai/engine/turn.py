"""What a turn of the deterministic model does next, decided once for both protocols.

After tool outputs it quotes them; otherwise the first that applies of: call the functions
its message's `call` lines name (when function tools are offered and `tool_choice` is not
"none"), run the message's code block (code interpreter), search the offered files (file
search), reply to the message. Each protocol shows the chosen step with its own events:
`TurnExecution` dispatches it to the protocol's handler.
"""

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from localai.engine.code_model import code_to_run
from localai.engine.execution import Execution
from localai.engine.model import (
    ToolCallRequest,
    reply_tokens,
    tool_call_requests,
    tool_reply_tokens,
)


@dataclass(frozen=True)
class Reply:
    tokens: list[str]


@dataclass(frozen=True)
class CallFunctions:
    calls: list[ToolCallRequest]


@dataclass(frozen=True)
class RunCode:
    code: str


@dataclass(frozen=True)
class SearchFiles:
    # The protocol's search (tools.file_search.FileSearch), found by its `file_search`.
    search: Any


Step = Reply | CallFunctions | RunCode | SearchFiles


async def next_step(
    *,
    input_text: str,
    tools: list[dict],
    tool_choice: object,
    tool_outputs: Sequence[tuple[str, str]] | None,
    file_search: Callable[[], Awaitable[Any | None]],
    history: Sequence[str] = (),
) -> Step:
    """`tool_outputs` are the (function name, output) pairs the client sent back, if any;
    `file_search` makes the search the protocol offers, or answers None (not offered, or
    nothing indexed); `history` the conversation's earlier user messages (for
    `[[history]]`)."""
    if tool_outputs is not None:
        return Reply(tool_reply_tokens(input_text, tool_outputs))
    calls = tool_call_requests(input_text, tools) if tool_choice != "none" else []
    if calls:
        return CallFunctions(calls)
    code = code_to_run(tool_choice=tool_choice, tools=tools, input_text=input_text)
    if code is not None:
        return RunCode(code)
    search = await file_search()
    if search is not None:
        return SearchFiles(search)
    return Reply(reply_tokens(input_text, history))


class TurnExecution(Execution):
    """An execution that takes a step of `next_step`; subclasses show each kind of step."""

    def _reply(self, tokens: list[str]) -> AsyncIterator[Any]:
        raise NotImplementedError

    def _call_functions(self, calls: list[ToolCallRequest]) -> AsyncIterator[Any]:
        raise NotImplementedError

    def _run_code(self, code: str) -> AsyncIterator[Any]:
        raise NotImplementedError

    def _search_files(self, search: Any) -> AsyncIterator[Any]:
        raise NotImplementedError

    async def _file_search(self) -> Any | None:
        """The file search the protocol offers this turn, or None."""
        raise NotImplementedError

    async def _turn(
        self,
        record: Any,
        tool_outputs: Sequence[tuple[str, str]] | None,
        history: Sequence[str] = (),
    ) -> AsyncIterator[Any]:
        """The events of the step `record` (a Run, a Response or a chat completion: its input
        text, tools and tool_choice) takes next."""
        step = await next_step(
            input_text=record.input_text,
            tools=record.tools,
            tool_choice=record.tool_choice,
            tool_outputs=tool_outputs,
            file_search=self._file_search,
            history=history,
        )
        async with aclosing(self._take(step)) as events:
            async for event in events:
                yield event

    async def _take(self, step: Step) -> AsyncIterator[Any]:
        """The step's events; each one ends the turn (or leaves it waiting for tool outputs)."""
        if isinstance(step, CallFunctions):
            events = self._call_functions(step.calls)
        elif isinstance(step, RunCode):
            events = self._run_code(step.code)
        elif isinstance(step, SearchFiles):
            events = self._search_files(step.search)
        else:
            events = self._reply(step.tokens)
        # aclosing(): closing this generator must close the inner one at once.
        async with aclosing(events) as inner:
            async for event in inner:
                yield event
