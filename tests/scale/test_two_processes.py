"""One user, two Daphne processes behind no sticky load balancer: any process serves any socket.

Each process has its own channel-layer consumers and turn tasks; PostgreSQL holds the state and
Redis carries the events between them.
"""

import asyncio

import pytest

from chat.models import Message
from localai.engine.model import reply_text
from tests.scale.support import (
    live_socket,
    local_assistant,
    messages_of,
    requires_scale,
    signed_in,
)

pytestmark = [requires_scale, pytest.mark.django_db(transaction=True)]


async def first_exchange(socket, assistant, text: str = "hello") -> int:
    """A conversation with one finished exchange; returns its id."""
    frame = {"type": "message.send", "conversation_id": None, "assistant_id": assistant.pk}
    await socket.send({**frame, "text": text})
    created = await socket.until_type("conversation.created")
    await socket.until_type("message.done")
    return created["conversation"]["id"]


async def open_conversation(socket, conversation_id: int) -> dict:
    await socket.send({"type": "conversation.open", "conversation_id": conversation_id})
    return await socket.until_type("conversation.snapshot")


async def reply_started(socket, conversation_id: int, text: str) -> int:
    """Sends `text`; returns the id of the reply once this socket hears it started."""
    await socket.send({"type": "message.send", "conversation_id": conversation_id, "text": text})
    frame = await socket.receive_until(
        lambda f: f["type"] == "message.created" and f["message"]["role"] == "assistant"
    )
    return frame["message"]["id"]


def deltas_of(socket, reply_id: int) -> list[dict]:
    return [
        f for f in socket.frames if f["type"] == "message.delta" and f["message_id"] == reply_id
    ]


async def test_a_reply_started_on_one_process_streams_to_a_socket_on_the_other(two_processes):
    a, b = two_processes
    _, cookie = await signed_in("alice")
    assistant = await local_assistant()
    on_a = await live_socket(a, cookie)
    on_b = await live_socket(b, cookie)
    conversation_id = await first_exchange(on_a, assistant)
    # The sidebar of the other process's socket heard of the new conversation.
    created_on_b = await on_b.until_type("conversation.created")
    assert created_on_b["conversation"]["id"] == conversation_id
    await open_conversation(on_b, conversation_id)
    text = "[[delay:0.01]] [[tokens:80]] both of you"

    reply_id = await reply_started(on_a, conversation_id, text)
    done_a = await on_a.until_type("message.done")
    done_b = await on_b.until_type("message.done")

    expected = reply_text(text)
    assert done_a["message"]["content"] == done_b["message"]["content"] == expected
    assert on_a.texts[reply_id] == on_b.texts[reply_id] == expected
    # The socket on the other process heard the reply live, piece by piece, each delta
    # continuing exactly where the previous one ended.
    offsets, position = [], 0
    for delta in deltas_of(on_b, reply_id):
        offsets.append(delta["offset"])
        assert delta["offset"] == position
        position += len(delta["text"])
    assert len(offsets) >= 3 and position == len(expected)
    await on_a.close()
    await on_b.close()


async def test_a_socket_opened_mid_reply_on_the_other_process_gets_the_text_so_far_then_the_rest(
    two_processes,
):
    a, b = two_processes
    _, cookie = await signed_in("alice")
    assistant = await local_assistant()
    on_a = await live_socket(a, cookie)
    conversation_id = await first_exchange(on_a, assistant)
    text = "[[delay:0.01]] [[tokens:200]] late joiner"
    reply_id = await reply_started(on_a, conversation_id, text)
    await on_a.receive_until(lambda f: f["type"] == "message.delta" and f["offset"] > 200)

    late = await live_socket(b, cookie)
    snapshot = await open_conversation(late, conversation_id)
    done = await late.until_type("message.done")

    expected = reply_text(text)
    in_snapshot = next(m for m in snapshot["messages"] if m["id"] == reply_id)
    assert in_snapshot["status"] == "streaming"
    assert expected.startswith(in_snapshot["content"])
    # What came after the snapshot: the text so far from the runner on the other process,
    # then live deltas; with the offset rule nothing is shown twice or lost.
    assert late.texts[reply_id] == expected == done["message"]["content"]
    live = [d for d in deltas_of(late, reply_id) if d["offset"] > 0]
    assert live, "the rest of the reply arrived live"
    assert done["message"]["status"] == "complete"
    await on_a.close()
    await late.close()


async def test_closing_the_socket_that_started_the_turn_loses_nothing(two_processes):
    a, b = two_processes
    _, cookie = await signed_in("alice")
    assistant = await local_assistant()
    starter = await live_socket(a, cookie)
    watcher = await live_socket(b, cookie)
    conversation_id = await first_exchange(starter, assistant)
    await open_conversation(watcher, conversation_id)
    text = "[[delay:0.01]] [[tokens:150]] do not lose me"

    reply_id = await reply_started(starter, conversation_id, text)
    await starter.until_type("message.delta")
    await starter.close()
    done = await watcher.until_type("message.done")

    expected = reply_text(text)
    assert done["message"]["status"] == "complete"
    assert watcher.texts[reply_id] == expected
    saved = await Message.objects.aget(pk=reply_id)
    assert (saved.status, saved.content) == ("complete", expected)
    await watcher.close()


async def test_a_second_message_while_a_reply_streams_is_busy_across_processes(two_processes):
    a, b = two_processes
    _, cookie = await signed_in("alice")
    assistant = await local_assistant()
    on_a = await live_socket(a, cookie)
    on_b = await live_socket(b, cookie)
    conversation_id = await first_exchange(on_a, assistant, "first")
    await open_conversation(on_b, conversation_id)
    slow = "[[delay:0.02]] [[tokens:100]] slow"
    await reply_started(on_a, conversation_id, slow)

    await on_b.send({"type": "message.send", "conversation_id": conversation_id, "text": "me too"})
    busy = await on_b.until_type("error")
    await on_b.until_type("message.done")

    assert busy["code"] == "busy" and busy["conversation_id"] == conversation_id
    assert [m.content for m in await messages_of(conversation_id) if m.role == "user"] == [
        "first",
        slow,
    ]
    # Once the reply has ended, the other process takes the next message.
    await on_b.send({"type": "message.send", "conversation_id": conversation_id, "text": "now"})
    done = await on_b.receive_until(
        lambda f: f["type"] == "message.done" and f["message"]["content"] == reply_text("now")
    )
    assert done["message"]["status"] == "complete"
    await on_a.close()
    await on_b.close()


async def test_stop_from_the_other_process_cancels_the_reply(two_processes):
    a, b = two_processes
    _, cookie = await signed_in("alice")
    assistant = await local_assistant()
    on_a = await live_socket(a, cookie)
    on_b = await live_socket(b, cookie)
    conversation_id = await first_exchange(on_a, assistant)
    await open_conversation(on_b, conversation_id)
    text = "[[delay:0.05]] [[tokens:400]] stop me from afar"
    reply_id = await reply_started(on_a, conversation_id, text)
    await on_b.receive_until(lambda f: f["type"] == "message.delta" and f["offset"] > 0)

    await on_b.send({"type": "turn.stop", "conversation_id": conversation_id})
    done_a = await on_a.until_type("message.done", timeout=10)

    partial = done_a["message"]["content"]
    assert done_a["message"]["status"] == "cancelled"
    assert partial and reply_text(text).startswith(partial) and len(partial) < len(reply_text(text))
    assert (await on_b.until_type("message.done"))["message"]["id"] == reply_id
    await asyncio.sleep(0)  # the cancel reached the provider through process A's task
    await on_a.close()
    await on_b.close()


async def test_replies_ending_beside_a_stream_do_not_cost_it_a_single_delta(two_processes):
    # Every reply that ends stops its task's channel-layer receive. With the list-based
    # channels_redis layer, a receive stopped mid-pop dropped a message meant for another
    # socket of the process: this stream lost deltas and its text stopped short.
    a, _ = two_processes
    _, alice_cookie = await signed_in("alice")
    _, bob_cookie = await signed_in("bob")
    assistant = await local_assistant()
    streaming = await live_socket(a, alice_cookie)
    busy = await live_socket(a, bob_cookie)
    long_text = "[[delay:0.01]] [[tokens:300]] a long one"
    frame = {"type": "message.send", "conversation_id": None, "assistant_id": assistant.pk}
    await streaming.send({**frame, "text": long_text})

    conversation_id = await first_exchange(busy, assistant, "short 0")
    for number in range(1, 12):
        await busy.send(
            {"type": "message.send", "conversation_id": conversation_id, "text": f"short {number}"}
        )
        await busy.until_type("message.done")
    done = await streaming.until_type("message.done")

    assert done["message"]["content"] == reply_text(long_text)
    assert streaming.texts[done["message"]["id"]] == reply_text(long_text)
    await streaming.close()
    await busy.close()
