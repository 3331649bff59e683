"""The benchmark's baseline: a bare relay from the provider's stream to one socket.

`make bench` (bench/) compares the chat consumer with this: the same SDK streaming from the
same provider, each delta sent to the socket the moment it arrives, with no database, no
authentication, no channel layer and no coalescing. It is the limit our stack (Daphne,
Channels, the openai SDK) allows. Mounted at /ws/bench/relay/ only when
BENCH_BASELINE_ENABLED is set (never in production).

Frames: the client sends `{"text": ..., "assistant_id": <remote assistant id>}`; the relay
answers `{"type": "message.delta", "offset", "text"}` per delta, then
`{"type": "message.done", "status", "content"}` (or `{"type": "error", "message"}`).
"""

import asyncio
import json

import openai
from channels.generic.websocket import AsyncWebsocketConsumer

from .agents import client_for
from .models import Connection

TERMINAL = {
    "thread.run.completed": "complete",
    "thread.run.cancelled": "cancelled",
    "thread.run.failed": "failed",
    "thread.run.expired": "failed",
    "thread.run.incomplete": "incomplete",
}


class BaselineRelayConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.relay: asyncio.Task | None = None
        await self.accept()

    async def disconnect(self, code):
        if self.relay:
            self.relay.cancel()

    async def receive(self, text_data=None, bytes_data=None):
        frame = json.loads(text_data or "{}")
        # Like the app, the reply streams in a task of its own, never inside receive().
        self.relay = asyncio.create_task(self._relay(frame["text"], frame["assistant_id"]))

    async def _relay(self, text: str, assistant_id: str) -> None:
        client = client_for(Connection(name="local", kind=Connection.Kind.LOCAL))
        content, status = "", "incomplete"
        try:
            thread = await client.beta.threads.create()
            await client.beta.threads.messages.create(thread.id, role="user", content=text)
            stream = await client.beta.threads.runs.create(
                thread_id=thread.id, assistant_id=assistant_id, stream=True
            )
            async with stream:
                async for event in stream:
                    if event.event == "thread.message.delta":
                        for part in event.data.delta.content or []:
                            if part.type == "text" and part.text and part.text.value:
                                delta = part.text.value
                                await self.send(
                                    json.dumps(
                                        {
                                            "type": "message.delta",
                                            "offset": len(content),
                                            "text": delta,
                                        }
                                    )
                                )
                                content += delta
                    elif event.event in TERMINAL:
                        status = TERMINAL[event.event]
                        break
        except openai.OpenAIError as exc:
            await self.send(json.dumps({"type": "error", "message": str(exc)}))
            return
        await self.send(json.dumps({"type": "message.done", "status": status, "content": content}))
