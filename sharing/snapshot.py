"""What a share link and an export keep of a conversation: its finished messages as the
page shows them (chat.presenters), with every file named by its id instead of a URL.

URLs are not frozen: the chat's own file URLs work only for the owner, so a share page
links each file through the link itself, and only when the owner allowed downloads
(`with_share_urls`).
"""

from django.urls import reverse

from chat import selectors
from chat.models import Conversation, Upload
from chat.presenters import citation_keys, message_payloads

MESSAGE_FIELDS = ("id", "role", "content", "status", "error", "tool_steps", "model", "created_at")


def _uploads_by_citation_key(conversation: Conversation) -> dict[str, Upload]:
    uploads = Upload.objects.filter(conversation=conversation)
    return {key: upload for upload in uploads for key in citation_keys(upload)}


def snapshot_messages(conversation: Conversation) -> list[dict]:
    """The conversation's messages, oldest first. A reply still being written is left out:
    what is shared is what was said."""
    messages = [m for m in selectors.message_list(conversation=conversation) if not m.is_active]
    cited = _uploads_by_citation_key(conversation)
    snapshot = []
    for payload in message_payloads(messages):
        entry = {field: payload[field] for field in MESSAGE_FIELDS}
        entry["attachments"] = [
            {key: a[key] for key in ("id", "name", "size", "content_type")}
            for a in payload["attachments"]
        ]
        entry["files"] = [
            {key: f[key] for key in ("id", "name", "size", "content_type", "is_image")}
            for f in payload["files"]
        ]
        entry["citations"] = []
        for citation in payload["citations"]:
            upload = cited.get(citation.get("file_id", ""))
            kept = {k: v for k, v in citation.items() if k != "url"}
            entry["citations"].append({**kept, "upload_id": upload.pk if upload else None})
        snapshot.append(entry)
    return snapshot


def file_ids(messages: list[dict]) -> dict[str, set[int]]:
    """The ids of the files a snapshot names: the only ones its link may serve."""
    uploads = {a["id"] for m in messages for a in m.get("attachments", [])}
    uploads |= {
        c["upload_id"] for m in messages for c in m.get("citations", []) if c.get("upload_id")
    }
    outputs = {f["id"] for m in messages for f in m.get("files", [])}
    return {"upload": uploads, "output": outputs}


def with_share_urls(messages: list[dict], *, token: str, allow_downloads: bool) -> list[dict]:
    """The snapshot as the page script takes it: each file's `url` through the link, or
    None (shown by name only) when the owner did not allow downloads."""

    def url(kind: str, pk: int | None) -> str | None:
        if not allow_downloads or pk is None:
            return None
        return reverse("sharing:shared_file", kwargs={"token": token, "kind": kind, "pk": pk})

    shown = []
    for message in messages:
        shown.append(
            {
                **message,
                "conversation_id": None,
                "attachments": [
                    {**a, "url": url("upload", a["id"])} for a in message.get("attachments", [])
                ],
                "files": [{**f, "url": url("output", f["id"])} for f in message.get("files", [])],
                "citations": [
                    {**c, "url": url("upload", c.get("upload_id"))}
                    for c in message.get("citations", [])
                ],
            }
        )
    return shown
