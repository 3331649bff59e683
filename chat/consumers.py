"""The chat WebSocket: authenticates, validates frames, authorises, and calls the services.

Frames are documented in docs/websocket-protocol.md. A turn never runs inside `receive()`
(Channels handles one message at a time per socket); `turn_launch` gives it its own task.
"""

import asyncio
import functools
import json
import logging
import re

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings

from toolservers.approvals import atool_call_decide

from .ids import id_in_range
from .models import Conversation, Message
from .presenters import conversation_payload, message_payloads
from .selectors import message_window
from .services import drain
from .services.conversation_purge import purge_sweeper_start
from .services.events import conversation_group, session_group, user_group
from .services.rate_limits import frame_rate_retry_after
from .services.refusals import Refused
from .services.stale_replies import replies_close_stale, stale_sweeper_start
from .services.turns import (
    TurnRefused,
    turn_create,
    turn_edit,
    turn_launch,
    turn_regenerate,
    turn_request_text,
    turn_save,
    turn_stop,
)

logger = logging.getLogger(__name__)

# The longest frame read: a message of CHAT_MAX_MESSAGE_CHARS code points, each escaped the
# longest way JSON allows (a code point past U+FFFF as a surrogate pair of \uXXXX escapes, 12
# characters: what Python's json.dumps emits for an emoji), plus room for the other fields.
ESCAPED_CHARS_PER_CODE_POINT = 12
FRAME_OVERHEAD = 4096

# A lone surrogate, which JSON can escape (a broken paste: half an emoji) but no database can
# store; and a quick test of whether a frame's text may hold one.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_MAY_HOLD_SURROGATE = re.compile("\\\\u[dD][89a-fA-F]|[\ud800-\udfff]")


def frame_max_chars() -> int:
    """The longest text frame the consumer reads: any message within the size limit fits,
    however its client escaped it. (Daphne reads at most as many bytes: see
    assistants_site/websocket_server.py.)"""
    return settings.CHAT_MAX_MESSAGE_CHARS * ESCAPED_CHARS_PER_CODE_POINT + FRAME_OVERHEAD


def _frame_from(text_data: str) -> dict:
    """The frame a text holds; every string in it with lone surrogates replaced by U+FFFD,
    so a broken paste is saved as the user sees it, less half a character."""
    try:
        frame = json.loads(text_data)
    except RecursionError:
        # Nesting deeper than the decoder's stack: never a frame of this protocol.
        raise TurnRefused("bad_frame", "This frame is nested too deeply.") from None
    except ValueError:
        raise TurnRefused("bad_frame", "This frame is not valid JSON.") from None
    if not isinstance(frame, dict):
        raise TurnRefused("bad_frame", "A frame must be a JSON object.")
    if _MAY_HOLD_SURROGATE.search(text_data):
        pending = [frame]  # a loop, not recursion: the frame may be nested deeply
        while pending:
            node = pending.pop()
            for key, value in node.items() if isinstance(node, dict) else enumerate(node):
                if isinstance(value, str):
                    node[key] = _LONE_SURROGATE.sub("\ufffd", value)
                elif isinstance(value, dict | list):
                    pending.append(value)
    return frame


def _continues(delta: dict, frame: dict) -> bool:
    """Whether `frame` is the text right after the `delta` frame, in the same reply."""
    return (
        frame["type"] == "message.delta"
        and frame["message_id"] == delta["message_id"]
        and frame["offset"] == delta["offset"] + len(delta["text"])
    )


# What an id out of range names, in the words the services use for an unknown one.
_UNKNOWN = {
    "assistant_id": "This assistant does not exist.",
    "conversation_id": "This conversation does not exist.",
    "message_id": "This message does not exist.",
}


def _optional_id(frame: dict, key: str) -> int | None:
    value = frame.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TurnRefused("invalid", f"`{key}` must be an integer id.")
    if not id_in_range(value):
        raise TurnRefused("not_found", _UNKNOWN[key])
    return value


def _required_id(frame: dict, key: str) -> int:
    value = _optional_id(frame, key)
    if value is None:
        raise TurnRefused("invalid", f"`{key}` is required.")
    return value


def _client_message_id(frame: dict) -> str | None:
    value = frame.get("client_message_id")
    if value is not None and not (isinstance(value, str) and len(value) <= 100):
        raise TurnRefused("invalid", "`client_message_id` must be a short string.")
    return value


@database_sync_to_async
def _conversation_snapshot(*, user, conversation_id: int) -> tuple[dict, dict, Message | None]:
    replies_close_stale(conversation_id=conversation_id)
    try:
        conversation = Conversation.objects.select_related("assistant").get(
            pk=conversation_id, owner=user
        )
    except Conversation.DoesNotExist:
        raise TurnRefused("not_found", "This conversation does not exist.") from None
    # The latest messages only, as the page has them: a reply in flight is always the last
    # message, so it is among them; the browser keeps the older ones it loaded.
    window = message_window(conversation=conversation, limit=settings.CHAT_TRANSCRIPT_PAGE_SIZE)
    active = next((m for m in window.messages if m.is_active), None)
    messages = {"messages": message_payloads(window.messages), "has_older": window.has_older}
    return conversation_payload(conversation), messages, active


class ChatConsumer(AsyncJsonWebsocketConsumer):
    async def __call__(self, scope, receive, send):
        # Channels' loop (await_many_dispatch) takes three trips around the event loop for each
        # channel-layer message: a busy loop makes every streamed frame wait for all three.
        # Here each source has a task that dispatches what it receives at once; a lock keeps
        # Channels' rule of one message at a time per consumer, in arrival order per source.
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.base_send = send
        sources = [receive]
        if self.channel_layer is not None:
            self.channel_name = await self.channel_layer.new_channel()
            self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
            sources.append(self.channel_receive)
        one_at_a_time = asyncio.Lock()

        async def pump(source):
            while True:
                message = await source()
                async with one_at_a_time:
                    await self.dispatch(message)

        pumps = [asyncio.create_task(pump(source)) for source in sources]
        try:
            done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            error = next(iter(done)).exception()
            if error is not None and not isinstance(error, StopConsumer):
                raise error
        finally:
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)

    async def connect(self):
        self.user = self.scope.get("user")
        self.open_conversation_id: int | None = None
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=4401)
            return
        self.groups_joined = [user_group(self.user.pk)]
        session_key = self.scope["session"].session_key
        if session_key:
            self.groups_joined.append(session_group(session_key))
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        stale_sweeper_start()
        purge_sweeper_start()
        if drain.is_draining():
            await self.close(code=drain.SERVICE_RESTART)  # reconnect to another process
            return
        drain.socket_opened(self)

    async def disconnect(self, code):
        drain.socket_closed(self)
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        await self._follow(None)

    async def websocket_receive(self, message):
        if message.get("too_large"):
            # Daphne read past the frame limit and threw the frame away as it arrived
            # (assistants_site/websocket_server.py).
            await self._frame_too_large()
            return
        await super().websocket_receive(message)

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is None:
            await self._error("bad_frame", "Frames must be JSON text, not binary.")
            return
        if len(text_data) > frame_max_chars():
            await self._frame_too_large()
            return
        try:
            frame = _frame_from(text_data)
        except Refused as refusal:
            await self._error(refusal.code, str(refusal))
            return
        retry_after = await frame_rate_retry_after(user_id=self.user.pk)
        if retry_after is not None:
            await self.send_json(
                {
                    "type": "error",
                    "code": "rate_limited",
                    "retry_after": retry_after,
                    "message": f"Too many messages at once. Try again in {retry_after:.0f} s.",
                }
            )
            return
        kind = frame.get("type")
        handler = self.handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            # Any JSON may stand here (a list is no dict key; a deep one has no printable repr).
            shown = f" {kind!r:.100}" if isinstance(kind, str) else ""
            await self._error("unknown_type", f"Unknown frame type{shown}.")
            return
        if handler in self.turn_handlers and drain.is_draining():
            # Not saved: the page reconnects elsewhere and gives the text back to the user.
            await self.close(code=drain.SERVICE_RESTART)
            return
        try:
            await handler(self, frame)
        except Refused as refusal:
            await self._error(
                refusal.code, str(refusal), frame.get("conversation_id"), **refusal.details
            )
        except Exception:
            logger.exception("Frame %r failed", frame.get("type"))
            await self._error("server_error", "Something went wrong on the server; it is logged.")

    # --- Frame handlers -------------------------------------------------------------------

    async def open_conversation(self, frame):
        conversation_id = _required_id(frame, "conversation_id")
        # Join first, read second: whatever streams after the read arrives live, and the
        # offsets in the frames let the browser drop what the snapshot already had.
        await self._follow(conversation_id)
        try:
            conversation, messages, active = await _conversation_snapshot(
                user=self.user, conversation_id=conversation_id
            )
        except TurnRefused:
            await self._follow(None)
            raise
        await self.send_json(
            {"type": "conversation.snapshot", "conversation": conversation, **messages}
        )
        if active is not None:
            await turn_request_text(reply=active, reply_channel=self.channel_name)

    async def close_conversation(self, frame):
        await self._follow(None)

    async def send_message(self, frame):
        conversation_id = _optional_id(frame, "conversation_id")
        assistant_id = None if conversation_id else _required_id(frame, "assistant_id")
        client_message_id = _client_message_id(frame)
        await self._start_turn(
            turn_create,
            client_message_id=client_message_id,
            text=frame.get("text"),
            conversation_id=conversation_id,
            assistant_id=assistant_id,
            attachments=frame.get("attachments"),
        )

    async def regenerate_reply(self, frame):
        await self._start_turn(
            turn_regenerate, conversation_id=_required_id(frame, "conversation_id")
        )

    async def edit_message(self, frame):
        conversation_id = _required_id(frame, "conversation_id")
        message_id = _required_id(frame, "message_id")
        client_message_id = _client_message_id(frame)
        await self._start_turn(
            turn_edit,
            client_message_id=client_message_id,
            conversation_id=conversation_id,
            message_id=message_id,
            text=frame.get("text"),
            attachments=frame.get("attachments"),
        )

    async def stop_turn(self, frame):
        await turn_stop(user=self.user, conversation_id=_required_id(frame, "conversation_id"))

    async def decide_tool_call(self, frame):
        # The owner approves or denies an MCP call their reply waits for (toolservers).
        await atool_call_decide(
            user=self.user,
            conversation_id=_required_id(frame, "conversation_id"),
            call_id=frame.get("call_id"),
            decision=frame.get("decision"),
        )

    async def ping(self, frame):
        await self.send_json({"type": "pong"})

    handlers = {
        "conversation.open": open_conversation,
        "conversation.close": close_conversation,
        "message.send": send_message,
        "message.regenerate": regenerate_reply,
        "message.edit": edit_message,
        "turn.stop": stop_turn,
        "tool.decide": decide_tool_call,
        "ping": ping,
    }
    turn_handlers = (send_message, regenerate_reply, edit_message)

    # --- Channel-layer events -------------------------------------------------------------

    async def dispatch(self, message):
        if message["type"] != "chat.frame":
            await super().dispatch(message)
            return
        # Channels closes stale database connections before every handler, a hop to the one
        # thread that all sync database work shares; relaying a frame touches no database.
        # And it hands this consumer one message per several trips around the event loop:
        # under load that is slower than a stream's frames arrive, so whatever is already
        # queued (in-memory layer) goes out now, consecutive deltas as one frame.
        batch = [message]
        take = getattr(self.channel_layer, "receive_nowait", None)
        while take is not None and (queued := take(self.channel_name)) is not None:
            batch.append(queued)
        delta = None  # a delta frame that the next ones may extend
        for item in batch:
            if item["type"] != "chat.frame":
                if delta is not None:
                    await self.send_json(delta)
                    delta = None
                await super().dispatch(item)
                continue
            frame = item["frame"]
            if delta is not None and _continues(delta, frame):
                delta = {**delta, "text": delta["text"] + frame["text"]}
                continue
            if delta is not None:
                await self.send_json(delta)
                delta = None
            if frame["type"] == "message.delta":
                delta = frame
            else:
                await self.send_json(frame)
        if delta is not None:
            await self.send_json(delta)

    async def chat_resync(self, event):
        # This process lost Redis for a while (chat/redis_layer.py): whatever was published
        # meanwhile never arrived. The snapshot has it, as after a reconnect.
        if self.open_conversation_id is None:
            return
        try:
            await self.open_conversation({"conversation_id": self.open_conversation_id})
        except Exception:
            logger.exception("Could not resynchronise a socket")

    async def session_ended(self, event):
        # Signed out in another tab: this socket no longer speaks for anyone.
        await self.close(code=4401)

    # --- Helpers --------------------------------------------------------------------------

    async def _follow(self, conversation_id: int | None) -> None:
        """Makes this socket receive the live events of one conversation (or none)."""
        if conversation_id == self.open_conversation_id:
            return
        if self.open_conversation_id is not None:
            await self.channel_layer.group_discard(
                conversation_group(self.open_conversation_id), self.channel_name
            )
        self.open_conversation_id = conversation_id
        if conversation_id is not None:
            await self.channel_layer.group_add(
                conversation_group(conversation_id), self.channel_name
            )

    async def _start_turn(
        self, service, *, client_message_id: str | None = None, **arguments
    ) -> None:
        """Saves a turn through `service` (turn_create, turn_edit, turn_regenerate), follows
        its conversation, then launches it: this socket is in the group before the first
        frame of the turn is published."""
        start = await turn_save(service, user=self.user, **arguments)
        await self._follow(start.conversation.pk)
        await turn_launch(start, client_message_id=client_message_id)

    async def _frame_too_large(self) -> None:
        limit = settings.CHAT_MAX_MESSAGE_CHARS
        await self._error(
            "too_long", f"This frame is too large: a message has at most {limit:,} characters."
        )

    async def _error(self, code: str, message: str, conversation_id=None, **details) -> None:
        frame = {"type": "error", "code": code, "message": message, **details}
        if type(conversation_id) is int and id_in_range(conversation_id):
            frame["conversation_id"] = conversation_id
        await self.send_json(frame)
