"""The benchmark's bare relay (chat/bench_relay.py): off by default, and a faithful relay."""

import openai
import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings

from chat.bench_relay import BaselineRelayConsumer
from chat.routing import websocket_urlpatterns
from localai.engine.model import reply_text

pytestmark = pytest.mark.usefixtures("local_provider_url")


def test_the_relay_is_not_mounted_unless_enabled():
    assert not settings.BENCH_BASELINE_ENABLED
    assert "ws/bench/relay/" not in [str(p.pattern) for p in websocket_urlpatterns]


# Channels closes stale database connections around each consumer message, even here.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("local_connection")
async def test_the_relay_streams_every_delta_of_the_provider(local_provider_url):
    client = openai.AsyncOpenAI(base_url=local_provider_url, api_key="local-dev-key")
    assistant = await client.beta.assistants.create(model="local-echo-1", name="Relay")
    socket = WebsocketCommunicator(BaselineRelayConsumer.as_asgi(), "/ws/bench/relay/")
    assert (await socket.connect())[0]
    text = "Relay me [[tokens:12]]"
    await socket.send_json_to({"text": text, "assistant_id": assistant.id})
    deltas = []
    while (frame := await socket.receive_json_from(timeout=10))["type"] == "message.delta":
        assert frame["offset"] == sum(len(d) for d in deltas)
        deltas.append(frame["text"])
    await socket.disconnect()
    assert len(deltas) == 12
    assert frame == {"type": "message.done", "status": "complete", "content": reply_text(text)}
    assert "".join(deltas) == reply_text(text)
