"""Daphne subprocesses on loopback, and what /proc says about them (memory, CPU)."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`python -m daphne` serving the whole site; `env` decides what it does, `root` which
    checkout of it (another one for the code before a change, as --before asks)."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path, root: Path = ROOT):
        self.name = name
        self.port = free_port()
        self.root = root
        self.env = {**env, "PORT": str(self.port)}
        if root != ROOT:
            self.env["PYTHONPATH"] = str(root)
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        # -v 0: no access log; errors still reach the log through Django's LOGGING.
        return [
            sys.executable,
            "-m",
            "daphne",
            "-v",
            "0",
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            "assistants_site.asgi:application",
        ]

    @property
    def pid(self) -> int:
        return self.process.pid

    def start(self, timeout: float = 60.0) -> "Server":
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.root,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"{self.name} is not listening after {timeout}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def _status_kb(self, field: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def rss_kb(self) -> int:
        return self._status_kb("VmRSS")

    def peak_rss_kb(self) -> int:
        return self._status_kb("VmHWM")

    def cpu_seconds(self) -> float:
        # utime and stime are fields 14 and 15; the command name (field 2) may hold spaces.
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class EmitterServer(Server):
    """The stream source (bench/emitter.py) in a process of its own."""

    def __init__(self, log_dir: Path, *, tokens: int, delay: float):
        super().__init__("emitter", dict(os.environ), log_dir)
        self.tokens, self.delay = tokens, delay

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "bench.emitter",
            "--port",
            str(self.port),
            "--tokens",
            str(self.tokens),
            "--delay",
            str(self.delay),
        ]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


class RedisServer(Server):
    """A throw-away redis-server on loopback (no persistence), for the channel-layer rows."""

    def __init__(self, log_dir: Path):
        super().__init__("redis", dict(os.environ), log_dir)

    def command(self) -> list[str]:
        return [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def redis_available() -> bool:
    return shutil.which("redis-server") is not None
