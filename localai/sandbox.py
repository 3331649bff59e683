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
import functools
import hashlib
import json
import mimetypes
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

# Limits that have no setting: generous for a stand-in, small enough to protect the host.
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_OPEN_FILES = 256
MAX_OUTPUT_FILES = 20
MAX_OUTPUT_TOTAL_BYTES = 64 * 1024 * 1024
# How long to wait for the pipe to close once the process is gone (an escaped grandchild
# may still hold it open).
PIPE_GRACE_SECONDS = 0.5
# How often the child's end is checked, and how long it may take to die once killed.
EXIT_POLL_SECONDS = 0.02
KILL_GRACE_SECONDS = 5.0
NETWORK_REFUSED = "Network access is disabled in this sandbox."

# Written into the scratch directory and run by the child. It sets the limits, installs the
# network refusal and the matplotlib patch, runs the code, and reports how it ended in a
# status file (the code could overwrite it: it only changes the code's own error message).
_RUNNER = r'''
import json, os, resource, sys, traceback

_config = json.loads(sys.argv[1])
_reserve = bytearray(1 << 20)  # freed on MemoryError, so the report itself can be made

def _limit(kind, soft, hard=None):
    try:
        resource.setrlimit(kind, (soft, soft if hard is None else hard))
    except (ValueError, OSError):
        pass

_limit(resource.RLIMIT_CORE, 0)
_limit(resource.RLIMIT_CPU, _config["cpu_seconds"], _config["cpu_seconds"] + 1)
_limit(resource.RLIMIT_AS, _config["memory_bytes"])
_limit(resource.RLIMIT_FSIZE, _config["file_bytes"])
_limit(resource.RLIMIT_NOFILE, _config["open_files"])

NETWORK_REFUSED = _config["network_refused"]


class NetworkAccessDisabled(PermissionError):
    pass


_UNIX = 1  # socket.AF_UNIX, without importing socket before the code does


_refused = [False]


def _audit(event, args):
    if event == "socket.__new__":
        if args[1] == _UNIX:
            return
    elif event not in (
        "socket.connect", "socket.getaddrinfo", "socket.gethostbyname",
        "socket.gethostbyaddr", "socket.sendto", "socket.sendmsg", "socket.bind",
        "socket.getnameinfo",
    ):
        return
    # Remembered: libraries often wrap the error in their own (urllib's URLError).
    _refused[0] = True
    raise NetworkAccessDisabled(NETWORK_REFUSED)

sys.addaudithook(_audit)

_figures = [0]
# Figures the code saved itself (savefig): at the end they are not saved a second time.
_saved_by_code = set()


def _save_figures(unsaved_only=False):
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return
    for number in pyplot.get_fignums():
        if unsaved_only and id(pyplot.figure(number)) in _saved_by_code:
            continue
        _figures[0] += 1
        name = "figure_%d.png" % _figures[0]
        while os.path.exists(name):
            _figures[0] += 1
            name = "figure_%d.png" % _figures[0]
        pyplot.figure(number).savefig(name, format="png")
    pyplot.close("all")


def _patch_pyplot(module):
    def show(*args, **kwargs):
        _save_figures()
    module.show = show
    figure_class = module.Figure
    original_savefig = figure_class.savefig

    def savefig(self, *args, **kwargs):
        _saved_by_code.add(id(self))
        return original_savefig(self, *args, **kwargs)
    figure_class.savefig = savefig


class _PyplotHook:
    """Patches matplotlib.pyplot when (and only if) the code imports it."""

    def find_spec(self, name, path=None, target=None):
        if name != "matplotlib.pyplot":
            return None
        import importlib.util
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        original = spec.loader.exec_module

        def exec_module(module):
            original(module)
            _patch_pyplot(module)

        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, _PyplotHook())
sys.path.insert(0, os.getcwd())


def _report(status, detail=""):
    try:
        with open(_config["status_path"], "w") as handle:
            json.dump({"status": status, "detail": detail, "network": _refused[0]}, handle)
    except OSError:
        pass


def _print_traceback(error):
    """The traceback as Python prints it, without this runner's frames."""
    report = traceback.TracebackException(type(error), error, error.__traceback__)
    seen = set()
    pending = [report]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current.stack = traceback.StackSummary.from_list(
            [frame for frame in current.stack if frame.filename != __file__]
        )
        pending += [current.__cause__, current.__context__]
    sys.stderr.write("".join(report.format()))


_source = open(_config["code_path"], encoding="utf-8").read()
_namespace = {"__name__": "__main__", "__builtins__": __builtins__}
try:
    exec(compile(_source, "<code>", "exec"), _namespace)
    _save_figures(unsaved_only=True)
except MemoryError as error:
    del _reserve
    _print_traceback(error)
    _report("memory")
    sys.exit(1)
except SystemExit as exit:
    _save_figures(unsaved_only=True)
    code = exit.code
    if code is None or code == 0:
        _report("ok")
        sys.exit(0)
    if not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    _report("exit", str(code))
    sys.exit(code)
except BaseException as error:
    _print_traceback(error)
    try:
        _save_figures(unsaved_only=True)
    except Exception:
        pass
    _report("error", ("%s: %s" % (type(error).__name__, error)).rstrip(": "))
    sys.exit(1)
_report("ok")
'''


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: int
    wall_seconds: float
    memory_mb: int
    output_bytes: int
    file_bytes: int = MAX_FILE_BYTES
    open_files: int = MAX_OPEN_FILES

    @classmethod
    def from_settings(cls) -> "SandboxLimits":
        return cls(
            cpu_seconds=int(settings.LOCAL_PROVIDER_SANDBOX_CPU_SECONDS),
            wall_seconds=float(settings.LOCAL_PROVIDER_SANDBOX_WALL_SECONDS),
            memory_mb=int(settings.LOCAL_PROVIDER_SANDBOX_MEMORY_MB),
            output_bytes=int(settings.LOCAL_PROVIDER_SANDBOX_OUTPUT_BYTES),
        )


@dataclass(frozen=True)
class SandboxFile:
    name: str
    content: bytes
    mime: str

    @property
    def is_image(self) -> bool:
        return self.mime in ("image/png", "image/jpeg", "image/gif", "image/webp")


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


def _probe(command: list[str]) -> bool:
    try:
        completed = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return completed.returncode == 0


@functools.cache
def isolation() -> str:
    """What the machine allows, asked once per process:

    - "full": new user, network, mount and PID namespaces. No network; a /proc of its own
      that shows only the run's processes; the site's data directories hidden under empty
      tmpfs mounts; and when the run ends, every process it started ends with it, even one
      that left the process group.
    - "net": user and network namespaces only.
    - "": neither; the audit hook alone refuses the network.
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        return ""
    base = [unshare, "--net", "--map-root-user"]
    if _probe([*base, *_FULL, "--", "/bin/sh", "-c", "mount -t proc proc /proc"]):
        return "full"
    return "net" if _probe([*base, "--", "true"]) else ""


# --fork: sh becomes PID 1 of the new PID namespace, and Python its child (PID 1 would
# ignore the SIGXCPU of the CPU limit). --kill-child: when unshare dies, so does sh, and the
# kernel then ends every process left in the namespace.
_FULL = ["--mount", "--pid", "--fork", "--kill-child"]
# An empty, read-only tmpfs over a directory hides what it holds from the code.
_HIDE = "mount -t tmpfs -o size=4k,mode=0555,ro none {path}"


def hidden_paths(scratch: Path) -> list[str]:
    """Directories hidden from the code in the "full" isolation: where the site keeps its
    data (VAR_DIR, SQLite databases, uploaded media), unless the scratch directory or the
    interpreter lives inside one of them."""
    candidates = [Path(settings.VAR_DIR)]
    if getattr(settings, "MEDIA_ROOT", ""):
        candidates.append(Path(settings.MEDIA_ROOT))
    for database in settings.DATABASES.values():
        if "sqlite" in database.get("ENGINE", "") and database.get("NAME"):
            candidates.append(Path(str(database["NAME"])).parent)
    needed = [scratch.resolve(), Path(sys.prefix).resolve(), Path(sys.executable).resolve()]
    paths: list[str] = []
    for candidate in candidates:
        try:
            directory = candidate.resolve()
        except OSError:
            continue
        if not directory.is_dir() or directory == Path("/") or str(directory) in paths:
            continue
        if any(path.is_relative_to(directory) for path in needed):
            continue
        paths.append(str(directory))
    # A directory inside another hidden one is hidden already, and mounting over it would
    # fail: it no longer exists under the parent's empty mount.
    return [
        path
        for path in paths
        if not any(path != other and Path(path).is_relative_to(other) for other in paths)
    ]


def _command(runner: Path, config: dict, mode: str, hidden: list[str]) -> list[str]:
    python = [sys.executable, "-I", "-u", str(runner), json.dumps(config)]
    if mode == "full":
        mounts = ["mount -t proc proc /proc", *(_HIDE.format(path=shlex.quote(p)) for p in hidden)]
        # sh's own messages (such as the name of the signal that ended Python) are silenced;
        # Python's stderr is the pipe.
        script = f"{' && '.join(mounts)} && exec 3>&2 2>/dev/null && {shlex.join(python)} 2>&3 3>&-"
        return ["unshare", "--net", "--map-root-user", *_FULL, "--", "/bin/sh", "-c", script]
    if mode == "net":
        return ["unshare", "--net", "--map-root-user", "--", *python]
    return python


def _returncode(returncode: int | None, mode: str, status: dict) -> int | None:
    """Python's return code. In the "full" isolation sh reports a signal N as 128 + N."""
    if mode != "full" or returncode is None or not 128 < returncode < 128 + 65:
        return returncode
    if status.get("status") == "exit" and status.get("detail") == str(returncode):
        return returncode  # the code's own sys.exit(129...)
    return 128 - returncode


def _prepare(
    scratch: Path, code: str, files: list[tuple[str, bytes]], limits: SandboxLimits
) -> tuple[Path, dict[str, str], Path, dict]:
    """The scratch directory's layout: data/ (the code's cwd, with the input files), home/,
    tmp/, and meta/ (the runner, the code, the status file)."""
    data = scratch / "data"
    for directory in (data, scratch / "home", scratch / "tmp", scratch / "meta"):
        directory.mkdir()
    inputs: dict[str, str] = {}
    for name, content in files:
        target = data / _safe_name(name)
        target.write_bytes(content)
        inputs[target.name] = hashlib.sha256(content).hexdigest()
    runner = scratch / "meta" / "runner.py"
    runner.write_text(_RUNNER)
    code_path = scratch / "meta" / "code.py"
    code_path.write_text(code, encoding="utf-8")
    config = {
        "cpu_seconds": max(1, int(limits.cpu_seconds)),
        "memory_bytes": limits.memory_mb * 1024 * 1024,
        "file_bytes": limits.file_bytes,
        "open_files": limits.open_files,
        "code_path": str(code_path),
        "status_path": str(scratch / "meta" / "status.json"),
        "network_refused": NETWORK_REFUSED,
    }
    return data, inputs, runner, config


def _environment(scratch: Path) -> dict[str, str]:
    home = scratch / "home"
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(scratch / "tmp"),
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(home / ".matplotlib"),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }


def _safe_name(name: str) -> str:
    """A file name without directories, so that an input lands inside the directory."""
    base = os.path.basename(name.replace("\\", "/")).strip()
    if base in ("", ".", ".."):
        base = "file"
    return base


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _mime(name: str, content: bytes) -> str:
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def _produced_files(data: Path, inputs: dict[str, str]) -> list[SandboxFile]:
    """Regular files new or changed in the working directory (not hidden, not caches)."""
    files: list[SandboxFile] = []
    total = 0
    for root, dirs, names in os.walk(data):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in sorted(names):
            if name.startswith("."):
                continue
            path = Path(root) / name
            try:
                info = path.lstat()
            except OSError:
                continue
            # Symlinks could point anywhere on the host: only regular files come back.
            if not stat.S_ISREG(info.st_mode):
                continue
            relative = path.relative_to(data).as_posix()
            try:
                if relative in inputs and _digest(path) == inputs[relative]:
                    continue
                if total + info.st_size > MAX_OUTPUT_TOTAL_BYTES:
                    continue
                content = path.read_bytes()
            except OSError:
                continue
            total += len(content)
            files.append(SandboxFile(name=relative, content=content, mime=_mime(name, content)))
            if len(files) >= MAX_OUTPUT_FILES:
                return files
    return files


def _remove(path: Path) -> None:
    """Removes the scratch directory even where the code took its own permissions away."""

    def make_writable(function, target, _excinfo):
        try:
            os.chmod(os.path.dirname(target), stat.S_IRWXU)
            if os.path.isdir(target) and not os.path.islink(target):
                os.chmod(target, stat.S_IRWXU)
            function(target)
        except OSError:
            pass

    for root, dirs, _ in os.walk(path):
        for name in dirs:
            try:
                os.chmod(os.path.join(root, name), stat.S_IRWXU, follow_symlinks=False)
            except (OSError, NotImplementedError):
                pass
    shutil.rmtree(path, onerror=make_writable)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _format_mb(limits: SandboxLimits) -> str:
    return f"{limits.memory_mb} MB"


def _seconds(value: float) -> str:
    return f"{value:g}-second"


def limit_message(limit: str, limits: SandboxLimits) -> str:
    """The line a run stopped by `limit` ends its logs with."""
    if limit == "cpu_time":
        return (
            f"Error: the code ran past its {_seconds(limits.cpu_seconds)} CPU time limit "
            "and was stopped."
        )
    if limit == "wall_time":
        return (
            f"Error: the code ran past its {_seconds(limits.wall_seconds)} time limit "
            "and was stopped."
        )
    if limit == "memory":
        return f"Error: the code ran past its memory limit ({_format_mb(limits)}) and was stopped."
    if limit == "network":
        return f"Error: {NETWORK_REFUSED}"
    if limit == "output":
        return f"Note: the output was cut at {limits.output_bytes} bytes; the rest was discarded."
    return ""


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


def _file_size_message(limits: SandboxLimits) -> str:
    return (
        f"Error: the code tried to write a file larger than its {limits.file_bytes // 1048576} MB "
        "limit and was stopped."
    )


def _classify(
    *,
    returncode: int | None,
    status: dict,
    wall_timeout: bool,
    limits: SandboxLimits,
) -> tuple[str | None, str]:
    """(limit, error line) from how the child ended."""
    if wall_timeout:
        return "wall_time", limit_message("wall_time", limits)
    if returncode == -signal.SIGXCPU:
        return "cpu_time", limit_message("cpu_time", limits)
    if returncode == -signal.SIGKILL:
        # Not the wall clock: the hard CPU limit (code that handles SIGXCPU), or the system's
        # out-of-memory killer. Nothing tells them apart from here.
        return "killed", (
            f"Error: the code was killed by the system: at its {_seconds(limits.cpu_seconds)} "
            "CPU time limit, or because the machine ran out of memory."
        )
    kind = status.get("status")
    if kind == "memory":
        return "memory", limit_message("memory", limits)
    if status.get("network") and returncode:
        return "network", limit_message("network", limits)
    if kind == "error" and "[Errno 27]" in str(status.get("detail")):
        # Python ignores SIGXFSZ: past RLIMIT_FSIZE a write fails with EFBIG instead.
        return "file_size", _file_size_message(limits)
    if kind == "error" and returncode == 1:
        return None, f"Error: the code stopped with {status.get('detail') or 'an exception'}."
    if returncode == -signal.SIGXFSZ:
        return "file_size", _file_size_message(limits)
    if returncode is not None and returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.Signals else returncode
        if returncode == -signal.SIGSEGV:
            return "memory", (
                f"Error: the code crashed ({name}), possibly at its memory limit "
                f"({_format_mb(limits)})."
            )
        return None, f"Error: the code was stopped by signal {name}."
    if returncode:
        return None, f"Error: the code exited with status {returncode}."
    return None, ""


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
            _prepare, scratch, code, list(files), limits
        )
        mode = await asyncio.to_thread(isolation)
        command = _command(runner, config, mode, hidden_paths(scratch) if mode == "full" else [])
        status_path = Path(config["status_path"])
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                cwd=data,
                env=_environment(scratch),
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
        await asyncio.to_thread(_remove, scratch)


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
    returncode = _returncode(process.returncode, mode, status)
    limit, error = _classify(
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
    produced = await asyncio.to_thread(_produced_files, data, inputs)
    return SandboxResult(
        logs=logs,
        exit_status=returncode,
        error=error,
        limit=limit,
        files=produced,
        duration=time.monotonic() - started,
    )
