"""MCP servers: saved from the admin or a command, their tool lists refreshed on demand."""

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from chat.encryption import SecretUnreadable, secret_encrypt
from chat.services.connections import HeaderValue
from toolservers.client import McpUnavailable, ServerAddress, tools_fetch
from toolservers.models import McpServer


def server_address(server: McpServer) -> ServerAddress:
    """How to reach `server`, secrets decrypted (call before going async with it)."""
    try:
        headers = server.header_values()
    except SecretUnreadable:
        headers = {}  # the server will refuse, and say so: better than no call at all
    return ServerAddress(
        name=server.name,
        transport=server.transport,
        url=server.url,
        headers=headers,
        stdio=server.stdio_parameters() if server.transport == McpServer.Transport.STDIO else None,
        timeout=server.timeout,
    )


def _stored_headers(previous: dict, headers: dict[str, HeaderValue]) -> dict:
    stored = {}
    for name, header in headers.items():
        if header.keep and name in (previous or {}):
            stored[name] = previous[name]
        elif header.env:
            stored[name] = {"env": header.env}
        elif header.value:
            stored[name] = {"encrypted": secret_encrypt(header.value)}
    return stored


def mcp_server_save(
    *, server: McpServer, headers: dict[str, HeaderValue] | None = None
) -> McpServer:
    """Saves an HTTP server with its headers (secret values encrypted; None keeps them)."""
    if server.transport == McpServer.Transport.HTTP and not server.url:
        raise ValidationError("A Streamable HTTP server needs its URL.")
    if headers is not None:
        previous = McpServer.objects.filter(pk=server.pk).values_list("headers", flat=True)
        server.headers = _stored_headers(previous.first() or {} if server.pk else {}, headers)
    server.full_clean(exclude=["headers", "tools"])
    server.save()
    return server


def mcp_server_set(
    *,
    name: str,
    url: str,
    headers: dict[str, HeaderValue] | None = None,
    timeout: float | None = None,
) -> tuple[McpServer, bool]:
    """Creates or updates the HTTP server `name` (a command's way in; the admin's is save)."""
    server = McpServer.objects.filter(name=name).first()
    created = server is None
    if created:
        server = McpServer(name=name)
    if server.transport != McpServer.Transport.HTTP:
        raise ValidationError(f"{name} is a stdio server: it is declared in settings only.")
    server.url = url
    if timeout is not None:
        server.timeout = timeout
    return mcp_server_save(server=server, headers=headers), created


def stdio_server_ensure(name: str) -> McpServer:
    """The row of a stdio server declared in settings.MCP_STDIO_SERVERS (made on first use)."""
    if name not in (settings.MCP_STDIO_SERVERS or {}):
        raise McpServer.DoesNotExist(f"No MCP server {name!r}, in the database or settings.")
    server, _ = McpServer.objects.get_or_create(
        name=name, defaults={"transport": McpServer.Transport.STDIO}
    )
    return server


async def amcp_server_refresh(*, server: McpServer) -> McpServer:
    """Asks the server for its tools and caches them; a failure is kept in refresh_error
    (and the last good list stays, so assistants keep their tools through an outage)."""
    address = server_address(server)
    now = timezone.now()
    try:
        tools = await tools_fetch(address)
    except McpUnavailable as exc:
        server.refresh_error = f"Could not list the tools of {server.name}: {exc}."
        await McpServer.objects.filter(pk=server.pk).aupdate(
            refresh_error=server.refresh_error, refreshed_at=now
        )
        server.refreshed_at = now
        return server
    server.tools, server.refresh_error, server.refreshed_at = tools, "", now
    await McpServer.objects.filter(pk=server.pk).aupdate(
        tools=tools, refresh_error="", refreshed_at=now
    )
    return server


def mcp_server_refresh(*, server: McpServer) -> McpServer:
    return async_to_sync(amcp_server_refresh)(server=server)
