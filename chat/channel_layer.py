"""The single-process channel layer (no REDIS_URL): Channels' in-memory layer, made cheap
per message.

The stock layer sweeps every queue and every group membership for expired entries on each
`receive()` and each `group_send()`. A streaming reply sends a frame per delta, and every
socket receives it, so that sweep ran O(sockets) times per delta over O(sockets) entries: at
a few hundred sockets it cost more than everything else on the streaming path (see
docs/performance.md). Messages expire after 60 s and group memberships after a day, so
sweeping once a second changes nothing a client can see. `group_send` also made one task per
member for sends that never wait (the queues are written with `put_nowait`).

`receive_nowait` lets the chat consumer take a socket's backlog in one go: Channels hands a
consumer one message per several trips around the event loop, which a busy loop makes
slower than a fast stream's frames arrive.
"""

import time

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer as StockInMemoryChannelLayer

SWEEP_INTERVAL = 1.0  # seconds between two sweeps for expired messages and memberships


class InMemoryChannelLayer(StockInMemoryChannelLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._next_sweep = 0.0

    def _clean_expired(self):
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_INTERVAL
        super()._clean_expired()

    async def group_send(self, group, message):
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, ())):
            try:
                await self.send(channel, message)
            except ChannelFull:
                pass  # as the stock layer: a full socket queue drops the message

    def receive_nowait(self, channel: str) -> dict | None:
        """The next message already waiting on `channel`, or None (never waits)."""
        self._clean_expired()
        queue = self.channels.get(channel)
        if queue is None or queue.empty():
            return None
        _, message = queue.get_nowait()
        if queue.empty():
            self.channels.pop(channel, None)
        return message
