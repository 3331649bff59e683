"""`manage.py mcp_server_refresh NAME`: lists the server's tools and caches them."""

from django.core.management.base import BaseCommand, CommandError

from toolservers.models import McpServer
from toolservers.services.servers import mcp_server_refresh, stdio_server_ensure


class Command(BaseCommand):
    help = "Connects to the MCP server NAME, caches its tools and prints them."

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name, **options):
        server = McpServer.objects.filter(name=name).first()
        if server is None:
            try:
                server = stdio_server_ensure(name)
            except McpServer.DoesNotExist as exc:
                raise CommandError(str(exc)) from None
        server = mcp_server_refresh(server=server)
        if server.refresh_error:
            raise CommandError(server.refresh_error)
        self.stdout.write(self.style.SUCCESS(f"{server.name}: {len(server.tools)} tool(s)."))
        for tool in server.tools:
            read_only = (tool.get("annotations") or {}).get("readOnlyHint")
            flag = "read-only" if read_only else "acts"
            self.stdout.write(f"  {server.name}:{tool['name']} ({flag}) {tool['description']}")
