"""The channel layer of a multi-process site (REDIS_URL): channels_redis's pub/sub layer, made
to ride out a Redis restart or outage.

The stock layer fails every call while Redis is away, and after it comes back: a subscribe
raised (a new socket answered HTTP 500, a reply could not open its channel), a publish on a
pooled connection that Redis had closed raised once per process (redis-py's asyncio client
retries nothing by default), and whatever was published while a process's subscription was
down was gone without anyone knowing. Here:

- a subscription is recorded even when Redis cannot be told; every recorded one is made again
  once the connection is back;
- a publish on a stale connection is retried on a fresh one; while Redis is known to be down
  publishes fail at once (`ChannelLayerUnavailable`) instead of each waiting for a refused
  connect, and callers decide what to retry (chat/services/events.py);
- once a lost connection is back, every channel of the process gets a `chat.resync` message:
  the consumers send their socket a fresh snapshot (what they missed is in the database), as
  Zulip's clients reload when their event queue is gone.

`group_send_with` runs Redis commands in the pipeline of a group's PUBLISH, before it: what a
reply's sockets were shown is kept beside it at no extra round trip
(chat/services/streamed_text.py).
"""

import asyncio
import logging

from channels_redis.pubsub import RedisPubSubChannelLayer as StockRedisPubSubChannelLayer
from channels_redis.pubsub import RedisPubSubLoopLayer, RedisSingleShardConnection
from channels_redis.utils import _wrap_close
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# After a failed call, how long the shard answers "unavailable" without trying Redis again.
RETRY_AFTER = 0.5
# Between two attempts of the receiving loop to get the subscription back.
RECONNECT_INTERVAL = 0.25
RESYNC = {"type": "chat.resync"}
# Messages the receiving task takes from its connection's buffer per wake-up, at most.
DRAIN_AT_ONCE = 256
LOST = (RedisError, OSError, asyncio.TimeoutError)


class ChannelLayerUnavailable(Exception):
    """Redis cannot be reached right now; nothing was published."""


class ResilientShardConnection(RedisSingleShardConnection):
    def __init__(self, host, channel_layer):
        super().__init__(host, channel_layer)
        self._down_since: float | None = None
        self._failed_at = 0.0
        # Publishes waiting for the next pipeline, and the pipelines under way.
        self._pending: list[tuple] = []
        self._flushing: set[asyncio.Task] = set()

    @property
    def is_down(self) -> bool:
        return self._down_since is not None

    def _lost(self, error: BaseException) -> None:
        loop = asyncio.get_running_loop()
        self._failed_at = loop.time()
        if self._down_since is None:
            self._down_since = self._failed_at
            logger.warning("Redis is unreachable (%s); retrying", error)

    def _failing_fast(self) -> bool:
        return self.is_down and asyncio.get_running_loop().time() - self._failed_at < RETRY_AFTER

    async def publish(self, channel, message, commands=()):
        """PUBLISH (after `commands`), in one pipeline with every other publish of the
        process that is waiting at the same time: one round trip and one write for all."""
        if self._failing_fast():
            raise ChannelLayerUnavailable("Redis is unreachable")
        async with self._lock:
            self._ensure_redis()
        # Outside the lock (which only guards making the client): the stock layer held it
        # through the round trip, so every publish of the process waited for the one before,
        # whatever its group; at 30 streams `make bench` measured p50 1.6 s behind the
        # in-memory layer's 0.1 s. A reply's own publishes stay in order: its runner awaits
        # each before the next (send_lock).
        done = asyncio.get_running_loop().create_future()
        self._pending.append((tuple(commands), channel, message, done))
        if len(self._pending) == 1:
            asyncio.get_running_loop().call_soon(self._flush_soon)
        await done

    def _flush_soon(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            task = asyncio.ensure_future(self._flush(batch))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    async def _flush(self, batch) -> None:
        for attempt in (1, 2):
            try:
                pipe = self._redis.pipeline(transaction=False)
                for commands, channel, message, _ in batch:
                    for command in commands:
                        pipe.execute_command(*command)
                    pipe.publish(channel, message)
                # A command that Redis refuses costs what it kept, not the publish.
                await pipe.execute(raise_on_error=False)
            except (RedisConnectionError, RedisTimeoutError, OSError) as error:
                # The pooled connection may be one that Redis closed when it restarted:
                # redis-py drops it, and the second attempt connects afresh.
                if attempt == 2:
                    self._lost(error)
                    for *_, done in batch:
                        if not done.done():
                            done.set_exception(ChannelLayerUnavailable(str(error)))
                    return
            except asyncio.CancelledError:
                for *_, done in batch:
                    done.cancel()
                raise
            except Exception as error:
                for *_, done in batch:
                    if not done.done():
                        done.set_exception(error)
                return
            else:
                for *_, done in batch:
                    if not done.done():
                        done.set_result(None)
                return

    async def subscribe(self, channel):
        async with self._lock:
            if channel in self._subscribed_to:
                return
            self._ensure_redis()
            self._ensure_receiver()
            self._subscribed_to.add(channel)
            if self._failing_fast():
                return  # subscribed on reconnection
            try:
                await self._pubsub.subscribe(channel)
            except LOST as error:
                self._lost(error)

    async def unsubscribe(self, channel):
        async with self._lock:
            if channel not in self._subscribed_to:
                return
            self._subscribed_to.discard(channel)
            if self._failing_fast():
                return
            try:
                await self._pubsub.unsubscribe(channel)
            except LOST as error:
                self._lost(error)

    async def _do_receiving(self):
        while True:
            try:
                if self.is_down:
                    await self._resubscribe()
                if self._pubsub is None or not self._pubsub.subscribed:
                    await asyncio.sleep(0.1)
                    continue
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=0.1
                )
                self._receive_message(message)
                # Then whatever is already buffered, before the loop goes round again: one
                # message per trip around a busy event loop fell behind the publishes of
                # 30 streams (`make bench`: p50 over a second).
                for _ in range(DRAIN_AT_ONCE):
                    if message is None:
                        break
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=0
                    )
                    self._receive_message(message)
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except LOST as error:
                self._lost(error)
                await asyncio.sleep(RECONNECT_INTERVAL)
            except Exception:
                logger.exception("Unexpected exception in the Redis receive task")
                await asyncio.sleep(1)

    async def _resubscribe(self) -> None:
        """Makes every recorded subscription again (Redis forgot them all), then tells every
        channel of the process to catch up."""
        async with self._lock:
            # A fresh connection: the old one may be half-closed, and redis-py would subscribe
            # its own record of channels (unsubscribes that failed included) on it.
            await self._pubsub.aclose()
            self._pubsub = self._redis.pubsub()
            if self._subscribed_to:
                await self._pubsub.subscribe(*self._subscribed_to)
            down_for = asyncio.get_running_loop().time() - self._down_since
            self._down_since = None
        logger.warning("Redis is back after %.1f s; resynchronising the sockets", down_for)
        self.channel_layer.resync()


class ResilientLoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._shards = [ResilientShardConnection(shard.host, self) for shard in self._shards]

    @property
    def is_down(self) -> bool:
        return any(shard.is_down for shard in self._shards)

    async def group_send_with(self, group, message, commands):
        group_channel = self._get_group_channel_name(group)
        shard = self._get_shard(group_channel)
        await shard.publish(group_channel, self.channel_layer.serialize(message), commands)

    def receive_nowait(self, channel: str) -> dict | None:
        """The next message already waiting on `channel` in this process, or None."""
        queue = self.channels.get(channel)
        if queue is None or queue.empty():
            return None
        return self.channel_layer.deserialize(queue.get_nowait())

    async def channel_discard(self, channel: str) -> None:
        """The antithesis of `new_channel`, which channels lacks (a cancelled receive is the
        stock layer's only way to unsubscribe)."""
        if self.channels.pop(channel, None) is not None:
            await self._get_shard(channel).unsubscribe(channel)

    def resync(self) -> None:
        """A `chat.resync` message on every channel of this process."""
        data = self.channel_layer.serialize(RESYNC)
        for queue in list(self.channels.values()):
            queue.put_nowait(data)


class RedisPubSubChannelLayer(StockRedisPubSubChannelLayer):
    async def group_send_with(self, group, message, commands) -> None:
        """`group_send`, with `commands` (tuples of arguments) run just before its PUBLISH, in
        one round trip, on the group's shard."""
        await self._get_layer().group_send_with(group, message, commands)

    def receive_nowait(self, channel: str) -> dict | None:
        """What the consumer relays in one go with the message it was woken for
        (ChatConsumer.dispatch), as with the in-memory layer: under load a socket's frames
        arrive faster than one trip around the event loop each."""
        return self._get_layer().receive_nowait(channel)

    async def channel_discard(self, channel: str) -> None:
        """Stops receiving a channel from `new_channel` that nobody will read."""
        await self._get_layer().channel_discard(channel)

    def _get_layer(self):
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = ResilientLoopLayer(
                *self._args, **self._kwargs, channel_layer=self
            )
            _wrap_close(self, loop)
        return layer
