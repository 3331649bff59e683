"""The replies this process is writing, and a sign of life for them that every process reads.

The sweep for dead replies (stale_replies.py) finds candidates by their heartbeat, a database
write every CHAT_RUNNER_HEARTBEAT. Under overload those writes queue behind the turns' own
queries in the database thread: at K=1,000 streaming replies on one process they fell more than
three beats late, and another process's sweep closed live replies as "the server stopped". So a
late heartbeat makes a reply a candidate, and the sweep then asks whether its task still runs:
in this process, by the registry below; in another one, by a Redis key that each process
renews for its replies from a thread of its own (not the event loop, not the database thread),
one pipeline a beat. The thread stops renewing when the event loop has stopped turning (a hung
process): its replies are then closed as if it had died.

With the in-memory layer there is one process and no Redis: the registry says it all.
"""

import asyncio
import logging
import threading
import time

import redis
from django.conf import settings

from .streamed_text import redis_client

logger = logging.getLogger(__name__)

# By message id: each reply's task (kept referenced here) and its TurnRunner, for a drain.
_running: dict[int, tuple[asyncio.Task, object]] = {}

# A process whose loop has not turned for this many beats is hung, not busy.
HUNG_BEATS = 12
MISSED_BEATS = 3  # after which the sweep takes a reply for dead (stale_replies.py)


def running_register(reply_id: int, task: asyncio.Task, runner: object) -> None:
    _running[reply_id] = (task, runner)
    task.add_done_callback(lambda _: _running.pop(reply_id, None))


def running_turns() -> dict[int, tuple[asyncio.Task, object]]:
    """The replies this process is writing: their task and runner, by message id."""
    return dict(_running)


def running_task(reply_id: int) -> asyncio.Task | None:
    """The task writing this reply in this process, if one is."""
    entry = _running.get(reply_id)
    return entry[0] if entry is not None else None


def running_key(reply_id: int) -> str:
    return f"chat:running:{reply_id}"


def replies_alive(reply_ids: list[int]) -> set[int]:
    """Those of these replies whose task runs, here or in a process that renews its keys.
    Redis unreachable: only this process's count (the sweep then goes by the heartbeats)."""
    alive = {pk for pk in reply_ids if pk in _running}
    elsewhere = [pk for pk in reply_ids if pk not in alive]
    if not settings.REDIS_URL or not elsewhere:
        return alive
    try:
        values = redis_client().mget([running_key(pk) for pk in elsewhere])
    except redis.RedisError as error:
        logger.warning("Could not ask Redis which of %d replies run: %s", len(elsewhere), error)
        return alive
    return alive | {pk for pk, value in zip(elsewhere, values, strict=True) if value is not None}


class _Beat:
    """Renews this process's keys once a beat, from its own thread, while the loop turns."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.turned_at = time.monotonic()
        self.stopped = threading.Event()
        self.renewed: set[int] = set()  # the keys set at the last renewal

    def start(self) -> None:
        self._tick()
        threading.Thread(target=self._run, name="running-replies-beat", daemon=True).start()

    def _tick(self) -> None:
        # A callback on the loop: it runs as long as the loop turns, however busy.
        self.turned_at = time.monotonic()
        if not self.loop.is_closed():
            self.loop.call_later(settings.CHAT_RUNNER_HEARTBEAT / 2, self._tick)

    def _run(self) -> None:
        beat = settings.CHAT_RUNNER_HEARTBEAT
        while not self.stopped.wait(beat):
            if self.loop.is_closed():
                return
            if time.monotonic() - self.turned_at > HUNG_BEATS * beat:
                continue  # hung: let the sweep close its replies
            self._renew(beat)

    def _renew(self, beat: float) -> None:
        while True:
            try:
                reply_ids = tuple(_running)
                break
            except RuntimeError:  # the loop's thread changed the dict meanwhile
                continue
        ended = self.renewed - set(reply_ids)
        if not reply_ids and not ended:
            return
        # As long as the sweep's three missed beats: a dead process's keys are gone by the time
        # its replies' heartbeats are stale, and a live one may miss two renewals.
        ttl_ms = max(1, int(MISSED_BEATS * beat * 1000))
        try:
            with redis_client().pipeline(transaction=False) as pipe:
                for pk in reply_ids:
                    pipe.set(running_key(pk), 1, px=ttl_ms)
                if ended:
                    pipe.delete(*(running_key(pk) for pk in ended))
                pipe.execute()
        except redis.RedisError as error:
            logger.warning("Could not renew %d running replies in Redis: %s", len(reply_ids), error)
            return
        self.renewed = set(reply_ids)


_beats: dict[asyncio.AbstractEventLoop, _Beat] = {}


def running_beat_start() -> None:
    """Starts this process's renewals, once per event loop (Daphne has one); none without
    Redis, where no other process can be sweeping."""
    if not settings.REDIS_URL:
        return
    loop = asyncio.get_running_loop()
    if loop not in _beats:
        _beats[loop] = _Beat(loop)
        _beats[loop].start()
