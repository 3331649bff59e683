"""Redis stopping under two Daphne processes: while replies stream, and while all is idle.

The processes use a redis-server of this module's own (the run's Redis stays up), which the
tests stop and start again on the same port.
"""

import asyncio

import pytest

from chat.models import Message
from localai.engine.model import reply_text
from tests.scale.faults import RedisServer, close_all, flights_on, outcome, until_streaming
from tests.scale.support import (
    app_process,
    live_socket,
    local_assistant,
    messages_of,
    requires_scale,
    signed_in,
)

pytestmark = [requires_scale, pytest.mark.django_db(transaction=True)]

REPLIES = 6
LONG = "[[delay:0.05]] [[tokens:120]] reply {} through a Redis outage"  # about 6 s
OUTAGE = 3.0  # seconds


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def processes_on_own_redis(scale_env, redis_server, tmp_path_factory):
    servers = []
    try:
        for name in ("p", "q"):
            servers.append(
                app_process(
                    tmp_path_factory.mktemp(f"redis-{name}"), scale_env, REDIS_URL=redis_server.url
                )
            )
        yield servers
    finally:
        for server in servers:
            server.stop()


async def test_replies_stream_through_a_redis_outage_and_every_socket_hears_them_end(
    processes_on_own_redis, redis_server
):
    p, q = processes_on_own_redis
    _, cookie = await signed_in("alice")
    assistant = await local_assistant()
    flights = await flights_on([p, q], cookie, assistant, [LONG.format(n) for n in range(REPLIES)])
    await until_streaming(flights)

    saved_before = [(await Message.objects.aget(pk=f.reply_id)).content for f in flights]
    redis_server.stop()
    # During the outage: a frame is answered (the rate limit fails open) and a new socket
    # is accepted, on both processes.
    await asyncio.sleep(0.5)
    for flight in flights[:2]:
        socket = flight.watchers[0]
        await socket.send({"type": "ping"})
        assert (await socket.until_type("pong", timeout=5))["type"] == "pong"
    for server in (p, q):
        newcomer = await live_socket(server, cookie)
        await newcomer.send({"type": "ping"})
        assert (await newcomer.until_type("pong", timeout=5))["type"] == "pong"
        await newcomer.close()
    await asyncio.sleep(OUTAGE - 0.5)
    saved_meanwhile = [(await Message.objects.aget(pk=f.reply_id)).content for f in flights]
    redis_server.start()

    sockets = [s for f in flights for s in f.sockets]
    result = await outcome(flights, sockets=sockets, timeout=30)
    result.report(f"Redis down {OUTAGE:.0f} s")

    assert (result.completed, result.lost) == (REPLIES, 0)
    assert result.sockets_told == result.sockets == REPLIES * 3
    for flight, before, saved in zip(flights, saved_before, saved_meanwhile, strict=True):
        for socket in flight.sockets:
            assert socket.final[flight.reply_id]["status"] == "complete"
            # What the tab shows, rebuilt from snapshot and deltas, is the whole reply.
            assert socket.texts[flight.reply_id] == flight.expected, (
                socket.ws_url,
                len(socket.texts[flight.reply_id]),
                len(flight.expected),
                [(f["type"], f.get("offset"), len(f.get("text", ""))) for f in socket.frames[-12:]],
            )
        # The reply went on streaming from the provider and saving while Redis was away.
        assert len(saved) > len(before)
    # The next message works on both processes, without a restart.
    for flight, starter in ((flights[0], flights[0].starter), (flights[1], flights[1].starter)):
        await starter.send(
            {"type": "message.send", "conversation_id": flight.conversation_id, "text": "after"}
        )
        done = await starter.receive_until(
            lambda f: f["type"] == "message.done" and f["message"]["content"] == reply_text("after")
        )
        assert done["message"]["status"] == "complete"
    await close_all(flights)


async def test_after_redis_restarts_while_idle_the_first_message_on_each_process_works(
    processes_on_own_redis, redis_server
):
    p, q = processes_on_own_redis
    _, cookie = await signed_in("alice")
    assistant = await local_assistant()
    sockets = [await live_socket(server, cookie) for server in (p, q)]
    for socket in sockets:  # every process has used its connections once
        await socket.send(
            {
                "type": "message.send",
                "conversation_id": None,
                "assistant_id": assistant.pk,
                "text": "before",
            }
        )
        await socket.until_type("message.done")

    redis_server.stop()
    redis_server.start()
    await asyncio.sleep(0.5)

    conversations = []
    for socket in sockets:
        await socket.send(
            {
                "type": "message.send",
                "conversation_id": None,
                "assistant_id": assistant.pk,
                "text": "after the restart",
            }
        )
        frame = await socket.receive_until(lambda f: f["type"] in {"message.done", "error"})
        assert frame["type"] == "message.done", frame
        assert frame["message"]["status"] == "complete"
        conversations.append(frame["message"]["conversation_id"])
    for conversation_id in conversations:
        assert [m.status for m in await messages_of(conversation_id)] == ["complete", "complete"]
    assert not await Message.objects.filter(status__in=Message.ACTIVE_STATUSES).aexists()
    print("Redis restarted while idle: first message on each process: 2/2 complete, 0 orphans")
    for socket in sockets:
        await socket.close()
