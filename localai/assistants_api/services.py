"""Writes of the Assistants API, with the rules the real service enforces."""

from localai import ids
from localai.assistants_api.objects import usage_object
from localai.assistants_api.selectors import thread_prompt_tokens
from localai.assistants_api.states import run_end, thread_active_run
from localai.engine.model import count_tokens
from localai.engine.states import advance
from localai.http.errors import APIError, not_found
from localai.locks import alocked_write
from localai.models import (
    RUN_LIFETIME_SECONDS,
    Assistant,
    Message,
    Run,
    RunStep,
    Thread,
    unix_now,
)
from localai.tools.file_search import file_search_resources, thread_attachments_index


async def _with_file_search_stores(fields: dict) -> dict:
    """The fields, with the file_search helper stores of their `tool_resources` made."""
    if "tool_resources" not in fields:
        return fields
    return {**fields, "tool_resources": await file_search_resources(fields["tool_resources"])}


async def _update(record: Assistant | Thread, fields: dict) -> None:
    for name, value in fields.items():
        setattr(record, name, value)
    await record.asave(update_fields=list(fields) or None)


async def assistant_create(*, fields: dict) -> Assistant:
    return await Assistant.objects.acreate(**await _with_file_search_stores(fields))


async def assistant_update(*, assistant: Assistant, fields: dict) -> Assistant:
    await _update(assistant, await _with_file_search_stores(fields))
    return assistant


async def assistant_delete(*, assistant: Assistant) -> None:
    await assistant.adelete()


async def thread_create(*, metadata: dict, tool_resources: object, messages: list[dict]) -> Thread:
    """A thread with its messages; files attached to them for file_search are indexed."""
    thread = await Thread.objects.acreate(
        metadata=metadata, tool_resources=await file_search_resources(tool_resources)
    )
    for fields in messages:
        await Message.objects.acreate(thread=thread, **fields)
    await thread_attachments_index(thread=thread, messages=messages)
    return thread


async def thread_update(*, thread: Thread, fields: dict) -> Thread:
    await _update(thread, await _with_file_search_stores(fields))
    return thread


async def thread_delete(*, thread: Thread) -> None:
    # A run still streaming notices that its row is gone and stops (see RunExecution).
    # Locked, so that a message or run created meanwhile comes before or after (locks.py).
    found, _ = await alocked_write(thread, thread.delete)
    if not found:
        raise not_found("thread", thread.public_id)


_BUSY_FOR_MESSAGES = "Can't add messages to {thread} while a run {run} is active."
_BUSY_FOR_RUNS = "Thread {thread} already has an active run {run}."


async def _ensure_no_active_run(thread: Thread, error: str) -> None:
    run = await thread_active_run(thread)
    if run is not None:
        raise APIError(400, error.format(thread=thread.public_id, run=run.public_id))


async def message_create(*, thread: Thread, fields: dict) -> Message:
    await _ensure_no_active_run(thread, _BUSY_FOR_MESSAGES)
    # The thread may be being deleted: then this is a 404, not a broken foreign key.
    found, message = await alocked_write(
        thread, lambda: Message.objects.create(thread=thread, **fields)
    )
    if not found:
        raise not_found("thread", thread.public_id)
    await thread_attachments_index(thread=thread, messages=[fields])
    return message


async def run_create(
    *,
    thread: Thread,
    assistant: Assistant,
    options: dict,
    additional_messages: list[dict],
    input_text: str,
) -> Run:
    """Creates a queued run holding the thread; at most one per thread, across processes.

    `options` are the run's own values (instructions, model, tools, ...) already merged
    with the assistant's; `input_text` is what the deterministic model answers. Files
    attached to the additional messages for file_search are indexed once the run exists.
    """
    await _ensure_no_active_run(thread, _BUSY_FOR_RUNS)
    run_id = ids.run_id()
    claimed = await Thread.objects.filter(pk=thread.pk, active_run_id__isnull=True).aupdate(
        active_run_id=run_id
    )
    if not claimed:
        if not await Thread.objects.filter(pk=thread.pk).aexists():
            raise not_found("thread", thread.public_id)
        # Another request claimed the thread between the check and now.
        await _ensure_no_active_run(thread, _BUSY_FOR_RUNS)
        raise APIError(409, f"Thread {thread.public_id} is busy; try again.")

    def write() -> Run:
        for fields in additional_messages:
            Message.objects.create(thread=thread, **fields)
        created_at = unix_now()
        return Run.objects.create(
            public_id=run_id,
            thread=thread,
            assistant_id=assistant.public_id,
            created_at=created_at,
            expires_at=created_at + RUN_LIFETIME_SECONDS,
            input_text=input_text,
            prompt_tokens=count_tokens(options["instructions"]) + thread_prompt_tokens(thread),
            **options,
        )

    try:
        # Locked: the thread may be being deleted (locks.py).
        found, run = await alocked_write(thread, write)
        if not found:
            raise not_found("thread", thread.public_id)
    except BaseException:
        await Thread.objects.filter(pk=thread.pk, active_run_id=run_id).aupdate(active_run_id=None)
        raise
    await thread_attachments_index(thread=thread, messages=additional_messages)
    return run


async def run_update(*, run: Run, metadata: dict) -> Run:
    run.metadata = metadata
    await Run.objects.filter(pk=run.pk).aupdate(metadata=run.metadata)
    return run


async def run_cancel(*, run: Run) -> Run:
    """Asks the run to stop. An executing run goes to `cancelling`; its execution ends it."""
    if run.status == "requires_action":
        # Nothing is executing it: it ends here.
        await run_end(run, "cancelled")
        return run
    if await advance(run, "cancelling", from_statuses=("queued", "in_progress")):
        return run
    await run.arefresh_from_db()
    if run.status == "cancelling":
        return run
    raise APIError(400, f"Cannot cancel run with status '{run.status}'.")


async def run_submit_tool_outputs(*, run: Run, outputs: list[dict]) -> Run:
    """Stores the outputs on the run's tool-call step and queues the run again."""
    if run.status != "requires_action" or not run.required_action:
        raise APIError(400, f'Runs in status "{run.status}" do not accept tool outputs.')
    expected = [call["id"] for call in run.required_action["submit_tool_outputs"]["tool_calls"]]
    given = {item.get("tool_call_id"): item.get("output") or "" for item in outputs}
    if set(given) != set(expected):
        raise APIError(
            400,
            f"Expected tool outputs for call_ids {expected}, got {list(given)}.",
            param="tool_outputs",
        )
    step = await RunStep.objects.filter(run=run, type="tool_calls").alatest("pk")
    queued = await advance(run, "queued", from_statuses=("requires_action",), required_action=None)
    if not queued:
        await run.arefresh_from_db()
        raise APIError(400, f'Runs in status "{run.status}" do not accept tool outputs.')
    for call in step.step_details["tool_calls"]:
        call["function"]["output"] = str(given[call["id"]])
    step.status = "completed"
    step.completed_at = unix_now()
    completion_tokens = sum(
        count_tokens(call["function"]["arguments"]) for call in step.step_details["tool_calls"]
    )
    step.usage = usage_object(run.prompt_tokens, completion_tokens)
    await step.asave()
    return run
