from django.apps import AppConfig


class ToolserversConfig(AppConfig):
    """The organisation's MCP servers, the tools each assistant takes from them, and the
    users' approvals of the calls that act."""

    name = "toolservers"
    verbose_name = "MCP tool servers"
    default_auto_field = "django.db.models.BigAutoField"
