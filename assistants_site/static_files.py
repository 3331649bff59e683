"""/static/ for a site with no web server in front (SERVE_STATIC), answered on the event loop
from memory.

Django's ASGIStaticFilesHandler builds a request and hops to a worker thread twice per file
(serve(), then the file's iterator). The chat page loads about 45 static files, ES modules
included (no bundling step), and in the bench the server's time on them was most of what a
fresh browser waited for. Here a file is found once (the staticfiles finders, as
collectstatic would), read into memory and sent in one message; a changed file (same path,
new mtime or size) is read again, so editing static/ needs no restart.
"""

import mimetypes
import os
import posixpath
import stat as stat_mode
from dataclasses import dataclass
from urllib.parse import urlparse
from urllib.request import url2pathname

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from django.utils.http import http_date, parse_http_date_safe


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    headers: list[tuple[bytes, bytes]]
    mtime: float
    size: int


def _read(path: str, stat: os.stat_result) -> StaticFile:
    content_type, encoding = mimetypes.guess_type(path)
    headers = [
        (b"content-type", (content_type or "application/octet-stream").encode()),
        (b"last-modified", http_date(stat.st_mtime).encode()),
        # Served as what its name says, never sniffed into something else.
        (b"x-content-type-options", b"nosniff"),
    ]
    if encoding:
        headers.append((b"content-encoding", encoding.encode()))
    with open(path, "rb") as file:
        body = file.read()
    return StaticFile(body=body, headers=headers, mtime=stat.st_mtime, size=stat.st_size)


class StaticFilesApp:
    """ASGI middleware: GET and HEAD under STATIC_URL are answered here, all else goes on to
    `application`. Same lookup and answers as django.contrib.staticfiles' handler (404 for
    a missing file or a directory, 304 for If-Modified-Since)."""

    def __init__(self, application):
        self.application = application
        self.prefix = urlparse(settings.STATIC_URL).path
        self.found: dict[str, str] = {}
        self.files: dict[str, StaticFile] = {}

    async def __call__(self, scope, receive, send):
        if (
            scope["type"] != "http"
            or not scope["path"].startswith(self.prefix)
            or scope["method"] not in ("GET", "HEAD")
        ):
            return await self.application(scope, receive, send)
        full_path = self._find(scope["path"])
        stat = _stat(full_path) if full_path else None
        if stat is None:
            return await _answer(send, 404, [(b"content-type", b"text/plain")], b"Not found.")
        cached = self.files.get(full_path)
        if cached is None or (cached.mtime, cached.size) != (stat.st_mtime, stat.st_size):
            cached = self.files[full_path] = _read(full_path, stat)
        since = _header(scope, b"if-modified-since")
        if since is not None:
            since_time = parse_http_date_safe(since)
            if since_time is not None and int(cached.mtime) <= since_time:
                return await _answer(send, 304, [cached.headers[1]], b"")
        body = b"" if scope["method"] == "HEAD" else cached.body
        headers = [*cached.headers, (b"content-length", str(cached.size).encode())]
        await _answer(send, 200, headers, body)

    def _find(self, url_path: str) -> str | None:
        found = self.found.get(url_path)
        if found is None:
            relative = posixpath.normpath(url2pathname(url_path.removeprefix(self.prefix)))
            try:
                found = finders.find(relative.lstrip("/")) if relative != "." else None
            except SuspiciousFileOperation:  # ../ out of the static folders
                found = None
            # Hits only (bounded by the files that exist): a file added later is found.
            if found is not None:
                self.found[url_path] = found
        return found


def _stat(path: str) -> os.stat_result | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat if stat_mode.S_ISREG(stat.st_mode) else None


def _header(scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def _answer(send, status: int, headers: list, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
