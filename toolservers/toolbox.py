"""One turn's MCP tools, handed to the agent as its `site_tools` (chat.agents.definition).

Read from the database once, as the turn starts: the assistant's chosen tools, described as
their servers' cached lists say (no server is asked for its list during a turn). Each is
offered to the model as a function `<server>__<tool>`; a call runs on its server through the
SDK (toolservers.client), after the owner's approval where the choice asks for one. Nothing
here fails the turn: a call that cannot run, fails, overruns or answers too much becomes an
output the model reads, and a step the user reads.
"""

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from django.conf import settings

from chat.agents.events import ToolStep

from .approvals import ApprovalWait
from .client import McpUnavailable, ServerAddress, tool_call
from .models import AssistantMcpTool, ToolApproval
from .services.servers import server_address

# The APIs allow [A-Za-z0-9_-]{1,64} in a function name.
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_-]")
MAX_FUNCTION_NAME = 64
STEP_TYPE = "mcp"

Approval = AssistantMcpTool.Approval
Decision = ToolApproval.Status
NOT_RUN = {
    Decision.DENIED: "Error: the user denied this call of {tool}, so it did not run. Do not "
    "call it again unless the user asks; answer without it.",
    Decision.TIMED_OUT: "Error: nobody approved this call of {tool} within {timeout:g} "
    "seconds, so it did not run.",
    Decision.CANCELLED: "Error: the reply was stopped before this call of {tool} was approved.",
}


def function_name(server: str, tool: str) -> str:
    return _NOT_ALLOWED.sub("_", f"{server}__{tool}")[:MAX_FUNCTION_NAME]


@dataclass(frozen=True)
class Offer:
    function: str
    server: str
    tool: str
    description: str
    input_schema: dict
    needs_approval: bool
    address: ServerAddress


def needs_approval(choice: AssistantMcpTool, tool: dict) -> bool:
    if choice.approval == Approval.ALWAYS:
        return True
    if choice.approval == Approval.NEVER:
        return False
    return (tool.get("annotations") or {}).get("readOnlyHint") is not True


class McpToolbox:
    def __init__(
        self,
        offers: list[Offer],
        *,
        approvals: ApprovalWait,
        on_step: Callable[[ToolStep], Awaitable[None]],
    ):
        self._offers = {offer.function: offer for offer in offers}
        self._approvals = approvals
        self._on_step = on_step
        self._details: dict[str, dict] = {}  # call id -> what its step shows

    def schemas(self) -> list[dict]:
        return [
            {
                "type": "function",
                "function": {
                    "name": offer.function,
                    "description": f"[{offer.server}] {offer.description}".strip(),
                    "parameters": offer.input_schema,
                },
            }
            for offer in self._offers.values()
        ]

    def handles(self, name: str) -> bool:
        return name in self._offers

    def notified(self, call_id: str) -> None:
        self._approvals.notified(call_id)

    def step(self, call, output: str | None = None) -> ToolStep:
        offer = self._offers[call.name]
        details = self._details.get(call.id) or {
            "server": offer.server,
            "tool": offer.tool,
            "approval": "pending" if offer.needs_approval else None,
            "status": "waiting" if offer.needs_approval else "running",
            "content": [],
        }
        return ToolStep(
            call.id, offer.tool, call.arguments, output, type=STEP_TYPE, details=details
        )

    def _note(self, call, **changes) -> dict:
        offer = self._offers[call.name]
        base = self._details.get(call.id) or self.step(call).details
        self._details[call.id] = {**base, "server": offer.server, "tool": offer.tool, **changes}
        return self._details[call.id]

    async def run(self, call) -> str:
        offer = self._offers[call.name]
        try:
            arguments = json.loads(call.arguments or "{}")
        except json.JSONDecodeError as exc:
            self._note(call, status="failed")
            return f"Error: the arguments are not valid JSON ({exc.msg})."
        if not isinstance(arguments, dict):
            self._note(call, status="failed")
            return "Error: the arguments must be a JSON object."
        if offer.needs_approval:
            self._note(call, approval="pending", status="waiting")
            await self._on_step(self.step(call))
            try:
                decision = await self._approvals.decision(
                    call_id=call.id, server=offer.server, tool=offer.tool, arguments=call.arguments
                )
            except asyncio.CancelledError:
                # Stopped while it waited: the saved reply says so, not "waiting".
                self._note(call, approval=Decision.CANCELLED, status="not_run")
                stopped = NOT_RUN[Decision.CANCELLED].format(tool=offer.tool, timeout=0)
                await asyncio.shield(self._on_step(self.step(call, stopped)))
                raise
            if decision != Decision.APPROVED:
                self._note(call, approval=decision, status="not_run")
                return NOT_RUN[decision].format(
                    tool=offer.tool, timeout=settings.MCP_APPROVAL_TIMEOUT
                )
            self._note(call, approval=decision, status="running")
            await self._on_step(self.step(call))
        try:
            result = await tool_call(
                offer.address,
                offer.tool,
                arguments,
                max_chars=settings.MCP_MAX_RESULT_CHARS,
                max_image_bytes=settings.MCP_MAX_IMAGE_BYTES,
            )
        except McpUnavailable as exc:
            reason = f"Error: the MCP server {offer.server} could not run {offer.tool}: {exc}."
            self._note(call, status="failed", content=[{"type": "text", "text": reason}])
            return reason
        self._note(call, status="failed" if result.failed else "done", content=result.content)
        return result.output


async def turn_toolbox(
    *,
    assistant_id: int,
    reply_id: int,
    conversation_id: int,
    owner_id: int,
    on_step: Callable[[ToolStep], Awaitable[None]],
) -> McpToolbox | None:
    """The assistant's MCP tools for one reply; None when it offers none."""
    offers = []
    choices = AssistantMcpTool.objects.filter(
        assistant_id=assistant_id, server__enabled=True
    ).select_related("server")
    async for choice in choices:
        tool = choice.server.cached_tool(choice.tool)
        if tool is None:
            continue  # gone from the server's list at its last refresh
        offers.append(
            Offer(
                function=function_name(choice.server.name, choice.tool),
                server=choice.server.name,
                tool=choice.tool,
                description=tool.get("description") or "",
                input_schema=tool.get("input_schema") or {"type": "object", "properties": {}},
                needs_approval=needs_approval(choice, tool),
                address=server_address(choice.server),
            )
        )
    if not offers:
        return None
    approvals = ApprovalWait(reply_id=reply_id, conversation_id=conversation_id, owner_id=owner_id)
    return McpToolbox(offers, approvals=approvals, on_step=on_step)
