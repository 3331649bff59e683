"""Writes of the Responses and Conversations APIs, with the rules the real service enforces."""

from collections.abc import Callable
from typing import TypeVar

from localai import ids
from localai.engine.states import advance
from localai.http.errors import APIError
from localai.locks import aatomic_write, alocked_write
from localai.models import ACTIVE_RESPONSE_STATUSES, Conversation, Item, Response, unix_now
from localai.responses_api.states import (
    RESPONSE_LIFETIME_SECONDS,
    conversation_active_response,
)


def _locked(conversation: Conversation) -> APIError:
    return APIError(
        400,
        f"Another response is in progress on conversation {conversation.public_id}. "
        "Please retry once it has finished.",
        param="conversation",
        code="conversation_locked",
    )


T = TypeVar("T")


def _conversation_gone(conversation: Conversation) -> APIError:
    return APIError(404, f"Conversation with id '{conversation.public_id}' not found.")


def _items_add(
    bodies: list[dict],
    *,
    conversation: Conversation | None = None,
    response: Response | None = None,
    direction: str = "input",
) -> list[Item]:
    """Synchronous: it runs in the transaction of a `locks.locked_write`, or of a create."""
    return [
        Item.objects.create(
            public_id=ids.item_id(body["type"]),
            conversation=conversation,
            response=response,
            direction=direction,
            type=body["type"],
            body=body,
        )
        for body in bodies
    ]


async def _conversation_items_add(conversation: Conversation, write: Callable[[], T]) -> T:
    """Runs `write` (which adds rows to the conversation) with the conversation locked: it
    may be being deleted, and then this is a 404, not a broken foreign key (locks.py)."""
    found, result = await alocked_write(conversation, write)
    if not found:
        raise _conversation_gone(conversation)
    return result  # type: ignore[return-value]


async def conversation_create(*, metadata: dict, items: list[dict]) -> Conversation:
    def write() -> Conversation:
        conversation = Conversation.objects.create(metadata=metadata)
        _items_add(items, conversation=conversation)
        return conversation

    return await aatomic_write(Item, write)


async def conversation_update(*, conversation: Conversation, metadata: dict) -> Conversation:
    conversation.metadata = metadata
    await conversation.asave(update_fields=["metadata"])
    return conversation


async def conversation_delete(*, conversation: Conversation) -> None:
    # Its items go with it; its responses stay (they still name it), and one still
    # streaming stops adding to it. Locked, so that items added meanwhile come before or
    # after (locks.py).
    found, _ = await alocked_write(conversation, conversation.delete)
    if not found:
        raise _conversation_gone(conversation)


async def conversation_items_add(*, conversation: Conversation, items: list[dict]) -> list[Item]:
    """Appends items; not while a response is adding its own, so that they never interleave."""
    if await conversation_active_response(conversation) is not None:
        raise _locked(conversation)
    return await _conversation_items_add(
        conversation, lambda: _items_add(items, conversation=conversation)
    )


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
        if not await Conversation.objects.filter(pk=conversation.pk).aexists():
            raise _conversation_gone(conversation)
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

    def write() -> Response:
        created_at = unix_now()
        response = Response.objects.create(
            public_id=response_id,
            created_at=created_at,
            expires_at=created_at + RESPONSE_LIFETIME_SECONDS,
            status="queued" if fields.get("background") else "in_progress",
            conversation=conversation,
            conversation_public_id=conversation.public_id if conversation else None,
            **fields,
        )
        _items_add(inputs, conversation=conversation, response=response)
        return response

    try:
        if conversation is None:
            response = await aatomic_write(Item, write)
        else:
            response = await _conversation_items_add(conversation, write)
    except BaseException:
        if conversation is not None:
            await Conversation.objects.filter(
                pk=conversation.pk, active_response_id=response_id
            ).aupdate(active_response_id=None)
        raise
    return response


async def response_cancel(*, response: Response) -> Response:
    """Stops a response; its execution notices within a moment and finishes its items."""
    if await advance(response, "cancelled", from_statuses=ACTIVE_RESPONSE_STATUSES):
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


async def response_forget_unstored(*, response: Response) -> None:
    """A response created with `store: false` is not kept once it has ended: it cannot be
    retrieved, continued or listed (its items that a conversation holds stay there)."""
    if not response.store:
        await response_delete(response=response)
