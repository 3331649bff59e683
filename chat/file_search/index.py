"""The site's file search index: each attachment and knowledge file read and chunked once.

A file is indexed at its first search (attachments) or when its assistant is saved
(knowledge, so the admin shows at once whether it can be read): its text extracted and cut
into overlapping passages (retrieval.documents, as the local provider's vector stores do),
each stored as a FileChunk with its term counts, so a question reads the index and never
the file again. A file with no text to search (binary, a broken or scanned PDF) is marked
failed with the reason instead, and is not read again either.
"""

import logging

from django.db import transaction

from chat.models import FileChunk, KnowledgeFile, SiteIndexed, Upload
from retrieval.documents import UnreadableFile, chunk_text, extract_text
from retrieval.ranking import term_counts

logger = logging.getLogger(__name__)

IndexStatus = SiteIndexed.IndexStatus


def _chunks_of(indexed: Upload | KnowledgeFile) -> list[str]:
    """The file's passages; UnreadableFile when it has no text to search."""
    try:
        with indexed.file.open("rb") as stored:
            content = stored.read()
    except FileNotFoundError:
        raise UnreadableFile("invalid_file", "The file's bytes are missing on the site.") from None
    return chunk_text(extract_text(filename=indexed.name, content=content))


def _owner_field(indexed: Upload | KnowledgeFile) -> str:
    return "upload" if isinstance(indexed, Upload) else "knowledge_file"


def file_index_build(*, indexed: Upload | KnowledgeFile) -> bool:
    """Indexes the file unless it is indexed already; True when it was indexed now.

    Read outside the transaction (a long PDF takes a while); the index and the status are
    written in one, and only if no one else indexed the file meanwhile.
    """
    if indexed.index_status:
        return False
    status, error, chunks = IndexStatus.READY, "", []
    try:
        chunks = _chunks_of(indexed)
    except UnreadableFile as exc:
        status, error = IndexStatus.FAILED, str(exc)
    except Exception:
        logger.exception("Could not index %s %s", type(indexed).__name__, indexed.pk)
        status, error = IndexStatus.FAILED, "It could not be read (the error has been logged)."
    with transaction.atomic():
        won = (
            type(indexed)
            .objects.filter(pk=indexed.pk, index_status="")
            .update(index_status=status, index_error=error)
        )
        if won:
            owner = {_owner_field(indexed): indexed}
            FileChunk.objects.bulk_create(
                FileChunk(position=position, text=text, terms=term_counts(text), **owner)
                for position, text in enumerate(chunks)
            )
    indexed.index_status, indexed.index_error = status, error
    if not won:
        indexed.refresh_from_db(fields=["index_status", "index_error"])
    return bool(won)


def assistant_knowledge_index(*, assistant) -> list[str]:
    """Indexes the assistant's new knowledge files on the site and shows the outcome as each
    file's status; returns the readable errors of those that cannot be searched."""
    errors = []
    for knowledge in assistant.knowledge_files.order_by("id"):
        built_now = file_index_build(indexed=knowledge)
        ready = knowledge.index_status == IndexStatus.READY
        status = KnowledgeFile.Status.READY if ready else KnowledgeFile.Status.FAILED
        if (knowledge.status, knowledge.error) != (status, knowledge.index_error):
            knowledge.status, knowledge.error = status, knowledge.index_error
            knowledge.save(update_fields=["status", "error"])
        if not ready and built_now:  # the same bytes will not read better next time
            errors.append(f"{knowledge.name}: {knowledge.index_error}")
    return errors
