"""A test-side chat client: a WebsocketCommunicator that keeps transcripts like the browser."""

import asyncio
import json

from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from assistants_site.asgi import application

ORIGIN = b"http://127.0.0.1:8000"


def session_cookie_for(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def make_user(username: str):
    return get_user_model().objects.create_user(username=username, password="pw-123456789")


class ChatSocket:
    """Applies frames the way applyDelta in static/chat/transcript/transcript.js does: offsets
    drop what is already shown."""

    def __init__(self, cookie: bytes | None, origin: bytes = ORIGIN):
        headers = [(b"origin", origin)]
        if cookie:
            headers.append((b"cookie", cookie))
        self.communicator = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
        self.frames: list[dict] = []
        self.texts: dict[int, str] = {}  # message id -> text shown from snapshot and deltas
        self.final: dict[int, dict] = {}  # message id -> the message as `message.done` gave it

    async def connect(self) -> bool:
        connected, _ = await self.communicator.connect()
        return connected

    async def send(self, frame: dict | str) -> None:
        if isinstance(frame, str):
            await self.communicator.send_to(text_data=frame)
        else:
            await self.communicator.send_json_to(frame)

    async def receive(self, timeout: float = 10) -> dict:
        frame = await self.communicator.receive_json_from(timeout=timeout)
        self.frames.append(frame)
        self._apply(frame)
        return frame

    async def receive_until(self, predicate, timeout: float = 20) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.receive(timeout=timeout)
                if predicate(frame):
                    return frame

    async def until_type(self, kind: str, timeout: float = 20) -> dict:
        return await self.receive_until(lambda f: f["type"] == kind, timeout)

    def _apply(self, frame: dict) -> None:
        kind = frame["type"]
        if kind == "conversation.snapshot":
            self.texts = {m["id"]: m["content"] for m in frame["messages"]}
        elif kind == "message.created":
            self.texts.setdefault(frame["message"]["id"], frame["message"]["content"])
        elif kind == "message.delta":
            shown = self.texts.get(frame["message_id"], "")
            offset, text = frame["offset"], frame["text"]
            if offset <= len(shown) < offset + len(text):
                self.texts[frame["message_id"]] = shown + text[len(shown) - offset :]
        elif kind == "message.done":
            # Kept apart from `texts`, so tests can check that the live frames alone rebuilt
            # the reply exactly.
            self.final[frame["message"]["id"]] = frame["message"]

    async def close(self) -> None:
        await self.communicator.disconnect()


def dumps(frame: dict) -> str:
    return json.dumps(frame)
