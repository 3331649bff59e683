"""A real MCP server for the tests, in its own process: `python tests/mcp_server.py PORT`
(or `stdio`).

Written with the official SDK's server (`MCPServer`, FastMCP before 2.x) over Streamable
HTTP, as an organisation's server would be. Its tools cover what the site must handle: one
that answers, one that fails, one that hangs, one that returns an image, one that links a
resource, and read-only tools beside ones that act (annotations.readOnlyHint).
"""

import asyncio
import struct
import sys
import zlib

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.utilities.types import Image
from mcp_types import ResourceLink, TextContent, ToolAnnotations


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain PNG of one colour (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


RED_SQUARE = _png(48, 48, (200, 40, 40))
READ_ONLY = ToolAnnotations(read_only_hint=True)
ACTS = ToolAnnotations(read_only_hint=False, destructive_hint=True)

server = MCPServer("test-tools", instructions="Tools for the site's tests.")
created: list[str] = []


@server.tool(description="Adds two integers.", annotations=READ_ONLY)
def add(a: int, b: int) -> str:
    return f"{a} + {b} = {a + b}"


@server.tool(description="Creates a ticket with a title (acts on the world).", annotations=ACTS)
def create_ticket(title: str) -> str:
    created.append(title)
    return f"Ticket #{len(created)} created: {title}"


@server.tool(description="Always fails.", annotations=READ_ONLY)
def broken() -> str:
    raise ValueError("the backend is down")


@server.tool(description="Never answers in time.", annotations=READ_ONLY)
async def hang(seconds: float = 60) -> str:
    await asyncio.sleep(seconds)
    return "woke up"


@server.tool(description="Returns a small red square (a PNG).", annotations=READ_ONLY)
def red_pixel() -> Image:
    return Image(data=RED_SQUARE, format="png")


@server.tool(description="Links a report as a resource.", annotations=READ_ONLY)
def report_link() -> list:
    return [
        TextContent(text="The report is ready."),
        ResourceLink(name="report.pdf", uri="https://example.org/reports/1.pdf"),
    ]


@server.tool(description="Returns a long text.", annotations=READ_ONLY)
def long_text(characters: int = 100_000) -> str:
    return "x" * characters


if __name__ == "__main__":
    # `stdio`: spoken over stdin/stdout, as a server declared in MCP_STDIO_SERVERS is.
    if sys.argv[1] == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
