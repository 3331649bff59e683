"""A real MCP server (tests/mcp_server.py, the SDK's MCPServer over Streamable HTTP) in its
own process, and the site's record of it."""

import subprocess
import sys

import pytest

from tests.provider_server import ROOT, free_port, wait_for_port


class McpProcess:
    def __init__(self):
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self) -> "McpProcess":
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "mcp_server.py"), str(self.port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.process)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture(scope="session")
def mcp_process():
    server = McpProcess().start()
    yield server
    server.stop()


@pytest.fixture
def own_mcp_process():
    """A server of the test's own, for a test that stops it."""
    server = McpProcess().start()
    yield server
    server.stop()
