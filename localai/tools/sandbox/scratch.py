"""A run's scratch directory: laid out before the run, read back and removed after it."""

import hashlib
import mimetypes
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from localai.tools.sandbox.limits import NETWORK_REFUSED, SandboxLimits

MAX_OUTPUT_FILES = 20
MAX_OUTPUT_TOTAL_BYTES = 64 * 1024 * 1024
# The child program, copied into each scratch directory and run from there.
CHILD = Path(__file__).with_name("child.py")


@dataclass(frozen=True)
class SandboxFile:
    name: str
    content: bytes
    mime: str

    @property
    def is_image(self) -> bool:
        return self.mime in ("image/png", "image/jpeg", "image/gif", "image/webp")


def prepare(
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
    shutil.copyfile(CHILD, runner)
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


def environment(scratch: Path) -> dict[str, str]:
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


def produced_files(data: Path, inputs: dict[str, str]) -> list[SandboxFile]:
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


def remove(path: Path) -> None:
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
