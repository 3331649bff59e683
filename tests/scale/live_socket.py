"""A chat client over a real WebSocket to a Daphne process, keeping transcripts like the browser.

Signed in the way a browser is: the session cookie of a user whose session is saved in the
database the servers share, and the Origin header of the page.
"""

import asyncio
import json

from django.contrib.auth import get_user_model
from django.test import Client
from websockets.asyncio.client import ClientConnection, connect

from tests.chat.wsclient import ChatSocket


def session_cookie(user) -> str:
    """A `sessionid=...` cookie of a new session of `user`, saved in the shared database."""
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def make_user(username: str):
    return get_user_model().objects.create_user(username=username, password="pw-123456789")


class LiveChatSocket(ChatSocket):
    """ChatSocket's transcript logic (offsets drop what is already shown) over a real socket."""

    def __init__(self, ws_url: str, cookie: str):
        self.ws_url = ws_url
        self.cookie = cookie
        self.origin = ws_url.replace("ws://", "http://").split("/ws/", 1)[0]
        self.connection: ClientConnection | None = None
        self.frames: list[dict] = []
        self.texts: dict[int, str] = {}
        self.final: dict[int, dict] = {}

    async def connect(self) -> bool:
        self.connection = await connect(
            self.ws_url,
            origin=self.origin,
            additional_headers={"Cookie": self.cookie},
            compression=None,
            proxy=None,  # loopback only, whatever the environment says
            open_timeout=30,
            # Unread frames must not stop the reading: the close handshake comes after them.
            max_queue=None,
        )
        return True

    async def send(self, frame: dict | str) -> None:
        await self.connection.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def receive(self, timeout: float = 10) -> dict:
        async with asyncio.timeout(timeout):
            frame = json.loads(await self.connection.recv())
        self.frames.append(frame)
        self._apply(frame)
        return frame

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()
