"""Reads of the Responses and Conversations APIs: objects by their public id (404 in the real
shape when missing), the context a new response follows."""

from localai.http.errors import APIError
from localai.models import Conversation, Item, Response
from localai.responses_api.states import response_expire_if_abandoned

# How far back a `previous_response_id` chain is followed for the model's context.
MAX_RESPONSE_CHAIN = 100


async def conversation_get(public_id: str, param: str | None = None) -> Conversation:
    try:
        return await Conversation.objects.aget(public_id=public_id)
    except Conversation.DoesNotExist:
        raise APIError(404, f"Conversation with id '{public_id}' not found.", param=param) from None


async def conversation_item_get(conversation: Conversation, public_id: str) -> Item:
    try:
        return await Item.objects.aget(conversation=conversation, public_id=public_id)
    except Item.DoesNotExist:
        raise APIError(404, f"Item with id '{public_id}' not found.") from None


async def conversation_item_bodies(conversation: Conversation) -> list[dict]:
    return [item.body async for item in conversation.items.order_by("pk")]


async def response_get(public_id: str, param: str | None = None) -> Response:
    """A stored response; one created with `store: false` cannot be referenced, as in the
    real API (its row lives only while it executes)."""
    try:
        response = await Response.objects.aget(public_id=public_id, store=True)
    except Response.DoesNotExist:
        raise APIError(404, f"Response with id '{public_id}' not found.", param=param) from None
    await response_expire_if_abandoned(response)
    return response


async def response_output(response: Response) -> list[Item]:
    return [item async for item in response.items.filter(direction="output").order_by("pk")]


async def response_chain_item_bodies(previous: Response) -> list[dict]:
    """The items of a `previous_response_id` chain, oldest first: each response's input
    items, then its output items."""
    chain = [previous]
    while chain[-1].previous_response_id and len(chain) < MAX_RESPONSE_CHAIN:
        earlier = await Response.objects.filter(public_id=chain[-1].previous_response_id).afirst()
        if earlier is None:
            break
        chain.append(earlier)
    items = Item.objects.filter(response__in=chain).order_by("pk")
    return [item.body async for item in items]
