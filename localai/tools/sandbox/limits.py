"""A sandbox run's limits, and the line that says which one stopped a run."""

import signal
from dataclasses import dataclass

from django.conf import settings

# Limits that have no setting: generous for a stand-in, small enough to protect the host.
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_OPEN_FILES = 256
NETWORK_REFUSED = "Network access is disabled in this sandbox."


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


def python_returncode(returncode: int | None, mode: str, status: dict) -> int | None:
    """Python's return code. In the "full" isolation sh reports a signal N as 128 + N."""
    if mode != "full" or returncode is None or not 128 < returncode < 128 + 65:
        return returncode
    if status.get("status") == "exit" and status.get("detail") == str(returncode):
        return returncode  # the code's own sys.exit(129...)
    return 128 - returncode


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


def _file_size_message(limits: SandboxLimits) -> str:
    return (
        f"Error: the code tried to write a file larger than its {limits.file_bytes // 1048576} MB "
        "limit and was stopped."
    )


def classify(
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
