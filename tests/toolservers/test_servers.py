"""MCP servers in the admin and the commands: saved with secret headers, tools listed from a
real server and cached, a server that cannot answer saying why."""

import sys

import pytest
from asgiref.sync import async_to_sync
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from chat.models import Assistant
from chat.services.connections import HeaderValue
from tests.provider_server import ROOT, free_port
from toolservers.client import tool_call
from toolservers.models import AssistantMcpTool, McpServer
from toolservers.services.servers import mcp_server_refresh, mcp_server_set, server_address

pytestmark = pytest.mark.django_db
MCP_SCRIPT = ROOT / "tests" / "mcp_server.py"


def test_refresh_caches_the_tools_with_descriptions_schemas_and_annotations(mcp_process):
    server, created = mcp_server_set(name="tickets", url=mcp_process.url)
    assert created and server.tools == []

    mcp_server_refresh(server=server)

    server.refresh_from_db()
    tools = {tool["name"]: tool for tool in server.tools}
    assert {"add", "create_ticket", "broken", "hang", "red_pixel"} <= set(tools)
    assert tools["add"]["description"] == "Adds two integers."
    assert tools["add"]["input_schema"]["required"] == ["a", "b"]
    assert tools["add"]["annotations"]["readOnlyHint"] is True
    assert tools["create_ticket"]["annotations"]["readOnlyHint"] is False
    assert server.refresh_error == "" and server.refreshed_at is not None


def test_a_server_that_cannot_be_reached_says_why_and_keeps_its_last_list(mcp_process):
    server, _ = mcp_server_set(name="tickets", url=mcp_process.url)
    mcp_server_refresh(server=server)
    server.url = f"http://127.0.0.1:{free_port()}/mcp"
    server.save()

    mcp_server_refresh(server=server)

    server.refresh_from_db()
    assert "cannot be reached" in server.refresh_error
    assert len(server.tools) >= 5  # assistants keep their tools through an outage


def test_a_bearer_header_is_stored_encrypted_and_never_shown_again(admin_client, mcp_process):
    response = admin_client.post(
        reverse("admin:toolservers_mcpserver_add"),
        {
            "name": "tickets",
            "url": mcp_process.url,
            "headers_text": "Authorization: Bearer s3cret-token\nX-Team=TEAM_VAR",
            "timeout": "5",
            "enabled": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    server = McpServer.objects.get(name="tickets")
    assert "s3cret-token" not in str(server.headers)
    assert server.headers["X-Team"] == {"env": "TEAM_VAR"}
    assert server.header_values()["Authorization"] == "Bearer s3cret-token"

    page = admin_client.get(reverse("admin:toolservers_mcpserver_change", args=[server.pk]))
    assert "s3cret-token" not in page.content.decode()
    assert "Authorization: ••••••••" in page.content.decode()


def test_the_refresh_button_shows_the_tools_or_why_it_failed(admin_client, mcp_process):
    server, _ = mcp_server_set(name="tickets", url=mcp_process.url)
    change = reverse("admin:toolservers_mcpserver_change", args=[server.pk])
    form = {"name": "tickets", "url": mcp_process.url, "headers_text": "", "timeout": "5"}
    form["enabled"] = "on"

    admin_client.post(change, {**form, "_refresh": "Refresh tools"})
    page = admin_client.get(change).content.decode()
    assert "create_ticket" in page and "Adds two integers." in page
    assert "tool(s) found" in page

    dead = f"http://127.0.0.1:{free_port()}/mcp"
    admin_client.post(change, {**form, "url": dead, "_refresh": "Refresh tools"}, follow=True)
    page = admin_client.get(change).content.decode()
    assert "Could not list the tools of tickets" in page
    assert "cannot be reached" in page


def test_the_admin_cannot_add_a_stdio_server(admin_client):
    admin_client.post(
        reverse("admin:toolservers_mcpserver_add"),
        {"name": "shell", "url": "", "transport": "stdio", "timeout": "5", "command": "sh"},
    )
    assert not McpServer.objects.filter(transport=McpServer.Transport.STDIO).exists()


def test_the_commands_set_refresh_and_choose_tools(mcp_process, monkeypatch, capsys):
    monkeypatch.setenv("TICKETS_TOKEN", "Bearer from-env")
    call_command(
        "mcp_server_set",
        "tickets",
        "--url",
        mcp_process.url,
        "--header",
        "Authorization=TICKETS_TOKEN",
    )
    assert McpServer.objects.get(name="tickets").header_values() == {
        "Authorization": "Bearer from-env"
    }
    call_command("mcp_server_refresh", "tickets")
    printed = capsys.readouterr().out
    assert "tickets:add (read-only) Adds two integers." in printed
    assert "tickets:create_ticket (acts)" in printed

    Assistant.objects.create(name="Helpdesk", model="local-echo-1")
    call_command(
        "assistant_set",
        "Helpdesk",
        "--mcp-tools",
        "tickets:add,tickets:create_ticket",
        "--approve",
        "writes",
    )
    chosen = AssistantMcpTool.objects.filter(assistant__name="Helpdesk").order_by("tool")
    assert [(c.tool, c.approval) for c in chosen] == [
        ("add", "writes"),
        ("create_ticket", "writes"),
    ]

    with pytest.raises(CommandError, match="has no tool 'nope'"):
        call_command("assistant_set", "Helpdesk", "--mcp-tools", "tickets:nope")
    with pytest.raises(CommandError, match="cannot be reached"):
        mcp_server_set(name="gone", url=f"http://127.0.0.1:{free_port()}/mcp")
        call_command("mcp_server_refresh", "gone")


def test_the_assistant_page_offers_the_cached_tools(admin_client, mcp_process):
    server, _ = mcp_server_set(name="tickets", url=mcp_process.url)
    mcp_server_refresh(server=server)
    assistant = Assistant.objects.create(name="Helpdesk", model="local-echo-1")
    page = admin_client.get(reverse("admin:chat_assistant_change", args=[assistant.pk]))
    html = page.content.decode()
    assert "tickets:create_ticket" in html and "MCP tools" in html


def test_header_values_keep_a_masked_secret(mcp_process):
    server, _ = mcp_server_set(
        name="tickets", url=mcp_process.url, headers={"Authorization": HeaderValue(value="t1")}
    )
    mcp_server_set(
        name="tickets", url=mcp_process.url, headers={"Authorization": HeaderValue(keep=True)}
    )
    server.refresh_from_db()
    assert server.header_values() == {"Authorization": "t1"}


def test_an_unknown_server_name_is_refused():
    with pytest.raises(CommandError, match="No MCP server 'nothing'"):
        call_command("mcp_server_refresh", "nothing")
    assert Client().get("/admin/toolservers/mcpserver/").status_code == 302


def test_a_stdio_server_comes_from_settings_only(settings, capsys):
    settings.MCP_STDIO_SERVERS = {
        "local-tools": {
            "command": sys.executable,
            "args": [str(ROOT / "tests" / "mcp_server.py"), "stdio"],
        }
    }
    call_command("mcp_server_refresh", "local-tools")
    assert "local-tools:add (read-only)" in capsys.readouterr().out
    server = McpServer.objects.get(name="local-tools")
    assert server.transport == McpServer.Transport.STDIO

    result = async_to_sync(tool_call)(
        server_address(server), "add", {"a": 20, "b": 22}, max_chars=1000, max_image_bytes=1000
    )
    assert result.output == "20 + 22 = 42"

    # Its command is not the admin's to change, nor a command's.
    with pytest.raises(CommandError, match="stdio server"):
        call_command("mcp_server_set", "local-tools", "--url", "http://example.org/mcp")
    settings.MCP_STDIO_SERVERS = {}
    server = mcp_server_refresh(server=server)
    assert "not declared in MCP_STDIO_SERVERS" in server.refresh_error
