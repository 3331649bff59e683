"""The chat socket over real TCP, against a Daphne process: the bounds of
assistants_site/websocket_server.py on what one socket may make the server hold.

In-process tests (WebsocketCommunicator) never reach Daphne and Autobahn, where a large frame
used to drop the connection and a client that never reads used to grow the process without end.
"""

import asyncio
import json
import socket
import time

import pytest
from websockets.asyncio.client import connect

from tests.provider_server import SiteServer

UNREAD_LIMIT = 512 * 1024
SNAPSHOT_CHARS = 30_000
SNAPSHOT_MESSAGES = 10  # a snapshot of about 300 KB

SETUP = f"""
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from chat.models import Assistant, Conversation, Message
user = get_user_model().objects.create_user("reader", password="pw-123456789")
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
assistant = Assistant.objects.create(name="Helper", model="local-echo-1")
conversation = Conversation.objects.create(owner=user, assistant=assistant, title="Long")
for n in range({SNAPSHOT_MESSAGES}):
    Message.objects.create(conversation=conversation, role="user", content="x" * {SNAPSHOT_CHARS})
print(session.session_key, conversation.pk)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    site = SiteServer(
        tmp_path_factory.mktemp("bounded-site"),
        extra_env={
            "CHAT_SOCKET_MAX_UNSENT_BYTES": str(UNREAD_LIMIT),
            "CHAT_RATE_LIMIT_FRAMES": "100000",
        },
    ).start()
    # The last line: the shell may say first what it imported.
    session_key, conversation_id = site.manage("shell", "-c", SETUP).splitlines()[-1].split()
    site.session_key = session_key
    site.conversation_id = int(conversation_id)
    yield site
    site.stop()


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) * 1024


async def live(server):
    return await connect(
        server.ws_url,
        origin=server.base_url,
        additional_headers={"Cookie": f"sessionid={server.session_key}"},
        compression=None,
        proxy=None,
        max_size=None,
    )


async def until_type(connection, kind: str) -> dict:
    async with asyncio.timeout(20):
        while True:
            frame = json.loads(await connection.recv())
            if frame["type"] == kind:
                return frame


@pytest.mark.parametrize("size", [1024 * 1024 + 1, 8 * 1024 * 1024], ids=["1MiB", "8MiB"])
async def test_a_frame_over_the_limit_is_answered_too_long_and_the_socket_stays_open(server, size):
    connection = await live(server)
    before = rss_bytes(server.process.pid)

    await connection.send('{"type": "ping", "pad": "' + "x" * size + '"}')
    error = await until_type(connection, "error")
    await connection.send('{"type": "ping"}')
    pong = await until_type(connection, "pong")

    assert error["code"] == "too_long", error
    assert pong == {"type": "pong"}
    # Thrown away as it arrived: the process did not grow by the frame (8 MiB).
    assert rss_bytes(server.process.pid) - before < 4 * 1024 * 1024
    await connection.close()


async def test_a_message_at_the_limit_escaped_the_longest_way_reaches_the_consumer(server):
    connection = await live(server)
    # 32,000 emoji, each a surrogate pair of \\uXXXX escapes: 384,000 bytes of text.
    frame = json.dumps({"type": "turn.stop", "conversation_id": 1, "x": "\U0001f600" * 32_000})

    await connection.send(frame)
    error = await until_type(connection, "error")

    assert error["code"] == "not_running", error  # read and handled, not refused as too large
    await connection.close()


def raw_websocket(server, *, receive_buffer: int = 4096) -> socket.socket:
    """A client socket after the WebSocket handshake, which reads nothing more."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect(("127.0.0.1", server.port))
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    sock.sendall(
        (
            f"GET /ws/chat/ HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {server.base_url}\r\nCookie: sessionid={server.session_key}\r\n\r\n"
        ).encode()
    )
    response = b""
    while not response.endswith(b"\r\n\r\n"):
        response += sock.recv(1)  # one byte at a time: nothing past the headers is read
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def masked_text_frame(text: str) -> bytes:
    payload = text.encode()
    assert len(payload) < 126
    # A zero mask: masked as a client must, and the payload unchanged.
    return bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0" + payload


def test_a_client_that_asks_for_snapshots_and_never_reads_is_closed_with_memory_bounded(server):
    sock = raw_websocket(server)
    open_frame = masked_text_frame(
        json.dumps({"type": "conversation.open", "conversation_id": server.conversation_id})
    )
    before = rss_bytes(server.process.pid)
    requested, closed_after = 0, None
    started = time.monotonic()
    try:
        while time.monotonic() - started < 30:
            sock.sendall(open_frame)
            requested += 1
            time.sleep(0.005)
    except OSError:  # reset: the server dropped the connection
        closed_after = time.monotonic() - started
    peak = rss_bytes(server.process.pid)
    sock.close()

    assert closed_after is not None, f"still open after {requested} snapshots"
    unread = requested * SNAPSHOT_MESSAGES * SNAPSHOT_CHARS
    assert unread > 4 * UNREAD_LIMIT  # far more than the limit was asked for
    assert peak - before < 20 * 1024 * 1024, (peak - before) / 1e6


def read_frame(sock: socket.socket) -> tuple[int, bytes]:
    """One (unmasked) frame from the server: its opcode and payload."""

    def exactly(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("closed mid-frame")
            data += chunk
        return data

    first, second = exactly(2)
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(exactly(2), "big")
    elif length == 127:
        length = int.from_bytes(exactly(8), "big")
    return first & 0x0F, exactly(length)


def test_a_client_that_reads_its_backlog_late_finds_it_closed_with_4408(server):
    log = server.var_dir / "server.log"
    logged = log.stat().st_size
    sock = raw_websocket(server)
    open_frame = masked_text_frame(
        json.dumps({"type": "conversation.open", "conversation_id": server.conversation_id})
    )
    deadline = time.monotonic() + 30
    while b"still unread" not in log.read_bytes()[logged:]:  # the server gave up on it
        assert time.monotonic() < deadline, "never closed"
        sock.sendall(open_frame)
        time.sleep(0.005)

    sock.settimeout(10)
    snapshots = 0
    while (frame := read_frame(sock))[0] != 0x8:  # up to the close frame
        snapshots += json.loads(frame[1])["type"] == "conversation.snapshot"
    sock.close()

    payload = frame[1]
    assert int.from_bytes(payload[:2], "big") == 4408
    assert b"reconnect" in payload[2:]
    assert snapshots > 0
