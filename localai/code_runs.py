"""The code interpreter in an Assistants run: a `tool_calls` step running the code, then a
message with the images the code drew and a summary whose file links carry `file_path`
annotations.

Events, as the real API sends them: `thread.run.step.created` / `in_progress`,
`thread.run.step.delta` (the code, in pieces; then the outputs), `thread.run.step.completed`;
then the message as usual, its image files first (one `image_file` delta each).
"""

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from localai import ids
from localai.code_interpreter import (
    files_for_sandbox,
    output_files_create,
    run_input_file_ids,
    sandbox_run_watched,
)
from localai.code_model import ProducedFile, code_pieces, code_reply
from localai.model import count_tokens
from localai.models import Message, RunStep, unix_now
from localai.run_states import run_end
from localai.token_stream import TokenStream

if TYPE_CHECKING:
    from localai.runner import RunExecution

Event = tuple[str, dict]

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


def _step_delta(step: RunStep, call: dict, code_interpreter: dict) -> dict:
    return {
        "id": step.public_id,
        "object": "thread.run.step.delta",
        "delta": {
            "step_details": {
                "type": "tool_calls",
                "tool_calls": [
                    {
                        "index": 0,
                        "id": call["id"],
                        "type": "code_interpreter",
                        "code_interpreter": code_interpreter,
                    }
                ],
            }
        },
    }


def _message_delta(message_id: str, block: dict) -> dict:
    return {"id": message_id, "object": "thread.message.delta", "delta": {"content": [block]}}


async def code_run_events(execution: "RunExecution", code: str) -> AsyncIterator[Event]:
    """Runs `code` for the run, then streams the reply; ends the run."""
    run = execution.run
    call = {"id": ids.call_id(), "type": "code_interpreter"}
    call["code_interpreter"] = {"input": "", "outputs": []}
    step = await RunStep.objects.acreate(
        run=run, type="tool_calls", step_details={"type": "tool_calls", "tool_calls": [call]}
    )
    execution.steps = (step,)
    yield execution._step_event("thread.run.step.created", step)
    yield execution._step_event("thread.run.step.in_progress", step)
    for piece in code_pieces(code):
        yield "thread.run.step.delta", _step_delta(step, call, {"input": piece})
    call["code_interpreter"]["input"] = code
    await RunStep.objects.filter(pk=step.pk).aupdate(step_details=step.step_details)

    inputs = await files_for_sandbox(await run_input_file_ids(run))
    result = await sandbox_run_watched(
        code=code, files=inputs, cancel_requested=execution._cancel_requested
    )
    if result is None:
        outcome = await run_end(run, "cancelled", steps=(step,))
        execution.settled = True
        yield execution._step_event(_STEP_EVENT.get(outcome, "thread.run.step.cancelled"), step)
        yield execution._run_event(_RUN_EVENT.get(outcome, "thread.run.cancelled"))
        return

    stored = await output_files_create(files=result.files)
    outputs: list[dict] = [{"type": "logs", "logs": result.logs}]
    outputs += [
        {"type": "image", "image": {"file_id": file.public_id}}
        for produced, file in stored
        if produced.is_image
    ]
    yield (
        "thread.run.step.delta",
        _step_delta(
            step,
            call,
            {"outputs": [{"index": index, **output} for index, output in enumerate(outputs)]},
        ),
    )
    call["code_interpreter"]["outputs"] = outputs
    code_tokens = count_tokens(code)
    step.status, step.completed_at = "completed", unix_now()
    step.usage = {
        "prompt_tokens": run.prompt_tokens,
        "completion_tokens": code_tokens,
        "total_tokens": run.prompt_tokens + code_tokens,
    }
    await RunStep.objects.filter(pk=step.pk).aupdate(
        status=step.status,
        completed_at=step.completed_at,
        usage=step.usage,
        step_details=step.step_details,
    )
    yield execution._step_event("thread.run.step.completed", step)

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
    async for event in _code_message(execution, reply, images, file_ids, previous=(step,)):
        yield event


async def _code_message(
    execution: "RunExecution",
    reply,
    images: list[dict],
    file_ids: dict[str, str],
    *,
    previous: tuple[RunStep, ...],
) -> AsyncIterator[Event]:
    run = execution.run
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
    execution.message, execution.steps = message, (*previous, step)
    yield execution._step_event("thread.run.step.created", step)
    yield execution._step_event("thread.run.step.in_progress", step)
    yield execution._message_event("thread.message.created", message)
    yield execution._message_event("thread.message.in_progress", message)
    for index, image in enumerate(images):
        yield "thread.message.delta", _message_delta(message.public_id, {"index": index, **image})

    text_index = len(images)
    links = {link.token_index: link for link in reply.links}
    annotations: list[dict] = []
    stream = TokenStream(
        reply.tokens, execution.directives, cancel_requested=execution._cancel_requested
    )
    execution.streamed = stream.streamed
    offset = 0
    async for token in stream:
        text = {"value": token, "annotations": []}
        link = links.get(len(stream.streamed) - 1)
        if link is not None:
            annotation = {
                "type": "file_path",
                "text": reply.tokens[link.token_index],
                "start_index": offset,
                "end_index": offset + len(reply.tokens[link.token_index]),
                "file_path": {"file_id": file_ids[link.name]},
            }
            annotations.append(annotation)
            text["annotations"] = [{"index": len(annotations) - 1, **annotation}]
        offset += len(token)
        yield (
            "thread.message.delta",
            _message_delta(message.public_id, {"index": text_index, "type": "text", "text": text}),
        )
    execution.cut = stream.outcome == "cut"
    outcome = await run_end(
        run,
        "failed" if execution.cut else stream.outcome,
        message=message,
        steps=(step,),
        text=stream.text,
        streamed_tokens=len(stream.streamed),
        error=stream.error,
        blocks_before=tuple(images),
        annotations=tuple(annotations),
    )
    execution.settled = True
    if execution.cut:
        return
    if message.status == "completed":
        yield execution._message_event("thread.message.completed", message)
    else:
        yield execution._message_event("thread.message.incomplete", message)
    yield execution._step_event(_STEP_EVENT.get(outcome, "thread.run.step.cancelled"), step)
    yield execution._run_event(_RUN_EVENT.get(outcome, "thread.run.cancelled"))
