"""Helpers of the organisation tests: a signed-in socket, and a first message."""

from chat.models import Assistant
from tests.chat.wsclient import ChatSocket


async def connected(cookie: bytes) -> ChatSocket:
    socket = ChatSocket(cookie)
    assert await socket.connect()
    return socket


async def send_new(socket: ChatSocket, assistant: Assistant, text: str) -> dict:
    """Sends the first message of a new conversation; returns the refusal (`error`) or the
    reply's `message.done`."""
    await socket.send(
        {
            "type": "message.send",
            "conversation_id": None,
            "assistant_id": assistant.pk,
            "text": text,
        }
    )
    return await socket.receive_until(lambda f: f["type"] in {"error", "message.done"})
