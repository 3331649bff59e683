"""What a file is, decided from its name and its first bytes, never from what the browser says.

A browser's Content-Type is whatever the client sends. The extension must be one the site
accepts (CHAT_UPLOAD_EXTENSIONS), and the bytes must agree with it: images and PDFs start
with their signature, everything else is text (no NUL bytes). Executables are refused
whatever they are called.
"""

import mimetypes
from pathlib import PurePath

from django.conf import settings

from .refusals import Refused

# How much of a file is read to decide: enough for every signature and a fair text check.
SNIFF_BYTES = 8192

# Fixed here rather than left to the platform's mime.types, which differs between machines
# (and calls .ts an MPEG transport stream).
CONTENT_TYPES = {
    "txt": "text/plain",
    "log": "text/plain",
    "md": "text/markdown",
    "markdown": "text/markdown",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "json": "application/json",
    "py": "text/x-python",
    "js": "text/javascript",
    "ts": "text/x-typescript",
    "html": "text/html",
    "css": "text/css",
    "xml": "application/xml",
    "yaml": "application/yaml",
    "yml": "application/yaml",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
}

# Formats recognised by their first bytes; the extension must name the same format.
SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
}

EXECUTABLE_SIGNATURES = (
    b"MZ",  # Windows PE
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",  # Mach-O, both word sizes and byte orders, and fat binaries
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)


class FileTypeRefused(Refused):
    """The file is not of a kind the site accepts; the message says why, for the user."""

    def __init__(self, message: str):
        super().__init__("file_type", message)


def extension_of(name: str) -> str:
    return PurePath(name).suffix.lower().lstrip(".")


def _signature_type(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for content_type, signatures in SIGNATURES.items():
        if head.startswith(signatures):
            return content_type
    return None


def file_content_type(*, name: str, head: bytes) -> str:
    """The content type of a file named `name` whose first bytes are `head`; raises
    FileTypeRefused for a type the site does not accept or bytes that do not match it."""
    extension = extension_of(name)
    accepted = [e.lower().lstrip(".") for e in settings.CHAT_UPLOAD_EXTENSIONS]
    if not extension or extension not in accepted:
        raise FileTypeRefused(
            f"Files of this type cannot be attached. Accepted: {', '.join(accepted)}."
        )
    # Executables carry NUL bytes in their headers; a text file starting with "MZ" does not.
    if head.startswith(EXECUTABLE_SIGNATURES) and b"\0" in head:
        raise FileTypeRefused("Executable files cannot be attached.")
    declared = CONTENT_TYPES.get(extension) or (
        mimetypes.guess_type(f"x.{extension}")[0] or "application/octet-stream"
    )
    sniffed = _signature_type(head)
    if declared in SIGNATURES or declared == "image/webp":
        if sniffed != declared:
            raise FileTypeRefused(f"This file is not a valid .{extension} file.")
        return declared
    if sniffed is not None or b"\0" in head:
        raise FileTypeRefused(f"This file is not text, as a .{extension} file should be.")
    return declared


def is_indexable(content_type: str) -> bool:
    """Whether file search can read the file: text and PDF (images have no text to index)."""
    return not content_type.startswith("image/") or content_type == "image/svg+xml"
