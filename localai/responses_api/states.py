"""A response's life cycle in the database: transitions, its end, the conversation's lock.

As for runs, every change of status is a conditional UPDATE on the current status
(engine/states.py), so that a cancel from one connection (or process) and the execution in another
never overwrite each other. The end of a response is also when its output items join its
conversation, as in the real API.
"""

from collections.abc import Sequence

from django.db.models import Subquery

from localai.engine.model import count_tokens
from localai.engine.states import advance, current_status
from localai.models import (
    ACTIVE_RESPONSE_STATUSES,
    RUN_LIFETIME_SECONDS,
    Conversation,
    Item,
    Response,
    unix_now,
)
from localai.responses_api.objects import output_text_part, usage_object

# An unfinished response that nothing executes any more (its process died) fails this long
# after its creation; real runs expire after the same time.
RESPONSE_LIFETIME_SECONDS = RUN_LIFETIME_SECONDS
CRASH_ERROR = "The local provider stopped executing this response."


async def conversation_release(response: Response) -> None:
    await Conversation.objects.filter(active_response_id=response.public_id).aupdate(
        active_response_id=None
    )


async def _output_items_join_conversation(response: Response) -> None:
    # One statement reads the response's conversation as it is now: null if the
    # conversation was deleted while the response streamed.
    conversation = Response.objects.filter(pk=response.pk).values("conversation_id")
    await Item.objects.filter(
        response_id=response.pk, direction="output", conversation__isnull=True
    ).aupdate(conversation_id=Subquery(conversation))


async def _finish_items(
    items: list[Item], outcome: str, text: str | None, annotations: Sequence[dict] = ()
) -> None:
    """The output items' final state: a message gets its text, with the annotations that
    point into it; anything unfinished is `incomplete` unless the response completed."""
    for item in items:
        body = item.body
        if item.type == "message":
            if text is not None:
                kept = [note for note in annotations if _annotation_end(note) <= len(text)]
                body["content"] = [output_text_part(text, kept)]
            body["status"] = "completed" if outcome == "completed" else "incomplete"
        elif body.get("status") == "in_progress":
            body["status"] = "completed" if outcome == "completed" else "incomplete"
        await Item.objects.filter(pk=item.pk).aupdate(body=body)


def _annotation_end(annotation: dict) -> int:
    # A file citation points at one offset, other annotations span a range.
    return annotation.get("end_index", annotation.get("index", 0))


def _usage(response: Response, items: list[Item], streamed_tokens: int) -> dict:
    call_tokens = sum(
        count_tokens(item.body["arguments"]) for item in items if item.type == "function_call"
    )
    return usage_object(response.prompt_tokens, streamed_tokens + call_tokens)


async def response_end(
    response: Response,
    outcome: str,
    *,
    items: Sequence[Item] = (),
    text: str | None = None,
    streamed_tokens: int = 0,
    error: str = "",
    incomplete_reason: str = "max_output_tokens",
    annotations: Sequence[dict] = (),
) -> str:
    """Ends a response as completed, cancelled, failed or incomplete; returns how it ended.

    "completed" becomes "cancelled" when a cancel arrived first. `items` are the output
    items streamed so far (updated in place), `text` the text of its message item and
    `annotations` that text's annotations (those past the text streamed are dropped).
    """
    items = list(items)
    usage = _usage(response, items, streamed_tokens)
    fields: dict = {"usage": usage}
    if outcome == "completed":
        fields["completed_at"] = unix_now()
    elif outcome == "failed":
        fields["error"] = {"code": "server_error", "message": error}
    elif outcome == "incomplete":
        fields["incomplete_details"] = {"reason": incomplete_reason}
    if not await advance(response, outcome, from_statuses=ACTIVE_RESPONSE_STATUSES, **fields):
        status = await current_status(response)
        if status is None:
            # Deleted while it streamed: what it produced goes with it.
            await Item.objects.filter(pk__in=[item.pk for item in items]).adelete()
            return "cancelled"
        if status != "cancelled":
            # Someone else ended it (it was found abandoned meanwhile).
            return status
        # Cancelled through the API: the execution still finishes the items and the usage.
        outcome = "cancelled"
        response.status = outcome
        response.usage = usage
        await Response.objects.filter(pk=response.pk).aupdate(usage=usage)
    await _finish_items(items, outcome, text, annotations)
    await _output_items_join_conversation(response)
    await conversation_release(response)
    return outcome


async def response_fail_after_crash(response: Response, message: str = CRASH_ERROR) -> bool:
    """Marks a response whose execution is gone as failed, with little machinery."""
    error = {"code": "server_error", "message": message}
    updated = await Response.objects.filter(
        pk=response.pk, status__in=ACTIVE_RESPONSE_STATUSES
    ).aupdate(status="failed", error=error)
    if updated:
        response.status, response.error = "failed", error
        items = [item async for item in Item.objects.filter(response=response, direction="output")]
        await _finish_items(items, "failed", None)
        await _output_items_join_conversation(response)
    await conversation_release(response)
    return bool(updated)


async def response_expire_if_abandoned(response: Response) -> None:
    """A response past its lifetime and still unfinished has no execution any more."""
    if (
        response.status in ACTIVE_RESPONSE_STATUSES
        and response.expires_at is not None
        and response.expires_at <= unix_now()
    ):
        await response_fail_after_crash(response)
        await response.arefresh_from_db()


async def conversation_active_response(conversation: Conversation) -> Response | None:
    """The response holding the conversation, after freeing one whose response has ended."""
    holder = Conversation.objects.filter(pk=conversation.pk).values_list(
        "active_response_id", flat=True
    )
    response_id = await holder.afirst()
    if not response_id:
        return None
    response = await Response.objects.filter(public_id=response_id).afirst()
    if response is not None:
        await response_expire_if_abandoned(response)
    if response is None or response.status not in ACTIVE_RESPONSE_STATUSES:
        await Conversation.objects.filter(
            pk=conversation.pk, active_response_id=response_id
        ).aupdate(active_response_id=None)
        return None
    return response
