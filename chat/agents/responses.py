"""The `responses` protocol: the Responses API, its thread in one of three places.

The definition (model, instructions, tools) lives in Django and is sent with every response;
there is nothing to create, retrieve or delete remotely. Assistant -> this definition,
run -> response, run step -> output item, and thread -> by `thread_mode`:

- `conversation`: a Conversations API conversation (OpenAI, Azure AI Foundry);
- `stored`: a chain of stored responses, each created with `previous_response_id` = the
  last (Semantic Kernel's `ResponsesAgentThread`); the thread id is the chain's head;
- `stateless`: nothing stored (`store: false`); the site sends the transcript each turn,
  up to the context budget, as for Chat Completions, and runs file search itself (no vector
  stores there either: tool_calls.py).
"""

import logging
from collections.abc import AsyncIterator

import httpx2
import openai

from .assistants import CUT_STREAM_REASON, ENDED_ERRORS
from .base import SiteDefinedAgent
from .definition import ToolResources, flat_function
from .errors import provider_error_from, provider_errors
from .events import (
    AgentResponseItem,
    Cancelled,
    Completed,
    Failed,
    Incomplete,
    RunStarted,
)
from .history import HistoryMessage, context_step, history_within
from .provider_tools import ReplySources, responses_annotation, responses_item
from .threads import (
    AgentThread,
    ChatHistoryAgentThread,
    ConversationThread,
    ResponseChainThread,
)
from .tool_calls import (
    MAX_TOOL_ROUNDS,
    TOOL_LIMIT_OUTPUT,
    TOOL_LIMIT_REASON,
    SiteSources,
    ToolCall,
    call_step,
    responses_schema,
    run_tool_calls,
    site_sources,
    site_tools_of,
    with_site_citations,
)
from .usage import ReplyUsage

logger = logging.getLogger(__name__)

INCOMPLETE_REASONS = {
    "max_output_tokens": "The reply reached its maximum length.",
    "content_filter": "The provider's content filter stopped the reply.",
}


# Output items of the provider's own tools, shown as tool steps.
PROVIDER_TOOL_ITEMS = ("file_search_call", "code_interpreter_call")
# Without these, file_search_call results and code_interpreter_call outputs come back null.
INCLUDES = {
    "file_search": "file_search_call.results",
    "code_interpreter": "code_interpreter_call.outputs",
}

# Where the thread lives (Assistant.ResponsesThread).
CONVERSATION, STORED, STATELESS = "conversation", "stored", "stateless"

CANCEL_CHECK_TIMEOUT = 10.0
CANCELLED_CALL_OUTPUT = "Error: the user stopped the reply before this tool finished."


class _ToolCallsRequested(Exception):
    """The response completed by asking for function calls: the app answers them."""

    def __init__(self, calls: list[ToolCall]):
        self.calls = calls


class OpenAIResponsesAgent(SiteDefinedAgent):
    """The same agent interface over `client.responses`, with the thread in a conversation
    (`client.conversations`), in a chain of stored responses, or on this site."""

    thread_classes = {
        CONVERSATION: ConversationThread,
        STORED: ResponseChainThread,
        STATELESS: ChatHistoryAgentThread,
    }
    thread_class = ConversationThread
    protocol = "responses"

    def __init__(self, *, client, definition, thread_mode=""):
        super().__init__(client=client, definition=definition, thread_mode=thread_mode)
        # Calls of the current response still waiting for their outputs.
        self._pending_calls: list[ToolCall] = []

    @classmethod
    def file_search_on_site(cls, thread_mode=""):
        # Stateless servers keep nothing, vector stores included.
        return thread_mode == STATELESS

    def _request(
        self,
        thread: AgentThread,
        input_items: list[dict],
        *,
        previous: str | None,
        tools_allowed: bool,
        resources: ToolResources | None,
        site: SiteSources | None = None,
    ) -> dict:
        definition = self.definition
        request = {"model": definition.model, "input": input_items, "stream": True}
        if self.thread_mode == CONVERSATION:
            request["conversation"] = thread.id
        elif self.thread_mode == STORED:
            request["store"] = True
            if previous:
                request["previous_response_id"] = previous
        else:
            request["store"] = False
        if definition.instructions:
            request["instructions"] = definition.instructions
        tools = definition.responses_tools(resources)
        if site is not None:
            tools.append(responses_schema())
        if (site_tools := site_tools_of(resources)) is not None:
            tools += [flat_function(tool) for tool in site_tools.schemas()]
        if tools:
            request["tools"] = tools
            if not tools_allowed:
                request["tool_choice"] = "none"
        include = [INCLUDES[t["type"]] for t in tools if t["type"] in INCLUDES]
        if include:
            request["include"] = include
        return request

    async def invoke_stream(
        self,
        messages: str | list[str],
        thread: AgentThread | None = None,
        *,
        resources: ToolResources | None = None,
    ) -> AsyncIterator[AgentResponseItem]:
        thread = thread or self.thread()
        if thread.id is None:
            await thread.create()
        texts = [messages] if isinstance(messages, str) else messages
        input_items = [{"type": "message", "role": "user", "content": text} for text in texts]
        if thread.site_held:
            budget = self.definition.context_budget
            kept, omitted = history_within(
                thread.history,
                instructions=self.definition.instructions,
                new_texts=texts,
                budget=budget,
            )
            input_items = [_history_item(message) for message in kept] + input_items
            if omitted:
                yield AgentResponseItem(context_step(omitted, budget), thread)
        # A chain's head before this reply: where it stays if the reply fails or is stopped
        # while its tools run (a response waiting for call outputs cannot be continued).
        head = previous = thread.id if self.thread_mode == STORED else None
        rounds = 0
        sources = ReplySources()
        site = site_sources(resources)
        site_tools = site_tools_of(resources)
        usage = ReplyUsage()
        while True:
            request = self._request(
                thread,
                input_items,
                previous=previous,
                tools_allowed=rounds < MAX_TOOL_ROUNDS,
                resources=resources,
                site=site,
            )
            async with provider_errors():
                stream = await self.client.responses.create(**request)
            self._pending_calls = []
            try:
                events = with_site_citations(
                    self._events(stream, sources, usage, site, site_tools), site
                )
                async for event in events:
                    if self.thread_mode == STORED:
                        if isinstance(event, RunStarted):
                            thread.id = event.run_id  # the chain now ends with it
                        elif isinstance(event, Failed):
                            thread.id = head
                    yield AgentResponseItem(event, thread)
                return
            except _ToolCallsRequested as requested:
                calls = self._pending_calls = requested.calls
            finally:
                await stream.close()
            rounds += 1
            if self.thread_mode == STORED:
                previous, thread.id = thread.id, head
            if rounds > MAX_TOOL_ROUNDS:
                # It called tools although the last round allowed none.
                await self._close_calls(thread, TOOL_LIMIT_OUTPUT)
                yield AgentResponseItem(Failed(TOOL_LIMIT_REASON, code="tool_limit"), thread)
                return
            if rounds == MAX_TOOL_ROUNDS:
                # Every call still gets an output (the conversation needs one per call), and
                # the next response must answer without tools.
                outputs = [TOOL_LIMIT_OUTPUT] * len(calls)
            else:
                outputs = await run_tool_calls(calls, self.definition, site, site_tools)
            for call, output in zip(calls, outputs, strict=True):
                yield AgentResponseItem(call_step(call, site, output, site_tools), thread)
            answers = [
                {"type": "function_call_output", "call_id": call.id, "output": output}
                for call, output in zip(calls, outputs, strict=True)
            ]
            if self.thread_mode == STATELESS:
                # Nothing is stored: the next response gets the whole exchange again.
                input_items = [*input_items, *(_call_item(call) for call in calls), *answers]
            else:
                # The calls are in the conversation (or the chain) already; their outputs
                # continue it.
                input_items = answers

    async def _events(
        self,
        stream,
        sources: ReplySources,
        usage: ReplyUsage,
        site: SiteSources | None,
        site_tools=None,
    ) -> AsyncIterator:
        """One response's normalised events up to a terminal one, or `_ToolCallsRequested`."""
        response_id = None
        code_runs = {}  # code_interpreter_call items announced, by id
        try:
            async for event in stream:
                kind = event.type
                if kind == "response.created":
                    response_id = event.response.id
                    yield RunStarted(response_id)
                elif kind == "response.output_text.delta":
                    for item in sources.add_text(event.delta):
                        yield item
                elif kind == "response.output_text.annotation.added":
                    for item in responses_annotation(event.annotation, sources):
                        yield item
                elif kind == "response.output_item.done" and event.item.type == "function_call":
                    yield call_step(_call_of(event.item), site, tools=site_tools)
                elif (
                    kind in ("response.output_item.added", "response.output_item.done")
                    and event.item.type in PROVIDER_TOOL_ITEMS
                ):
                    if event.item.type == "code_interpreter_call":
                        code_runs[event.item.id] = event.item
                    for item in responses_item(event.item, sources):
                        yield item
                elif kind == "response.code_interpreter_call_code.done":
                    # The code is shown while it runs, not only once it has finished.
                    if run := code_runs.get(event.item_id):
                        ready = run.model_copy(
                            update={"code": event.code, "status": "interpreting"}
                        )
                        for item in responses_item(ready, sources):
                            yield item
                elif kind == "response.completed":
                    output = event.response.output
                    calls = [_call_of(item) for item in output if item.type == "function_call"]
                    usage.add(event.response.usage, model=getattr(event.response, "model", None))
                    if calls:
                        raise _ToolCallsRequested(calls)
                    yield Completed(usage=usage.as_dict(), model=usage.model)
                    return
                elif kind in ("response.failed", "response.incomplete"):
                    yield _ending(event.response)
                    return
                elif kind == "error":
                    yield Failed(
                        f"The provider reported an error: {event.message}",
                        code=event.code or "provider_error",
                    )
                    return
        except (openai.OpenAIError, httpx2.HTTPError) as exc:
            # A broken connection or a timeout mid-stream: what arrived is kept by the caller.
            yield Incomplete(str(provider_error_from(exc)))
            return
        # The API has no closing event for a cancelled response: its stream just ends.
        yield (
            Cancelled() if await self._was_cancelled(response_id) else Incomplete(CUT_STREAM_REASON)
        )

    async def _was_cancelled(self, response_id: str | None) -> bool:
        if response_id is None:
            return False
        try:
            response = await self.client.responses.retrieve(
                response_id, timeout=CANCEL_CHECK_TIMEOUT
            )
        except openai.OpenAIError:
            return False
        return response.status == "cancelled"

    async def _close_calls(self, thread: AgentThread, output: str) -> None:
        """Answers calls left without output, so the conversation can take the next turn.

        The Responses API refuses a conversation whose function call has no output; a reply
        stopped while its tools ran leaves one behind.
        """
        calls, self._pending_calls = self._pending_calls, []
        if not calls or not thread.id or self.thread_mode != CONVERSATION:
            return  # a chain is continued from before the calls; stateless keeps nothing
        try:
            await self.client.conversations.items.create(
                thread.id,
                items=[
                    {"type": "function_call_output", "call_id": call.id, "output": output}
                    for call in calls
                ],
            )
        except openai.OpenAIError as exc:
            logger.warning("Could not close tool calls in %s: %s", thread.id, exc)

    async def cancel(self, *, thread, run_id):
        await self._close_calls(thread, CANCELLED_CALL_OUTPUT)
        # Refused when finished already, or not cancellable (the API cancels background
        # responses only); closing the stream, which the caller has done, stops it there.
        async with provider_errors(ignore=ENDED_ERRORS):
            await self.client.responses.cancel(run_id)


async def response_text(
    *,
    client: openai.AsyncOpenAI,
    model: str,
    input: str,
    max_output_tokens: int,
    instructions: str = "",
) -> str:
    """The text of one short response outside any conversation, not stored by the provider
    (a conversation's title, a connection check)."""
    request = {"model": model, "input": input, "max_output_tokens": max_output_tokens}
    if instructions:
        request["instructions"] = instructions
    async with provider_errors():
        response = await client.responses.create(**request, store=False)
    return response.output_text or ""


def _call_of(item) -> ToolCall:
    return ToolCall(item.call_id, item.name, item.arguments)


def _history_item(message: HistoryMessage) -> dict:
    return {"type": "message", "role": message.role, "content": message.content}


def _call_item(call: ToolCall) -> dict:
    return {
        "type": "function_call",
        "call_id": call.id,
        "name": call.name,
        "arguments": call.arguments,
    }


def _ending(response):
    """The normalised end of a response that did not complete."""
    if response.status == "cancelled":
        return Cancelled()
    if response.status == "incomplete" or response.incomplete_details:
        reason = response.incomplete_details.reason if response.incomplete_details else None
        return Incomplete(INCOMPLETE_REASONS.get(reason, "The provider ended the reply early."))
    error = response.error
    reason = error.message if error else "The response failed on the provider."
    code = error.code if error else "provider_error"
    return Failed(f"The assistant's response failed: {reason}", code=code)
