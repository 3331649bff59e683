"""file_search end to end through the real SDK, in both protocols: a question answered by
one of two files gets a reply quoting the passage from that file, with a citation of it."""

import pytest

from localai.engine.model import CLOSING_SENTENCE, FILE_SEARCH_NO_MATCH, Passage, file_search_reply
from retrieval.documents import chunk_text
from retrieval.ranking import passage_quote
from tests.localai.documents import BAKERY_GUIDE, VOLCANO_NOTES
from tests.localai.sdk import make_client, message_text, new_assistant, stream_events

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

QUESTION = "When did Eyjafjallajökull erupt, and what happened to flights?"
INCLUDE_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"


async def _knowledge(client):
    """A vector store holding the two files; returns (store, volcano file, bakery file)."""
    volcano = await client.files.create(
        file=("volcanoes.md", VOLCANO_NOTES.encode()), purpose="assistants"
    )
    bakery = await client.files.create(
        file=("bakery.md", BAKERY_GUIDE.encode()), purpose="assistants"
    )
    store = await client.vector_stores.create(name="Knowledge", file_ids=[volcano.id, bakery.id])
    assert store.file_counts.completed == 2
    return store, volcano, bakery


def expected_volcano_reply(file_id: str, *, markers: bool, question: str = QUESTION):
    (chunk,) = chunk_text(VOLCANO_NOTES)
    passage = Passage(file_id, "volcanoes.md", passage_quote(chunk, question), 0)
    return file_search_reply([passage], markers=markers)


async def test_assistants_run_quotes_the_right_file_with_a_citation(api_url):
    client = make_client(api_url)
    store, volcano, _bakery = await _knowledge(client)
    assistant = await new_assistant(
        client,
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    assert assistant.tool_resources.file_search.vector_store_ids == [store.id]
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
    stream = await client.beta.threads.runs.create(
        thread.id, assistant_id=assistant.id, stream=True, include=[INCLUDE_CONTENT]
    )
    events = [event async for event in stream]
    names = [event.event for event in events]
    assert names[-1] == "thread.run.completed"

    # The file search step comes first, with its results (and their content, as included).
    search_step = next(event.data for event in events if event.event == "thread.run.step.completed")
    call = search_step.step_details.tool_calls[0]
    assert call.type == "file_search"
    assert call.file_search.ranking_options.ranker == "default_2024_08_21"
    (result,) = call.file_search.results
    assert (result.file_id, result.file_name) == (volcano.id, "volcanoes.md")
    assert 0 < result.score < 1
    assert "Eyjafjallajökull erupted in April 2010" in result.content[0].text

    expected = expected_volcano_reply(volcano.id, markers=True)
    message = next(event.data for event in events if event.event == "thread.message.completed")
    text = message.content[0].text
    assert text.value == expected.text
    assert "Eyjafjallajökull erupted in April 2010" in text.value
    assert text.value.endswith(CLOSING_SENTENCE)
    (annotation,) = text.annotations
    marker = "【0:0†volcanoes.md】"
    assert annotation.type == "file_citation"
    assert annotation.file_citation.file_id == volcano.id
    assert annotation.text == marker
    assert text.value[annotation.start_index : annotation.end_index] == marker

    # The marker streamed as one delta carrying the annotation.
    annotated = [
        event.data.delta.content[0]
        for event in events
        if event.event == "thread.message.delta" and event.data.delta.content[0].text.annotations
    ]
    assert len(annotated) == 1
    assert annotated[0].text.value == marker
    delta_annotation = annotated[0].text.annotations[0]
    assert (delta_annotation.index, delta_annotation.file_citation.file_id) == (0, volcano.id)
    assert delta_annotation.start_index == annotation.start_index

    # The stored message and step read the same afterwards.
    stored = (await client.beta.threads.messages.list(thread.id, limit=1)).data[0]
    assert message_text(stored) == expected.text
    assert stored.content[0].text.annotations[0].file_citation.file_id == volcano.id
    steps = await client.beta.threads.runs.steps.list(events[-1].data.id, thread_id=thread.id)
    assert [step.type for step in reversed(steps.data)] == ["tool_calls", "message_creation"]


async def test_assistants_results_without_include_and_thread_stores(api_url):
    """Without the include the step lists no results; the thread's own store is searched."""
    client = make_client(api_url)
    store, _volcano, bakery = await _knowledge(client)
    assistant = await new_assistant(client, tools=[{"type": "file_search"}])
    thread = await client.beta.threads.create(
        messages=[{"role": "user", "content": "How long does the dough rest in the cold room?"}]
    )
    thread = await client.beta.threads.update(
        thread.id, tool_resources={"file_search": {"vector_store_ids": [store.id]}}
    )
    assert thread.tool_resources.file_search.vector_store_ids == [store.id]
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20
    )
    assert run.status == "completed"
    steps = await client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc")
    assert steps.data[0].step_details.tool_calls[0].file_search.results == []
    reply = (await client.beta.threads.messages.list(thread.id, limit=1)).data[0]
    (annotation,) = reply.content[0].text.annotations
    assert annotation.file_citation.file_id == bakery.id
    assert "eighteen hours in the cold room" in message_text(reply)


async def test_assistants_no_match_says_so(api_url):
    client = make_client(api_url)
    store, _, _ = await _knowledge(client)
    assistant = await new_assistant(
        client,
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    thread = await client.beta.threads.create(
        messages=[{"role": "user", "content": "What is the boiling point of mercury?"}]
    )
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20
    )
    assert run.status == "completed"
    reply = (await client.beta.threads.messages.list(thread.id, limit=1)).data[0]
    assert message_text(reply) == f"{FILE_SEARCH_NO_MATCH}\n\n{CLOSING_SENTENCE}"
    assert reply.content[0].text.annotations == []


# --- Responses API -----------------------------------------------------------------------------


async def test_response_quotes_the_right_file_with_a_citation(api_url):
    client = make_client(api_url)
    store, volcano, _bakery = await _knowledge(client)
    tool = {"type": "file_search", "vector_store_ids": [store.id]}
    events = await stream_events(
        client,
        model="local-echo-1",
        input=QUESTION,
        tools=[tool],
        include=["file_search_call.results"],
    )
    types = [event.type for event in events]
    assert types[:6] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
    ]
    assert events[2].item.type == "file_search_call" and events[2].item.status == "in_progress"
    assert types[-1] == "response.completed"

    response = events[-1].response
    search_call, message = response.output
    assert search_call.id.startswith("fs_")
    assert (search_call.type, search_call.status) == ("file_search_call", "completed")
    assert search_call.queries == [QUESTION]
    (result,) = search_call.results
    assert (result.file_id, result.filename) == (volcano.id, "volcanoes.md")
    assert "Eyjafjallajökull erupted in April 2010" in result.text

    expected = expected_volcano_reply(volcano.id, markers=False)
    text = message.content[0]
    assert text.text == expected.text == response.output_text
    assert "【" not in text.text
    (annotation,) = text.annotations
    assert (annotation.type, annotation.file_id, annotation.filename) == (
        "file_citation",
        volcano.id,
        "volcanoes.md",
    )
    # The citation points just after the quoted passage.
    quote = expected.citations[max(expected.citations)].quote
    assert text.text[: annotation.index].endswith(quote.splitlines()[-1])

    # Announced right after the delta that ends the passage.
    added = types.index("response.output_text.annotation.added")
    assert types[added - 1] == "response.output_text.delta"
    streamed = "".join(
        event.delta for event in events[:added] if event.type == "response.output_text.delta"
    )
    assert len(streamed) == annotation.index
    assert events[added].annotation.file_id == volcano.id
    assert events[added].annotation_index == 0

    # Stored, the response reads the same.
    stored = await client.responses.retrieve(response.id)
    assert stored.output[1].content[0].annotations[0].file_id == volcano.id


async def test_response_without_include_and_no_match(api_url):
    client = make_client(api_url)
    store, _volcano, bakery = await _knowledge(client)
    tool = {"type": "file_search", "vector_store_ids": [store.id]}
    response = await client.responses.create(
        model="local-echo-1", input="What is the starter called?", tools=[tool]
    )
    search_call, message = response.output
    assert search_call.results is None
    assert message.content[0].annotations[0].file_id == bakery.id
    assert "called Bertha" in response.output_text

    nothing = await client.responses.create(
        model="local-echo-1", input="What is the boiling point of mercury?", tools=[tool]
    )
    assert nothing.output[0].type == "file_search_call"
    assert nothing.output_text == f"{FILE_SEARCH_NO_MATCH}\n\n{CLOSING_SENTENCE}"
    assert nothing.output[1].content[0].annotations == []


async def test_vector_stores_helper_makes_a_store_for_the_assistant(api_url):
    """`tool_resources.file_search.vector_stores` (file ids) becomes a new store's id."""
    client = make_client(api_url)
    volcano = await client.files.create(
        file=("volcanoes.md", VOLCANO_NOTES.encode()), purpose="assistants"
    )
    assistant = await new_assistant(
        client,
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [volcano.id]}]}},
    )
    (store_id,) = assistant.tool_resources.file_search.vector_store_ids
    store = await client.vector_stores.retrieve(store_id)
    assert store.file_counts.completed == 1
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20
    )
    reply = (await client.beta.threads.messages.list(thread.id, limit=1)).data[0]
    assert run.status == "completed"
    assert reply.content[0].text.annotations[0].file_citation.file_id == volcano.id


async def test_sdk_stream_helpers_accumulate_the_citations(api_url):
    """The SDK's own stream helpers (runs.stream, responses.stream) rebuild the annotated
    text from the deltas, as an app using them sees it."""
    client = make_client(api_url)
    store, volcano, _bakery = await _knowledge(client)
    assistant = await new_assistant(
        client,
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [store.id]}},
    )
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
    async with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id
    ) as stream:
        async for _ in stream:
            pass
        (message,) = await stream.get_final_messages()
    text = message.content[0].text
    assert text.value == expected_volcano_reply(volcano.id, markers=True).text
    assert [note.file_citation.file_id for note in text.annotations] == [volcano.id]

    async with client.responses.stream(
        model="local-echo-1",
        input=QUESTION,
        tools=[{"type": "file_search", "vector_store_ids": [store.id]}],
    ) as stream:
        async for _ in stream:
            pass
        response = await stream.get_final_response()
    assert response.output_text == expected_volcano_reply(volcano.id, markers=False).text
    assert [note.file_id for note in response.output[1].content[0].annotations] == [volcano.id]


async def test_files_attached_to_messages_are_searched(api_url):
    """A message's attachments for file_search join the thread's own vector store, made on
    the spot, as in the real API."""
    client = make_client(api_url)
    volcano = await client.files.create(
        file=("volcanoes.md", VOLCANO_NOTES.encode()), purpose="assistants"
    )
    bakery = await client.files.create(
        file=("bakery.md", BAKERY_GUIDE.encode()), purpose="assistants"
    )
    assistant = await new_assistant(client, tools=[{"type": "file_search"}])
    thread = await client.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": "Here are my notes.",
                "attachments": [{"file_id": volcano.id, "tools": [{"type": "file_search"}]}],
            }
        ]
    )
    (store_id,) = thread.tool_resources.file_search.vector_store_ids
    await client.beta.threads.messages.create(
        thread.id,
        role="user",
        content="When does the bakery open?",
        attachments=[{"file_id": bakery.id, "tools": [{"type": "file_search"}]}],
    )
    store = await client.vector_stores.retrieve(store_id)
    assert store.file_counts.completed == 2
    assert store.expires_after.days == 7
    run = await client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20
    )
    assert run.status == "completed"
    reply = (await client.beta.threads.messages.list(thread.id, limit=1)).data[0]
    assert "opens at seven in the morning" in message_text(reply)
    assert reply.content[0].text.annotations[0].file_citation.file_id == bakery.id
