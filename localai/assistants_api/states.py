"""A run's life cycle in the database: transitions, the end of a run, the thread's lock.

Every change of status is a conditional UPDATE on the current status (engine/states.py), so
that a cancel from
one connection (or process) and the execution in another never overwrite each other.
"""

from localai.assistants_api.objects import text_block, usage_object
from localai.engine.model import count_tokens
from localai.engine.states import advance, current_status
from localai.models import ACTIVE_RUN_STATUSES, Message, Run, RunStep, Thread, unix_now

# How each way of ending shows on the run's steps and on its unfinished message.
_STEP_STATUS = {
    "completed": "completed",
    "cancelled": "cancelled",
    "failed": "failed",
    "expired": "expired",
}
_STEP_TIMESTAMP = {
    "completed": "completed_at",
    "cancelled": "cancelled_at",
    "failed": "failed_at",
    "expired": "expired_at",
}
_INCOMPLETE_REASON = {
    "cancelled": "run_cancelled",
    "failed": "run_failed",
    "expired": "run_expired",
}


async def thread_release(run: Run) -> None:
    await Thread.objects.filter(pk=run.thread_id, active_run_id=run.public_id).aupdate(
        active_run_id=None
    )


async def _tool_call_tokens(run: Run) -> int:
    steps = RunStep.objects.filter(run=run, type="tool_calls")
    # Function arguments and code interpreter input are what the model wrote.
    return sum(
        [
            count_tokens(
                call.get("function", {}).get("arguments")
                or call.get("code_interpreter", {}).get("input")
                or ""
            )
            async for step in steps
            for call in step.step_details.get("tool_calls", [])
        ]
    )


async def run_end(
    run: Run,
    outcome: str,
    *,
    message: Message | None = None,
    steps: tuple[RunStep, ...] = (),
    text: str = "",
    streamed_tokens: int = 0,
    error: str = "",
    blocks_before: tuple[dict, ...] = (),
    annotations: tuple[dict, ...] = (),
) -> str:
    """Ends a run as completed, cancelled, failed or expired; returns how it really ended.

    The message's content is `blocks_before` (image files, say) then the text block, which
    keeps the `annotations` that lie within the text streamed.

    "completed" becomes "cancelled" when a cancel arrived first. The run's unfinished message
    keeps `text`, and its unfinished steps end with it. `message` and `steps` are the
    in-memory objects to update for the stream's final events.
    """
    now = unix_now()
    usage = usage_object(run.prompt_tokens, streamed_tokens + await _tool_call_tokens(run))
    if outcome == "completed" and not await advance(
        run, "completed", from_statuses=("in_progress",), completed_at=now, usage=usage
    ):
        outcome = "cancelled"
    if outcome != "completed":
        fields: dict = {"usage": usage, "required_action": None}
        if outcome == "cancelled":
            fields["cancelled_at"] = now
        elif outcome == "failed":
            fields["failed_at"] = now
            fields["last_error"] = {"code": "server_error", "message": error}
        if not await advance(run, outcome, from_statuses=ACTIVE_RUN_STATUSES, **fields):
            # Someone else ended it (a lazy expiry), or the thread was deleted meanwhile.
            return await current_status(run) or "cancelled"
    await thread_release(run)

    message_fields: dict = {}
    if outcome == "completed":
        message_fields.update(status="completed", completed_at=now)
    else:
        message_fields.update(
            status="incomplete",
            incomplete_at=now,
            incomplete_details={"reason": _INCOMPLETE_REASON[outcome]},
        )
    if message is not None:
        block = text_block(text)
        block["text"]["annotations"] = [
            annotation for annotation in annotations if annotation["end_index"] <= len(text)
        ]
        message_fields["content"] = [*blocks_before, block]
        for name, value in message_fields.items():
            setattr(message, name, value)
        await Message.objects.filter(pk=message.pk).aupdate(**message_fields)
    else:
        await Message.objects.filter(run_id=run.public_id, status="in_progress").aupdate(
            **message_fields
        )

    step_fields: dict = {"status": _STEP_STATUS[outcome], _STEP_TIMESTAMP[outcome]: now}
    if outcome == "failed":
        step_fields["last_error"] = {"code": "server_error", "message": error}
    for step in steps:
        if step.status != "in_progress":
            continue  # a finished step (the code that ran) stays as it ended, as in the API
        fields = {**step_fields}
        if step.type == "message_creation":
            fields["usage"] = usage_object(run.prompt_tokens, streamed_tokens)
        for name, value in fields.items():
            setattr(step, name, value)
        await RunStep.objects.filter(pk=step.pk).aupdate(**fields)
    await RunStep.objects.filter(run=run, status="in_progress").aupdate(**step_fields)
    return outcome


async def thread_active_run(thread: Thread) -> Run | None:
    """The run holding the thread, after freeing a thread whose run has ended or expired."""
    holder = Thread.objects.filter(pk=thread.pk).values_list("active_run_id", flat=True)
    run_id = await holder.afirst()
    if not run_id:
        return None
    run = await Run.objects.filter(public_id=run_id).afirst()
    if run is None or run.status not in ACTIVE_RUN_STATUSES:
        await Thread.objects.filter(pk=thread.pk, active_run_id=run_id).aupdate(active_run_id=None)
        return None
    if run.expires_at is not None and run.expires_at <= unix_now():
        # Its execution is gone (a process that died); it expires as a real run would.
        await run_end(run, "expired")
        return None
    return run


async def run_fail_after_crash(run: Run) -> bool:
    """Marks a run whose execution crashed as failed, with as little machinery as possible."""
    now = unix_now()
    error = {"code": "server_error", "message": "The local provider crashed."}
    updated = await Run.objects.filter(pk=run.pk, status__in=ACTIVE_RUN_STATUSES).aupdate(
        status="failed", failed_at=now, last_error=error, required_action=None
    )
    await thread_release(run)
    await Message.objects.filter(run_id=run.public_id, status="in_progress").aupdate(
        status="incomplete", incomplete_at=now, incomplete_details={"reason": "run_failed"}
    )
    await RunStep.objects.filter(run=run, status="in_progress").aupdate(
        status="failed", failed_at=now, last_error=error
    )
    if updated:
        run.status, run.failed_at, run.last_error, run.required_action = "failed", now, error, None
    return bool(updated)
