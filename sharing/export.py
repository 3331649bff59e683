"""A conversation as a file to keep: Markdown to read, JSON to process. Both hold the
messages, the tool steps, the citations and the names of the files (never their bytes).

Built from the same snapshot as a share link (sharing.snapshot), so an export, a share
page and the chat page agree on what the conversation says.
"""

import json
import re
from dataclasses import dataclass

from django.utils import timezone
from django.utils.text import slugify

from chat.models import Conversation

from .snapshot import snapshot_messages

EXPORT_VERSION = 1
STATUS_NOTES = {
    "cancelled": "Stopped.",
    "incomplete": "The reply ended early; what arrived is kept.",
    "failed": "The reply failed.",
}


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content_type: str
    body: str


def export_filename(conversation: Conversation, extension: str) -> str:
    """ "travel-plans.md": the title as a file name, or the conversation's id without one."""
    stem = slugify(conversation.title)[:80].strip("-") or f"conversation-{conversation.pk}"
    return f"{stem}.{extension}"


def _document(conversation: Conversation) -> dict:
    assistant = conversation.assistant
    messages = []
    for m in snapshot_messages(conversation):
        messages.append(
            {
                "id": m["id"],
                "role": m["role"],
                "created_at": m["created_at"],
                "status": m["status"],
                "error": m["error"],
                "model": m["model"],
                "content": m["content"],
                "attachments": [
                    {"name": a["name"], "size": a["size"], "content_type": a["content_type"]}
                    for a in m["attachments"]
                ],
                "files": [
                    {"name": f["name"], "size": f["size"], "content_type": f["content_type"]}
                    for f in m["files"]
                ],
                "tool_steps": m["tool_steps"],
                "citations": [
                    {
                        "number": c.get("number"),
                        "filename": c.get("filename", ""),
                        "quote": c.get("quote", ""),
                    }
                    for c in m["citations"]
                ],
            }
        )
    return {
        "version": EXPORT_VERSION,
        "conversation": {
            "id": conversation.pk,
            "title": conversation.title,
            "assistant": assistant.name if assistant else None,
            "created_at": conversation.created_at.isoformat(),
            "exported_at": timezone.now().isoformat(),
        },
        "messages": messages,
    }


def conversation_json(conversation: Conversation) -> ExportFile:
    body = json.dumps(_document(conversation), ensure_ascii=False, indent=2)
    return ExportFile(export_filename(conversation, "json"), "application/json", body + "\n")


def _fence(text: str, language: str = "") -> str:
    """A code block that no backtick run inside `text` can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n{text.rstrip()}\n{ticks}"


def _text(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2)


def _step_markdown(step: dict) -> list[str]:
    kind = step.get("type", "function")
    details = step.get("details") or {}
    if kind == "code_interpreter":
        lines = [
            "**Code run**",
            "",
            _fence(_text(details.get("code") or step.get("arguments")), "python"),
        ]
        output = details.get("logs") or step.get("output")
        if output:
            lines += ["", "Output:", "", _fence(_text(output))]
        return lines
    if kind == "file_search":
        queries = details.get("queries") or []
        return [f"**File search**{': ' + ', '.join(map(str, queries)) if queries else ''}"]
    if kind == "context":
        return [f"*{_text(step.get('output') or 'Older messages were left out.')}*"]
    lines = [f"**Tool `{step.get('name', 'function')}`**"]
    if step.get("arguments"):
        lines += ["", "Arguments:", "", _fence(_text(step["arguments"]), "json")]
    if step.get("output") is not None:
        lines += ["", "Result:", "", _fence(_text(step["output"]))]
    return lines


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.strip().splitlines())


def conversation_markdown(conversation: Conversation) -> ExportFile:
    document = _document(conversation)
    head = document["conversation"]
    assistant = head["assistant"] or "Assistant"
    out = [f"# {head['title'] or 'Conversation'}", ""]
    out += [
        f"Assistant: {assistant} · Exported {head['exported_at'][:16].replace('T', ' ')} UTC",
        "",
    ]
    for m in document["messages"]:
        who = "You" if m["role"] == "user" else assistant
        out += ["---", "", f"## {who} · {m['created_at'][:16].replace('T', ' ')}", ""]
        if m["attachments"]:
            out += ["Attached: " + ", ".join(a["name"] for a in m["attachments"]), ""]
        for step in m["tool_steps"]:
            out += [*_step_markdown(step), ""]
        if m["content"]:
            # A user's text is theirs, as typed; a reply is markdown already.
            out += [m["content"].rstrip(), ""]
        if m["status"] in STATUS_NOTES:
            note = STATUS_NOTES[m["status"]]
            out += [f"*{note}{' ' + m['error'] if m['error'] else ''}*", ""]
        if m["files"]:
            out += ["Files: " + ", ".join(f["name"] for f in m["files"]), ""]
        if m["citations"]:
            out += ["Sources:", ""]
            for c in m["citations"]:
                out.append(f"{c['number']}. {c['filename'] or 'Unnamed file'}")
                if c["quote"]:
                    out += ["", _quote(c["quote"]), ""]
            out.append("")
    return ExportFile(
        export_filename(conversation, "md"),
        "text/markdown; charset=utf-8",
        "\n".join(out).rstrip() + "\n",
    )
