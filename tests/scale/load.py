"""A load generator for the chat: many signed-in users, each chatting over a real WebSocket.

Bounded in count (users x messages) and in time (a deadline), and loopback only: it talks to
one Daphne process of the site, which talks to the local provider. Each user sends its
messages one after the other, each once the previous reply has ended, as a person would; all
users at the same time.
"""

import asyncio
import statistics
import time
from dataclasses import dataclass, field

from tests.scale.live_socket import LiveChatSocket


@dataclass
class UserRun:
    """What one user sent and what their socket saw."""

    index: int
    cookie: str
    sent: list[str] = field(default_factory=list)
    conversation_id: int | None = None
    reply_ids: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds from send to done
    errors: list[str] = field(default_factory=list)
    socket: LiveChatSocket | None = None


@dataclass
class LoadResult:
    users: list[UserRun]
    duration: float  # seconds of chatting, from the first message sent to the last reply
    connecting: float  # seconds to open every socket, before

    @property
    def replies(self) -> int:
        return sum(len(user.reply_ids) for user in self.users)

    @property
    def errors(self) -> list[str]:
        return [f"user {user.index}: {error}" for user in self.users for error in user.errors]

    def figures(self) -> str:
        latencies = sorted(x for user in self.users for x in user.latencies) or [0.0]
        p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
        return (
            f"{len(self.users)} users (sockets opened in {self.connecting:.1f} s), "
            f"{self.replies} replies in {self.duration:.1f} s: "
            f"{self.replies / self.duration:.1f} replies/s, {len(self.errors)} errors, "
            f"reply latency median {statistics.median(latencies):.2f} s, p95 {p95:.2f} s"
        )


def marker(index: int) -> str:
    """A tag in every message of one user, which no other user's data contains."""
    return f"[load-user-{index:04d}]"


async def _connect(user: UserRun, ws_url: str, handshakes: asyncio.Semaphore) -> None:
    user.socket = LiveChatSocket(ws_url, user.cookie)
    async with handshakes:
        await user.socket.connect()


async def _chat(user: UserRun, assistant_id: int, messages: int) -> None:
    socket = user.socket
    try:
        for number in range(messages):
            text = f"{marker(user.index)} message {number + 1} of {messages}"
            frame = {"type": "message.send", "text": text, "conversation_id": user.conversation_id}
            if user.conversation_id is None:
                frame["assistant_id"] = assistant_id
            started = time.monotonic()
            await socket.send(frame)
            user.sent.append(text)
            reply_id = None
            while True:
                event = await socket.receive(timeout=60)
                kind = event["type"]
                if kind == "error":
                    user.errors.append(f"{event['code']}: {event['message']}")
                    return
                if kind == "conversation.created":
                    user.conversation_id = event["conversation"]["id"]
                elif kind == "message.created" and event["message"]["role"] == "assistant":
                    reply_id = event["message"]["id"]
                elif kind == "message.done" and event["message"]["id"] == reply_id:
                    break
            user.reply_ids.append(reply_id)
            user.latencies.append(time.monotonic() - started)
    except Exception as exc:  # a timeout or a closed socket, among others: counted
        user.errors.append(repr(exc))


async def run_load(
    *,
    ws_url: str,
    cookies: list[str],
    assistant_id: int,
    messages: int,
    deadline: float,
    concurrent_handshakes: int = 20,
) -> LoadResult:
    """Signs every user in, then runs them all at once; gives up at `deadline` (seconds).

    The sockets open a few at a time, as users arrive, not in one burst: Daphne drops a
    handshake the application has not accepted within 5 s. The chatting starts once all are
    open, so that every user is chatting at the same time.
    """
    users = [UserRun(index, cookie) for index, cookie in enumerate(cookies)]
    started = time.monotonic()
    handshakes = asyncio.Semaphore(concurrent_handshakes)
    await _all_or_errors(users, [_connect(user, ws_url, handshakes) for user in users], deadline)
    connected = time.monotonic()
    ready = [user for user in users if not user.errors]
    await _all_or_errors(
        ready,
        [_chat(user, assistant_id, messages) for user in ready],
        max(deadline - (connected - started), 1.0),
    )
    for user in users:
        if user.socket is not None:
            await user.socket.close()
    return LoadResult(users, time.monotonic() - connected, connected - started)


async def _all_or_errors(users: list[UserRun], coroutines: list, timeout: float) -> None:
    """Runs the coroutines at once; whatever fails or is not done in time is a user's error."""
    tasks = [asyncio.create_task(coroutine) for coroutine in coroutines]
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for user, task in zip(users, tasks, strict=True):
        if task in pending:
            user.errors.append(f"not finished within {timeout:.0f} s")
        elif task.cancelled():
            user.errors.append("cancelled")
        elif task.exception() is not None:
            user.errors.append(repr(task.exception()))
