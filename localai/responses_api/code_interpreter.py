"""The code interpreter in the Responses API: a `code_interpreter_call` item running the code
in a container, then the reply, whose file links carry `container_file_citation`
annotations.

Events, as the real API sends them: `response.output_item.added` (status in_progress),
`response.code_interpreter_call.in_progress`, `response.code_interpreter_call_code.delta`
(the code, in pieces) and `.done`, `response.code_interpreter_call.interpreting`,
`response.code_interpreter_call.completed`, `response.output_item.done`; the item's
`outputs` (the logs) only with `include: ["code_interpreter_call.outputs"]`.
"""

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from localai.engine.code_model import CodeReply, LinkToken, ProducedFile, code_pieces, code_reply
from localai.engine.token_stream import Annotate, annotate_tokens
from localai.files_api.containers import (
    container_create,
    container_files_for_sandbox,
    container_touch,
)
from localai.models import Container, Item
from localai.tools.code_interpreter import container_outputs_put, sandbox_run_watched

if TYPE_CHECKING:
    from localai.responses_api.runner import ResponseExecution

OUTPUTS_INCLUDE = "code_interpreter_call.outputs"


def code_interpreter_tool(tools: list[dict]) -> dict | None:
    return next((tool for tool in tools if tool.get("type") == "code_interpreter"), None)


async def _container_for(tool: dict, response_id: str) -> Container | None:
    """The tool's container: the one named by id, or a new one for `{"type": "auto"}` with
    the tool's files copied in (the real API creates one too)."""
    container = tool.get("container")
    if isinstance(container, str):
        return await Container.objects.filter(public_id=container).afirst()
    file_ids = container.get("file_ids") or [] if isinstance(container, dict) else []
    memory_limit = (container or {}).get("memory_limit") or "1g"
    return await container_create(
        name=f"code-interpreter-{response_id}", file_ids=file_ids, memory_limit=memory_limit
    )


def _call_body(container_id: str, code: str, status: str, outputs: list | None) -> dict:
    return {
        "type": "code_interpreter_call",
        "status": status,
        "code": code,
        "container_id": container_id,
        "outputs": outputs,
    }


def _container_file_citations(
    reply: CodeReply, container_id: str, file_ids: dict[str, str]
) -> Annotate:
    """The container_file_citation annotation that follows a link token, spanning the link
    target in the reply as written."""

    def citation(link: LinkToken, start: int, end: int) -> dict:
        return {
            "type": "container_file_citation",
            "container_id": container_id,
            "file_id": file_ids[link.name],
            "filename": link.name.rsplit("/", 1)[-1],
            "start_index": link.start_index,
            "end_index": link.end_index,
        }

    return annotate_tokens(reply.links_by_token, citation)


async def code_response_events(execution: "ResponseExecution", code: str) -> AsyncIterator[dict]:
    """Runs `code` for the response, then streams the reply; ends the response."""
    response = execution.response
    tool = code_interpreter_tool(response.tools) or {}
    container = await _container_for(tool, response.public_id)
    container_id = container.public_id if container else str(tool.get("container"))
    index = len(execution.output)
    body = _call_body(container_id, "", "in_progress", None)
    item = await execution._new_output_item(body)
    call = {"item_id": item.public_id, "output_index": index}
    yield execution._item_event("response.output_item.added", index, item)
    yield execution._event("response.code_interpreter_call.in_progress", **call)
    for piece in code_pieces(code):
        yield execution._event("response.code_interpreter_call_code.delta", **call, delta=piece)
    yield execution._event("response.code_interpreter_call_code.done", **call, code=code)
    body["code"] = code
    # Stored as interpreting for a retrieve meanwhile; in memory it stays in_progress, so
    # that a response abandoned now ends the item incomplete (response_states).
    await Item.objects.filter(pk=item.pk).aupdate(body={**body, "status": "interpreting"})
    yield execution._event("response.code_interpreter_call.interpreting", **call)

    if container is None:
        result, stored, error = None, [], f"the container {container_id} does not exist."
    else:
        result = await sandbox_run_watched(
            code=code,
            files=await container_files_for_sandbox(container),
            cancel_requested=execution._cancel_requested,
        )
        if result is None:
            # Cancelled: the response ends without a terminal event, like a cancelled reply.
            await execution._end("cancelled")
            return
        await container_touch(container=container)
        stored = await container_outputs_put(container=container, files=result.files)
        error = result.error if result.crashed else ""
    with_outputs = OUTPUTS_INCLUDE in execution.include
    logs = result.logs if result is not None else f"Error: {error}"
    body.update(
        status="failed" if error else "completed",
        outputs=[{"type": "logs", "logs": logs}] if with_outputs else None,
    )
    await Item.objects.filter(pk=item.pk).aupdate(body=body)
    yield execution._event("response.code_interpreter_call.completed", **call)
    yield execution._item_event("response.output_item.done", index, item)

    reply = code_reply(
        logs=logs,
        failed=result is None or not result.ok,
        files=[ProducedFile(produced.name, produced.is_image) for produced, _ in stored],
        sandbox_error=error,
    )
    file_ids = {produced.name: file.public_id for produced, file in stored}
    annotate = _container_file_citations(reply, container_id, file_ids)
    async for event in execution._reply(reply.tokens, annotate=annotate):
        yield event
