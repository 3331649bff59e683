"""The text a streaming reply's sockets have been shown, kept in Redis as it is published, so
that a process killed mid-reply loses none of it.

The database gets a streaming reply's text once per CHAT_REPLY_SAVE_INTERVAL (reply_progress.py),
the sockets once per CHAT_BROADCAST_INTERVAL: a process SIGKILLed between two saves took with it
up to a save interval of text that the pages had already shown, and the sweep that closed the
reply (stale_replies.py) announced the shorter saved text. So each published batch also writes
the reply's key, in the pipeline of its PUBLISH and before it (nothing is shown that is not
kept): one command, no extra round trip. A SETRANGE of the batch at its byte offset, which a
publish retried on a fresh connection may repeat harmlessly (an APPEND would double the text);
a SET of the whole text, with the TTL, for the first batch, after a publish that failed or a
resync (Redis may have lost the key), and once the TTL is half gone (SETRANGE keeps the TTL).
Measured against a PUBLISH alone, either adds some 10 to 40 µs of client CPU per batch; a SET
of the whole text at every batch cost more and sends the reply's text again each time.

The sweep that closes a dead reply takes Redis's text when it extends the saved one (a key
that Redis lost and SETRANGE padded does not); the key goes with the reply's `message.done`
(a DEL in its pipeline), or with the sweep, or expires. With the in-memory layer (one process:
a process that dies takes every socket with it) nothing is kept; with Redis unreachable only
this copy is lost, the database's stays.
"""

import functools
import logging

import redis
from django.conf import settings

logger = logging.getLogger(__name__)


def streamed_key(reply_id: int) -> str:
    return f"chat:streamed:{reply_id}"


def streamed_ttl() -> int:
    """Seconds: well past the three missed heartbeats after which the sweep closes a reply."""
    return int(max(60.0, 12 * settings.CHAT_RUNNER_HEARTBEAT))


class StreamedText:
    """The Redis commands that keep one reply's published text, batch by batch."""

    def __init__(self, reply_id: int, loop):
        self.key = streamed_key(reply_id)
        self.loop = loop
        self.stored = -1  # bytes of the text in the key; -1: unknown, written whole next
        self.renewed_at = 0.0
        self._after: tuple[int, float] | None = None

    def commands(self, text: str, offset: int) -> tuple[tuple, ...]:
        """To run with the publish of `text[offset:]` (`text`: everything published so far)."""
        now, ttl = self.loop.time(), streamed_ttl()
        try:
            if offset == 0 or self.stored < 0 or now - self.renewed_at > ttl / 2:
                data = text.encode()
                self._after = (len(data), now)
                return (("SET", self.key, data, "EX", ttl),)
            data = text[offset:].encode()
        except UnicodeEncodeError:  # a lone surrogate: the publish fails on it as well
            self._after = None
            return ()
        self._after = (self.stored + len(data), self.renewed_at)
        return (("SETRANGE", self.key, self.stored, data),)

    def published(self, delivered: bool) -> None:
        if delivered and self._after is not None:
            self.stored, self.renewed_at = self._after
        else:
            self.stored = -1
        self._after = None

    def forget(self) -> tuple[tuple, ...]:
        """To run with the publish of the reply's end, saved by then in the database."""
        return (("DEL", self.key),)


def streamed_text_for(layer, reply_id: int, loop) -> StreamedText | None:
    """None with a layer that cannot run commands with a publish (the in-memory one)."""
    return StreamedText(reply_id, loop) if hasattr(layer, "group_send_with") else None


@functools.cache
def redis_client() -> redis.Redis:
    # Short timeouts: the sweep reads under its row locks, and fails open.
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1, retry_on_timeout=False
    )


def streamed_texts(reply_ids: list[int]) -> dict[int, str]:
    """What Redis kept of these replies' published text; empty without Redis or when it fails."""
    if not settings.REDIS_URL or not reply_ids:
        return {}
    try:
        values = redis_client().mget([streamed_key(pk) for pk in reply_ids])
    except redis.RedisError as error:
        logger.warning("Could not read the streamed text of %d replies: %s", len(reply_ids), error)
        return {}
    texts = {}
    for pk, value in zip(reply_ids, values, strict=True):
        if value is not None:
            try:
                texts[pk] = value.decode()
            except UnicodeDecodeError:  # torn: a padded or partly lost key
                pass
    return texts


def streamed_forget(reply_ids: list[int]) -> None:
    if not settings.REDIS_URL or not reply_ids:
        return
    try:
        redis_client().delete(*(streamed_key(pk) for pk in reply_ids))
    except redis.RedisError as error:  # they expire
        logger.warning(
            "Could not delete the streamed text of %d replies: %s", len(reply_ids), error
        )


def streamed_longer(saved: str, streamed: str | None) -> str:
    """The streamed text when it extends the saved one; else the saved one. A key that Redis
    lost and a later SETRANGE padded with zero bytes does not count (PostgreSQL refuses NUL)."""
    if (
        streamed is not None
        and len(streamed) > len(saved)
        and streamed.startswith(saved)
        and "\x00" not in streamed
    ):
        return streamed
    return saved
