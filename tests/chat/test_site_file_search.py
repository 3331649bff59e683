"""File search run by the site (no vector stores: Chat Completions, stateless Responses), end
to end: the chat socket -> turn runner -> agent -> the local provider's model, which calls
the `file_search` function for a `call file_search {...}` line; the site searches the
conversation's attachments and the assistant's knowledge, numbers the passages, and the
`[n]` the reply writes become citations, as on the provider path."""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from chat.agents.definition import FileSearchResult, FoundPassage
from chat.agents.events import TextDelta
from chat.agents.tool_calls import SiteSources, ToolCall
from chat.file_search import index as file_index
from chat.file_search.search import ConversationFileSearch
from chat.models import Assistant, Conversation, FileChunk, KnowledgeFile, Message, Upload
from chat.presenters import cited_uploads
from chat.services.knowledge import assistant_knowledge_sync
from chat.services.uploads import upload_create
from tests.chat.wsclient import ChatSocket, make_user, session_cookie_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("local_provider_url"),
]

RECEIPTS = """Expenses

Keep every receipt for seven years; scanned receipts are accepted.
Travel is booked through the office, never privately.
"""
HANDBOOK = """# Staff handbook

The office opens at eight. Holidays are requested two weeks ahead in the planner.
"""
SEARCH_RECEIPTS = 'call file_search {"query": "receipts"}'
SEARCH_HOLIDAYS = 'call file_search {"query": "holidays planner"}'


@pytest.fixture(params=["chat_completions", "stateless"])
def site_assistant(request):
    """An assistant whose server has no vector stores, with one knowledge file."""

    @sync_to_async
    def make() -> Assistant:
        protocol = "responses" if request.param == "stateless" else request.param
        assistant = Assistant.objects.create(
            name="Clerk",
            model=settings.LOCAL_PROVIDER_MODEL,
            protocol=protocol,
            responses_thread="stateless",
            file_search=True,
        )
        knowledge_add(assistant, "handbook.md", HANDBOOK.encode())
        assert assistant_knowledge_sync(assistant=assistant) == []
        return assistant

    return make


def knowledge_add(assistant: Assistant, name: str, data: bytes) -> KnowledgeFile:
    knowledge = KnowledgeFile(
        assistant=assistant, name=name, content_type="text/markdown", size=len(data)
    )
    knowledge.file.save(name, ContentFile(data), save=False)
    knowledge.save()
    return knowledge


@sync_to_async
def attached(username: str, files: dict[str, bytes]) -> tuple[bytes, list[int]]:
    """Uploads as the page makes them before the message is sent."""
    user = make_user(username)
    uploads = [
        upload_create(user=user, file=SimpleUploadedFile(name, data))
        for name, data in files.items()
    ]
    return session_cookie_for(user), [upload.pk for upload in uploads]


async def ask(socket, assistant, text, *, conversation_id=None, attachments=()) -> Message:
    await socket.send(
        {
            "type": "message.send",
            "conversation_id": conversation_id,
            "assistant_id": assistant.pk,
            "text": text,
            "attachments": list(attachments),
        }
    )
    done = await socket.until_type("message.done", timeout=60)
    reply = await Message.objects.aget(pk=done["message"]["id"])
    assert reply.status == "complete", reply.error
    return reply


def shown_after(frames: list[dict], count: int) -> str:
    """The reply's text as the first `count` frames showed it."""
    text = ""
    for frame in frames[:count]:
        if frame["type"] == "message.delta":
            text = text[: frame["offset"]] + frame["text"]
    return text


@pytest.fixture
def chunkings(monkeypatch) -> list[str]:
    """The names of the files read and chunked, one entry each time."""
    read = []
    chunks_of = file_index._chunks_of

    def counted(indexed):
        read.append(indexed.name)
        return chunks_of(indexed)

    monkeypatch.setattr(file_index, "_chunks_of", counted)
    return read


async def test_a_search_on_the_site_is_cited_like_the_providers(site_assistant, chunkings):
    assistant = await site_assistant()
    cookie, [upload_id] = await attached("ada", {"receipts.txt": RECEIPTS.encode()})
    socket = ChatSocket(cookie)
    assert await socket.connect()

    reply = await ask(socket, assistant, SEARCH_RECEIPTS, attachments=[upload_id])

    # The search step shows what was searched for and what was found, with scores.
    [step] = reply.tool_steps
    assert (step["type"], step["name"]) == ("file_search", "file_search")
    assert step["details"]["queries"] == ["receipts"]
    [result] = step["details"]["results"]
    assert result["filename"] == "receipts.txt"
    assert result["file_id"] == f"upload-{upload_id}"
    assert 0 < result["score"] < 1
    assert "Keep every receipt for seven years" in result["text"]
    assert step["output"] == "Found 1 passage in receipts.txt."
    # The model read the passage numbered, and its reply cites it as [1].
    assert "[1] receipts.txt" in reply.content
    assert "Keep every receipt for seven years" in reply.content
    [citation] = reply.citations
    assert citation["number"] == 1
    assert (citation["file_id"], citation["filename"]) == (f"upload-{upload_id}", "receipts.txt")
    assert "Keep every receipt for seven years" in citation["quote"]
    # The citation reached the socket before the text holding its marker, with the link to
    # the user's own file.
    frames = socket.frames
    [cited] = [i for i, f in enumerate(frames) if f["type"] == "message.citation"]
    assert frames[cited]["citation"]["url"] == f"/files/{upload_id}/"
    assert "[1]" not in shown_after(frames, cited)
    assert socket.texts[reply.pk] == reply.content
    done = socket.final[reply.pk]
    assert done["citations"][0]["url"] == f"/files/{upload_id}/"
    # Indexed once each: the knowledge file when the assistant was saved, the attachment at
    # its first search.
    assert chunkings == ["handbook.md", "receipts.txt"]

    second = await ask(socket, assistant, SEARCH_HOLIDAYS, conversation_id=reply.conversation_id)

    [citation] = second.citations
    assert citation["filename"] == "handbook.md"
    assert citation["file_id"].startswith("knowledge-")
    assert "Holidays are requested two weeks ahead" in citation["quote"]
    # No link: knowledge files are the assistant's, not the user's.
    assert socket.final[second.pk]["citations"][0]["url"] is None
    assert chunkings == ["handbook.md", "receipts.txt"]  # nothing read again
    assert await FileChunk.objects.acount() == 2
    await socket.close()


async def test_an_unreadable_attachment_is_named_and_the_rest_searched(site_assistant):
    assistant = await site_assistant()
    cookie, upload_ids = await attached(
        "ada", {"broken.pdf": b"%PDF-1.7 not really a pdf", "receipts.txt": RECEIPTS.encode()}
    )
    socket = ChatSocket(cookie)
    assert await socket.connect()

    reply = await ask(socket, assistant, SEARCH_RECEIPTS, attachments=upload_ids)

    broken = await Upload.objects.aget(pk=upload_ids[0])
    assert broken.index_status == "failed"
    assert broken.index_error.startswith("broken.pdf could not be read as a PDF")
    assert "These files could not be read: broken.pdf: broken.pdf could not be read" in (
        reply.content
    )
    assert [c["filename"] for c in reply.citations] == ["receipts.txt"]
    await socket.close()


async def test_nothing_found_cites_nothing(site_assistant):
    assistant = await site_assistant()
    cookie, _ = await attached("ada", {})
    socket = ChatSocket(cookie)
    assert await socket.connect()

    reply = await ask(socket, assistant, 'call file_search {"query": "zebra okapi"}')

    assert "Nothing in the files matches 'zebra okapi'" in reply.content
    assert reply.citations == []
    assert reply.tool_steps[0]["details"]["results"] == []
    await socket.close()


@pytest.mark.django_db
def test_a_knowledge_file_that_cannot_be_read_shows_why_in_the_admin(chunkings):
    assistant = Assistant.objects.create(
        name="Clerk", protocol="chat_completions", file_search=True
    )
    knowledge_add(assistant, "scan.pdf", b"%PDF-1.4 broken")
    knowledge_add(assistant, "handbook.md", HANDBOOK.encode())

    errors = assistant_knowledge_sync(assistant=assistant)

    assert len(errors) == 1 and errors[0].startswith("scan.pdf: scan.pdf could not be read")
    scan, handbook = assistant.knowledge_files.order_by("id")
    assert (scan.status, handbook.status) == ("failed", "ready")
    assert scan.error.startswith("scan.pdf could not be read as a PDF")
    # Nothing went to the provider, and a second save reads nothing again.
    assert (scan.remote_file_id, handbook.remote_file_id) == ("", "")
    assert assistant_knowledge_sync(assistant=assistant) == []
    assert chunkings == ["scan.pdf", "handbook.md"]


@pytest.mark.django_db
def test_a_conversation_searches_only_its_own_attachments():
    assistant = Assistant.objects.create(
        name="Clerk", protocol="chat_completions", file_search=True
    )
    ada, bob = make_user("ada"), make_user("bob")
    theirs = Conversation.objects.create(owner=bob, assistant=assistant)
    secret = upload_create(user=bob, file=SimpleUploadedFile("bob.txt", RECEIPTS.encode()))
    Upload.objects.filter(pk=secret.pk).update(conversation=theirs)
    mine = Conversation.objects.create(owner=ada, assistant=assistant)

    found = async_to_sync(ConversationFileSearch(mine).search)("receipts")

    assert found.passages == [] and found.files == 0
    # A citation naming bob's file links nowhere in ada's conversation.
    ids = [secret.site_file_id]
    assert list(cited_uploads(conversation_id=mine.pk, file_ids=ids)) == []
    assert list(cited_uploads(conversation_id=theirs.pk, file_ids=ids)) == [secret]


# --- The markers, as they stream -----------------------------------------------------------


class FakeSearch:
    def __init__(self, *batches: list[FoundPassage]):
        self.batches = list(batches)

    async def search(self, query: str) -> FileSearchResult:
        return FileSearchResult(self.batches.pop(0), files=1)


def passage(name: str, text: str) -> FoundPassage:
    return FoundPassage(f"upload-{name}", name, 0.5, text, text)


async def test_a_marker_cut_between_deltas_is_cited_before_its_text():
    sources = SiteSources(FakeSearch([passage("a.txt", "alpha"), passage("b.txt", "beta")]))
    call = ToolCall("call_1", "file_search", '{"query": "alpha beta"}')
    output = sources.answer(call, await sources.search(call))
    assert "[1] a.txt\nalpha" in output and "[2] b.txt\nbeta" in output

    events = [*sources.text("Alpha is first ["), *sources.text("2] and [7"), *sources.text("].")]
    events += sources.flush()

    assert [type(e).__name__ for e in events] == ["TextDelta", "Citation", "TextDelta", "TextDelta"]
    assert events[1].number == 2 and events[1].filename == "b.txt"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == (
        "Alpha is first [2] and [7]."
    )
    # [7] names no passage: plain text, as the page shows it.


async def test_passages_are_numbered_across_the_searches_of_one_reply():
    again = passage("a.txt", "alpha")
    sources = SiteSources(FakeSearch([again], [passage("c.txt", "gamma"), again]))
    first = ToolCall("call_1", "file_search", '{"query": "alpha"}')
    second = ToolCall("call_2", "file_search", '{"query": "gamma alpha"}')
    sources.answer(first, await sources.search(first))

    output = sources.answer(second, await sources.search(second))

    assert "[2] c.txt" in output and "[1] a.txt" in output and "e.g. [2]" in output
    step = sources.step(second, output)
    assert step.type == "file_search" and step.details["queries"] == ["gamma alpha"]
    assert [r["filename"] for r in step.details["results"]] == ["c.txt", "a.txt"]


async def test_a_call_without_a_query_is_told_how_to_call():
    sources = SiteSources(FakeSearch())
    call = ToolCall("call_1", "file_search", '{"q": 1}')

    output = sources.answer(call, await sources.search(call))

    assert output == 'Error: give the words to look for as {"query": "..."}.'
    assert sources.step(call, output).details["status"] == "failed"
