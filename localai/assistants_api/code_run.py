"""The code interpreter in an Assistants run: a `tool_calls` step running the code, then a
message with the images the code drew and a summary whose file links carry `file_path`
annotations.

Events, as the real API sends them: `thread.run.step.created` / `in_progress`,
`thread.run.step.delta` (the code, in pieces; then the outputs), `thread.run.step.completed`;
then the message as usual, its image files first (one `image_file` delta each).
"""

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING

from localai import ids
from localai.assistants_api.objects import run_step_tool_calls_delta_object
from localai.engine.code_model import CodeReply, LinkToken, ProducedFile, code_pieces, code_reply
from localai.engine.model import count_tokens
from localai.engine.token_stream import Annotate, annotate_tokens
from localai.files_api.files import file_contents_of
from localai.models import RunStep
from localai.tools.code_interpreter import (
    output_files_create,
    run_input_file_ids,
    sandbox_run_watched,
)

if TYPE_CHECKING:
    from localai.assistants_api.runner import RunExecution

Event = tuple[str, dict]


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


async def code_run_events(execution: "RunExecution", code: str) -> AsyncIterator[Event]:
    """Runs `code` for the run, then streams the reply; ends the run."""
    run = execution.run
    call = {"id": ids.call_id(), "type": "code_interpreter"}
    call["code_interpreter"] = {"input": "", "outputs": []}
    step = await execution._tool_calls_step([call])

    def step_delta(code_interpreter: dict) -> Event:
        piece = {"id": call["id"], "type": "code_interpreter", "code_interpreter": code_interpreter}
        return "thread.run.step.delta", run_step_tool_calls_delta_object(step, [piece])

    execution.steps = (step,)
    for event in execution._step_started(step):
        yield event
    for piece in code_pieces(code):
        yield step_delta({"input": piece})
    call["code_interpreter"]["input"] = code
    await RunStep.objects.filter(pk=step.pk).aupdate(step_details=step.step_details)

    inputs = await file_contents_of(await run_input_file_ids(run))
    result = await sandbox_run_watched(
        code=code, files=inputs, cancel_requested=execution._cancel_requested
    )
    if result is None:
        for event in execution._ended(await execution._end("cancelled", steps=(step,)), step):
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
    yield await execution._tool_calls_step_complete(step, completion_tokens=count_tokens(code))

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
        execution._stream_message(
            reply.tokens,
            annotate=_file_paths(reply, file_ids),
            leading_blocks=tuple(images),
            previous_steps=(step,),
        )
    ) as events:
        async for event in events:
            yield event
