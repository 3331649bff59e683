"""The benchmark's stream source (bench/emitter.py) speaks each protocol as the openai SDK
reads it, paced and stamped; the baseline relay and the site's agents stream from it."""

import subprocess
import sys
import time

import openai
import pytest
from channels.testing import WebsocketCommunicator

from bench.emitter_events import text_of
from bench.servers import free_port
from chat.agents.events import Completed, TextDelta
from chat.bench_relay import BaselineRelayConsumer
from chat.models import Assistant, Connection
from localai.engine.model import STAMP, strip_stamps

TOKENS, DELAY = 12, 0.01


@pytest.fixture(scope="module")
def emitter_url():
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.emitter",
            "--port",
            str(port),
            "--tokens",
            str(TOKENS),
            "--delay",
            str(DELAY),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    client = openai.OpenAI(base_url=url, api_key="x", max_retries=0)
    for _ in range(100):
        try:
            client.conversations.create()
            break
        except openai.APIConnectionError:
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def client(emitter_url):
    return openai.OpenAI(base_url=emitter_url, api_key="x", max_retries=0)


def _stamped(deltas: list[str], asked_at: float) -> None:
    """Every delta is one token and its emission stamp, in order, and paced: token i is never
    written before DELAY x (i + 1) after the request (a late pacer catches up, never runs
    ahead)."""
    assert strip_stamps("".join(deltas)) == text_of(TOKENS)
    stamps = [float(STAMP.search(delta)["time"]) for delta in deltas]
    assert len(stamps) == TOKENS
    assert stamps == sorted(stamps)
    early = [i for i, stamp in enumerate(stamps) if stamp < asked_at + DELAY * (i + 1) - 0.002]
    assert early == []
    assert time.time() - stamps[-1] < 5


def test_an_assistants_run_streams_every_token_then_completes(client):
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread.id, role="user", content="Hello")
    asked_at = time.time()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id="asst_x") as stream:
        deltas = [
            event.data.delta.content[0].text.value
            for event in stream
            if event.event == "thread.message.delta"
        ]
        run = stream.get_final_run()
    _stamped(deltas, asked_at)
    assert run.status == "completed"
    assert run.usage.completion_tokens == TOKENS
    assert strip_stamps(stream.get_final_messages()[0].content[0].text.value) == text_of(TOKENS)


def test_a_response_streams_in_a_conversation_then_completes(client):
    conversation = client.conversations.create()
    asked_at = time.time()
    with client.responses.stream(model="m", input="Hello", conversation=conversation.id) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    _stamped(deltas, asked_at)
    assert final.status == "completed"
    assert strip_stamps(final.output_text) == text_of(TOKENS)
    assert final.conversation.id == conversation.id


def test_a_chat_completion_streams_then_reports_usage(client):
    asked_at = time.time()
    chunks = list(
        client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "Hello"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    _stamped(
        [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content],
        asked_at,
    )
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage.completion_tokens == TOKENS


def test_unstreamed_requests_answer_a_title_and_unknown_routes_are_404(client):
    assert client.responses.create(model="m", input="Title this").output_text
    answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "t"}])
    assert answer.choices[0].message.content
    with pytest.raises(openai.NotFoundError):
        client.models.list()


@pytest.fixture
def emitter_connection(emitter_url):
    return Connection.objects.create(
        name="emitter", kind=Connection.Kind.OPENAI, base_url=emitter_url, max_retries=0
    )


# Channels closes stale database connections around each consumer message, even here.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("protocol", ["assistants", "responses", "chat_completions"])
async def test_the_relay_sends_every_delta_as_it_arrives(protocol, emitter_connection):
    socket = WebsocketCommunicator(BaselineRelayConsumer.as_asgi(), "/ws/bench/relay/")
    assert (await socket.connect())[0]
    asked_at = time.time()
    await socket.send_json_to(
        {
            "text": "Relay me",
            "protocol": protocol,
            "connection": "emitter",
            "assistant_id": "asst_x",
            "model": "m",
        }
    )
    deltas = []
    while (frame := await socket.receive_json_from(timeout=10))["type"] == "message.delta":
        assert frame["offset"] == sum(len(d) for d in deltas)
        deltas.append(frame["text"])
    await socket.disconnect()
    _stamped(deltas, asked_at)
    assert frame == {"type": "message.done", "status": "complete", "content": "".join(deltas)}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("protocol", ["assistants", "responses", "chat_completions"])
async def test_the_sites_agents_read_its_streams(protocol, emitter_connection):
    from chat.services.assistants import assistant_agent

    assistant = await Assistant.objects.acreate(
        name="On the emitter",
        connection=emitter_connection,
        protocol=protocol,
        model="m",
        remote_id="asst_x" if protocol == "assistants" else "",
    )
    asked_at = time.time()
    events = [item.event async for item in assistant_agent(assistant).invoke_stream("Hello")]
    _stamped([e.text for e in events if isinstance(e, TextDelta)], asked_at)
    assert isinstance(events[-1], Completed)
