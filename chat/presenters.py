"""The JSON shapes of conversations and messages, shared by the WebSocket, views and pages.

docs/websocket-protocol.md documents them; keep the two in step.
"""

from channels.db import database_sync_to_async
from django.db.models import Q, QuerySet, prefetch_related_objects
from django.urls import reverse

from .models import Conversation, Message, OutputFile, Upload


def conversation_payload(conversation: Conversation) -> dict:
    assistant = conversation.assistant
    return {
        "id": conversation.pk,
        "title": conversation.title,
        "assistant": {"id": assistant.pk, "name": assistant.name} if assistant else None,
        "created_at": conversation.created_at.isoformat(),
        "updated_at": conversation.updated_at.isoformat(),
        "pinned_at": conversation.pinned_at.isoformat() if conversation.pinned_at else None,
    }


def upload_payload(upload: Upload) -> dict:
    return {
        "id": upload.pk,
        "name": upload.name,
        "size": upload.size,
        "content_type": upload.content_type,
        "url": reverse("chat:upload_file", args=[upload.pk]),
    }


def output_file_payload(output: OutputFile) -> dict:
    return {
        "id": output.pk,
        "name": output.name,
        "content_type": output.content_type,
        "size": output.size,
        "url": reverse("chat:output_file", args=[output.pk]),
        "is_image": output.is_image,
    }


def cited_uploads(*, conversation_id: int, file_ids) -> QuerySet[Upload]:
    """The conversation's uploads that these citation file ids name: what its citations
    link to. A provider's citation names the remote copy, the site's search `upload-<pk>`
    (Upload.site_file_id); either way only this conversation's uploads are found."""
    file_ids = set(file_ids)
    prefix = Upload.site_id_prefix
    site_pks = [
        int(file_id[len(prefix) :])
        for file_id in file_ids
        if file_id.startswith(prefix) and file_id[len(prefix) :].isdigit()
    ]
    return Upload.objects.filter(
        Q(remote_file_id__in=file_ids) | Q(pk__in=site_pks), conversation_id=conversation_id
    )


def citation_keys(upload: Upload) -> list[str]:
    """The file ids by which a citation may name the upload."""
    return [key for key in (upload.remote_file_id, upload.site_file_id) if key]


def _cited_uploads(message: Message) -> dict[str, Upload]:
    """The conversation's uploads that the message's citations name, by citation file id."""
    file_ids = {c.get("file_id") for c in message.citations if c.get("file_id")}
    if not file_ids:
        return {}
    uploads = cited_uploads(conversation_id=message.conversation_id, file_ids=file_ids)
    return {key: u for u in uploads for key in citation_keys(u)}


def citation_payload(citation: dict, uploads_by_file_id: dict[str, Upload]) -> dict:
    upload = uploads_by_file_id.get(citation.get("file_id", ""))
    # Only the user's own attachments link anywhere: knowledge files are the assistant's.
    url = reverse("chat:upload_file", args=[upload.pk]) if upload else None
    return {**citation, "url": url}


def message_payload(
    message: Message, *, uploads_by_file_id: dict[str, Upload] | None = None
) -> dict:
    """A message as the page and the socket show it. A user message's attachments and a
    reply's output files come from `message.uploads` / `message.output_files`: prefetch
    them for a list (chat.selectors.message_list does), or use message_payloads()."""
    is_user = message.role == Message.Role.USER
    if uploads_by_file_id is None and message.citations:
        uploads_by_file_id = _cited_uploads(message)
    return {
        "id": message.pk,
        "conversation_id": message.conversation_id,
        "role": message.role,
        "content": message.content,
        "status": message.status,
        "error": message.error,
        "tool_steps": message.tool_steps,
        "attachments": [upload_payload(u) for u in _attachments(message)] if is_user else [],
        "citations": [citation_payload(c, uploads_by_file_id or {}) for c in message.citations],
        "files": [] if is_user else [output_file_payload(f) for f in _output_files(message)],
        "model": message.model,
        "usage": _usage_payload(message),
        "created_at": message.created_at.isoformat(),
    }


def _attachments(message: Message):
    # chat.selectors.message_window reads them into a list for the whole window.
    loaded = getattr(message, "loaded_uploads", None)
    return message.uploads.all() if loaded is None else loaded


def _output_files(message: Message):
    loaded = getattr(message, "loaded_output_files", None)
    return message.output_files.all() if loaded is None else loaded


def _usage_payload(message: Message) -> dict | None:
    """The provider's token counts for the reply; None when it reported none."""
    if message.input_tokens is None and message.output_tokens is None:
        return None
    return {"input_tokens": message.input_tokens, "output_tokens": message.output_tokens}


def message_payloads(messages: list[Message]) -> list[dict]:
    """A transcript's payloads, with one query for the uploads their citations name (none
    without citations). The uploads are looked up in the whole conversation, not only among
    these messages: a window of the latest messages cites files attached long before it."""
    cited: dict[int, set[str]] = {}
    for m in messages:
        for c in m.citations:
            if c.get("file_id"):
                cited.setdefault(m.conversation_id, set()).add(c["file_id"])
    uploads = {
        key: u
        for conversation_id, file_ids in cited.items()
        for u in cited_uploads(conversation_id=conversation_id, file_ids=file_ids)
        for key in citation_keys(u)
    }
    return [message_payload(m, uploads_by_file_id=uploads) for m in messages]


MESSAGE_RELATIONS = ("uploads", "output_files")
LOADED_LISTS = ("loaded_uploads", "loaded_output_files")


def message_prefetch(messages: list[Message]) -> None:
    """Reads the messages' attachments and output files now (two queries), so that
    message_payload needs none: async code cannot query from it."""
    prefetch_related_objects(messages, *MESSAGE_RELATIONS)


def messages_without_files(messages: list[Message]) -> None:
    """What message_prefetch would find for messages known to have no files (just made),
    without its two queries."""
    for message in messages:
        message.loaded_uploads, message.loaded_output_files = [], []


async def amessage_payload(message: Message) -> dict:
    """message_payload for async code (the turn runner): attachments, output files and
    cited uploads read afresh, in the database thread."""

    def build() -> dict:
        cached = getattr(message, "_prefetched_objects_cache", {})
        stale = [name for name in MESSAGE_RELATIONS if name in cached]
        if stale:
            message.refresh_from_db(fields=stale)  # drops the cached lists only
        # Lists set when the message was new (messages_without_files) are stale by now: the
        # reply may have made files since. message_payload prefers them, so they go.
        for name in LOADED_LISTS:
            message.__dict__.pop(name, None)
        message_prefetch([message])
        return message_payload(message)

    return await database_sync_to_async(build)()
