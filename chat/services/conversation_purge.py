"""Deleted conversations, for good: once their undo window (CHAT_UNDO_SECONDS) has closed,
the rows go, then their remote thread, files and vector store on the provider.

Every process sweeps once a few seconds (`purge_sweeper_start`, started with the first
socket as the stale-reply sweep is), and `manage.py purge_deleted_conversations` runs it at
start-up, so a deletion completes even when the process that took it died. Safe across
processes: each sweep claims rows with SKIP LOCKED (PostgreSQL) and only the sweep whose
DELETE removed a row deletes its remote objects; an Undo racing the purge is a
compare-and-set on `deleted_at` (conversation_restore), so one of the two wins.

The rows go before the remote objects, so that a provider that is down never keeps a
deleted conversation on the site: a remote deletion that fails is recorded for
`manage.py retry_remote_cleanup`, as everywhere else.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chat.agents import ProviderError
from chat.models import Assistant, Conversation

from .assistants import assistant_agent
from .remote_cleanup import (
    Kind,
    RemoteObject,
    aremote_objects_delete,
    stored_files_remote_objects,
)

logger = logging.getLogger(__name__)

# At most this many conversations per sweep; the next sweep takes the rest.
PURGE_BATCH = 100


@dataclass
class PurgedConversation:
    """What is left to delete on the provider once the row is gone."""

    conversation_id: int
    assistant: Assistant | None
    thread_id: str
    files: dict[str, list[RemoteObject]] = field(default_factory=dict)


def purge_cutoff():
    """Conversations deleted before this can no longer be restored."""
    return timezone.now() - timedelta(seconds=settings.CHAT_UNDO_SECONDS)


def _files_remote_objects(conversation: Conversation) -> dict[str, list[RemoteObject]]:
    """The conversation's vector store, attachments and code outputs on the provider."""
    stored = [*conversation.uploads.all(), *conversation.output_files.all()]
    by_provider = stored_files_remote_objects(stored)
    if conversation.remote_vector_store_id:
        # The store lives where its files went; with the assistant deleted, that is the only
        # trace of the provider left.
        provider = conversation.assistant.connection.name if conversation.assistant else ""
        provider = provider or next((f.remote_provider for f in stored if f.remote_provider), "")
        if provider:
            by_provider.setdefault(provider, []).insert(
                0, RemoteObject(Kind.VECTOR_STORE, conversation.remote_vector_store_id)
            )
    return by_provider


def _claim_expired(*, conversation_ids: list[int] | None = None) -> list[PurgedConversation]:
    """Deletes the rows whose undo window has closed; returns what this call deleted."""
    claimed = []
    with transaction.atomic():
        expired = Conversation.all_objects.filter(deleted_at__lte=purge_cutoff())
        if conversation_ids is not None:
            expired = expired.filter(pk__in=conversation_ids)
        rows = list(
            expired.select_related("assistant__connection")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("deleted_at")[:PURGE_BATCH]
        )
        for conversation in rows:
            plan = PurgedConversation(
                conversation_id=conversation.pk,
                assistant=conversation.assistant,
                thread_id=conversation.remote_thread_id,
                files=_files_remote_objects(conversation),
            )
            # The condition again: an Undo that got in first keeps its conversation.
            deleted, _ = Conversation.all_objects.filter(
                pk=conversation.pk, deleted_at__lte=purge_cutoff()
            ).delete()
            if deleted:
                claimed.append(plan)
    return claimed


async def _delete_remote(plan: PurgedConversation) -> None:
    assistant = plan.assistant
    if plan.thread_id and assistant is not None:
        try:
            await assistant_agent(assistant).thread(plan.thread_id).delete()
        except ProviderError as exc:
            logger.warning("Thread of conversation %s not deleted: %s", plan.conversation_id, exc)
            await aremote_objects_delete(
                provider=assistant.connection.name,
                protocol=assistant.protocol,
                objects=[RemoteObject(Kind.THREAD, plan.thread_id)],
            )
    for provider, objects in plan.files.items():
        await aremote_objects_delete(provider=provider, objects=objects)


async def aconversations_purge(*, conversation_ids: list[int] | None = None) -> int:
    """Purges the conversations whose undo window has closed; returns how many."""
    claimed = await database_sync_to_async(_claim_expired)(conversation_ids=conversation_ids)
    for plan in claimed:
        await _delete_remote(plan)
    return len(claimed)


_sweepers: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}


def purge_sweep_interval() -> float:
    """Often enough that a thread outlives its undo window by a few seconds at most."""
    return max(1.0, min(settings.CHAT_UNDO_SECONDS, settings.CHAT_RUNNER_HEARTBEAT) / 2)


def purge_sweeper_start() -> None:
    """Starts this process's purge of deleted conversations, once per event loop."""
    loop = asyncio.get_running_loop()
    task = _sweepers.get(loop)
    if task is None or task.done():
        _sweepers[loop] = loop.create_task(_sweep_forever(), name="conversation-purge")


async def _sweep_forever() -> None:
    while True:
        await asyncio.sleep(purge_sweep_interval())
        try:
            if purged := await aconversations_purge():
                logger.info("Purged %d deleted conversations", purged)
        except Exception:
            logger.exception("Could not purge deleted conversations")
