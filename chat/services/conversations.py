"""Conversation writes: rename, pin, delete and undo, with the sidebar of every tab kept in step."""

import re
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chat.models import Conversation, Message
from chat.presenters import conversation_payload

from .events import publish_on_commit, user_group
from .refusals import Refused

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


class RestoreRefused(Refused):
    """Undo came too late: the undo window closed, so the purge may be deleting it now."""


def conversation_delete(*, user, conversation_id: int) -> Conversation:
    """Deletes a conversation as the user sees it: hidden at once from every page, API view
    and socket (the default manager leaves it out), every tab told. A reply still streaming
    is stopped, so that nothing goes on costing for a deleted conversation.

    Nothing leaves the provider yet: Undo (`conversation_restore`) brings it back within
    CHAT_UNDO_SECONDS, and then the purge (conversation_purge.py) deletes the remote thread,
    files and vector store, and the rows.
    """
    with transaction.atomic():
        conversation = (
            # of=self: PostgreSQL cannot lock the nullable side of the assistant's join.
            Conversation.objects.select_for_update(of=("self",))
            .select_related("assistant")
            .get(pk=conversation_id, owner=user)
        )
        conversation.deleted_at = timezone.now()
        conversation.save(update_fields=["deleted_at"])
        active = conversation.messages.filter(
            status__in=Message.ACTIVE_STATUSES, runner_channel__gt=""
        ).first()
        publish_on_commit(
            user_group(user.pk),
            {"type": "conversation.deleted", "conversation_id": conversation_id},
        )
    if active is not None:
        # A reply still streaming would go on writing (and costing) for a deleted conversation.
        async_to_sync(get_channel_layer().send)(active.runner_channel, {"type": "turn.cancel"})
    return conversation


def conversation_restore(*, user, conversation_id: int) -> Conversation:
    """Undo of a delete, while the undo window is open. A compare-and-set UPDATE: a purge
    that already claimed the row wins and the restore is refused (or finds nothing)."""
    cutoff = timezone.now() - timedelta(seconds=settings.CHAT_UNDO_SECONDS)
    with transaction.atomic():
        restored = Conversation.all_objects.filter(
            pk=conversation_id, owner=user, deleted_at__gt=cutoff
        ).update(deleted_at=None)
        if not restored:
            # Already live (a second Undo, another tab's) is no error; purged or about to be is.
            row = Conversation.all_objects.get(pk=conversation_id, owner=user)
            if row.deleted_at is not None:
                raise RestoreRefused(
                    "expired", "Too late to undo: it is deleted for good.", status=409
                )
        conversation = Conversation.objects.select_related("assistant").get(pk=conversation_id)
        publish_on_commit(
            user_group(user.pk),
            {"type": "conversation.restored", "conversation": conversation_payload(conversation)},
        )
    return conversation
