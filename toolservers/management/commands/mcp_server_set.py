"""`manage.py mcp_server_set NAME --url URL [--header NAME=ENV_VAR ...] [--timeout S]`."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from chat.services.connections import HeaderValue
from toolservers.services.servers import mcp_server_set


def _header(text: str) -> tuple[str, HeaderValue]:
    name, sep, variable = text.partition("=")
    if not sep or not name.strip() or not variable.strip():
        raise CommandError(f"--header {text!r}: write NAME=ENV_VAR.")
    return name.strip(), HeaderValue(env=variable.strip())


class Command(BaseCommand):
    help = (
        "Creates or updates the Streamable HTTP MCP server NAME. Header values come from "
        "environment variables (a secret never goes on a command line); stdio servers are "
        "declared in settings (MCP_STDIO_SERVERS)."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--url", required=True)
        parser.add_argument(
            "--header",
            action="append",
            default=None,
            metavar="NAME=ENV_VAR",
            help="Send the header NAME with the value of ENV_VAR (repeatable; replaces all).",
        )
        parser.add_argument("--timeout", type=float)

    def handle(self, *args, name, url, header, timeout, **options):
        headers = dict(_header(h) for h in header) if header is not None else None
        try:
            server, created = mcp_server_set(name=name, url=url, headers=headers, timeout=timeout)
        except ValidationError as exc:
            raise CommandError(
                f"MCP server {name!r} not saved: {'; '.join(exc.messages)}"
            ) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{'Created' if created else 'Updated'} MCP server {server.name} at {server.url}. "
                f"Run mcp_server_refresh {server.name} to list its tools."
            )
        )
