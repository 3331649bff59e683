"""The `chat_completions` protocol: Chat Completions, with the thread held by this site.

What every OpenAI-compatible server speaks (Ollama, vLLM, llama.cpp, LM Studio, LiteLLM,
OpenRouter). Like `responses`, the definition lives in Django and goes with every request;
the thread is the conversation's transcript (ChatHistoryAgentThread), sent up to the
context budget (history.py). Function calls stream as deltas
(`choices[0].delta.tool_calls[i]`: the id and name first, the arguments in fragments, `index`
telling the calls of one round apart); they are assembled, run here and answered with
`role: tool` messages, for as many rounds as MAX_TOOL_ROUNDS allows. There are no vector
stores, so file search is one of those functions, run by the site (tool_calls.py). The server keeps
nothing, so there is nothing to cancel: closing the stream is what stops the reply.
"""

import uuid
from collections.abc import AsyncIterator

import httpx2
import openai

from .assistants import CUT_STREAM_REASON
from .base import SiteDefinedAgent
from .definition import ToolResources
from .errors import ProviderError, provider_error_from, provider_errors
from .events import AgentResponseItem, Completed, Failed, Incomplete, RunStarted, TextDelta
from .history import context_step, history_within
from .threads import AgentThread, ChatHistoryAgentThread
from .tool_calls import (
    MAX_TOOL_ROUNDS,
    TOOL_LIMIT_OUTPUT,
    TOOL_LIMIT_REASON,
    ToolCall,
    call_step,
    chat_completions_schema,
    run_tool_calls,
    site_sources,
    site_tools_of,
    with_site_citations,
)
from .usage import ReplyUsage

FINISH_REASONS = {
    "length": "The reply reached its maximum length.",
    "content_filter": "The provider's content filter stopped the reply.",
}


class _Round:
    """What one completion streamed besides its text: the calls, assembled, and its end."""

    def __init__(self):
        self.text = ""
        self.finish_reason: str | None = None
        self._calls: dict[int, dict] = {}

    def add_call_delta(self, position: int, delta) -> None:
        index = delta.index if delta.index is not None else position
        call = self._calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
        # The id and name come once, with the call's first fragment (some servers repeat
        # them on every fragment: they are not appended).
        if delta.id and not call["id"]:
            call["id"] = delta.id
        function = delta.function
        if function is not None:
            if function.name and not call["name"]:
                call["name"] = function.name
            if function.arguments:
                call["arguments"] += function.arguments

    def calls(self) -> list[ToolCall]:
        return [
            ToolCall(
                call["id"] or f"call_{uuid.uuid4().hex[:24]}",
                call["name"],
                call["arguments"] or "{}",
            )
            for _, call in sorted(self._calls.items())
        ]


class ChatCompletionAgent(SiteDefinedAgent):
    """Like Semantic Kernel's `ChatCompletionAgent`, over `client.chat.completions`."""

    thread_class = ChatHistoryAgentThread
    protocol = "chat_completions"
    provider_tools = False

    @classmethod
    def check_definition(cls, definition):
        # File search runs on the site here (tool_calls.py); code cannot.
        if definition.code_interpreter:
            raise ProviderError(
                "The chat_completions protocol has no provider tools, so code_interpreter "
                "cannot run there. Untick it, or choose the responses or assistants protocol "
                "on a server that has it.",
                code="invalid",
            )

    def _messages(self, thread: AgentThread, texts: list[str]) -> tuple[list[dict], int]:
        definition = self.definition
        kept, omitted = history_within(
            getattr(thread, "history", []),
            instructions=definition.instructions,
            new_texts=texts,
            budget=definition.context_budget,
        )
        messages = []
        if definition.instructions:
            messages.append({"role": "system", "content": definition.instructions})
        messages += [{"role": m.role, "content": m.content} for m in kept]
        messages += [{"role": "user", "content": text} for text in texts]
        return messages, omitted

    async def invoke_stream(
        self,
        messages: str | list[str],
        thread: AgentThread | None = None,
        *,
        resources: ToolResources | None = None,
    ) -> AsyncIterator[AgentResponseItem]:
        thread = thread or self.thread()
        texts = [messages] if isinstance(messages, str) else messages
        sent, omitted = self._messages(thread, texts)
        if omitted:
            yield AgentResponseItem(context_step(omitted, self.definition.context_budget), thread)
        site = site_sources(resources)
        site_tools = site_tools_of(resources)
        tools = self.definition.chat_completions_tools()
        if site is not None:
            tools.append(chat_completions_schema())
        if site_tools is not None:
            tools += site_tools.schemas()
        usage = ReplyUsage()
        rounds = 0
        while True:
            request = {
                "model": self.definition.model,
                "messages": sent,
                "stream": True,
                "stream_options": {"include_usage": True},
            }
            if tools:
                request["tools"] = tools
                if rounds >= MAX_TOOL_ROUNDS:
                    request["tool_choice"] = "none"
            async with provider_errors():
                stream = await self.client.chat.completions.create(**request)
            completion = _Round()
            try:
                events = with_site_citations(self._events(stream, completion, usage), site)
                async for event in events:
                    yield AgentResponseItem(event, thread)
                    if isinstance(event, Incomplete):
                        return
            finally:
                await stream.close()
            calls = completion.calls()
            if not calls:
                yield AgentResponseItem(_ending(completion, usage), thread)
                return
            rounds += 1
            if rounds > MAX_TOOL_ROUNDS:
                yield AgentResponseItem(Failed(TOOL_LIMIT_REASON, code="tool_limit"), thread)
                return
            for call in calls:
                yield AgentResponseItem(call_step(call, site, tools=site_tools), thread)
            if rounds == MAX_TOOL_ROUNDS:
                outputs = [TOOL_LIMIT_OUTPUT] * len(calls)
            else:
                outputs = await run_tool_calls(calls, self.definition, site, site_tools)
            for call, output in zip(calls, outputs, strict=True):
                yield AgentResponseItem(call_step(call, site, output, site_tools), thread)
            sent = [
                *sent,
                {
                    "role": "assistant",
                    "content": completion.text or None,
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": call.arguments},
                        }
                        for call in calls
                    ],
                },
                *(
                    {"role": "tool", "tool_call_id": call.id, "content": output}
                    for call, output in zip(calls, outputs, strict=True)
                ),
            ]

    @staticmethod
    async def _events(stream, completion: _Round, usage: ReplyUsage) -> AsyncIterator:
        """One completion's text (and its start); its calls and end go to `completion`."""
        started = False
        try:
            async for chunk in stream:
                if not started and chunk.id:
                    started = True
                    yield RunStarted(chunk.id)
                # The usage comes last, in a chunk of its own with no choices.
                if chunk.usage is not None:
                    usage.add(chunk.usage, model=chunk.model)
                elif chunk.model:
                    usage.model = chunk.model
                for choice in chunk.choices[:1]:
                    delta = choice.delta
                    if delta is not None and delta.content:
                        completion.text += delta.content
                        yield TextDelta(delta.content)
                    for position, call in enumerate((delta and delta.tool_calls) or []):
                        completion.add_call_delta(position, call)
                    if choice.finish_reason:
                        completion.finish_reason = choice.finish_reason
        except (openai.OpenAIError, httpx2.HTTPError) as exc:
            # A broken connection or a timeout mid-stream: what arrived is kept by the caller.
            yield Incomplete(str(provider_error_from(exc)))
            return
        if completion.finish_reason is None:
            # No choice said how it ended: the server closed the stream mid-way.
            yield Incomplete(CUT_STREAM_REASON)

    async def cancel(self, *, thread, run_id):
        pass  # Closing the stream, which the caller has done, is the only cancel there is.


def _ending(completion: _Round, usage: ReplyUsage):
    if completion.finish_reason in FINISH_REASONS:
        return Incomplete(FINISH_REASONS[completion.finish_reason])
    return Completed(usage=usage.as_dict(), model=usage.model)


async def completion_text(
    *,
    client: openai.AsyncOpenAI,
    model: str,
    input: str,
    max_output_tokens: int,
    instructions: str = "",
) -> str:
    """The text of one short completion outside any conversation (a title, a connection
    check): `response_text` for servers that have only Chat Completions."""
    messages = [{"role": "system", "content": instructions}] if instructions else []
    messages.append({"role": "user", "content": input})
    async with provider_errors():
        completion = await client.chat.completions.create(
            model=model, messages=messages, max_tokens=max_output_tokens
        )
    return (completion.choices[0].message.content or "") if completion.choices else ""
