"""A socket that fell behind a fast stream catches up in one go (ChatConsumer.dispatch)."""

import asyncio

import pytest

from chat.channel_layer import InMemoryChannelLayer
from chat.consumers import ChatConsumer


def delta(offset: int, text: str, message_id: int = 7) -> dict:
    frame = {"type": "message.delta", "conversation_id": 1, "message_id": message_id}
    return {"type": "chat.frame", "frame": {**frame, "offset": offset, "text": text}}


async def consumer_on(layer: InMemoryChannelLayer) -> tuple[ChatConsumer, list]:
    consumer = ChatConsumer()
    consumer.channel_layer = layer
    consumer.channel_name = await layer.new_channel()
    sent: list = []

    async def send_json(frame):
        sent.append(frame)

    consumer.send_json = send_json
    return consumer, sent


async def test_queued_deltas_go_out_as_one_frame_and_other_frames_keep_their_place():
    layer = InMemoryChannelLayer()
    consumer, sent = await consumer_on(layer)
    done = {"type": "chat.frame", "frame": {"type": "message.done", "message": {"id": 7}}}
    for message in [
        delta(0, "Hel"),
        delta(3, "lo"),
        delta(5, " you"),
        done,
        delta(0, "Other", 8),
        delta(0, "Again", 8),  # not a continuation (a late joiner's catch-up): kept apart
    ]:
        await layer.send(consumer.channel_name, message)

    await consumer.dispatch(await layer.receive(consumer.channel_name))

    assert [(f["type"], f.get("offset"), f.get("text")) for f in sent] == [
        ("message.delta", 0, "Hello you"),
        ("message.done", None, None),
        ("message.delta", 0, "Other"),
        ("message.delta", 0, "Again"),
    ]
    assert layer.receive_nowait(consumer.channel_name) is None


@pytest.mark.django_db(transaction=True)  # Channels closes old connections around handlers
async def test_a_control_message_in_the_backlog_is_handled_in_order():
    layer = InMemoryChannelLayer()
    consumer, sent = await consumer_on(layer)
    seen = []

    async def session_ended(event):
        seen.append(len(sent))

    consumer.session_ended = session_ended
    for message in [delta(0, "a"), delta(1, "b"), {"type": "session.ended"}, delta(2, "c")]:
        await layer.send(consumer.channel_name, message)

    await consumer.dispatch(await layer.receive(consumer.channel_name))

    assert [f["text"] for f in sent] == ["ab", "c"]
    assert seen == [1]  # after the frame that came before it, before the one after


@pytest.mark.django_db(transaction=True)
async def test_a_channel_message_waits_for_the_handler_in_progress_then_goes_at_once():
    order: list[str] = []
    gate = asyncio.Event()

    class Probe(ChatConsumer):
        async def websocket_connect(self, message):
            order.append("connected")

        async def websocket_receive(self, message):
            order.append("handler starts")
            await gate.wait()
            order.append("handler ends")

        async def disconnect(self, code):
            pass

        async def send_json(self, content, close=False):
            order.append(f"frame {content['text']}")

    inbox: asyncio.Queue = asyncio.Queue()
    consumer = Probe()
    running = asyncio.create_task(consumer({"type": "websocket"}, inbox.get, None))
    await inbox.put({"type": "websocket.connect"})
    await inbox.put({"type": "websocket.receive", "text": "{}"})
    async with asyncio.timeout(5):
        while order != ["connected", "handler starts"]:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    await consumer.channel_layer.send(consumer.channel_name, delta(0, "x"))
    await asyncio.sleep(0.05)
    assert order == ["connected", "handler starts"]  # one message at a time, as in Channels
    gate.set()
    await asyncio.sleep(0.05)
    assert order == ["connected", "handler starts", "handler ends", "frame x"]
    await inbox.put({"type": "websocket.disconnect", "code": 1000})
    async with asyncio.timeout(5):
        await running  # StopConsumer ends the consumer cleanly
