"""Helpers of the infrastructure-fault tests: a Redis of their own, replies in flight watched
from two processes, and the figures each scenario prints."""

import asyncio
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from chat.models import Message
from localai.engine.model import reply_text
from tests.provider_server import free_port
from tests.scale.live_socket import LiveChatSocket
from tests.scale.support import live_socket


class RedisServer:
    """A redis-server of one test, on a free port, that the test may stop and start again."""

    def __init__(self, directory: Path):
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed")
        self.port = free_port()
        self.directory = directory

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _cli(self, *args: str) -> str:
        return subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), *args],
            capture_output=True,
            text=True,
        ).stdout.strip()

    def start(self) -> "RedisServer":
        subprocess.run(
            [
                "redis-server",
                *("--port", str(self.port), "--bind", "127.0.0.1", "--daemonize", "yes"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
                *("--logfile", str(self.directory / "redis.log")),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while self._cli("ping") != "PONG":
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._cli("shutdown", "nosave")
        deadline = time.monotonic() + 10
        while self._cli("ping") == "PONG":
            assert time.monotonic() < deadline, "redis-server did not stop"
            time.sleep(0.02)


def postgres_ctl() -> list[str] | None:
    """`pg_ctl -D <data>` of the scale-services PostgreSQL (scripts/scale-services), as the
    user that may run it; None when this run's database is not that one."""
    directory = Path(
        os.environ.get("SCALE_SERVICES_DIR")
        or Path(os.environ.get("TMPDIR", "/tmp")) / "assistants-chat-services"
    )
    data = directory / "postgres"
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not (data / "postmaster.pid").exists() or not bins:
        return None
    # Its own log file: otherwise the new server holds pg_ctl's output open for ever.
    command = [str(bins[-1]), "-D", str(data), "-l", str(data / "server.log")]
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Flight:
    """One reply in flight: its conversation, the socket that asked, the sockets watching."""

    text: str
    conversation_id: int = 0
    reply_id: int = 0
    starter: LiveChatSocket | None = None
    watchers: list[LiveChatSocket] = field(default_factory=list)

    @property
    def sockets(self) -> list[LiveChatSocket]:
        return [self.starter, *self.watchers]

    @property
    def expected(self) -> str:
        return reply_text(self.text)


async def start_flight(starter: LiveChatSocket, assistant, text: str) -> Flight:
    flight = Flight(text=text, starter=starter)
    await starter.send(
        {
            "type": "message.send",
            "conversation_id": None,
            "assistant_id": assistant.pk,
            "text": text,
        }
    )
    flight.conversation_id = (await starter.until_type("conversation.created"))["conversation"][
        "id"
    ]
    created = await starter.receive_until(
        lambda f: f["type"] == "message.created" and f["message"]["role"] == "assistant"
    )
    flight.reply_id = created["message"]["id"]
    return flight


async def watch(flight: Flight, server, cookie: str) -> LiveChatSocket:
    socket = await live_socket(server, cookie)
    await socket.send({"type": "conversation.open", "conversation_id": flight.conversation_id})
    await socket.until_type("conversation.snapshot")
    flight.watchers.append(socket)
    return socket


async def flights_on(servers, cookie: str, assistant, texts: list[str]) -> list[Flight]:
    """A reply per text, started round-robin on `servers`, each watched from every server."""
    flights = []
    for number, text in enumerate(texts):
        starter = await live_socket(servers[number % len(servers)], cookie)
        flights.append(await start_flight(starter, assistant, text))
    for flight in flights:
        for server in servers:
            await watch(flight, server, cookie)
    return flights


async def until_streaming(flights: list[Flight], *, longer_than: int = 20) -> None:
    """Until every reply has saved some text."""
    async with asyncio.timeout(20):
        for flight in flights:
            while True:
                reply = await Message.objects.aget(pk=flight.reply_id)
                if len(reply.content) > longer_than:
                    break
                await asyncio.sleep(0.05)


async def told(socket: LiveChatSocket, reply_id: int, timeout: float) -> dict | None:
    """The `message.done` of the reply this socket got (now or within `timeout`), or None."""
    if reply_id in socket.final:
        return socket.final[reply_id]
    try:
        frame = await socket.receive_until(
            lambda f: f["type"] == "message.done" and f["message"]["id"] == reply_id,
            timeout=timeout,
        )
    except (TimeoutError, Exception):
        return socket.final.get(reply_id)
    return frame["message"]


@dataclass
class Outcome:
    in_flight: int
    completed: int
    marked: int  # ended incomplete (or failed/cancelled) with a reason and the text so far
    lost: int  # still pending/streaming, or text that is not what was streamed
    sockets: int
    sockets_told: int

    def report(self, scenario: str) -> str:
        line = (
            f"{scenario}: replies in flight {self.in_flight}, completed {self.completed}, "
            f"marked {self.marked}, lost {self.lost}; sockets told {self.sockets_told}/"
            f"{self.sockets}"
        )
        print(line)
        return line


async def outcome(flights: list[Flight], *, sockets: list[LiveChatSocket], timeout: float):
    """Waits (up to `timeout`) for every socket to hear every reply of its conversation end."""
    pairs = [
        (socket, flight) for flight in flights for socket in flight.sockets if socket in sockets
    ]
    results = await asyncio.gather(*(told(s, f.reply_id, timeout) for s, f in pairs))
    completed = marked = lost = 0
    for flight in flights:
        reply = await Message.objects.aget(pk=flight.reply_id)
        if reply.status == "complete" and reply.content == flight.expected:
            completed += 1
        elif (
            reply.status in {"incomplete", "failed", "cancelled"}
            and reply.error
            and flight.expected.startswith(reply.content)
        ):
            marked += 1
        else:
            lost += 1
    told_count = sum(1 for result in results if result is not None)
    return Outcome(len(flights), completed, marked, lost, len(pairs), told_count)


async def close_all(flights: list[Flight]) -> None:
    for flight in flights:
        for socket in flight.sockets:
            try:
                await socket.close()
            except Exception:
                pass
