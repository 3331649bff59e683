"""A process killed mid-reply (SIGKILL: no shutdown code runs) and started again."""

import asyncio
from datetime import timedelta

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.db import transaction
from django.utils import timezone

from chat.models import Message
from chat.services.stale_replies import STALE_REASON, replies_close_stale
from localai.engine.model import reply_text
from tests.scale.support import (
    app_process,
    live_socket,
    local_assistant,
    messages_of,
    requires_scale,
    signed_in,
)

pytestmark = [requires_scale, pytest.mark.django_db(transaction=True)]

HEARTBEAT = 0.5  # seconds; a reply silent for three beats belongs to a dead process


@pytest.fixture
def doomed_process(scale_env, tmp_path):
    server = app_process(tmp_path, scale_env, CHAT_RUNNER_HEARTBEAT=str(HEARTBEAT))
    yield server
    server.stop()


async def saved_content(reply_id: int, *, longer_than: int, timeout: float = 10) -> str:
    async with asyncio.timeout(timeout):
        while True:
            reply = await Message.objects.aget(pk=reply_id)
            if len(reply.content) > longer_than:
                return reply.content
            await asyncio.sleep(0.05)


async def test_a_reply_of_a_killed_process_is_closed_at_restart_and_the_chat_goes_on(
    doomed_process,
):
    _, cookie = await signed_in("alice")
    assistant = await local_assistant()
    socket = await live_socket(doomed_process, cookie)
    text = "[[delay:0.05]] [[tokens:300]] a long reply, interrupted"
    await socket.send(
        {
            "type": "message.send",
            "conversation_id": None,
            "assistant_id": assistant.pk,
            "text": text,
        }
    )
    conversation_id = (await socket.until_type("conversation.created"))["conversation"]["id"]
    reply_id = (
        await socket.receive_until(
            lambda f: f["type"] == "message.created" and f["message"]["role"] == "assistant"
        )
    )["message"]["id"]
    await saved_content(reply_id, longer_than=50)

    doomed_process.kill()
    with pytest.raises(websockets.ConnectionClosed):
        await socket.receive_until(lambda f: False, timeout=10)
    left = await Message.objects.aget(pk=reply_id)
    assert left.status == "streaming"  # nobody is left to say otherwise
    # The restart, as the README's deployment section runs it: close the replies whose task
    # has missed its heartbeats, then serve.
    await asyncio.sleep(HEARTBEAT * 3 + 0.2)
    closed = doomed_process.manage("close_stale_replies")
    doomed_process.start()

    assert closed.startswith("Closed 1 ")
    reply = await Message.objects.aget(pk=reply_id)
    assert (reply.status, reply.error) == ("incomplete", STALE_REASON)
    # What was saved and, past it, what was published (kept in Redis): all that the socket
    # was shown before the process died, and at most the frames that died with it.
    assert reply.content.startswith(left.content)
    assert reply.content.startswith(socket.texts[reply_id])
    assert reply_text(text).startswith(reply.content)
    again = await live_socket(doomed_process, cookie)
    await again.send({"type": "conversation.open", "conversation_id": conversation_id})
    snapshot = await again.until_type("conversation.snapshot")
    assert [m["status"] for m in snapshot["messages"]] == ["complete", "incomplete"]
    await again.send({"type": "message.send", "conversation_id": conversation_id, "text": "again"})
    done = await again.until_type("message.done")
    assert (done["message"]["status"], done["message"]["content"]) == (
        "complete",
        reply_text("again"),
    )
    assert [m.status for m in await messages_of(conversation_id)] == [
        "complete",
        "incomplete",
        "complete",
        "complete",
    ]
    await again.close()


async def test_without_a_restart_another_process_closes_the_dead_reply_when_asked_for_a_turn(
    doomed_process, scale_env, tmp_path_factory
):
    """No start-up step ran: the next message, on any process, finds the reply stale."""
    survivor = app_process(
        tmp_path_factory.mktemp("survivor"), scale_env, CHAT_RUNNER_HEARTBEAT=str(HEARTBEAT)
    )
    try:
        _, cookie = await signed_in("alice")
        assistant = await local_assistant()
        socket = await live_socket(doomed_process, cookie)
        frame = {"type": "message.send", "conversation_id": None, "assistant_id": assistant.pk}
        await socket.send({**frame, "text": "[[delay:0.05]] [[tokens:300]] interrupted"})
        conversation_id = (await socket.until_type("conversation.created"))["conversation"]["id"]
        dead_reply_id = (await socket.until_type("message.delta"))["message_id"]
        # A tab on the other process is showing the reply when its process dies.
        elsewhere = await live_socket(survivor, cookie)
        await elsewhere.send({"type": "conversation.open", "conversation_id": conversation_id})
        await elsewhere.until_type("conversation.snapshot")

        doomed_process.kill()
        await asyncio.sleep(HEARTBEAT * 3 + 0.2)
        await elsewhere.send(
            {"type": "message.send", "conversation_id": conversation_id, "text": "still there?"}
        )
        dead_done = await elsewhere.until_type("message.done")
        done = await elsewhere.until_type("message.done")

        # That tab saw the dead reply end before the next one began, and the next one finish.
        assert dead_done["message"]["id"] == dead_reply_id
        assert dead_done["message"]["status"] in {"incomplete", "failed"}
        assert done["message"]["status"] == "complete"
        statuses = [m.status for m in await messages_of(conversation_id)]
        assert statuses[1] in {"incomplete", "failed"}  # failed when nothing had been saved
        assert statuses[2:] == ["complete", "complete"]
        await elsewhere.close()
    finally:
        survivor.stop()


async def test_a_busy_processs_reply_whose_heartbeats_are_late_is_left_to_finish(doomed_process):
    """Under overload a reply's heartbeats (database writes) queue behind the turns' queries;
    another process's sweep must not take it for the reply of a dead process."""
    _, cookie = await signed_in("alice")
    assistant = await local_assistant()
    socket = await live_socket(doomed_process, cookie)
    text = "[[delay:0.02]] [[tokens:150]] late beats, live process"
    frame = {"type": "message.send", "conversation_id": None, "assistant_id": assistant.pk}
    await socket.send({**frame, "text": text})
    reply_id = (await socket.until_type("message.delta"))["message_id"]
    await asyncio.sleep(HEARTBEAT * 2)  # its process has said at least once that it runs

    @sync_to_async
    def sweep_here_with_the_heartbeats_late() -> int:
        # This process runs no reply: only Redis can say the other one's is alive. In one
        # transaction, so that no progress save renews the reply in between.
        with transaction.atomic():
            Message.objects.filter(pk=reply_id).update(
                updated_at=timezone.now() - timedelta(seconds=60)
            )
            return replies_close_stale()

    assert await sweep_here_with_the_heartbeats_late() == 0
    done = await socket.until_type("message.done", timeout=30)
    assert (done["message"]["status"], done["message"]["content"]) == ("complete", reply_text(text))
