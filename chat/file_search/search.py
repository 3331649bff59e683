"""One conversation's site file search: its attachments and its assistant's knowledge.

What the agent layer calls in a tool round (chat.agents.definition.SiteFileSearch). Only
the files of this conversation (its owner's attachments) and of its assistant are read: the
conversation is the scope, as every view and frame is authorised by it.
"""

from asgiref.sync import sync_to_async
from django.db.models import F, Q

from chat.agents.definition import FileSearchResult, FoundPassage
from chat.models import Conversation, FileChunk, KnowledgeFile, SiteIndexed, Upload
from chat.services.file_types import is_indexable
from retrieval.ranking import bm25_scores_of_counts, passage_quote, ranked, unit_score

from .index import file_index_build

# Passages the model reads per search, and how weak the last may be against the best one
# (a passage that shares a word or two with the query is noise to a small model).
MAX_PASSAGES = 5
MIN_RELATIVE_SCORE = 0.3
QUOTE_CHARS = 400


def _files(conversation: Conversation) -> list[Upload | KnowledgeFile]:
    uploads = Upload.objects.filter(conversation_id=conversation.pk).order_by("id")
    files: list[Upload | KnowledgeFile] = [u for u in uploads if is_indexable(u.content_type)]
    if conversation.assistant_id:
        files += KnowledgeFile.objects.filter(assistant_id=conversation.assistant_id).order_by("id")
    return files


def _search(conversation: Conversation, query: str) -> FileSearchResult:
    files = _files(conversation)
    for indexed in files:
        file_index_build(indexed=indexed)  # only the first search of a file reads it
    ready = [f for f in files if f.index_status == SiteIndexed.IndexStatus.READY]
    unreadable = [f"{f.name}: {f.index_error}" for f in files if f not in ready]
    by_owner = {(type(f), f.pk): f for f in ready}
    uploads = [f.pk for f in ready if isinstance(f, Upload)]
    knowledge = [f.pk for f in ready if isinstance(f, KnowledgeFile)]
    # Attachments first: a tie goes to what the user gave.
    chunks = list(
        FileChunk.objects.filter(Q(upload_id__in=uploads) | Q(knowledge_file_id__in=knowledge))
        .order_by(F("knowledge_file_id").asc(nulls_first=True), "pk")
        .only("upload_id", "knowledge_file_id", "text", "terms")
    )
    scores = ranked(bm25_scores_of_counts(query, [chunk.terms for chunk in chunks]))
    passages: list[FoundPassage] = []
    for index, score in scores:
        if len(passages) == MAX_PASSAGES or score < scores[0][1] * MIN_RELATIVE_SCORE:
            break
        chunk = chunks[index]
        owner = (
            by_owner[(Upload, chunk.upload_id)]
            if chunk.upload_id
            else by_owner[(KnowledgeFile, chunk.knowledge_file_id)]
        )
        quote = passage_quote(chunk.text, query, QUOTE_CHARS)
        # Overlapping chunks can hold the same passage twice.
        if any(quote in earlier.quote or earlier.quote in quote for earlier in passages):
            continue
        passages.append(
            FoundPassage(owner.site_file_id, owner.name, unit_score(score), chunk.text, quote)
        )
    return FileSearchResult(passages, files=len(ready), unreadable=unreadable)


class ConversationFileSearch:
    """The SiteFileSearch of one conversation."""

    def __init__(self, conversation: Conversation):
        self.conversation = conversation

    async def search(self, query: str) -> FileSearchResult:
        return await sync_to_async(_search)(self.conversation, query)
