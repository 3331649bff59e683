"""Which MCP tools an assistant offers, and when their calls wait for approval."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef

from chat.models import Assistant
from toolservers.models import AssistantMcpTool, McpServer


def mcp_tool_choices() -> list[tuple[str, str]]:
    """Every cached tool of every server, as `SERVER:TOOL` form choices."""
    choices = []
    for server in McpServer.objects.all():
        for tool in server.tools or []:
            label = f"{server.name}: {tool['name']}"
            if (tool.get("annotations") or {}).get("readOnlyHint"):
                label += " (read-only)"
            if tool.get("description"):
                label += f" - {tool['description'][:80]}"
            choices.append((f"{server.name}:{tool['name']}", label))
    return choices


def offers_mcp_tools(assistant_id_field: str) -> Exists:
    """Whether the assistant whose id is the outer query's `assistant_id_field` offers a tool
    of an enabled server: annotated on the query that starts a turn, so that the many turns of
    assistants without tools skip the query for their toolbox."""
    return Exists(
        AssistantMcpTool.objects.filter(
            assistant_id=OuterRef(assistant_id_field), server__enabled=True
        )
    )


def _parsed(spec: str) -> tuple[str, str]:
    server, sep, tool = spec.strip().partition(":")
    if not sep or not server or not tool:
        raise ValidationError(f"{spec!r}: write SERVER:TOOL.")
    return server, tool


def assistant_mcp_tools_set(
    *, assistant: Assistant, tools: list[str], approval: str | None = None
) -> list[AssistantMcpTool]:
    """Makes `tools` (`SERVER:TOOL`, known to the servers' cached lists) the assistant's MCP
    tools; each keeps its approval mode unless `approval` sets them all."""
    if approval is not None and approval not in AssistantMcpTool.Approval.values:
        raise ValidationError(f"--approve is one of {', '.join(AssistantMcpTool.Approval.values)}.")
    wanted = []
    servers = {server.name: server for server in McpServer.objects.all()}
    for spec in tools:
        server_name, tool = _parsed(spec)
        server = servers.get(server_name)
        if server is None:
            raise ValidationError(f"There is no MCP server {server_name!r}.")
        if server.cached_tool(tool) is None:
            raise ValidationError(
                f"{server_name} has no tool {tool!r} in its list: refresh it first "
                "(manage.py mcp_server_refresh)."
            )
        wanted.append((server, tool))
    with transaction.atomic():
        existing = {(c.server_id, c.tool): c for c in assistant.mcp_tools.all()}
        keep = []
        for server, tool in wanted:
            choice = existing.pop((server.pk, tool), None) or AssistantMcpTool(
                assistant=assistant, server=server, tool=tool
            )
            if approval is not None:
                choice.approval = approval
            choice.save()
            keep.append(choice)
        AssistantMcpTool.objects.filter(pk__in=[c.pk for c in existing.values()]).delete()
    return keep
