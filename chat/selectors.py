"""Reads for pages, the JSON API and the WebSocket consumer. Writes live in chat.services.

Every function takes the user it reads for, so nothing here can leak another user's data.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, prefetch_related_objects

from organisation.access import assistants_usable

from .models import Assistant, Conversation, Message

# A keyset cursor: the (updated_at, id) of the last conversation of the previous page.
Cursor = tuple[datetime, int]


@dataclass(frozen=True)
class ConversationPage:
    conversations: list[Conversation]
    # Where the next page starts, or None when this page is the last one.
    next_before: Cursor | None


# Pins are a handful by nature; a user with more sees the most recently pinned ones on top and
# the rest where their activity puts them in the listing.
PINNED_LIMIT = 100

# What a sidebar row shows (chat.presenters.conversation_payload). The rest of the row, and
# the assistant's instructions, tools and JSON fields, cost more to decode than to query.
SIDEBAR_FIELDS = (
    "id",
    "title",
    "created_at",
    "updated_at",
    "pinned_at",
    "assistant__id",
    "assistant__name",
)


def _matching(conversations: QuerySet, query: str) -> QuerySet:
    query = query.strip()
    if query:
        # EXISTS stops at the first matching message and never duplicates a conversation,
        # unlike a join on messages followed by DISTINCT.
        matching_message = Message.objects.filter(
            conversation=OuterRef("pk"), content__icontains=query
        )
        conversations = conversations.filter(Q(title__icontains=query) | Exists(matching_message))
    return conversations


def _sidebar_queryset(*, user, query: str = "", before: Cursor | None = None) -> QuerySet:
    conversations = _matching(Conversation.objects.filter(owner=user), query)
    if before is not None:
        updated_at, pk = before
        conversations = conversations.filter(
            Q(updated_at__lt=updated_at) | Q(updated_at=updated_at, pk__lt=pk)
        )
    # Same order as the sidebar_idx index (owner, -updated_at, -id): a keyset page is one
    # index range scan, however deep the user scrolls.
    return (
        conversations.select_related("assistant")
        .only(*SIDEBAR_FIELDS)
        .order_by("-updated_at", "-id")
    )


def conversation_list(
    *, user, query: str = "", before: Cursor | None = None, limit: int
) -> list[Conversation]:
    """The user's conversations, most recent activity first, optionally matching `query`
    in the title or in any message (case-insensitive), starting after the `before` cursor."""
    return list(_sidebar_queryset(user=user, query=query, before=before)[:limit])


def conversation_page(
    *, user, query: str = "", before: Cursor | None = None, limit: int
) -> ConversationPage:
    """One sidebar page plus the cursor of the next one (one query: fetches limit + 1)."""
    rows = list(_sidebar_queryset(user=user, query=query, before=before)[: limit + 1])
    conversations = rows[:limit]
    next_before = None
    if len(rows) > limit:
        last = conversations[-1]
        next_before = (last.updated_at, last.pk)
    return ConversationPage(conversations=conversations, next_before=next_before)


def conversation_list_pinned(*, user, query: str = "") -> list[Conversation]:
    """The user's pinned conversations (optionally matching `query`), most recently pinned
    first. They also appear in the pages above, where their activity puts them: the page
    shows them once, on top."""
    conversations = Conversation.objects.filter(owner=user, pinned_at__isnull=False)
    return list(
        _matching(conversations, query)
        .select_related("assistant")
        .only(*SIDEBAR_FIELDS)
        .order_by("-pinned_at", "-id")[:PINNED_LIMIT]
    )


def conversation_get(*, user, conversation_id: int) -> Conversation:
    """The user's conversation; raises Conversation.DoesNotExist for anyone else's."""
    return Conversation.objects.select_related("assistant").get(owner=user, pk=conversation_id)


@dataclass(frozen=True)
class MessageWindow:
    # Oldest first, as the transcript shows them.
    messages: list[Message]
    # Whether the conversation has messages before the first of these.
    has_older: bool


def message_window(
    *, conversation: Conversation, before: int | None = None, limit: int
) -> MessageWindow:
    """The latest `limit` messages of the transcript, or the latest before message id
    `before`: the page and the socket's snapshot send the end of a conversation and the
    browser asks for older messages as the reader scrolls up. One range of transcript_idx
    (conversation, id) read backwards plus the two prefetches, however long the transcript."""
    messages = Message.objects.filter(conversation=conversation)
    if before is not None:
        messages = messages.filter(id__lt=before)
    # One row more than asked tells whether older ones exist, without a COUNT.
    rows = list(messages.order_by("-id")[: limit + 1])
    has_older = len(rows) > limit
    rows = rows[:limit]
    rows.reverse()
    _load_files(rows)
    return MessageWindow(messages=rows, has_older=has_older)


def _load_files(messages: list[Message]) -> None:
    """Reads the window's attachments (user messages) and output files (replies) into
    lists, `loaded_uploads` and `loaded_output_files`, which chat.presenters prefers to
    the related managers. Into lists (`to_attr`), not the prefetch cache: filling the cache
    builds a filtered queryset per message, which cost more than both queries together."""
    user = [m for m in messages if m.role == Message.Role.USER]
    replies = [m for m in messages if m.role != Message.Role.USER]
    prefetch_related_objects(user, Prefetch("uploads", to_attr="loaded_uploads"))
    prefetch_related_objects(replies, Prefetch("output_files", to_attr="loaded_output_files"))


def message_list(*, conversation: Conversation) -> list[Message]:
    """The transcript, oldest first, with its attachments and output files (two queries
    whatever its length)."""
    return list(
        Message.objects.filter(conversation=conversation)
        .prefetch_related("uploads", "output_files")
        .order_by("id")
    )


def assistant_list_active(*, user) -> list[Assistant]:
    """The assistants offered to `user` in the picker: active, and offered to everyone or to
    one of the user's groups (organisation.access)."""
    return list(assistants_usable(user=user).order_by("name", "id"))
