"""Approvals of MCP calls: a call that acts waits for the conversation's owner.

The wait is the reply's (the turn runner's task, in whichever process runs it); the decision
comes from any socket of the owner, in any process. So the decision is a conditional UPDATE
of the ToolApproval row (pending -> approved/denied, once: two tabs, or a click racing the
timeout, cannot both win), and then a `tool.decision` message to the runner's channel wakes
the wait at once; the wait also reads the row every APPROVAL_POLL seconds, so a message lost
(Redis restarting) costs a moment, not the decision.
"""

import asyncio
import logging

from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from chat.models import Message
from chat.services.events import publish, user_group
from chat.services.refusals import Refused

from .models import ToolApproval

logger = logging.getLogger(__name__)

Status = ToolApproval.Status
APPROVAL_POLL = 2.0
DECISIONS = {"approve": Status.APPROVED, "deny": Status.DENIED}


class ApprovalWait:
    """The waits of one reply, woken by the runner when a `tool.decision` arrives."""

    def __init__(self, *, reply_id: int, conversation_id: int, owner_id: int):
        self.reply_id = reply_id
        self.conversation_id = conversation_id
        self.owner_id = owner_id
        self._events: dict[str, asyncio.Event] = {}

    def notified(self, call_id: str) -> None:
        if event := self._events.get(call_id):
            event.set()

    async def decision(self, *, call_id: str, server: str, tool: str, arguments: str) -> str:
        """Waits for the owner's decision on one call: a ToolApproval status. A Stop (the
        task cancelled) leaves the row cancelled and the cards gone."""
        await ToolApproval.objects.aget_or_create(
            message_id=self.reply_id,
            call_id=call_id,
            defaults={"server_name": server, "tool": tool, "arguments": arguments},
        )
        event = self._events[call_id] = asyncio.Event()
        timeout = settings.MCP_APPROVAL_TIMEOUT
        await publish(
            user_group(self.owner_id),
            {
                "type": "tool.approval_requested",
                "conversation_id": self.conversation_id,
                "message_id": self.reply_id,
                "call_id": call_id,
                "server": server,
                "tool": tool,
                "arguments": arguments,
                "timeout": timeout,
            },
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                status = await self._status(call_id)
                if status != Status.PENDING:
                    return status
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    async with asyncio.timeout(min(left, APPROVAL_POLL)):
                        await event.wait()
                except TimeoutError:
                    pass
                event.clear()
            return await self._close(call_id, Status.TIMED_OUT)
        except asyncio.CancelledError:
            await asyncio.shield(self._close(call_id, Status.CANCELLED))
            raise
        finally:
            self._events.pop(call_id, None)

    async def _status(self, call_id: str) -> str:
        rows = ToolApproval.objects.filter(message_id=self.reply_id, call_id=call_id)
        return await rows.values_list("status", flat=True).aget()

    async def _close(self, call_id: str, status: str) -> str:
        """Ends a wait nobody decided: unless a decision won the race, then that one."""
        closed = await ToolApproval.objects.filter(
            message_id=self.reply_id, call_id=call_id, status=Status.PENDING
        ).aupdate(status=status, decided_at=timezone.now())
        if not closed:
            return await self._status(call_id)
        await _published_decision(
            owner_id=self.owner_id,
            conversation_id=self.conversation_id,
            reply_id=self.reply_id,
            call_id=call_id,
            status=status,
        )
        return status


async def _published_decision(*, owner_id, conversation_id, reply_id, call_id, status) -> None:
    # Every tab of the owner takes its card down, whichever tab (or the clock) decided.
    await publish(
        user_group(owner_id),
        {
            "type": "tool.approval_decided",
            "conversation_id": conversation_id,
            "message_id": reply_id,
            "call_id": call_id,
            "decision": status,
        },
    )


async def atool_call_decide(*, user, conversation_id: int, call_id, decision) -> ToolApproval:
    """The owner's decision on a waiting call. Refused: `invalid` (the frame's fields),
    `not_found` (no such call in a conversation of this user: another user's call is not
    confirmed to exist), `already_decided` (decided, timed out, or its reply ended)."""
    if not isinstance(call_id, str) or not call_id or len(call_id) > 128:
        raise Refused("invalid", "`call_id` must be the id of a tool call (a short string).")
    if decision not in DECISIONS:
        raise Refused("invalid", '`decision` must be "approve" or "deny".')
    approval = await ToolApproval.objects.filter(
        call_id=call_id,
        message__conversation_id=conversation_id,
        message__conversation__owner=user,
    ).afirst()
    if approval is None:
        raise Refused("not_found", "There is no tool call with this id in this conversation.")
    # A reply closed without its runner (a process killed, then the stale sweep) leaves its
    # row pending: nothing waits for it any more.
    active = (Message.Status.PENDING, Message.Status.STREAMING)
    decided = await ToolApproval.objects.filter(
        pk=approval.pk, status=Status.PENDING, message__status__in=active
    ).aupdate(status=DECISIONS[decision], decided_by=user, decided_at=timezone.now())
    await approval.arefresh_from_db()
    if not decided:
        state = approval.status if approval.status != Status.PENDING else "its reply has ended"
        raise Refused(
            "already_decided",
            f"This tool call is no longer waiting for approval ({state.replace('_', ' ')}).",
        )
    await _wake_runner(approval.message_id, call_id)
    await _published_decision(
        owner_id=user.pk,
        conversation_id=conversation_id,
        reply_id=approval.message_id,
        call_id=call_id,
        status=approval.status,
    )
    return approval


async def _wake_runner(reply_id: int, call_id: str) -> None:
    channel = (
        await Message.objects.filter(pk=reply_id).values_list("runner_channel", flat=True).afirst()
    )
    if not channel:
        return  # the reply ended meanwhile; its wait reads the row anyway
    try:
        await get_channel_layer().send(channel, {"type": "tool.decision", "call_id": call_id})
    except Exception as error:  # the wait's own reading of the row still finds it
        logger.warning("Could not wake the runner of reply %s: %s", reply_id, error)
