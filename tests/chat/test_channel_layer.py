"""The in-memory channel layer of a single-process site (chat/channel_layer.py)."""

import asyncio

import pytest

from chat import channel_layer
from chat.channel_layer import InMemoryChannelLayer


async def test_group_send_reaches_every_member_in_order():
    layer = InMemoryChannelLayer(capacity=10)
    channels = [await layer.new_channel() for _ in range(3)]
    for name in channels:
        await layer.group_add("conversation-1", name)
    await layer.group_add("conversation-2", channels[0])
    for number in range(3):
        await layer.group_send("conversation-1", {"type": "chat.frame", "n": number})
    for name in channels:
        assert [(await layer.receive(name))["n"] for _ in range(3)] == [0, 1, 2]
    await layer.group_discard("conversation-1", channels[1])
    await layer.group_send("conversation-1", {"type": "chat.frame", "n": 3})
    assert (await layer.receive(channels[2]))["n"] == 3
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await layer.receive(channels[1])


async def test_a_full_socket_queue_drops_the_message_without_failing_the_sender():
    layer = InMemoryChannelLayer(capacity=1)
    slow, fast = await layer.new_channel(), await layer.new_channel()
    for name in (slow, fast):
        await layer.group_add("g", name)
    await layer.group_send("g", {"type": "a"})
    assert (await layer.receive(fast))["type"] == "a"
    await layer.group_send("g", {"type": "b"})  # `slow` is full: dropped for it only
    assert (await layer.receive(fast))["type"] == "b"
    assert (await layer.receive(slow))["type"] == "a"


async def test_expired_messages_are_still_swept_at_most_a_second_late():
    layer = InMemoryChannelLayer(expiry=0)
    layer._clean_expired()  # a sweep now: the next one is due in SWEEP_INTERVAL
    gone = await layer.new_channel()
    await layer.group_add("g", gone)
    await layer.send(gone, {"type": "old"})
    await asyncio.sleep(0.01)
    layer._clean_expired()
    assert gone in layer.channels  # not yet: sweeps are periodic
    layer._next_sweep -= channel_layer.SWEEP_INTERVAL  # a second later
    layer._clean_expired()
    assert gone not in layer.channels
    assert gone not in layer.groups.get("g", {})
