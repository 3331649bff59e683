"""MCP tools in the chat, end to end: the WebSocket, the turn runner, the local provider over
HTTP (its Assistants and Responses protocols, and Chat Completions) calling the tools the
way it calls function tools (`call <function> {...}` lines), and a real MCP server in its own
process. Approvals come from a second socket of the same user, as from another tab."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from tests.chat.test_consumer import connected, signed_in, start_chat
from tests.toolservers.support import aassistant_with
from toolservers.models import ToolApproval

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("local_provider_url"),
]

PROTOCOLS = [("assistants", ""), ("responses", "conversation"), ("chat_completions", "")]


@pytest.fixture(params=PROTOCOLS, ids=lambda setup: setup[0])
def protocol(request):
    return request.param


def fields_of(protocol):
    name, thread = protocol
    return {"protocol": name, "responses_thread": thread or "conversation"}


def mcp_steps(message: dict) -> list[dict]:
    return [step for step in message["tool_steps"] if step["type"] == "mcp"]


async def done(socket, reply_id: int) -> dict:
    frame = await socket.receive_until(
        lambda f: f["type"] == "message.done" and f["message"]["id"] == reply_id, timeout=40
    )
    return frame["message"]


async def test_a_call_shows_its_server_tool_arguments_and_result(protocol, mcp_process):
    _, cookie = await signed_in()
    assistant = await aassistant_with(mcp_process.url, ["add"], **fields_of(protocol))
    socket = await connected(cookie)

    _, reply_id = await start_chat(socket, assistant, 'call tickets__add {"a": 2, "b": 3}')
    message = await done(socket, reply_id)

    assert message["status"] == "complete", message["error"]
    [step] = mcp_steps(message)
    assert step["name"] == "add"
    assert step["details"]["server"] == "tickets"
    assert step["arguments"] == '{"a": 2, "b": 3}'
    assert step["output"] == "2 + 3 = 5"
    assert step["details"]["content"] == [{"type": "text", "text": "2 + 3 = 5"}]
    assert step["details"]["status"] == "done"
    # The model read the result: the local model quotes what its tool returned.
    assert "2 + 3 = 5" in message["content"]
    live = [f for f in socket.frames if f["type"] == "message.tool_step"]
    assert any(f["step"]["details"].get("server") == "tickets" for f in live)
    await socket.close()


async def test_failures_timeouts_images_links_and_big_results_never_fail_the_turn(
    mcp_process, settings
):
    settings.MCP_MAX_RESULT_CHARS = 500
    _, cookie = await signed_in()
    assistant = await aassistant_with(
        mcp_process.url, ["broken", "hang", "red_pixel", "report_link", "long_text"]
    )
    await sync_to_async(
        lambda: assistant.mcp_tools.first().server.__class__.objects.update(timeout=1.5)
    )()
    socket = await connected(cookie)
    text = "\n".join(
        [
            "call tickets__broken {}",
            'call tickets__hang {"seconds": 30}',
            "call tickets__red_pixel {}",
            "call tickets__report_link {}",
            'call tickets__long_text {"characters": 5000}',
        ]
    )

    _, reply_id = await start_chat(socket, assistant, text)
    message = await done(socket, reply_id)

    assert message["status"] == "complete", message["error"]
    steps = {step["name"]: step for step in mcp_steps(message)}
    assert steps["broken"]["output"].startswith("Error: broken failed")
    assert steps["broken"]["details"]["status"] == "failed"
    assert "did not finish within 1.5 seconds" in steps["hang"]["output"]
    assert steps["hang"]["details"]["status"] == "failed"
    [image] = steps["red_pixel"]["details"]["content"]
    assert image["type"] == "image" and image["mime_type"] == "image/png" and image["data"]
    assert "shown to the user" in steps["red_pixel"]["output"]
    link = steps["report_link"]["details"]["content"][1]
    assert link == {
        "type": "resource",
        "uri": "https://example.org/reports/1.pdf",
        "name": "report.pdf",
        "mime_type": "",
        "link": "https://example.org/reports/1.pdf",
    }
    long = steps["long_text"]["output"]
    assert long.startswith("Error: the result of long_text is 5,000 characters, over the limit")
    assert len(long) <= 500
    await socket.close()


async def _ask_for_a_ticket(protocol, mcp_process, approval="writes"):
    user, cookie = await signed_in()
    assistant = await aassistant_with(
        mcp_process.url, ["create_ticket", "add"], approval=approval, **fields_of(protocol)
    )
    first, second = await connected(cookie), await connected(cookie)
    _, reply_id = await start_chat(first, assistant, 'call tickets__create_ticket {"title": "VPN"}')
    request = await second.until_type("tool.approval_requested")
    return user, first, second, reply_id, request


async def test_a_call_that_acts_waits_for_approval_from_another_tab(protocol, mcp_process):
    user, first, second, reply_id, request = await _ask_for_a_ticket(protocol, mcp_process)
    assert request["server"] == "tickets" and request["tool"] == "create_ticket"
    assert request["arguments"] == '{"title": "VPN"}'
    waiting = await first.receive_until(
        lambda f: f["type"] == "message.tool_step" and f["step"]["details"].get("approval")
    )
    assert waiting["step"]["details"]["approval"] == "pending"

    await second.send(
        {
            "type": "tool.decide",
            "conversation_id": request["conversation_id"],
            "call_id": request["call_id"],
            "decision": "approve",
        }
    )
    message = await done(first, reply_id)

    assert message["status"] == "complete", message["error"]
    [step] = mcp_steps(message)
    assert step["details"]["approval"] == "approved"
    assert step["output"].startswith("Ticket #") and "created: VPN" in step["output"]
    decided = await second.until_type("tool.approval_decided")
    assert decided["decision"] == "approved"
    approval = await ToolApproval.objects.aget(call_id=request["call_id"])
    assert approval.status == "approved" and approval.decided_by_id == user.pk
    assert approval.message_id == reply_id
    await first.close()
    await second.close()


async def test_a_denied_call_does_not_run_and_the_model_reads_why(protocol, mcp_process):
    _, first, second, reply_id, request = await _ask_for_a_ticket(protocol, mcp_process)

    await second.send(
        {
            "type": "tool.decide",
            "conversation_id": request["conversation_id"],
            "call_id": request["call_id"],
            "decision": "deny",
        }
    )
    message = await done(first, reply_id)

    assert message["status"] == "complete", message["error"]
    [step] = mcp_steps(message)
    assert step["details"]["approval"] == "denied"
    assert step["details"]["status"] == "not_run"
    assert "the user denied this call of create_ticket" in step["output"]
    assert "denied" in message["content"]
    await first.close()
    await second.close()


async def test_nobody_deciding_times_out_into_an_output(mcp_process, settings):
    settings.MCP_APPROVAL_TIMEOUT = 1.0
    _, first, second, reply_id, request = await _ask_for_a_ticket(("assistants", ""), mcp_process)

    message = await done(first, reply_id)

    [step] = mcp_steps(message)
    assert step["details"]["approval"] == "timed_out"
    assert "nobody approved this call of create_ticket within 1 seconds" in step["output"]
    decided = await second.until_type("tool.approval_decided")
    assert decided["decision"] == "timed_out"
    # Too late now: the call is no longer waiting.
    await second.send(
        {
            "type": "tool.decide",
            "conversation_id": request["conversation_id"],
            "call_id": request["call_id"],
            "decision": "approve",
        }
    )
    error = await second.until_type("error")
    assert error["code"] == "already_decided"
    await first.close()
    await second.close()


async def test_approval_frames_that_cannot_stand_get_clear_errors(mcp_process):
    _, first, second, reply_id, request = await _ask_for_a_ticket(("assistants", ""), mcp_process)
    _, stranger_cookie = await signed_in("mallory")
    stranger = await connected(stranger_cookie)
    conversation_id = request["conversation_id"]

    async def answer(socket, frame):
        await socket.send({"type": "tool.decide", **frame})
        return await socket.until_type("error")

    unknown = await answer(
        second, {"conversation_id": conversation_id, "call_id": "call_nope", "decision": "approve"}
    )
    others = await answer(
        stranger,
        {"conversation_id": conversation_id, "call_id": request["call_id"], "decision": "approve"},
    )
    bad = await answer(
        second, {"conversation_id": conversation_id, "call_id": request["call_id"], "decision": 1}
    )
    no_id = await answer(second, {"conversation_id": conversation_id, "decision": "approve"})
    assert unknown["code"] == "not_found"
    assert others["code"] == "not_found"  # the same answer: another's call is not confirmed
    assert bad["code"] == "invalid" and no_id["code"] == "invalid"

    frame = {"conversation_id": conversation_id, "call_id": request["call_id"]}
    await second.send({"type": "tool.decide", **frame, "decision": "deny"})
    again = await answer(second, {**frame, "decision": "approve"})
    assert again["code"] == "already_decided"
    message = await done(first, reply_id)
    assert mcp_steps(message)[0]["details"]["approval"] == "denied"
    for socket in (first, second, stranger):
        await socket.close()


async def test_stop_still_stops_a_reply_waiting_for_approval(mcp_process):
    _, first, second, reply_id, request = await _ask_for_a_ticket(("assistants", ""), mcp_process)

    await first.send({"type": "turn.stop", "conversation_id": request["conversation_id"]})
    message = await done(first, reply_id)

    assert message["status"] == "cancelled"
    decided = await second.until_type("tool.approval_decided")
    assert decided["decision"] == "cancelled"
    approval = await ToolApproval.objects.aget(call_id=request["call_id"])
    assert approval.status == "cancelled"
    [step] = mcp_steps(message)
    assert step["details"]["approval"] == "cancelled"
    assert step["details"]["status"] == "not_run"
    assert "stopped before this call of create_ticket was approved" in step["output"]
    await first.close()
    await second.close()


async def test_the_server_going_away_mid_conversation_is_a_readable_step(protocol, own_mcp_process):
    _, cookie = await signed_in()
    assistant = await aassistant_with(own_mcp_process.url, ["add"], **fields_of(protocol))
    socket = await connected(cookie)
    conversation_id, reply_id = await start_chat(
        socket, assistant, 'call tickets__add {"a": 1, "b": 1}'
    )
    assert mcp_steps(await done(socket, reply_id))[0]["output"] == "1 + 1 = 2"

    own_mcp_process.stop()
    await socket.send(
        {
            "type": "message.send",
            "conversation_id": conversation_id,
            "text": 'call tickets__add {"a": 2, "b": 2}',
        }
    )
    created = await socket.receive_until(
        lambda f: f["type"] == "message.created" and f["message"]["role"] == "assistant"
    )
    message = await done(socket, created["message"]["id"])

    assert message["status"] == "complete", message["error"]
    [step] = mcp_steps(message)
    assert step["details"]["status"] == "failed"
    assert "the MCP server tickets could not run add" in step["output"]
    assert "cannot be reached" in step["output"]
    await asyncio.sleep(0)
    await socket.close()
