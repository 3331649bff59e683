"""The code interpreter's shapes in the Responses API: the container a call runs in, the
`code_interpreter_call` item, the `container_file_citation` annotations of the reply's file
links. The runner (runner.py) streams them.

Events, as the real API sends them: `response.output_item.added` (status in_progress),
`response.code_interpreter_call.in_progress`, `response.code_interpreter_call_code.delta`
(the code, in pieces) and `.done`, `response.code_interpreter_call.interpreting`,
`response.code_interpreter_call.completed`, `response.output_item.done`; the item's
`outputs` (the logs) only with `include: ["code_interpreter_call.outputs"]`.
"""

from localai.engine.code_model import CodeReply, LinkToken
from localai.engine.token_stream import Annotate, annotate_tokens
from localai.files_api.containers import container_create
from localai.models import Container

OUTPUTS_INCLUDE = "code_interpreter_call.outputs"


def code_interpreter_tool(tools: list[dict]) -> dict | None:
    return next((tool for tool in tools if tool.get("type") == "code_interpreter"), None)


async def container_for(tool: dict, response_id: str) -> Container | None:
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


def code_call_body(container_id: str, code: str, status: str, outputs: list | None) -> dict:
    return {
        "type": "code_interpreter_call",
        "status": status,
        "code": code,
        "container_id": container_id,
        "outputs": outputs,
    }


def container_file_citations(
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
