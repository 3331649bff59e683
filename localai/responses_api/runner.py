"""Executes a response of the deterministic model and yields its stream events.

The event sequence is the real API's: `response.created` (after `response.queued` for a
background response), `response.in_progress`, then for a reply
`response.output_item.added`, `response.content_part.added`, one
`response.output_text.delta` per token, `response.output_text.done`,
`response.content_part.done`, `response.output_item.done`, and `response.completed`; for
function calls one `function_call` item each, with `response.function_call_arguments.delta`
and `.done`. Every event carries `type` and a `sequence_number` counting from 0.

How faults and cancels end a stream (the Responses API has no run states such as
`expired`): `[[run_fail]]` ends with `response.failed`; `[[expire]]` and a reply longer than
`max_output_tokens` with `response.incomplete` (reason `max_output_tokens`); `[[cut:N]]`
ends the body after N deltas with no closing events (stored as failed); a cancel closes the
message item as `incomplete` and ends the body without a terminal event (the API has none
for it), the response being `cancelled`. A client that goes away leaves it cancelled too.
"""

import itertools
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing

from localai import ids
from localai.engine.code_model import ProducedFile, code_pieces, code_reply
from localai.engine.model import file_search_reply, parse_directives, tokenize
from localai.engine.states import advance, current_status
from localai.engine.token_stream import Annotate, TokenStream, annotated
from localai.engine.turn import TurnExecution
from localai.files_api.containers import container_files_for_sandbox, container_touch
from localai.models import Item, Response
from localai.responses_api.code_interpreter import (
    OUTPUTS_INCLUDE,
    code_call_body,
    code_interpreter_tool,
    container_file_citations,
    container_for,
)
from localai.responses_api.objects import (
    function_call_body,
    item_object,
    message_item_body,
    output_text_part,
    response_object,
)
from localai.responses_api.states import response_end, response_fail_after_crash
from localai.tools.code_interpreter import container_outputs_put, sandbox_run_watched
from localai.tools.file_search import (
    RESPONSES_INCLUDE,
    FileSearch,
    file_search_make,
    file_search_tool,
    responses_call_body,
    responses_citations,
    responses_tool_options,
)

_TERMINAL_EVENT = {
    "completed": "response.completed",
    "failed": "response.failed",
    "incomplete": "response.incomplete",
}


class ResponseExecution(TurnExecution):
    def __init__(
        self,
        response: Response,
        *,
        include: tuple[str, ...] = (),
        history: Sequence[str] = (),
    ):
        self.response = response
        # The request's `include`: what its tool call items show (file search results).
        self.include = include
        # The user messages before the one answered (inputs.ModelInput.history).
        self.history = history
        self.output: list[Item] = []
        self.message: Item | None = None
        self.stream: TokenStream | None = None
        self.sequence = itertools.count()
        # Set when the body must end without closing events (the `[[cut:N]]` fault).
        self.cut = False
        _, self.directives = parse_directives(response.input_text)

    def describe(self) -> str:
        return f"response {self.response.public_id}"

    def _event(self, event_type: str, **fields) -> dict:
        return {"type": event_type, "sequence_number": next(self.sequence), **fields}

    def _response_event(self, event_type: str) -> dict:
        return self._event(event_type, response=response_object(self.response, self.output))

    def _item_event(self, event_type: str, index: int, item: Item) -> dict:
        return self._event(event_type, output_index=index, item=item_object(item))

    async def _end(self, outcome: str, **fields) -> str:
        """Ends the response with its output so far (states.response_end);
        returns how it really ended."""
        outcome = await response_end(self.response, outcome, items=self.output, **fields)
        self.settled = True
        return outcome

    def _ended(self, outcome: str) -> list[dict]:
        # A cancelled response has no terminal event.
        if outcome in _TERMINAL_EVENT:
            return [self._response_event(_TERMINAL_EVENT[outcome])]
        return []

    async def _crashed(self) -> dict | None:
        if await response_fail_after_crash(self.response):
            return self._response_event("response.failed")
        return None

    async def _abandoned(self) -> None:
        stream = self.stream
        await response_end(
            self.response,
            "cancelled",
            items=self.output,
            text=stream.text if stream and self.message else None,
            streamed_tokens=len(stream.streamed) if stream else 0,
        )

    async def _cancel_requested(self) -> bool:
        # A deleted response counts as cancelled too.
        return await current_status(self.response) != "in_progress"

    async def _events(self) -> AsyncIterator[dict]:
        response = self.response
        yield self._response_event("response.created")
        if response.status == "queued":
            yield self._response_event("response.queued")
            if not await advance(response, "in_progress", from_statuses=("queued",)):
                # Cancelled before it began.
                await self._end("cancelled")
                return
        yield self._response_event("response.in_progress")

        async with aclosing(self._turn(response, response.tool_outputs, self.history)) as events:
            async for event in events:
                yield event

    async def _file_search(self) -> FileSearch | None:
        """The file search this response makes (tools/file_search.py), or None: not offered,
        or no indexed file in the tool's vector stores."""
        response = self.response
        tool = file_search_tool(response.tools)
        if response.tool_choice == "none" or tool is None:
            return None
        store_ids, max_num_results, score_threshold = responses_tool_options(tool)
        return await file_search_make(
            vector_store_ids=store_ids,
            input_text=response.input_text,
            max_num_results=max_num_results,
            score_threshold=score_threshold,
        )

    async def _search_files(self, search: FileSearch) -> AsyncIterator[dict]:
        """A file_search_call item with its events, then the message citing the passages."""
        index = len(self.output)
        with_results = RESPONSES_INCLUDE in self.include
        body = responses_call_body(None, search.query, status="in_progress", with_results=False)
        item = await self._new_output_item(body)
        call = {"item_id": item.public_id, "output_index": index}
        yield self._item_event("response.output_item.added", index, item)
        yield self._event("response.file_search_call.in_progress", **call)
        yield self._event("response.file_search_call.searching", **call)
        body.update(
            responses_call_body(search, search.query, status="completed", with_results=with_results)
        )
        await Item.objects.filter(pk=item.pk).aupdate(body=body)
        yield self._event("response.file_search_call.completed", **call)
        yield self._item_event("response.output_item.done", index, item)
        reply = file_search_reply(search.passages, markers=False)
        async for event in self._reply(reply.tokens, annotate=responses_citations(reply.citations)):
            yield event

    async def _new_output_item(self, body: dict) -> Item:
        item = await Item.objects.acreate(
            public_id=ids.item_id(body["type"]),
            response=self.response,
            direction="output",
            type=body["type"],
            body=body,
        )
        self.output.append(item)
        return item

    async def _call_functions(self, calls) -> AsyncIterator[dict]:
        for index, call in enumerate(calls):
            body = function_call_body(ids.call_id(), call.name, "", "in_progress")
            item = await self._new_output_item(body)
            yield self._item_event("response.output_item.added", index, item)
            for piece in tokenize(call.arguments):
                yield self._event(
                    "response.function_call_arguments.delta",
                    item_id=item.public_id,
                    output_index=index,
                    delta=piece,
                )
            yield self._event(
                "response.function_call_arguments.done",
                item_id=item.public_id,
                output_index=index,
                arguments=call.arguments,
            )
            body.update(arguments=call.arguments, status="completed")
            yield self._item_event("response.output_item.done", index, item)
        for event in self._ended(await self._end("completed")):
            yield event

    async def _reply(
        self, tokens: list[str], *, annotate: Annotate | None = None
    ) -> AsyncIterator[dict]:
        """Streams the reply as a message item and ends the response. `annotate` gives the
        annotation that follows a token (a file citation, a container file citation)."""
        response = self.response
        limit = response.max_output_tokens
        truncated = limit is not None and len(tokens) > limit
        if truncated:
            tokens = tokens[:limit]
        index = len(self.output)
        self.message = item = await self._new_output_item(
            message_item_body("assistant", [], status="in_progress")
        )
        yield self._item_event("response.output_item.added", index, item)
        part = {"item_id": item.public_id, "output_index": index, "content_index": 0}
        yield self._event("response.content_part.added", **part, part=output_text_part(""))

        self.stream = stream = TokenStream(
            tokens, self.directives, cancel_requested=self._cancel_requested
        )
        annotations: list[dict] = []
        async for token, annotation in annotated(stream, annotate):
            yield self._event("response.output_text.delta", **part, delta=token, logprobs=[])
            if annotation is not None:
                annotations.append(annotation)
                yield self._event(
                    "response.output_text.annotation.added",
                    **part,
                    annotation_index=len(annotations) - 1,
                    annotation=annotation,
                )
        self.cut = stream.outcome == "cut"
        outcome = {"cut": "failed", "expired": "incomplete"}.get(stream.outcome, stream.outcome)
        if outcome == "completed" and truncated:
            outcome = "incomplete"
        outcome = await self._end(
            outcome,
            text=stream.text,
            streamed_tokens=len(stream.streamed),
            error=stream.error,
            annotations=annotations,
        )
        if self.cut:
            return

        text = stream.text
        yield self._event("response.output_text.done", **part, text=text, logprobs=[])
        yield self._event(
            "response.content_part.done", **part, part=output_text_part(text, annotations)
        )
        yield self._item_event("response.output_item.done", index, item)
        for event in self._ended(outcome):
            yield event

    async def _run_code(self, code: str) -> AsyncIterator[dict]:
        """A `code_interpreter_call` item running the code in a container, then the reply, whose
        file links carry `container_file_citation` annotations (code_interpreter.py)."""
        response = self.response
        tool = code_interpreter_tool(response.tools) or {}
        container = await container_for(tool, response.public_id)
        container_id = container.public_id if container else str(tool.get("container"))
        index = len(self.output)
        body = code_call_body(container_id, "", "in_progress", None)
        item = await self._new_output_item(body)
        call = {"item_id": item.public_id, "output_index": index}
        yield self._item_event("response.output_item.added", index, item)
        yield self._event("response.code_interpreter_call.in_progress", **call)
        for piece in code_pieces(code):
            yield self._event("response.code_interpreter_call_code.delta", **call, delta=piece)
        yield self._event("response.code_interpreter_call_code.done", **call, code=code)
        body["code"] = code
        # Stored as interpreting for a retrieve meanwhile; in memory it stays in_progress, so
        # that a response abandoned now ends the item incomplete (states.py).
        await Item.objects.filter(pk=item.pk).aupdate(body={**body, "status": "interpreting"})
        yield self._event("response.code_interpreter_call.interpreting", **call)

        if container is None:
            result, stored, error = None, [], f"the container {container_id} does not exist."
        else:
            result = await sandbox_run_watched(
                code=code,
                files=await container_files_for_sandbox(container),
                cancel_requested=self._cancel_requested,
            )
            if result is None:
                # Cancelled: the response ends without a terminal event, like a cancelled reply.
                await self._end("cancelled")
                return
            await container_touch(container=container)
            stored = await container_outputs_put(container=container, files=result.files)
            error = result.error if result.crashed else ""
        with_outputs = OUTPUTS_INCLUDE in self.include
        logs = result.logs if result is not None else f"Error: {error}"
        body.update(
            status="failed" if error else "completed",
            outputs=[{"type": "logs", "logs": logs}] if with_outputs else None,
        )
        await Item.objects.filter(pk=item.pk).aupdate(body=body)
        yield self._event("response.code_interpreter_call.completed", **call)
        yield self._item_event("response.output_item.done", index, item)

        reply = code_reply(
            logs=logs,
            failed=result is None or not result.ok,
            files=[ProducedFile(produced.name, produced.is_image) for produced, _ in stored],
            sandbox_error=error,
        )
        file_ids = {produced.name: file.public_id for produced, file in stored}
        annotate = container_file_citations(reply, container_id, file_ids)
        async for event in self._reply(reply.tokens, annotate=annotate):
            yield event
