"""MCP servers, the tools an assistant offers from them, and the approvals of their calls.

An app of its own: chat knows nothing of MCP beyond the toolbox a turn hands its agent
(toolservers.toolbox); these tables reference chat's, never the other way round.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from chat.encryption import header_values
from chat.models import Assistant, Message

# A server's name goes into the function names offered to the model (`<server>__<tool>`),
# which the APIs restrict to [A-Za-z0-9_-].
name_validator = RegexValidator(
    r"^[A-Za-z0-9-]+$", "Letters, digits and hyphens only (it becomes part of tool names)."
)


class McpServer(models.Model):
    class Transport(models.TextChoices):
        HTTP = "http", "Streamable HTTP"
        # Spawns a process on this machine: declared only in settings.MCP_STDIO_SERVERS,
        # by name; the admin can neither create one nor change its command.
        STDIO = "stdio", "stdio (from settings)"

    name = models.CharField(max_length=40, unique=True, validators=[name_validator])
    transport = models.CharField(
        max_length=8, choices=Transport, default=Transport.HTTP, editable=False
    )
    url = models.URLField(
        "URL", max_length=500, blank=True, help_text="The Streamable HTTP endpoint, e.g. …/mcp."
    )
    # {"Header-Name": {"env": "VARIABLE"}} or {"Header-Name": {"encrypted": "<token>"}}, as a
    # connection's headers (chat.encryption): a bearer token never shows again once saved.
    headers = models.JSONField(default=dict, blank=True, editable=False)
    timeout = models.FloatField(
        default=30.0, help_text="Seconds a call (or the tool list) may take before it fails."
    )
    enabled = models.BooleanField(default=True, help_text="Offer its tools to assistants.")
    # The cached tool list, as the last refresh found it: [{"name", "description",
    # "input_schema", "annotations"}]. Turns read this; only a refresh asks the server.
    tools = models.JSONField(default=list, blank=True, editable=False)
    refreshed_at = models.DateTimeField(null=True, blank=True, editable=False)
    refresh_error = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "MCP server"

    def __str__(self):
        return self.name

    def header_values(self) -> dict[str, str]:
        """The headers to send, secrets resolved (a missing variable sends nothing)."""
        return header_values(self.headers)

    def stdio_parameters(self) -> dict | None:
        """{"command", "args", "env"} from settings.MCP_STDIO_SERVERS, for a stdio server."""
        return (getattr(settings, "MCP_STDIO_SERVERS", None) or {}).get(self.name)

    def cached_tool(self, name: str) -> dict | None:
        return next((tool for tool in self.tools or [] if tool.get("name") == name), None)


class AssistantMcpTool(models.Model):
    """One MCP tool an assistant offers, and when its calls wait for the user's approval."""

    class Approval(models.TextChoices):
        NEVER = "never", "Never"
        ALWAYS = "always", "Always"
        # The server's annotations.readOnlyHint is a hint from the server's author: a tool
        # not marked read-only is treated as one that acts.
        WRITES = "writes", "Unless the server marks the tool read-only"

    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="mcp_tools")
    server = models.ForeignKey(McpServer, on_delete=models.CASCADE, related_name="choices")
    # By name, not a row of the cache: a refresh replaces the list, the choice stays (a tool
    # gone from the server is just not offered).
    tool = models.CharField(max_length=128)
    approval = models.CharField(max_length=8, choices=Approval, default=Approval.WRITES)

    class Meta:
        ordering = ["server__name", "tool"]
        verbose_name = "MCP tool"
        constraints = [
            models.UniqueConstraint(
                fields=["assistant", "server", "tool"], name="one_choice_per_mcp_tool"
            )
        ]

    def __str__(self):
        return f"{self.server.name}:{self.tool}"


class ToolApproval(models.Model):
    """A call that waited for the user: the decision is saved with the reply it belongs to.

    The status moves once from pending, by a conditional UPDATE: two tabs approving at the
    same moment (or a decision racing the timeout) cannot both win.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        DENIED = "denied"
        TIMED_OUT = "timed_out"
        CANCELLED = "cancelled"  # the reply was stopped or ended while it waited

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="tool_approvals")
    call_id = models.CharField(max_length=128)
    server_name = models.CharField(max_length=40)
    tool = models.CharField(max_length=128)
    arguments = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "call_id"], name="one_approval_per_call")
        ]

    def __str__(self):
        return f"{self.server_name}:{self.tool} ({self.status})"
