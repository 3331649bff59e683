"""Conversation writes: rename, pin and delete, with the sidebar of every tab kept in step."""

import re

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from chat.models import Conversation, Message
from chat.presenters import conversation_payload

from .assistants import assistant_agent
from .events import publish_on_commit, user_group
from .refusals import Refused
from .remote_cleanup import Kind, RemoteObject, remote_objects_delete, stored_files_remote_objects

TITLE_MAX_CHARS = 200
TITLE_DERIVED_CHARS = 60

# Markdown that says nothing in a one-line title: images and link targets (whose URL may
# hold balanced parentheses, as CommonMark allows: ".../Lisbon_(city)"), heading, quote and
# list markers, and the marks of emphasis (in pairs only: "6 * 7" keeps its star) outside
# code spans, whose backticks go too. Also the local model's directives ("[[delay:0.2]]",
# docs/local-provider.md), which steer a run and are no words of the user's.
_LINK_TARGET = r"\((?:[^()]|\([^()]*\))*\)"
_LINKS_AND_MARKERS = [
    (re.compile(r"!\[([^\]]*)\]" + _LINK_TARGET), r"\1"),
    (re.compile(r"\[([^\]]*)\]" + _LINK_TARGET), r"\1"),
    (
        re.compile(
            r"\[\[\s*(?:delay|tokens|fail|hang|cut|run_fail|expire|stamp)\s*(?::[^\]]*)?\]\]",
            re.IGNORECASE,
        ),
        " ",
    ),
    (re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s*|[-*+]\s+|\d+[.)]\s+)+"), ""),
]
_EMPHASIS = [
    (re.compile(r"(\*\*|__|~~)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"\*(?=\S)(.+?)(?<=\S)\*"), r"\1"),
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1"),
]
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def _without_emphasis(text: str) -> str:
    for pattern, replacement in _EMPHASIS:
        text = pattern.sub(replacement, text)
    return text


def _plain_line(line: str) -> str:
    for pattern, replacement in _LINKS_AND_MARKERS:
        line = pattern.sub(replacement, line)
    parts, position = [], 0
    for code in _CODE_SPAN.finditer(line):
        parts += [_without_emphasis(line[position : code.start()]), code.group(2)]
        position = code.end()
    parts.append(_without_emphasis(line[position:]))
    return " ".join("".join(parts).split())


def conversation_title_from(text: str) -> str:
    """A title derived locally from a message: its first line with text in it, without
    markdown, cut at a word boundary."""
    for raw_line in (text or "").splitlines():
        if raw_line.strip().startswith("```"):
            continue
        line = _plain_line(raw_line)
        if line:
            break
    else:
        return ""
    line = line.rstrip(" ,;:-") or line
    if len(line) <= TITLE_DERIVED_CHARS:
        return line
    room = TITLE_DERIVED_CHARS - 1  # and the ellipsis
    head = line[: room + 1]
    cut = head.rsplit(" ", 1)[0] if " " in head else line[:room]  # one long word: cut it
    return (cut.rstrip(" ,;:.-") or cut) + "…"


class TitleRefused(Refused):
    """A title the user typed that cannot be one; the message says why."""


def conversation_rename(*, user, conversation_id: int, title: str) -> Conversation:
    title = " ".join((title or "").split())
    if not title:
        raise TitleRefused("empty", "A title cannot be empty.")
    if len(title) > TITLE_MAX_CHARS:
        raise TitleRefused("too_long", f"A title has at most {TITLE_MAX_CHARS} characters.")
    with transaction.atomic():
        conversation = Conversation.objects.select_related("assistant").get(
            pk=conversation_id, owner=user
        )
        conversation.title = title
        conversation.title_is_custom = True
        conversation.save(update_fields=["title", "title_is_custom"])
        publish_on_commit(
            user_group(user.pk),
            {
                "type": "conversation.updated",
                "conversation": conversation_payload(conversation),
            },
        )
    return conversation


def conversation_pin(*, user, conversation_id: int, pinned: bool) -> Conversation:
    """Pins a conversation to the top of the sidebar (most recently pinned first), or unpins it."""
    with transaction.atomic():
        conversation = Conversation.objects.select_related("assistant").get(
            pk=conversation_id, owner=user
        )
        if pinned != (conversation.pinned_at is not None):
            conversation.pinned_at = timezone.now() if pinned else None
            conversation.save(update_fields=["pinned_at"])
        publish_on_commit(
            user_group(user.pk),
            {
                "type": "conversation.updated",
                "conversation": conversation_payload(conversation),
            },
        )
    return conversation


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


def conversation_delete(*, user, conversation_id: int) -> None:
    """Deletes the remote thread first: if the provider fails, nothing is deleted here.

    Then the conversation's files and vector store on the provider: a failure there is
    recorded for `retry_remote_cleanup` and the deletion goes on. The thread holds what
    the user wrote, so its deletion must succeed before anything is gone locally (the user
    retries); a leftover file copy is cleaned later without keeping a conversation the user
    asked to delete.
    """
    conversation = Conversation.objects.select_related("assistant__connection").get(
        pk=conversation_id, owner=user
    )
    active = conversation.messages.filter(
        status__in=Message.ACTIVE_STATUSES, runner_channel__gt=""
    ).first()

    async def stop_reply_and_delete_thread():
        if active is not None:
            # A reply still streaming would go on writing into a deleted conversation.
            await get_channel_layer().send(active.runner_channel, {"type": "turn.cancel"})
        if conversation.remote_thread_id and conversation.assistant:
            agent = assistant_agent(conversation.assistant)
            await agent.thread(conversation.remote_thread_id).delete()

    async_to_sync(stop_reply_and_delete_thread)()
    for provider, objects in _files_remote_objects(conversation).items():
        remote_objects_delete(provider=provider, objects=objects)
    with transaction.atomic():
        conversation.delete()
        publish_on_commit(
            user_group(user.pk),
            {
                "type": "conversation.deleted",
                "conversation_id": conversation_id,
            },
        )
