"""Runs the site in a Daphne subprocess so tests reach the local provider over real HTTP.

The provider keeps its tables in its own database, so the subprocess gets fresh SQLite files
in a temporary folder and never sees the test database of the process running the tests.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port} after {timeout}s")


class SiteServer:
    """A Daphne process serving the whole ASGI app (site + local provider) on loopback."""

    def __init__(
        self, var_dir: Path, extra_env: dict[str, str] | None = None, *, migrate: bool = True
    ):
        self.port = free_port()
        # False for a database that is migrated already (the test run's own).
        self.migrate = migrate
        self.var_dir = var_dir
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "assistants_site.settings",
            "VAR_DIR": str(var_dir),
            "PORT": str(self.port),
            "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
            "LOCAL_PROVIDER_DATABASE_URL": f"sqlite:///{var_dir / 'localai.sqlite3'}",
            "LOCAL_PROVIDER_TOKEN_DELAY": "0.002",
            "LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/chat/"

    def manage(self, *args: str) -> str:
        """Runs a management command with this server's environment; returns its output."""
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
        ).stdout

    def start(self) -> "SiteServer":
        for database in ("default", "localai") if self.migrate else ():
            self.manage("migrate", "--database", database, "-v", "0")
        self.log = open(self.var_dir / "server.log", "ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "assistants_site.asgi:application",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port, self.process)
        return self

    def kill(self) -> None:
        """Ends the process at once (SIGKILL), as a crash or an OOM kill would."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
