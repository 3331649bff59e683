"""What the machine was doing besides the benchmark: CPU used by every other process."""

import os
import threading
from pathlib import Path

from .servers import CLOCK_TICKS


def cpu_snapshot() -> dict[int, tuple[float, str]]:
    """CPU seconds used so far and a short command line, by pid."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        seconds = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        found[int(entry.name)] = (seconds, command or stat.split("(", 1)[1].split(")")[0])
    return found


class CpuWatch:
    """Samples every process's CPU time every `period` seconds in a thread, so that processes
    that start and end during the run are seen too (those shorter than a period are not)."""

    def __init__(self, period: float = 2.0):
        self.period = period
        self.first = cpu_snapshot()
        self.last = dict(self.first)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while not self.stopped.wait(self.period):
            self._sample()

    def _sample(self) -> None:
        for pid, sample in cpu_snapshot().items():
            # A process first seen now started during the run: all its CPU time counts.
            self.first.setdefault(pid, (0.0, sample[1]))
            self.last[pid] = sample

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
        self._sample()


def others_busy(
    watch: CpuWatch, *, ours: set[int], elapsed: float, min_share: float = 0.03
) -> list[str]:
    """Other processes that used at least `min_share` of one core during the run."""
    busy = []
    for pid, (seconds, command) in watch.last.items():
        if pid in ours:
            continue
        used = seconds - watch.first.get(pid, (0.0, ""))[0]
        if used / elapsed >= min_share:
            busy.append((used, command))
    busy.sort(reverse=True)
    return [f"{_short(command)} ({used / elapsed:.0%} of a core)" for used, command in busy[:8]]


def _short(command: str, width: int = 70) -> str:
    command = command.replace(str(Path.cwd()) + os.sep, "")
    return command if len(command) <= width else command[: width - 1] + "…"


def describe() -> str:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return f"{os.cpu_count()} cores ({model}), {memory_kb / 1024**2:.0f} GB"


def load_average() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())
