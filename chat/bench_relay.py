"""The benchmark's baseline: a bare relay from the provider's stream to one socket.

`make bench` (bench/) compares the chat consumer with this: the same provider calls of a
turn through the same SDK client, each text delta sent to the socket the moment it arrives,
with no database, no authentication, no channel layer and no coalescing. It is the limit our
stack (Daphne, Channels, the openai SDK) allows. Mounted at /ws/bench/relay/ only when
BENCH_BASELINE_ENABLED is set (never in production).

Frames: the client sends `{"text", "protocol", "connection", "assistant_id", "model"}`
(`protocol` one of the site's three, default assistants; `connection` a connection's name,
default `local`; `assistant_id` the remote assistant, for assistants). The relay answers
`{"type": "message.delta", "offset", "text"}` per delta, then
`{"type": "message.done", "status", "content"}` (or `{"type": "error", "message"}`).
"""

import asyncio
import json

import openai
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from .agents import client_for
from .models import Connection

ASSISTANTS_ENDINGS = {
    "thread.run.completed": "complete",
    "thread.run.cancelled": "cancelled",
    "thread.run.failed": "failed",
    "thread.run.expired": "failed",
    "thread.run.incomplete": "incomplete",
}
RESPONSES_ENDINGS = {
    "response.completed": "complete",
    "response.failed": "failed",
    "response.incomplete": "incomplete",
}

# Connections by name, read once per process: the relay does no database work per turn.
_connections: dict[str, Connection] = {}


async def _connection(name: str) -> Connection:
    if name not in _connections:
        _connections[name] = await database_sync_to_async(Connection.objects.get)(name=name)
    return _connections[name]


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
        self.relay = asyncio.create_task(self._relay(frame))

    async def _relay(self, frame: dict) -> None:
        connection = await _connection(frame.get("connection") or "local")
        client = client_for(connection)
        protocol = frame.get("protocol") or "assistants"
        relay = {
            "assistants": self._assistants,
            "responses": self._responses,
            "chat_completions": self._chat_completions,
        }[protocol]
        self.content = ""
        try:
            status = await relay(client, frame)
        except openai.OpenAIError as exc:
            await self.send(json.dumps({"type": "error", "message": str(exc)}))
            return
        await self.send(
            json.dumps({"type": "message.done", "status": status, "content": self.content})
        )

    async def _delta(self, text: str) -> None:
        await self.send(
            json.dumps({"type": "message.delta", "offset": len(self.content), "text": text})
        )
        self.content += text

    async def _assistants(self, client, frame: dict) -> str:
        thread = await client.beta.threads.create()
        await client.beta.threads.messages.create(thread.id, role="user", content=frame["text"])
        stream = await client.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=frame["assistant_id"], stream=True
        )
        async with stream:
            async for event in stream:
                if event.event == "thread.message.delta":
                    for part in event.data.delta.content or []:
                        if part.type == "text" and part.text and part.text.value:
                            await self._delta(part.text.value)
                elif event.event in ASSISTANTS_ENDINGS:
                    return ASSISTANTS_ENDINGS[event.event]
        return "incomplete"

    async def _responses(self, client, frame: dict) -> str:
        # As a turn of a `responses` assistant whose thread is a remote conversation.
        conversation = await client.conversations.create()
        stream = await client.responses.create(
            model=frame.get("model", ""),
            input=[{"type": "message", "role": "user", "content": frame["text"]}],
            conversation=conversation.id,
            stream=True,
        )
        async with stream:
            async for event in stream:
                if event.type == "response.output_text.delta":
                    await self._delta(event.delta)
                elif event.type in RESPONSES_ENDINGS:
                    return RESPONSES_ENDINGS[event.type]
        return "incomplete"

    async def _chat_completions(self, client, frame: dict) -> str:
        stream = await client.chat.completions.create(
            model=frame.get("model", ""),
            messages=[{"role": "user", "content": frame["text"]}],
            stream=True,
            stream_options={"include_usage": True},
        )
        status = "incomplete"
        async with stream:
            async for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta.content:
                        await self._delta(choice.delta.content)
                    if choice.finish_reason:
                        status = "complete" if choice.finish_reason == "stop" else "incomplete"
        return status
