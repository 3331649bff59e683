"""The text of uploaded files, for file search: extraction, then overlapping chunks.

Plain text, Markdown, CSV, JSON and source code are read as UTF-8 text; PDFs through pypdf
(their text layer: a scanned PDF without one has no text to search). Anything else, or a
file that cannot be decoded, is refused with the reason the vector store file reports.
"""

import io
import logging
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from pypdf import PdfReader

# A chunk holds about this many characters; the next one repeats the end of the previous
# one (up to OVERLAP_CHARS), so a passage cut by a chunk boundary is whole in one of them.
CHUNK_CHARS = 800
OVERLAP_CHARS = 200

# Formats that certainly hold no text we can read, named in the error message.
BINARY_EXTENSIONS = {
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".gif": "image",
    ".webp": "image",
    ".bmp": "image",
    ".tiff": "image",
    ".zip": "archive",
    ".gz": "archive",
    ".tar": "archive",
    ".7z": "archive",
    ".exe": "program",
    ".bin": "binary",
    ".mp3": "audio",
    ".wav": "audio",
    ".mp4": "video",
    ".docx": "Word document",
    ".xlsx": "Excel workbook",
    ".pptx": "PowerPoint presentation",
}

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?…。])\s+")

logging.getLogger("pypdf").setLevel(logging.ERROR)


@dataclass
class UnreadableFile(Exception):
    """A file with no text to search: `code` is the API's last_error code."""

    code: str  # "unsupported_file" or "invalid_file"
    message: str

    def __str__(self) -> str:
        return self.message


def _pdf_text(content: bytes, filename: str) -> str:
    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFile("invalid_file", f"{filename} is an encrypted PDF.")
        pages = [page.extract_text() or "" for page in reader.pages]
    except UnreadableFile:
        raise
    except Exception as exc:
        raise UnreadableFile(
            "invalid_file", f"{filename} could not be read as a PDF ({exc})."
        ) from None
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise UnreadableFile(
            "unsupported_file",
            f"{filename} has no text layer (a scanned PDF?); only text can be searched.",
        )
    return text


def _decoded(content: bytes, filename: str) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in content:
        raise UnreadableFile(
            "unsupported_file", f"{filename} is a binary file; only text and PDF can be searched."
        )
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            "invalid_file",
            f"{filename} is not UTF-8 text (undecodable byte at position {exc.start}).",
        ) from None


def extract_text(*, filename: str, content: bytes) -> str:
    """The searchable text of a file; raises UnreadableFile when it has none."""
    extension = PurePosixPath(filename).suffix.lower()
    if extension == ".pdf" or content.startswith(b"%PDF-"):
        text = _pdf_text(content, filename)
    elif extension in BINARY_EXTENSIONS:
        raise UnreadableFile(
            "unsupported_file",
            f"{filename} is not a text file ({BINARY_EXTENSIONS[extension]}); file search "
            "reads text and PDF files only.",
        )
    else:
        text = _decoded(content, filename)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise UnreadableFile("invalid_file", f"{filename} contains no text.")
    return text


def _split_long(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut between words (or anywhere in a very
    long word)."""
    pieces = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut].strip())
        text = text[cut:].strip()
    if text:
        pieces.append(text)
    return pieces


def _units(text: str) -> list[tuple[str, bool]]:
    """(sentence, starts a paragraph) pieces, none longer than a chunk (a very long
    sentence is cut between words)."""
    units = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        first = True
        for sentence in _SENTENCE_END.split(paragraph.strip()):
            for piece in _split_long(sentence.strip(), CHUNK_CHARS):
                units.append((piece, first))
                first = False
    return units


def _joined(units: list[tuple[str, bool]]) -> str:
    text = ""
    for index, (unit, paragraph) in enumerate(units):
        if index:
            text += "\n\n" if paragraph else " "
        text += unit
    return text


def chunk_text(text: str) -> list[str]:
    """Overlapping chunks of at most CHUNK_CHARS characters, cut at sentence boundaries,
    and at a paragraph boundary when one falls in the second half of the chunk. Each chunk
    after the first repeats the last sentences (up to OVERLAP_CHARS) of the one before."""
    units = _units(text)
    chunks: list[str] = []
    start = 0
    while start < len(units):
        end = start + 1
        while end < len(units) and len(_joined(units[start : end + 1])) <= CHUNK_CHARS:
            end += 1
        if end < len(units) and not units[end][1]:
            for boundary in range(end - 1, start, -1):
                if units[boundary][1] and len(_joined(units[start:boundary])) >= CHUNK_CHARS // 2:
                    end = boundary
                    break
        chunks.append(_joined(units[start:end]))
        if end >= len(units):
            break
        # The next chunk starts with the end of this one, and must have room for new text.
        previous_start, start = start, end
        while start - 1 > previous_start:
            overlap = units[start - 1 : end]
            if len(_joined(overlap)) > OVERLAP_CHARS:
                break
            if len(_joined([*overlap, units[end]])) > CHUNK_CHARS:
                break
            start -= 1
    return chunks
