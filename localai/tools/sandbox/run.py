"""Runs untrusted Python for the local provider's code interpreter, in a separate process.

A local stand-in, not a secure multi-tenant sandbox (docs/local-provider.md says what it
does and does not stop). Each run gets:

- a child `python -I` (no PYTHON* variables, no user site, no script directory on the path)
  in a session of its own, so the whole process group can be killed;
- resource limits set by the child on itself before any user code runs (RLIMIT_CPU,
  RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_NOFILE; RLIMIT_CORE 0), and a wall-clock limit enforced
  here by killing the process group;
- a fresh scratch directory: the code's cwd is `<scratch>/data` (the input files copied in by
  name), HOME, MPLCONFIGDIR and TMPDIR are elsewhere in the scratch directory, which is
  removed afterwards;
- a minimal environment (MPLBACKEND=Agg, one BLAS thread);
- no network: a new network namespace (`unshare --net --map-root-user`) when the machine
  allows it, and in any case an audit hook that refuses sockets other than local socket
  pairs, name lookups and connects;
- where mount and PID namespaces work too, a /proc of its own, the site's data directories
  hidden under empty tmpfs mounts (`hidden_paths`), and no process outliving the run;
- stdout and stderr on one pipe, so they interleave in the order written (the child's
  streams are unbuffered), cut at an output cap.

`plt.show()` saves the open figures as PNG files in the working directory, and figures left
open at the end are saved too (as a notebook shows them); matplotlib is patched only if the
code imports it. Files the code leaves in its working directory, new or changed, come back
as `SandboxFile`s.
"""

import asyncio
import json
import os
import signal
import tempfile
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from localai.tools.sandbox.limits import (
    NETWORK_REFUSED,
    SandboxLimits,
    classify,
    limit_message,
    python_returncode,
)
from localai.tools.sandbox.namespaces import child_command, hidden_paths, isolation
from localai.tools.sandbox.scratch import SandboxFile, environment, prepare, produced_files, remove

# How long to wait for the pipe to close once the process is gone (an escaped grandchild
# may still hold it open).
PIPE_GRACE_SECONDS = 0.5
# How often the child's end is checked, and how long it may take to die once killed.
EXIT_POLL_SECONDS = 0.02
KILL_GRACE_SECONDS = 5.0


@dataclass
class SandboxResult:
    """How a run ended.

    `logs` is what the code printed (stdout and stderr interleaved), followed by the line
    `error` when a limit stopped it; `limit` names the limit ("cpu_time", "wall_time",
    "memory", "output", "network", "file_size", "killed") or is None; `exit_status` is the
    child's return code (negative: the signal that ended it).
    """

    logs: str
    exit_status: int | None
    error: str = ""
    limit: str | None = None
    files: list[SandboxFile] = field(default_factory=list)
    duration: float = 0.0
    # True when the sandbox itself could not run the code (not the code's fault).
    crashed: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_status == 0 and not self.error


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


async def _read_capped(stream: asyncio.StreamReader, cap: int, sink: bytearray) -> int:
    """Reads the pipe to its end, keeping the first `cap` bytes; returns the bytes seen."""
    seen = 0
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            return seen
        seen += len(chunk)
        room = cap - len(sink)
        if room > 0:
            sink.extend(chunk[:room])


def _read_status(path: Path) -> dict:
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return status if isinstance(status, dict) else {}


# Runs at once per process (one event loop each): more wait their turn, so a burst of code
# messages cannot start a process per message and starve the site of CPU and memory.
_slots: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = (
    weakref.WeakKeyDictionary()
)


def _slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    if loop not in _slots:
        _slots[loop] = asyncio.Semaphore(max(1, int(settings.LOCAL_PROVIDER_SANDBOX_CONCURRENCY)))
    return _slots[loop]


async def sandbox_run(
    *,
    code: str,
    files: Iterable[tuple[str, bytes]] = (),
    limits: SandboxLimits | None = None,
) -> SandboxResult:
    """Runs `code` in a fresh sandbox with `files` ((name, bytes) pairs) in its directory,
    once one of the process's LOCAL_PROVIDER_SANDBOX_CONCURRENCY slots is free."""
    async with _slot():
        return await _sandbox_run(code=code, files=files, limits=limits)


async def _sandbox_run(
    *, code: str, files: Iterable[tuple[str, bytes]], limits: SandboxLimits | None
) -> SandboxResult:
    limits = limits or SandboxLimits.from_settings()
    scratch = Path(tempfile.mkdtemp(prefix="localai-sandbox-"))
    started = time.monotonic()
    try:
        # Files are written, and the namespace probed (once), off the event loop.
        data, inputs, runner, config = await asyncio.to_thread(
            prepare, scratch, code, list(files), limits
        )
        mode = await asyncio.to_thread(isolation)
        command = child_command(
            runner, config, mode, hidden_paths(scratch) if mode == "full" else []
        )
        status_path = Path(config["status_path"])
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                cwd=data,
                env=environment(scratch),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            return SandboxResult(
                logs="",
                exit_status=None,
                error=f"Error: the sandbox could not start ({error}).",
                crashed=True,
                duration=time.monotonic() - started,
            )
        return await _supervise(process, mode, data, inputs, status_path, limits, started)
    finally:
        await asyncio.to_thread(remove, scratch)


async def _exited(process: asyncio.subprocess.Process, timeout: float) -> bool:
    """Whether the child ended within `timeout` seconds.

    Not `process.wait()`: on Python 3.11 it also waits for the pipe to close, which a
    process the code started in the background may keep open long after the child ended.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while process.returncode is None:
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(EXIT_POLL_SECONDS)
    return True


async def _supervise(
    process: asyncio.subprocess.Process,
    mode: str,
    data: Path,
    inputs: dict[str, str],
    status_path: Path,
    limits: SandboxLimits,
    started: float,
) -> SandboxResult:
    output = bytearray()
    assert process.stdout is not None
    reader = asyncio.ensure_future(_read_capped(process.stdout, limits.output_bytes, output))
    wall_timeout = False
    try:
        if not await _exited(process, limits.wall_seconds):
            wall_timeout = True
    finally:
        # Whatever the code left running in its group goes too (and all of it when the
        # caller was cancelled).
        _kill_group(process.pid)
        await _exited(process, KILL_GRACE_SECONDS)
        try:
            seen = await asyncio.wait_for(asyncio.shield(reader), timeout=PIPE_GRACE_SECONDS)
        except TimeoutError:
            reader.cancel()
            seen = len(output)
        # A process that left the group may still hold the pipe: let go of it.
        transport = getattr(process, "_transport", None)
        if transport is not None:
            transport.close()
    status = _read_status(status_path)
    returncode = python_returncode(process.returncode, mode, status)
    limit, error = classify(
        returncode=returncode, status=status, wall_timeout=wall_timeout, limits=limits
    )
    logs = output.decode("utf-8", errors="replace")
    notes = []
    if seen > limits.output_bytes:
        notes.append(limit_message("output", limits))
        limit = limit or "output"
    if error:
        notes.append(error)
    elif status.get("network"):
        # The code caught the refusal and went on; say why its network call failed.
        notes.append(f"Note: {NETWORK_REFUSED}")
        limit = limit or "network"
    if notes:
        logs = logs + ("" if not logs or logs.endswith("\n") else "\n") + "\n".join(notes)
    produced = await asyncio.to_thread(produced_files, data, inputs)
    return SandboxResult(
        logs=logs,
        exit_status=returncode,
        error=error,
        limit=limit,
        files=produced,
        duration=time.monotonic() - started,
    )
