"""Reads: objects by their public id (404 in the real shape when missing), run inputs."""

from localai.api import APIError, not_found
from localai.model import count_tokens
from localai.models import (
    ACTIVE_RUN_STATUSES,
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
from localai.response_states import response_expire_if_abandoned
from localai.run_states import run_end

# How far back a `previous_response_id` chain is followed for the model's context.
MAX_RESPONSE_CHAIN = 100


async def assistant_get(public_id: str, param: str | None = None) -> Assistant:
    try:
        return await Assistant.objects.aget(public_id=public_id)
    except Assistant.DoesNotExist:
        raise not_found("assistant", public_id, param) from None


async def thread_get(public_id: str) -> Thread:
    try:
        return await Thread.objects.aget(public_id=public_id)
    except Thread.DoesNotExist:
        raise not_found("thread", public_id) from None


async def message_get(thread: Thread, public_id: str) -> Message:
    try:
        return await Message.objects.aget(thread=thread, public_id=public_id)
    except Message.DoesNotExist:
        raise not_found("message", public_id) from None


async def run_get(thread: Thread, public_id: str) -> Run:
    try:
        run = await Run.objects.aget(thread=thread, public_id=public_id)
    except Run.DoesNotExist:
        raise not_found("run", public_id) from None
    if run.status in ACTIVE_RUN_STATUSES and run.expires_at and run.expires_at <= unix_now():
        # Nothing executes it any more (its process died): it expires as a real run would.
        await run_end(run, "expired")
        await run.arefresh_from_db()
    return run


async def run_step_get(run: Run, public_id: str) -> RunStep:
    try:
        return await RunStep.objects.aget(run=run, public_id=public_id)
    except RunStep.DoesNotExist:
        raise not_found("run step", public_id) from None


async def thread_last_user_text(thread: Thread) -> str:
    message = await Message.objects.filter(thread=thread, role="user").order_by("-pk").afirst()
    return message.text if message else ""


async def thread_prompt_tokens(thread: Thread) -> int:
    return sum([count_tokens(message.text) async for message in thread.messages.all()])


# --- Responses API and Conversations API -----------------------------------------------------


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
    try:
        response = await Response.objects.aget(public_id=public_id)
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
