"""A process that is told to stop (SIGTERM: a rolling deploy) or killed (SIGKILL), and
PostgreSQL restarting, under two Daphne processes with replies in flight."""

import asyncio
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.db import connections

from chat.models import Message
from chat.services.drain import DRAIN_REASON
from chat.services.stale_replies import STALE_REASON, UNANSWERED_STOP_REASON
from localai.engine.model import reply_text
from tests.scale.faults import (
    close_all,
    flights_on,
    outcome,
    postgres_ctl,
    start_flight,
    until_streaming,
    watch,
)
from tests.scale.support import (
    app_process,
    live_socket,
    local_assistant,
    requires_scale,
    signed_in,
)

pytestmark = [requires_scale, pytest.mark.django_db(transaction=True)]

HEARTBEAT = 0.5


def long_text(number: int, tokens: int = 300) -> str:
    return f"[[delay:0.05]] [[tokens:{tokens}]] reply {number}"


@pytest.fixture
def two_fresh_processes(scale_env, tmp_path_factory, request):
    """P and Q of one test, with the settings it asks for (`pytest.mark.process_env`)."""
    marker = request.node.get_closest_marker("process_env")
    overrides = marker.kwargs if marker else {}
    servers = []
    try:
        for name in ("p", "q"):
            servers.append(app_process(tmp_path_factory.mktemp(name), scale_env, **overrides))
        yield servers
    finally:
        for server in servers:
            server.stop()


async def closed_with(socket, timeout: float = 15) -> int | None:
    """The close code of a socket the server closes (reading whatever comes first)."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await socket.receive(timeout=timeout)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


@pytest.mark.process_env(CHAT_DRAIN_GRACE="3")
async def test_sigterm_drains_replies_finish_or_end_marked_and_sockets_close_with_1012(
    two_fresh_processes,
):
    p, q = two_fresh_processes
    _, cookie = await signed_in("alice")
    assistant = await local_assistant()
    # On P: two replies that finish within the grace, two that do not. Watched from Q.
    texts = [long_text(0, 30), long_text(1, 30), long_text(2), long_text(3)]
    flights = []
    for text in texts:
        flight = await start_flight(await live_socket(p, cookie), assistant, text)
        await watch(flight, q, cookie)
        flights.append(flight)
    await until_streaming(flights, longer_than=10)
    idle_on_p = await live_socket(p, cookie)

    started = time.monotonic()
    p.process.terminate()
    await asyncio.sleep(0.3)
    # Draining: a new turn on P is not taken (its socket closes to reconnect elsewhere).
    await idle_on_p.send(
        {"type": "message.send", "conversation_id": flights[0].conversation_id, "text": "lost?"}
    )
    assert await closed_with(idle_on_p) == 1012
    codes = [await closed_with(f.starter) for f in flights]
    p.process.wait(timeout=20)
    exited_after = time.monotonic() - started

    result = await outcome(flights, sockets=[f.watchers[0] for f in flights], timeout=10)
    result.report(f"SIGTERM, {exited_after:.1f} s to exit (grace 3 s)")
    assert codes == [1012] * 4
    assert (result.completed, result.marked, result.lost) == (2, 2, 0)
    assert result.sockets_told == result.sockets
    for flight in flights[2:]:
        reply = await Message.objects.aget(pk=flight.reply_id)
        assert (reply.status, reply.error) == ("incomplete", DRAIN_REASON)
        # Everything streamed so far: what the watcher on Q was shown, all of it saved.
        assert reply.content == flight.watchers[0].texts[flight.reply_id]
    assert not await Message.objects.filter(content="lost?").aexists()
    assert exited_after < 3 + 5

    # The conversation goes on on Q, at once.
    watcher = flights[2].watchers[0]
    await watcher.send(
        {"type": "message.send", "conversation_id": flights[2].conversation_id, "text": "on"}
    )
    done = await watcher.receive_until(
        lambda f: f["type"] == "message.done" and f["message"]["content"] == reply_text("on")
    )
    assert done["message"]["status"] == "complete"
    await close_all(flights)


@pytest.mark.process_env(CHAT_RUNNER_HEARTBEAT=str(HEARTBEAT))
async def test_sigkill_the_other_process_closes_and_announces_the_dead_replies(
    two_fresh_processes,
):
    p, q = two_fresh_processes
    _, cookie = await signed_in("alice")
    assistant = await local_assistant()
    flights = []
    for number in range(4):
        flight = await start_flight(await live_socket(p, cookie), assistant, long_text(number))
        await watch(flight, q, cookie)
        flights.append(flight)
    await until_streaming(flights)

    p.kill()
    killed = time.monotonic()
    saved = [(await Message.objects.aget(pk=f.reply_id)).content for f in flights]
    # Nobody opens the conversations: Q's sweep finds the replies dead and tells its sockets.
    result = await outcome(flights, sockets=[f.watchers[0] for f in flights], timeout=15)
    told_after = time.monotonic() - killed
    closed = [await Message.objects.aget(pk=f.reply_id) for f in flights]
    shown = [f.watchers[0].texts[f.reply_id] for f in flights]
    kept = sum(reply.content == text for reply, text in zip(closed, shown, strict=True))
    past_save = sum(len(r.content) - len(s) for r, s in zip(closed, saved, strict=True))
    result.report(
        f"SIGKILL, dead replies announced within {told_after:.1f} s, closed with the text "
        f"watchers were shown {kept}/{len(flights)} ({past_save} characters past the last "
        f"save, {sum(map(len, shown))} shown)"
    )
    assert (result.marked, result.lost) == (4, 0)
    assert result.sockets_told == result.sockets == 4
    for flight, reply, text in zip(flights, closed, shown, strict=True):
        assert (reply.status, reply.error) == ("incomplete", STALE_REASON)
        # All the text streamed so far, as the watcher on Q was shown it, and announced so.
        assert reply.content == text
        assert flight.watchers[0].final[flight.reply_id]["content"] == text

    watcher = flights[0].watchers[0]
    await watcher.send(
        {"type": "message.send", "conversation_id": flights[0].conversation_id, "text": "on"}
    )
    done = await watcher.receive_until(
        lambda f: f["type"] == "message.done" and f["message"]["content"] == reply_text("on")
    )
    assert done["message"]["status"] == "complete"
    await close_all(flights)


@pytest.mark.process_env(CHAT_STOP_TIMEOUT="1")
async def test_stop_on_a_reply_whose_process_was_killed_closes_it_at_once(two_fresh_processes):
    p, q = two_fresh_processes  # heartbeats of 10 s: no sweep comes to the rescue here
    _, cookie = await signed_in("alice")
    assistant = await local_assistant()
    flight = await start_flight(await live_socket(p, cookie), assistant, long_text(0))
    watcher = await watch(flight, q, cookie)
    await until_streaming([flight])

    p.kill()
    started = time.monotonic()
    await watcher.send({"type": "turn.stop", "conversation_id": flight.conversation_id})
    done = await watcher.receive_until(lambda f: f["type"] == "message.done", timeout=10)
    answered_after = time.monotonic() - started

    print(f"Stop on a dead reply: closed after {answered_after:.1f} s (stop timeout 1 s)")
    assert done["message"]["status"] == "cancelled"
    assert done["message"]["error"] == UNANSWERED_STOP_REASON
    assert answered_after < 5
    await watcher.send(
        {"type": "message.send", "conversation_id": flight.conversation_id, "text": "on"}
    )
    done = await watcher.receive_until(
        lambda f: f["type"] == "message.done" and f["message"]["content"] == reply_text("on")
    )
    assert done["message"]["status"] == "complete"
    await close_all([flight])


def page_load(url: str, cookie: str) -> int:
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def postgres_restart():
    """Restarts the run's PostgreSQL (scale-services'); the test's own connections reopen."""
    ctl = postgres_ctl()
    if ctl is None:
        pytest.skip("the run's PostgreSQL is not scripts/scale-services' (cannot restart it)")

    def restart() -> float:
        started = time.monotonic()
        subprocess.run(
            [*ctl, "restart", "-m", "fast", "-w"], check=True, stdout=subprocess.DEVNULL, timeout=60
        )
        return time.monotonic() - started

    yield restart
    connections.close_all()


async def test_postgresql_restarting_under_replies_leaves_none_open_and_pages_load(
    two_fresh_processes, postgres_restart
):
    p, q = two_fresh_processes
    _, cookie = await signed_in("alice")
    assistant = await local_assistant()
    flights = await flights_on([p, q], cookie, assistant, [long_text(n, 100) for n in range(6)])
    await until_streaming(flights)
    starters = [await live_socket(server, cookie) for server in (p, q)]

    took = await asyncio.to_thread(postgres_restart)
    await sync_to_async(connections.close_all)()  # the async ORM's thread
    # Turns started right after the restart, and page loads in the first second.
    around = [
        await start_flight(starter, assistant, long_text(10 + n, 20))
        for n, starter in enumerate(starters)
    ]
    statuses = []
    for _ in range(5):
        for server in (p, q):
            statuses.append(await asyncio.to_thread(page_load, f"{server.base_url}/", cookie))
        await asyncio.sleep(0.1)

    result = await outcome(
        flights + around, sockets=[s for f in flights + around for s in f.sockets], timeout=30
    )
    result.report(f"PostgreSQL restarted ({took:.1f} s)")
    print(f"page loads right after: {statuses.count(200)}/{len(statuses)} answered 200")
    assert statuses == [200] * len(statuses)
    assert (result.completed, result.lost) == (8, 0)
    assert result.sockets_told == result.sockets
    assert not await Message.objects.filter(status__in=Message.ACTIVE_STATUSES).aexists()
    await close_all(flights + around)
