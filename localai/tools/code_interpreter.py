"""The code interpreter of both protocols: whether it is on, which files a run gets, running
the sandbox while watching for a cancel, and keeping what the code produced.

Assistants runs get the files of `tool_resources.code_interpreter.file_ids` (assistant and
thread) and of messages attached for the code interpreter; produced files become Files with
purpose "assistants_output". Responses run in a container, whose files the code gets and
where produced files stay.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from django.conf import settings

from localai.engine.code_model import offers_code_interpreter
from localai.files_api.containers import container_file_put, container_get
from localai.files_api.files import file_create
from localai.http.errors import APIError
from localai.models import (
    Assistant,
    Container,
    ContainerFile,
    File,
    Message,
    Run,
    Thread,
)
from localai.tools.sandbox.run import SandboxFile, SandboxResult, sandbox_run

CANCEL_CHECK_INTERVAL = 0.1
DISABLED_MESSAGE = (
    "The code_interpreter tool is not enabled on this server (the local provider runs code "
    "only with LOCAL_PROVIDER_CODE_INTERPRETER=true). Remove it from 'tools' or ask the "
    "administrator to enable it."
)


def code_interpreter_check(*, tools: Iterable[dict] = (), tool_resources: object = None) -> None:
    """Refuses a definition that offers the code interpreter while it is switched off."""
    if settings.LOCAL_PROVIDER_CODE_INTERPRETER:
        return
    offered = offers_code_interpreter(tools or ())
    if isinstance(tool_resources, dict) and tool_resources.get("code_interpreter"):
        offered = True
    if offered:
        raise APIError(400, DISABLED_MESSAGE, param="tools", code="unsupported_tool")


def _resource_file_ids(tool_resources: object) -> list[str]:
    if not isinstance(tool_resources, dict):
        return []
    resources = tool_resources.get("code_interpreter")
    if not isinstance(resources, dict):
        return []
    return [file_id for file_id in resources.get("file_ids") or [] if isinstance(file_id, str)]


async def run_input_file_ids(run: Run) -> list[str]:
    """The assistant's and the thread's code interpreter files, then files attached to the
    thread's messages for the code interpreter (as the real API adds them to the thread)."""

    file_ids: list[str] = []
    assistant = await Assistant.objects.filter(public_id=run.assistant_id).afirst()
    if assistant is not None:
        file_ids += _resource_file_ids(assistant.tool_resources)
    thread = await Thread.objects.aget(pk=run.thread_id)
    file_ids += _resource_file_ids(thread.tool_resources)
    async for message in Message.objects.filter(thread_id=run.thread_id).order_by("pk"):
        for attachment in message.attachments or []:
            tools = attachment.get("tools") or [] if isinstance(attachment, dict) else []
            if offers_code_interpreter(tools) and isinstance(attachment.get("file_id"), str):
                file_ids.append(attachment["file_id"])
    return list(dict.fromkeys(file_ids))


async def sandbox_run_watched(
    *, code: str, files: list[tuple[str, bytes]], cancel_requested: Callable[[], Awaitable[bool]]
) -> SandboxResult | None:
    """Runs the sandbox; None when a cancel came first (the sandbox is stopped and removed)."""
    task = asyncio.ensure_future(sandbox_run(code=code, files=files))
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=CANCEL_CHECK_INTERVAL)
            if done:
                return task.result()
            if await cancel_requested():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                return None
    finally:
        if not task.done():
            # This generator itself is being cancelled: the sandbox goes too.
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def output_files_create(*, files: list[SandboxFile]) -> list[tuple[SandboxFile, File]]:
    """Produced files kept as Files with purpose "assistants_output" (Assistants API)."""
    return [
        (
            produced,
            await file_create(
                filename=produced.name.rsplit("/", 1)[-1],
                purpose="assistants_output",
                content=produced.content,
                content_type=produced.mime,
            ),
        )
        for produced in files
    ]


async def code_interpreter_tools_check(tools: list[dict]) -> None:
    """Responses: the tool is switched on, and a container named by id exists."""
    code_interpreter_check(tools=tools)
    for index, tool in enumerate(tools):
        container = tool.get("container") if tool.get("type") == "code_interpreter" else None
        if isinstance(container, str):
            await container_get(container, param=f"tools[{index}].container")


async def container_outputs_put(
    *, container: Container, files: list[SandboxFile]
) -> list[tuple[SandboxFile, ContainerFile]]:
    return [
        (
            produced,
            await container_file_put(
                container=container,
                name=produced.name,
                content=produced.content,
                source="assistant",
                mime=produced.mime,
            ),
        )
        for produced in files
    ]
