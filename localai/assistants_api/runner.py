"""Executes runs of the deterministic model and yields their stream events.

The database holds the run's state at every step, so a retrieve or a cancel arriving on any
connection, in any process, sees and steers the run. The same execution backs streamed runs
(its events become server-sent events) and background runs (its events are dropped). The
token loop is shared with the Responses API (engine/token_stream.py), and so are what a turn
does next (engine/turn.py) and the crash and client-gone handling (engine/execution.py).
Every reply, plain or after a file search or the code interpreter, is streamed by the one
`_reply`.
"""

from collections.abc import AsyncIterator
from contextlib import aclosing

from localai import ids
from localai.assistants_api.objects import (
    message_delta_object,
    message_object,
    run_object,
    run_step_object,
    run_step_tool_calls_delta_object,
    text_block,
    usage_object,
)
from localai.assistants_api.selectors import thread_earlier_user_texts
from localai.assistants_api.states import run_end, run_fail_after_crash
from localai.engine.code_model import CodeReply, LinkToken, ProducedFile, code_pieces, code_reply
from localai.engine.model import count_tokens, file_search_reply, parse_directives
from localai.engine.states import advance, current_status
from localai.engine.token_stream import Annotate, TokenStream, annotate_tokens, annotated
from localai.engine.turn import TurnExecution
from localai.files_api.files import file_contents_of
from localai.models import Message, Run, RunStep, unix_now
from localai.tools.code_interpreter import (
    output_files_create,
    run_input_file_ids,
    sandbox_run_watched,
)
from localai.tools.file_search import (
    ASSISTANTS_INCLUDE,
    FileSearch,
    assistants_citations,
    assistants_tool_call,
    assistants_tool_options,
    file_search_make,
    file_search_tool,
    run_vector_store_ids,
)

Event = tuple[str, dict]

# How each way of ending shows in the stream; anything else shows as cancelled.
_RUN_EVENT = {
    "completed": "thread.run.completed",
    "cancelled": "thread.run.cancelled",
    "failed": "thread.run.failed",
    "expired": "thread.run.expired",
}
_STEP_EVENT = {
    "completed": "thread.run.step.completed",
    "cancelled": "thread.run.step.cancelled",
    "failed": "thread.run.step.failed",
    "expired": "thread.run.step.expired",
}


def _file_paths(reply: CodeReply, file_ids: dict[str, str]) -> Annotate:
    """A link token's file_path annotation, spanning the link target."""

    def file_path(link: LinkToken, start: int, end: int) -> dict:
        text = reply.tokens[link.token_index]
        return {
            "type": "file_path",
            "text": text,
            "start_index": start,
            "end_index": start + len(text),
            "file_path": {"file_id": file_ids[link.name]},
        }

    return annotate_tokens(reply.links_by_token, file_path)


class RunExecution(TurnExecution):
    """One pass of a run: from queued to its end, or to `requires_action`.

    `after_tool_outputs` resumes a run whose tool outputs were just submitted.
    """

    def __init__(
        self,
        run: Run,
        thread_id: str,
        *,
        after_tool_outputs: bool = False,
        include: tuple[str, ...] = (),
    ):
        self.run = run
        self.thread_id = thread_id
        self.after_tool_outputs = after_tool_outputs
        # The run's `include` query parameter: what its steps show (file search contents).
        self.include = include
        # Set when the stream must end without a terminal event (the `[[cut:N]]` fault).
        self.cut = False
        # The reply being streamed, kept for ending the run if the client goes away.
        self.message: Message | None = None
        self.steps: tuple[RunStep, ...] = ()
        self.streamed: list[str] = []
        _, self.directives = parse_directives(run.input_text)

    def describe(self) -> str:
        return f"run {self.run.public_id}"

    def _run_event(self, name: str) -> Event:
        return name, run_object(self.run, self.thread_id)

    def _step_event(self, name: str, step: RunStep) -> Event:
        return name, run_step_object(step, self.run, self.thread_id)

    def _message_event(self, name: str, message: Message) -> Event:
        return name, message_object(message, self.thread_id)

    def _step_started(self, step: RunStep) -> list[Event]:
        return [
            self._step_event("thread.run.step.created", step),
            self._step_event("thread.run.step.in_progress", step),
        ]

    def _ended(self, outcome: str, *steps: RunStep) -> list[Event]:
        """The closing events of a run that ended as `outcome`: its open steps', its own."""
        events = [
            self._step_event(_STEP_EVENT.get(outcome, "thread.run.step.cancelled"), step)
            for step in steps
        ]
        return [*events, self._run_event(_RUN_EVENT.get(outcome, "thread.run.cancelled"))]

    async def _end(self, outcome: str, **fields) -> str:
        """Ends the run (states.run_end); returns how it really ended."""
        outcome = await run_end(self.run, outcome, **fields)
        self.settled = True
        return outcome

    async def _tool_calls_step(self, tool_calls: list[dict]) -> RunStep:
        return await RunStep.objects.acreate(
            run=self.run,
            type="tool_calls",
            step_details={"type": "tool_calls", "tool_calls": tool_calls},
        )

    async def _tool_calls_step_complete(self, step: RunStep, completion_tokens: int) -> Event:
        """Saves the step completed with its final calls; returns the event saying so."""
        step.status, step.completed_at = "completed", unix_now()
        step.usage = usage_object(self.run.prompt_tokens, completion_tokens)
        # An UPDATE of what changed, not a save(): what another process wrote meanwhile (an
        # expiry ending the run's steps) stays.
        await RunStep.objects.filter(pk=step.pk).aupdate(
            status=step.status,
            completed_at=step.completed_at,
            usage=step.usage,
            step_details=step.step_details,
        )
        return self._step_event("thread.run.step.completed", step)

    async def _crashed(self) -> Event | None:
        if await run_fail_after_crash(self.run):
            return self._run_event("thread.run.failed")
        return None

    async def _abandoned(self) -> None:
        await run_end(
            self.run,
            "cancelled",
            message=self.message,
            steps=self.steps,
            text="".join(self.streamed),
            streamed_tokens=len(self.streamed),
        )

    async def _events(self) -> AsyncIterator[Event]:
        run = self.run
        outputs: list[tuple[str, str]] | None = None
        if self.after_tool_outputs:
            step = await RunStep.objects.filter(run=run, type="tool_calls").alatest("pk")
            yield self._step_event("thread.run.step.completed", step)
            yield self._run_event("thread.run.queued")
            outputs = [
                (call["function"]["name"], call["function"]["output"] or "")
                for call in step.step_details["tool_calls"]
            ]
        else:
            yield self._run_event("thread.run.created")
            yield self._run_event("thread.run.queued")

        started = await advance(
            run, "in_progress", from_statuses=("queued",), started_at=run.started_at or unix_now()
        )
        if not started:
            # Cancelled (or expired) before it began.
            for event in self._ended(await self._end("cancelled")):
                yield event
            return
        yield self._run_event("thread.run.in_progress")
        history = await thread_earlier_user_texts(run.thread_id) if self.directives.history else ()
        async with aclosing(self._turn(run, outputs, history)) as events:
            async for event in events:
                yield event

    async def _file_search(self) -> FileSearch | None:
        """The file search this run makes (tools/file_search.py), or None: not offered, or no
        indexed file in the assistant's and the thread's vector stores."""
        run = self.run
        tool = file_search_tool(run.tools)
        if run.tool_choice == "none" or tool is None:
            return None
        max_num_results, score_threshold = assistants_tool_options(tool)
        return await file_search_make(
            vector_store_ids=await run_vector_store_ids(
                assistant_id=run.assistant_id, thread_id=run.thread_id
            ),
            input_text=run.input_text,
            max_num_results=max_num_results,
            score_threshold=score_threshold,
        )

    async def _search_files(self, search: FileSearch) -> AsyncIterator[Event]:
        """A tool_calls step with the search, then the message quoting its passages."""
        call_id = ids.call_id()
        with_content = ASSISTANTS_INCLUDE in self.include
        step = await self._tool_calls_step(
            [assistants_tool_call(call_id, None, with_content=with_content)]
        )
        self.steps = (step,)
        for event in self._step_started(step):
            yield event
        yield "thread.run.step.delta", run_step_tool_calls_delta_object(step)
        step.step_details["tool_calls"] = [
            assistants_tool_call(call_id, search, with_content=with_content)
        ]
        yield await self._tool_calls_step_complete(step, completion_tokens=0)
        reply = file_search_reply(search.passages, markers=True)
        annotate = assistants_citations(reply.citations)
        async with aclosing(self._reply(reply.tokens, annotate=annotate)) as events:
            async for event in events:
                yield event

    async def _call_functions(self, calls) -> AsyncIterator[Event]:
        run = self.run
        tool_calls = [
            {
                "id": ids.call_id(),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments, "output": None},
            }
            for call in calls
        ]
        step = await self._tool_calls_step(tool_calls)
        for event in self._step_started(step):
            yield event
        yield "thread.run.step.delta", run_step_tool_calls_delta_object(step)
        required_action = {
            "type": "submit_tool_outputs",
            "submit_tool_outputs": {
                "tool_calls": [
                    {
                        "id": call["id"],
                        "type": "function",
                        "function": {
                            "name": call["function"]["name"],
                            "arguments": call["function"]["arguments"],
                        },
                    }
                    for call in tool_calls
                ]
            },
        }
        if await advance(
            run, "requires_action", from_statuses=("in_progress",), required_action=required_action
        ):
            self.settled = True
            yield self._run_event("thread.run.requires_action")
            return
        for event in self._ended(await self._end("cancelled", steps=(step,)), step):
            yield event

    async def _cancel_requested(self) -> bool:
        # A deleted run (its thread was deleted) counts as cancelled too.
        return await current_status(self.run) != "in_progress"

    async def _reply(
        self,
        tokens: list[str],
        *,
        annotate: Annotate | None = None,
        leading_blocks: tuple[dict, ...] = (),
        previous_steps: tuple[RunStep, ...] = (),
    ) -> AsyncIterator[Event]:
        """Streams the reply as a message and ends the run.

        `annotate` gives the annotation a token's delta carries (a file citation, a file
        path); `leading_blocks` are content blocks before the text (the code interpreter's
        images), each sent as one delta; `previous_steps` are the run's earlier steps, which
        a client going away ends along with the message's.
        """
        run = self.run
        message = await Message.objects.acreate(
            thread_id=run.thread_id,
            role="assistant",
            content=[],
            status="in_progress",
            assistant_id=run.assistant_id,
            run_id=run.public_id,
        )
        step = await RunStep.objects.acreate(
            run=run,
            type="message_creation",
            step_details={
                "type": "message_creation",
                "message_creation": {"message_id": message.public_id},
            },
        )
        self.message, self.steps = message, (*previous_steps, step)
        for event in self._step_started(step):
            yield event
        yield self._message_event("thread.message.created", message)
        yield self._message_event("thread.message.in_progress", message)
        for index, block in enumerate(leading_blocks):
            yield "thread.message.delta", message_delta_object(message.public_id, index, block)

        text_index = len(leading_blocks)
        stream = TokenStream(tokens, self.directives, cancel_requested=self._cancel_requested)
        # Shared with _abandoned(): what was streamed so far.
        self.streamed = stream.streamed
        annotations: list[dict] = []
        async for token, annotation in annotated(stream, annotate):
            added = []
            if annotation is not None:
                added.append({"index": len(annotations), **annotation})
                annotations.append(annotation)
            block = text_block(token, added)
            yield "thread.message.delta", message_delta_object(message.public_id, text_index, block)
        self.cut = stream.outcome == "cut"
        outcome = await self._end(
            "failed" if self.cut else stream.outcome,
            message=message,
            steps=(step,),
            text=stream.text,
            streamed_tokens=len(stream.streamed),
            error=stream.error,
            blocks_before=leading_blocks,
            annotations=tuple(annotations),
        )
        if self.cut:
            return
        if message.status == "completed":
            yield self._message_event("thread.message.completed", message)
        else:
            yield self._message_event("thread.message.incomplete", message)
        for event in self._ended(outcome, step):
            yield event

    async def _run_code(self, code: str) -> AsyncIterator[Event]:
        """A `tool_calls` step running the code (its input streamed in pieces, then its
        outputs), then the message: the images the code drew first (one `image_file` delta
        each), then a summary whose file links carry `file_path` annotations."""
        run = self.run
        call = {"id": ids.call_id(), "type": "code_interpreter"}
        call["code_interpreter"] = {"input": "", "outputs": []}
        step = await self._tool_calls_step([call])

        def step_delta(code_interpreter: dict) -> Event:
            piece = {
                "id": call["id"],
                "type": "code_interpreter",
                "code_interpreter": code_interpreter,
            }
            return "thread.run.step.delta", run_step_tool_calls_delta_object(step, [piece])

        self.steps = (step,)
        for event in self._step_started(step):
            yield event
        for piece in code_pieces(code):
            yield step_delta({"input": piece})
        call["code_interpreter"]["input"] = code
        await RunStep.objects.filter(pk=step.pk).aupdate(step_details=step.step_details)

        inputs = await file_contents_of(await run_input_file_ids(run))
        result = await sandbox_run_watched(
            code=code, files=inputs, cancel_requested=self._cancel_requested
        )
        if result is None:
            for event in self._ended(await self._end("cancelled", steps=(step,)), step):
                yield event
            return

        stored = await output_files_create(files=result.files)
        outputs: list[dict] = [{"type": "logs", "logs": result.logs}]
        outputs += [
            {"type": "image", "image": {"file_id": file.public_id}}
            for produced, file in stored
            if produced.is_image
        ]
        yield step_delta(
            {"outputs": [{"index": index, **output} for index, output in enumerate(outputs)]}
        )
        call["code_interpreter"]["outputs"] = outputs
        yield await self._tool_calls_step_complete(step, completion_tokens=count_tokens(code))

        reply = code_reply(
            logs=result.logs,
            failed=not result.ok,
            files=[ProducedFile(produced.name, produced.is_image) for produced, _ in stored],
            sandbox_error=result.error if result.crashed else "",
        )
        file_ids = {produced.name: file.public_id for produced, file in stored}
        images = [
            {"type": "image_file", "image_file": {"file_id": file.public_id}}
            for produced, file in stored
            if produced.is_image
        ]
        async with aclosing(
            self._reply(
                reply.tokens,
                annotate=_file_paths(reply, file_ids),
                leading_blocks=tuple(images),
                previous_steps=(step,),
            )
        ) as events:
            async for event in events:
                yield event
