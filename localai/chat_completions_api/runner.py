"""Executes a chat completion of the deterministic model and yields its chunks.

A reply streams as the real API's: a first chunk with `delta.role = "assistant"` and empty
content, one chunk per token with `delta.content`, and a last chunk with an empty delta
and `finish_reason` ("stop", or "length" when `max_tokens`/`max_completion_tokens` or
`[[expire]]` cut it short). Function calls stream `delta.tool_calls`: per call, a chunk with
its `index`, `id`, `type` and `function.name` (arguments ""), then its arguments in pieces;
the last chunk's `finish_reason` is "tool_calls". With `stream_options.include_usage` a chunk
with no choice and the `usage` follows. The view adds `data: [DONE]`.

Faults: `[[cut:N]]` ends the body after N content chunks, with no last chunk and no
`[DONE]`; `[[run_fail]]` sends 3 content chunks, then `{"error": {...}}` (what the real
API sends when a stream fails part-way; the SDK raises `APIError`). Chat completions are not
stored, so nothing is left to clean up when the client goes away.
"""

from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass

from localai import ids
from localai.chat_completions_api.inputs import ModelInput
from localai.chat_completions_api.objects import (
    Completion,
    chunk_object,
    completion_object,
    stream_error_object,
    tool_call_object,
    usage_object,
)
from localai.chat_completions_api.params import CompletionRequest
from localai.engine.model import ToolCallRequest, count_tokens, parse_directives, tokenize
from localai.engine.token_stream import TokenStream
from localai.engine.turn import TurnExecution
from localai.models import unix_now

CRASH_ERROR = "The local provider stopped executing this chat completion."


@dataclass(frozen=True)
class Turn:
    """What `next_step` reads of the request (a run or a response has the same fields)."""

    input_text: str
    tools: list[dict]
    tool_choice: object


async def _never_cancelled() -> bool:
    # Nothing can cancel a chat completion but its client going away.
    return False


class ChatCompletionExecution(TurnExecution):
    """Afterwards, `outcome` is "completed", "cut" or "failed" (with `error`), and the other
    attributes hold what `completion()` answers a request without `stream`."""

    def __init__(self, request: CompletionRequest, wanted: ModelInput):
        self.request = request
        self.wanted = wanted
        self.completion = Completion(ids.chat_completion_id(), unix_now(), request.model)
        _, self.directives = parse_directives(wanted.text)
        self.content: str | None = None
        self.tool_calls: list[dict] = []
        self.finish_reason = "stop"
        self.completion_tokens = 0
        self.outcome = ""
        self.error = ""

    def describe(self) -> str:
        return f"chat completion {self.completion.id}"

    @property
    def usage(self) -> dict:
        return usage_object(self.wanted.prompt_tokens, self.completion_tokens)

    def completion_body(self) -> dict:
        """The `chat.completion` object of a request without `stream`."""
        return completion_object(
            self.completion,
            content=self.content,
            tool_calls=self.tool_calls,
            finish_reason=self.finish_reason,
            usage=self.usage,
        )

    def _chunk(self, delta: dict, finish_reason: str | None = None) -> dict:
        return chunk_object(
            self.completion,
            delta,
            finish_reason=finish_reason,
            with_usage=self.request.include_usage,
        )

    def _finished(self, finish_reason: str) -> list[dict]:
        self.settled = True
        self.outcome = "completed"
        self.finish_reason = finish_reason
        chunks = [self._chunk({}, finish_reason)]
        if self.request.include_usage:
            chunks.append(chunk_object(self.completion, None, with_usage=True, usage=self.usage))
        return chunks

    async def _events(self) -> AsyncIterator[dict]:
        wanted, request = self.wanted, self.request
        turn = Turn(wanted.text, request.tools, request.tool_choice)
        async with aclosing(self._turn(turn, wanted.tool_outputs, wanted.history)) as events:
            async for event in events:
                yield event

    async def _crashed(self) -> dict:
        self.outcome, self.error = "failed", CRASH_ERROR
        return stream_error_object(CRASH_ERROR)

    async def _abandoned(self) -> None:
        # Nothing is stored: the client that went away takes the completion with it.
        return None

    async def _file_search(self) -> None:
        # The Chat Completions API offers function tools only.
        return None

    async def _reply(self, tokens: list[str]) -> AsyncIterator[dict]:
        limit = self.request.max_tokens
        truncated = limit is not None and len(tokens) > limit
        if truncated:
            tokens = tokens[:limit]
        yield self._chunk({"role": "assistant", "content": "", "refusal": None})
        stream = TokenStream(tokens, self.directives, cancel_requested=_never_cancelled)
        async for token in stream:
            yield self._chunk({"content": token})
        self.content = stream.text
        self.completion_tokens = len(stream.streamed)
        if stream.outcome in ("cut", "failed"):
            self.settled = True
            self.outcome, self.error = stream.outcome, stream.error
            if stream.outcome == "failed":
                yield stream_error_object(stream.error)
            return
        length = truncated or stream.outcome == "expired"
        for chunk in self._finished("length" if length else "stop"):
            yield chunk

    async def _call_functions(self, calls: list[ToolCallRequest]) -> AsyncIterator[dict]:
        if not self.request.parallel_tool_calls:
            calls = calls[:1]
        for index, call in enumerate(calls):
            call_id = ids.call_id()
            self.tool_calls.append(tool_call_object(call_id, call.name, call.arguments))
            opening = {"index": index, **tool_call_object(call_id, call.name, "")}
            delta: dict = {"tool_calls": [opening]}
            if index == 0:
                delta = {"role": "assistant", "content": None, "refusal": None, **delta}
            yield self._chunk(delta)
            for piece in tokenize(call.arguments):
                more = {"index": index, "function": {"arguments": piece}}
                yield self._chunk({"tool_calls": [more]})
        self.completion_tokens = sum(count_tokens(call.arguments) for call in calls)
        for chunk in self._finished("tool_calls"):
            yield chunk
