"""File search end to end, in both protocols: the chat socket -> turn runner -> agent ->
the local provider's vector stores (BM25 over the files, deterministic). A question is
answered with a passage quoted from the right file, a numbered `[n]` marker in the text,
and a citation that names the file and quotes it, sent before the reply ends."""

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from chat.agents import client_for
from chat.agents.files import ProviderFiles
from chat.models import Assistant, Conversation, Message
from chat.services.uploads import upload_create
from tests.chat.connections import seed_connection
from tests.chat.wsclient import ChatSocket, make_user, session_cookie_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("local_provider_url"),
]

BIRDS = """# Birds of the lake

The grey heron nests in the tall reeds of the northern marsh, where the water is shallow.
It hunts fish at dawn and stands still for long minutes before it strikes.

Swallows arrive in April and leave for Africa at the end of September.
"""
BUDGET = """Survey budget

The marsh survey costs 4000 euros in total: 2500 for the boat and 1500 for the equipment.
The invoice is due at the end of the quarter.
"""
QUESTION = "Where does the heron nest?"


@pytest.fixture(params=["assistants", "responses"])
def protocol(request) -> str:
    return request.param


async def knowledge_store(files: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A vector store holding the files, as the admin's knowledge sync leaves one."""
    provider = ProviderFiles(client_for(seed_connection("local")))
    ids = {
        name: await provider.upload(name=name, data=text.encode()) for name, text in files.items()
    }
    store = await provider.create_vector_store(name="knowledge")
    failures = await provider.add_to_vector_store(store, ids.values())
    assert failures == []
    return store, ids


@sync_to_async
def signed_in():
    user = make_user("reader")
    return session_cookie_for(user)


@sync_to_async
def attached(username: str, files: dict[str, str]) -> list[int]:
    """Uploads as the page makes them before the message is sent."""
    user = make_user(username)
    uploads = [
        upload_create(user=user, file=SimpleUploadedFile(name, text.encode(), "text/plain"))
        for name, text in files.items()
    ]
    return session_cookie_for(user), [upload.pk for upload in uploads]


async def ask(socket: ChatSocket, assistant: Assistant, text: str) -> dict:
    await socket.send(
        {
            "type": "message.send",
            "conversation_id": None,
            "assistant_id": assistant.pk,
            "text": text,
        }
    )
    return await socket.until_type("message.done", timeout=60)


async def test_a_question_is_answered_from_the_right_file_with_a_numbered_citation(protocol):
    store, ids = await knowledge_store({"birds.md": BIRDS, "budget.txt": BUDGET})
    assistant = await Assistant.objects.acreate(
        name="Librarian",
        model=settings.LOCAL_PROVIDER_MODEL,
        protocol=protocol,
        file_search=True,
        remote_vector_store_id=store,
    )
    socket = ChatSocket(await signed_in())
    assert await socket.connect()

    done = await ask(socket, assistant, QUESTION)

    reply = await Message.objects.aget(pk=done["message"]["id"])
    assert reply.status == "complete", reply.error
    assert "[1]" in reply.content
    assert "nests in the tall reeds" in reply.content
    first = reply.citations[0]
    assert first["number"] == 1
    assert (first["file_id"], first["filename"]) == (ids["birds.md"], "birds.md")
    assert "The grey heron nests in the tall reeds of the northern marsh" in first["quote"]
    # Every number in the text has its citation, numbered from 1 without gaps.
    assert [c["number"] for c in reply.citations] == list(range(1, len(reply.citations) + 1))
    kinds = [frame["type"] for frame in socket.frames]
    citation_frames = [f for f in socket.frames if f["type"] == "message.citation"]
    assert [f["citation"]["number"] for f in citation_frames] == [
        c["number"] for c in reply.citations
    ]
    assert citation_frames[0]["citation"]["filename"] == "birds.md"
    assert citation_frames[0]["message_id"] == reply.pk
    assert kinds.index("message.citation") < kinds.index("message.done")
    # The live text (deltas) carries the markers too, not the provider's own.
    assert socket.texts[reply.pk] == reply.content
    assert "【" not in reply.content
    # The search is shown as a tool step with what it found.
    [step] = reply.tool_steps
    assert (step["type"], step["name"]) == ("file_search", "file_search")
    assert any(r["filename"] == "birds.md" for r in step["details"]["results"])
    await socket.close()


async def test_a_question_the_files_do_not_answer_has_no_citations(protocol):
    store, _ = await knowledge_store({"budget.txt": BUDGET})
    assistant = await Assistant.objects.acreate(
        name="Librarian",
        model=settings.LOCAL_PROVIDER_MODEL,
        protocol=protocol,
        file_search=True,
        remote_vector_store_id=store,
    )
    socket = ChatSocket(await signed_in())
    assert await socket.connect()

    done = await ask(socket, assistant, "zebra giraffe okapi")

    reply = await Message.objects.aget(pk=done["message"]["id"])
    assert reply.status == "complete", reply.error
    assert reply.citations == []
    assert "nothing relevant" in reply.content
    assert not any(f["type"] == "message.citation" for f in socket.frames)
    await socket.close()


async def test_the_users_attachments_are_searched_and_cited_with_a_link(protocol):
    cookie, upload_ids = await attached("writer", {"birds.md": BIRDS, "budget.txt": BUDGET})
    assistant = await Assistant.objects.acreate(
        name="Reader", model=settings.LOCAL_PROVIDER_MODEL, protocol=protocol, file_search=True
    )
    socket = ChatSocket(cookie)
    assert await socket.connect()

    await socket.send(
        {
            "type": "message.send",
            "conversation_id": None,
            "assistant_id": assistant.pk,
            "text": "How much does the marsh survey cost?",
            "attachments": upload_ids,
        }
    )
    done = await socket.until_type("message.done", timeout=60)

    reply = await Message.objects.aget(pk=done["message"]["id"])
    assert reply.status == "complete", reply.error
    assert "4000 euros" in reply.content and "[1]" in reply.content
    first = reply.citations[0]
    assert first["filename"] == "budget.txt"
    assert "The marsh survey costs 4000 euros in total" in first["quote"]
    # The cited file is the user's own: the citation links to its download.
    [frame] = [
        f for f in socket.frames if f["type"] == "message.citation" and f["citation"]["number"] == 1
    ]
    assert frame["citation"]["url"] == f"/files/{upload_ids[1]}/"
    assert done["message"]["citations"][0]["url"] == f"/files/{upload_ids[1]}/"
    conversation = await Conversation.objects.aget(pk=reply.conversation_id)
    assert conversation.remote_vector_store_id
    await socket.close()
