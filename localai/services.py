"""Writes of the local provider, with the rules the real service enforces."""

from localai import ids
from localai.api import APIError
from localai.model import count_tokens
from localai.models import (
    ACTIVE_RESPONSE_STATUSES,
    RUN_LIFETIME_SECONDS,
    Assistant,
    Conversation,
    Item,
    Message,
    Response,
    Run,
    RunStep,
    Thread,
    unix_now,
)
from localai.objects import usage_object
from localai.response_states import (
    RESPONSE_LIFETIME_SECONDS,
    conversation_active_response,
    response_advance,
)
from localai.run_states import run_advance, run_end, thread_active_run
from localai.selectors import thread_prompt_tokens


async def assistant_create(*, fields: dict) -> Assistant:
    return await Assistant.objects.acreate(**fields)


async def assistant_update(*, assistant: Assistant, fields: dict) -> Assistant:
    for name, value in fields.items():
        setattr(assistant, name, value)
    await assistant.asave(update_fields=list(fields) or None)
    return assistant


async def assistant_delete(*, assistant: Assistant) -> None:
    await assistant.adelete()


async def thread_create(*, metadata: dict, tool_resources: dict, messages: list[dict]) -> Thread:
    thread = await Thread.objects.acreate(metadata=metadata, tool_resources=tool_resources)
    for fields in messages:
        await Message.objects.acreate(thread=thread, **fields)
    return thread


async def thread_update(*, thread: Thread, fields: dict) -> Thread:
    for name, value in fields.items():
        setattr(thread, name, value)
    await thread.asave(update_fields=list(fields) or None)
    return thread


async def thread_delete(*, thread: Thread) -> None:
    # A run still streaming notices that its row is gone and stops (see RunExecution).
    await thread.adelete()


_BUSY_FOR_MESSAGES = "Can't add messages to {thread} while a run {run} is active."
_BUSY_FOR_RUNS = "Thread {thread} already has an active run {run}."


async def _ensure_no_active_run(thread: Thread, error: str) -> None:
    run = await thread_active_run(thread)
    if run is not None:
        raise APIError(400, error.format(thread=thread.public_id, run=run.public_id))


async def message_create(*, thread: Thread, fields: dict) -> Message:
    await _ensure_no_active_run(thread, _BUSY_FOR_MESSAGES)
    return await Message.objects.acreate(thread=thread, **fields)


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
    with the assistant's; `input_text` is what the deterministic model answers.
    """
    await _ensure_no_active_run(thread, _BUSY_FOR_RUNS)
    run_id = ids.run_id()
    claimed = await Thread.objects.filter(pk=thread.pk, active_run_id__isnull=True).aupdate(
        active_run_id=run_id
    )
    if not claimed:
        # Another request claimed the thread between the check and now.
        await _ensure_no_active_run(thread, _BUSY_FOR_RUNS)
        raise APIError(409, f"Thread {thread.public_id} is busy; try again.")
    try:
        for fields in additional_messages:
            await Message.objects.acreate(thread=thread, **fields)
        created_at = unix_now()
        return await Run.objects.acreate(
            public_id=run_id,
            thread=thread,
            assistant_id=assistant.public_id,
            created_at=created_at,
            expires_at=created_at + RUN_LIFETIME_SECONDS,
            input_text=input_text,
            prompt_tokens=count_tokens(options["instructions"])
            + await thread_prompt_tokens(thread),
            **options,
        )
    except BaseException:
        await Thread.objects.filter(pk=thread.pk, active_run_id=run_id).aupdate(active_run_id=None)
        raise


async def run_cancel(*, run: Run) -> Run:
    """Asks the run to stop. An executing run goes to `cancelling`; its execution ends it."""
    if run.status == "requires_action":
        # Nothing is executing it: it ends here.
        await run_end(run, "cancelled")
        return run
    if await run_advance(run, "cancelling", from_statuses=("queued", "in_progress")):
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
    queued = await run_advance(
        run, "queued", from_statuses=("requires_action",), required_action=None
    )
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


# --- Responses API and Conversations API -----------------------------------------------------


def _locked(conversation: Conversation) -> APIError:
    return APIError(
        400,
        f"Another response is in progress on conversation {conversation.public_id}. "
        "Please retry once it has finished.",
        param="conversation",
        code="conversation_locked",
    )


async def _items_add(
    bodies: list[dict],
    *,
    conversation: Conversation | None = None,
    response: Response | None = None,
    direction: str = "input",
) -> list[Item]:
    return [
        await Item.objects.acreate(
            public_id=ids.item_id(body["type"]),
            conversation=conversation,
            response=response,
            direction=direction,
            type=body["type"],
            body=body,
        )
        for body in bodies
    ]


async def conversation_create(*, metadata: dict, items: list[dict]) -> Conversation:
    conversation = await Conversation.objects.acreate(metadata=metadata)
    await _items_add(items, conversation=conversation)
    return conversation


async def conversation_update(*, conversation: Conversation, metadata: dict) -> Conversation:
    conversation.metadata = metadata
    await conversation.asave(update_fields=["metadata"])
    return conversation


async def conversation_delete(*, conversation: Conversation) -> None:
    # Its items go with it; its responses stay (they still name it), and one still
    # streaming stops adding to it.
    await conversation.adelete()


async def conversation_items_add(*, conversation: Conversation, items: list[dict]) -> list[Item]:
    """Appends items; not while a response is adding its own, so that they never interleave."""
    if await conversation_active_response(conversation) is not None:
        raise _locked(conversation)
    return await _items_add(items, conversation=conversation)


async def conversation_item_delete(*, item: Item) -> None:
    await item.adelete()


async def _conversation_claim(conversation: Conversation, response_id: str) -> None:
    """Makes `response_id` the conversation's one active response, across processes."""
    for _ in range(2):
        claimed = await Conversation.objects.filter(
            pk=conversation.pk, active_response_id__isnull=True
        ).aupdate(active_response_id=response_id)
        if claimed:
            return
        # Held: by a live response (refused), or by one that has ended (freed, try again).
        if await conversation_active_response(conversation) is not None:
            raise _locked(conversation)
    raise _locked(conversation)


async def response_create(
    *, conversation: Conversation | None, inputs: list[dict], fields: dict
) -> Response:
    """Creates a response and stores its input items (in its conversation, if any).

    A background response starts `queued`, any other `in_progress`, as in the real API.
    """
    response_id = ids.response_id()
    if conversation is not None:
        await _conversation_claim(conversation, response_id)
    try:
        created_at = unix_now()
        response = await Response.objects.acreate(
            public_id=response_id,
            created_at=created_at,
            expires_at=created_at + RESPONSE_LIFETIME_SECONDS,
            status="queued" if fields.get("background") else "in_progress",
            conversation=conversation,
            conversation_public_id=conversation.public_id if conversation else None,
            **fields,
        )
        await _items_add(inputs, conversation=conversation, response=response)
    except BaseException:
        if conversation is not None:
            await Conversation.objects.filter(
                pk=conversation.pk, active_response_id=response_id
            ).aupdate(active_response_id=None)
        raise
    return response


async def response_cancel(*, response: Response) -> Response:
    """Stops a response; its execution notices within a moment and finishes its items."""
    if await response_advance(response, "cancelled", from_statuses=ACTIVE_RESPONSE_STATUSES):
        return response
    await response.arefresh_from_db()
    if response.status == "cancelled":
        # Cancelling twice is harmless, as in the real API.
        return response
    raise APIError(400, f"Cannot cancel a {response.status} response.")


async def response_delete(*, response: Response) -> None:
    # Output items that no conversation keeps go with it; one still streaming stops.
    await Item.objects.filter(response=response, conversation__isnull=True).adelete()
    await response.adelete()
