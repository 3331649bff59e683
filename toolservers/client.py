"""Talking to one MCP server with the official `mcp` SDK: its tool list, and one call.

Each use opens its own session and closes it (a turn calls a few tools at most, and a
session held between turns would be one more thing to keep alive across processes). Nothing
here raises for what a server does: an unreachable server, a bad answer or a timeout is an
`McpUnavailable` with a sentence a person (or the model) can read.
"""

import asyncio
import base64
import binascii
import json
import logging
from dataclasses import dataclass, field

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerAddress:
    """Where a server is and how to reach it, read from its row before any await."""

    name: str
    transport: str  # "http" or "stdio"
    url: str = ""
    headers: dict = field(default_factory=dict)
    stdio: dict | None = None  # {"command", "args", "env"} from settings
    timeout: float = 30.0


@dataclass(frozen=True)
class ToolResult:
    """`output` is what the model reads; `content` what the transcript shows, as
    [{"type": "text", "text"} | {"type": "image", "mime_type", "data"} (base64) |
    {"type": "resource", "uri", "name", "mime_type"}]."""

    output: str
    content: list
    failed: bool = False


class McpUnavailable(Exception):
    """The server could not be reached or answered badly; the message says how."""


def _reason(error: BaseException) -> str:
    # anyio's task groups wrap what went wrong in (nested) exception groups.
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    if isinstance(error, httpx2.ConnectError):
        return "the server cannot be reached (connection refused or no route)"
    if isinstance(error, httpx2.HTTPStatusError):
        return f"the server answered HTTP {error.response.status_code}"
    if isinstance(error, httpx2.HTTPError):
        return f"the connection failed ({type(error).__name__})"
    text = str(error).strip() or type(error).__name__
    return text[:300]


class _Session:
    def __init__(self, address: ServerAddress):
        self.address = address
        self._http = None

    async def __aenter__(self) -> Client:
        address = self.address
        if address.transport == "stdio":
            if not address.stdio:
                raise McpUnavailable(
                    f"the stdio server {address.name!r} is not declared in MCP_STDIO_SERVERS"
                )
            target = StdioServerParameters(
                command=address.stdio["command"],
                args=list(address.stdio.get("args", [])),
                env=address.stdio.get("env") or None,
            )
        else:
            # Our own client: the server's headers (a bearer token) and its timeout. Never a
            # user's credentials: the site speaks to the server as itself.
            self._http = httpx2.AsyncClient(
                headers=address.headers, timeout=httpx2.Timeout(address.timeout)
            )
            target = streamable_http_client(address.url, http_client=self._http)
        self._client = Client(target, read_timeout_seconds=address.timeout, cache=None)
        try:
            return await self._client.__aenter__()
        except BaseException:
            if self._http is not None:
                await self._http.aclose()
            raise

    async def __aexit__(self, *exc):
        try:
            return await self._client.__aexit__(*exc)
        finally:
            if self._http is not None:
                await self._http.aclose()


async def tools_fetch(address: ServerAddress) -> list[dict]:
    """The server's tools as the cache keeps them; McpUnavailable with why not."""
    try:
        async with asyncio.timeout(address.timeout):
            async with _Session(address) as client:
                tools, cursor = [], None
                while True:
                    page = await client.list_tools(cursor=cursor)
                    tools += page.tools
                    cursor = page.next_cursor
                    if not cursor:
                        break
    except McpUnavailable:
        raise
    except TimeoutError:
        raise McpUnavailable(f"no answer within {address.timeout:g} seconds") from None
    except Exception as exc:
        raise McpUnavailable(_reason(exc)) from None
    return [
        {
            "name": tool.name,
            "description": tool.description or "",
            "input_schema": tool.input_schema or {"type": "object", "properties": {}},
            "annotations": (
                tool.annotations.model_dump(by_alias=True, exclude_none=True)
                if tool.annotations
                else {}
            ),
        }
        for tool in tools
    ]


async def tool_call(
    address: ServerAddress, name: str, arguments: dict, *, max_chars: int, max_image_bytes: int
) -> ToolResult:
    """Runs one call; McpUnavailable when the server cannot answer it."""
    try:
        async with asyncio.timeout(address.timeout):
            async with _Session(address) as client:
                result = await client.call_tool(name, arguments)
    except McpUnavailable:
        raise
    except TimeoutError:
        raise McpUnavailable(f"{name} did not finish within {address.timeout:g} seconds") from None
    except Exception as exc:
        raise McpUnavailable(_reason(exc)) from None
    return result_of(
        name,
        result.content,
        failed=result.is_error,
        structured=result.structured_content,
        max_chars=max_chars,
        max_image_bytes=max_image_bytes,
    )


def result_of(
    name: str, blocks, *, failed: bool, structured, max_chars: int, max_image_bytes: int
) -> ToolResult:
    """The model's output and the transcript's content of a call's content blocks."""
    texts, content = [], []
    for block in blocks:
        kind = block.type
        if kind == "text":
            texts.append(block.text)
            content.append({"type": "text", "text": block.text})
        elif kind == "image":
            size = _decoded_size(block.data)
            if size is None or size > max_image_bytes:
                texts.append(f"[an image ({block.mime_type}) too large to show]")
                content.append({"type": "text", "text": f"(an image of {size or '?'} bytes)"})
            else:
                texts.append(f"[an image ({block.mime_type}, {size} bytes), shown to the user]")
                content.append({"type": "image", "mime_type": block.mime_type, "data": block.data})
        elif kind == "resource_link":
            texts.append(f"[resource {block.name}: {block.uri}]")
            content.append(_resource(str(block.uri), block.name, block.mime_type))
        elif kind == "resource":
            resource = block.resource
            uri = str(resource.uri)
            text = getattr(resource, "text", None)
            texts.append(text if text is not None else f"[resource {uri}]")
            content.append(_resource(uri, uri.rsplit("/", 1)[-1] or uri, resource.mime_type))
        else:
            texts.append(f"[{kind} content]")
    if not texts and structured is not None:
        texts.append(json.dumps(structured, default=str))
        content.append({"type": "text", "text": texts[-1]})
    output = "\n".join(texts) or "(no output)"
    if failed:
        output = f"Error: {name} failed: {output}"
    if len(output) > max_chars:
        # The model reads that it is cut and by how much, and the part that fits.
        note = (
            f"Error: the result of {name} is {len(output):,} characters, over the limit of "
            f"{max_chars:,}; only its beginning follows.\n"
        )
        output = note + output[: max_chars - len(note)]
        content = [{"type": "text", "text": output}]
    return ToolResult(output=output, content=content, failed=failed)


def _resource(uri: str, name: str, mime_type) -> dict:
    # Only web links are links: a file:// or custom scheme means nothing in a browser.
    link = uri if uri.startswith(("https://", "http://")) else ""
    return {
        "type": "resource",
        "uri": uri,
        "name": name,
        "mime_type": mime_type or "",
        "link": link,
    }


def _decoded_size(data: str) -> int | None:
    try:
        return len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return None
