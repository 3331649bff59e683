"""Reads of the Assistants API: objects by their public id (404 in the real shape when
missing), run inputs."""

from localai.assistants_api.states import run_end
from localai.engine.model import count_tokens
from localai.http.errors import not_found
from localai.models import (
    ACTIVE_RUN_STATUSES,
    Assistant,
    Message,
    Run,
    RunStep,
    Thread,
    unix_now,
)


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


async def thread_earlier_user_texts(thread_pk: int) -> list[str]:
    """The thread's user messages before the last one (which a run answers), oldest first."""
    texts = [
        message.text
        async for message in Message.objects.filter(thread_id=thread_pk, role="user").order_by("pk")
    ]
    return texts[:-1]


def thread_prompt_tokens(thread: Thread) -> int:
    """The tokens of the thread's messages (synchronous: counted in the run's creation)."""
    return sum(count_tokens(message.text) for message in thread.messages.all())
