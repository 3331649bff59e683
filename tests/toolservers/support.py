"""Helpers of the MCP tests: a server saved and refreshed, an assistant offering its tools."""

from asgiref.sync import sync_to_async
from django.conf import settings

from chat.models import Assistant
from toolservers.models import McpServer
from toolservers.services.choices import assistant_mcp_tools_set
from toolservers.services.servers import mcp_server_refresh, mcp_server_set


def server_saved(url: str, name: str = "tickets") -> McpServer:
    server, _ = mcp_server_set(name=name, url=url, timeout=5.0)
    return mcp_server_refresh(server=server)


def assistant_with(
    url: str, tools: list[str], *, approval: str = "never", protocol: str = "assistants", **fields
) -> Assistant:
    server_saved(url)
    assistant = Assistant.objects.create(
        name=f"Helpdesk {protocol}",
        model=settings.LOCAL_PROVIDER_MODEL,
        protocol=protocol,
        **fields,
    )
    assistant_mcp_tools_set(
        assistant=assistant, tools=[f"tickets:{tool}" for tool in tools], approval=approval
    )
    return assistant


aassistant_with = sync_to_async(assistant_with)
