"""Daphne's WebSocket protocol, with the two bounds on what one socket may make the server hold.

Installed on Daphne's factory by asgi.py, so every way of starting Daphne (`daphne`,
`python -m daphne`, `manage.py runserver`) serves the chat socket with it. The limits and close
codes are documented in docs/websocket-protocol.md.

- What a client sends. Autobahn, under Daphne, drops the TCP connection without a word when a
  message is over `--websocket-max-message-size` (1 MiB): the user's tab only sees close 1006.
  Here the limit is the chat's own frame limit (`chat.consumers.frame_max_chars`, which any
  message within CHAT_MAX_MESSAGE_CHARS fits in bytes too: no escape takes more than 12 bytes a
  code point, no UTF-8 character more than 4). A longer message is read to its end and thrown
  away as it arrives, and the application receives an empty message marked `too_large`, which
  the consumer answers with `too_long`. The socket stays open.
- What the server sends. Twisted keeps whatever the application writes in the transport's
  buffer until the client reads it, without bound: a client that asks for snapshots and never
  reads grows the process by what it leaves unread. Before each frame is written, a socket
  whose earlier frames are still unsent by more than CHAT_SOCKET_MAX_UNSENT_BYTES is closed
  with 4408 instead. A client that never reads does not answer the close either, and Autobahn
  drops the connection a second later (its close handshake timeout), which frees the buffer.
"""

import logging

from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol
from django.conf import settings

from chat.consumers import frame_max_chars

logger = logging.getLogger(__name__)

CLOSE_UNREAD = 4408
CLOSE_UNREAD_REASON = "Too much unread: reconnect to get the conversation again."


def unsent_bytes(transport) -> int:
    """What a Twisted transport holds that the kernel has not taken yet: the measure Twisted
    itself uses to tell a producer to pause (FileDescriptor._isSendBufferFull). Under TLS, the
    transport wraps the TCP one."""
    while transport is not None and not hasattr(transport, "_tempDataLen"):
        transport = getattr(transport, "transport", None)
    if transport is None:
        return 0
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


class ChatWebSocketProtocol(WebSocketProtocol):
    message_too_large = False

    def onConnect(self, request):
        handshake = super().onConnect(request)
        # Autobahn took Daphne's limits from the factory; both give way to the frame limit.
        self.maxMessagePayloadSize = self.maxFramePayloadSize = frame_max_chars()
        return handshake

    # --- Receiving: a message over the limit is discarded, not a dropped connection -------

    def _max_message_size_exceeded(self, msg_size, max_msg_size, reason):
        # Autobahn's hook for a message over its limits, which would fail the connection.
        self.message_too_large = True
        self.message_data = []
        self.frame_data = []

    def onMessageFrameData(self, payload):
        if not self.message_too_large:
            super().onMessageFrameData(payload)

    def onMessageFrame(self, payload):
        if not self.message_too_large:
            super().onMessageFrame(payload)

    def onMessageEnd(self):
        if not self.message_too_large:
            super().onMessageEnd()
            return
        self.message_too_large = False
        self.message_data = []
        if not self.muted:
            self.application_queue.put_nowait(
                {"type": "websocket.receive", "bytes": b"", "too_large": True}
            )

    # --- Sending: a client that does not read is closed, not buffered for ---------------------

    def serverSend(self, content, binary=False):
        if self.state == self.STATE_OPEN:
            unsent = unsent_bytes(self.transport)
            if unsent > settings.CHAT_SOCKET_MAX_UNSENT_BYTES:
                logger.warning(
                    "Closing the WebSocket of %s: %d bytes sent to it are still unread",
                    self.client_addr,
                    unsent,
                )
                self.sendClose(code=CLOSE_UNREAD, reason=CLOSE_UNREAD_REASON)
                return
        super().serverSend(content, binary)


def install() -> None:
    WebSocketFactory.protocol = ChatWebSocketProtocol
