"""An MCP call's approval across processes: the reply runs on one Daphne process, the user
approves from a socket on the other; Redis carries the card to that socket and the decision
back to the reply's runner (its own channel), PostgreSQL holds the decision."""

import pytest
from asgiref.sync import sync_to_async

from tests.scale.support import live_socket, requires_scale, signed_in
from tests.toolservers.conftest import McpProcess
from tests.toolservers.support import assistant_with
from toolservers.models import ToolApproval

pytestmark = [requires_scale, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mcp_server():
    server = McpProcess().start()
    yield server
    server.stop()


async def test_a_call_on_one_process_is_approved_from_the_other(two_processes, mcp_server):
    a, b = two_processes
    user, cookie = await signed_in("alice")
    assistant = await sync_to_async(assistant_with)(
        mcp_server.url, ["create_ticket"], approval="always"
    )
    on_a = await live_socket(a, cookie)
    on_b = await live_socket(b, cookie)

    await on_a.send(
        {
            "type": "message.send",
            "conversation_id": None,
            "assistant_id": assistant.pk,
            "text": 'call tickets__create_ticket {"title": "Printer on floor 3"}',
        }
    )
    request = await on_b.until_type("tool.approval_requested", timeout=40)
    await on_b.send(
        {
            "type": "tool.decide",
            "conversation_id": request["conversation_id"],
            "call_id": request["call_id"],
            "decision": "approve",
        }
    )
    done = await on_a.until_type("message.done", timeout=40)

    [step] = [s for s in done["message"]["tool_steps"] if s["type"] == "mcp"]
    assert step["details"]["approval"] == "approved"
    assert "created: Printer on floor 3" in step["output"]
    # The card went down on the reply's own process too (before or after the reply ended).
    decided = [f for f in on_a.frames if f["type"] == "tool.approval_decided"]
    if not decided:
        decided = [await on_a.until_type("tool.approval_decided")]
    assert decided[0]["decision"] == "approved"
    approval = await ToolApproval.objects.aget(call_id=request["call_id"])
    assert approval.status == "approved" and approval.decided_by_id == user.pk
    await on_a.close()
    await on_b.close()
