"""The namespaces the machine allows a run (asked once per process) and the child's command
line in each case."""

import functools
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from django.conf import settings


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


def child_command(runner: Path, config: dict, mode: str, hidden: list[str]) -> list[str]:
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
