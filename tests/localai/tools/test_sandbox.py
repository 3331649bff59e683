"""The code interpreter's sandbox (localai/tools/sandbox/): each limit ends the run with a clear
line in the logs, and nothing is left behind (no scratch directory, no process)."""

import asyncio
import json
import os
import tempfile
import time

import pytest

from localai.tools.sandbox import run as sandbox
from localai.tools.sandbox.limits import NETWORK_REFUSED, SandboxLimits
from localai.tools.sandbox.run import sandbox_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Small limits keep these tests fast.
LIMITS = SandboxLimits(cpu_seconds=1, wall_seconds=5, memory_mb=256, output_bytes=4096)


@pytest.fixture(autouse=True)
def scratch_root(tmp_path, monkeypatch):
    """Sandboxes make their scratch directories here, so a test can see none is left."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    yield tmp_path
    assert list(tmp_path.glob("localai-sandbox-*")) == []


def _gone(pid: int) -> bool:
    """Whether the process has ended (a zombie waiting for init to reap it counts)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


async def test_output_in_order_and_exit_status():
    result = await sandbox_run(
        code="import sys\nprint('one')\nprint('two', file=sys.stderr)\nprint('three')",
        limits=LIMITS,
    )
    assert result.ok
    assert result.logs == "one\ntwo\nthree\n"
    assert result.exit_status == 0
    assert result.files == []


async def test_an_infinite_loop_hits_the_cpu_limit():
    started = time.monotonic()
    result = await sandbox_run(code="while True:\n    pass", limits=LIMITS)
    assert result.limit == "cpu_time"
    assert "Error: the code ran past its 1-second CPU time limit and was stopped." in result.logs
    assert time.monotonic() - started < 4


async def test_code_that_ignores_the_soft_cpu_limit_is_killed_at_the_hard_one():
    code = "import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\nwhile True:\n    pass"
    result = await sandbox_run(code=code, limits=LIMITS)
    assert result.limit == "killed"
    assert result.logs.endswith(
        "Error: the code was killed by the system: at its 1-second CPU time limit, "
        "or because the machine ran out of memory."
    )


def _processes(marker: bytes) -> list[int]:
    """Live processes whose command line contains `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
        except OSError:
            continue
        if marker in cmdline and not _gone(int(entry)):
            found.append(int(entry))
    return found


@pytest.mark.parametrize("mode", ["full", "net", ""], ids=["namespaces", "net-ns", "hook-only"])
async def test_a_sleeping_loop_hits_the_wall_clock_limit(mode, monkeypatch, scratch_root):
    _isolation(mode, monkeypatch)
    limits = SandboxLimits(cpu_seconds=5, wall_seconds=1, memory_mb=256, output_bytes=4096)
    # Markers of this test's own processes only: another test run on the machine has
    # sandboxes (and sleeps) of its own. The sandbox's command line holds its scratch path.
    own_sandbox = str(scratch_root / "localai-sandbox-").encode()
    in_group, escaping = f"31.{os.getpid()}1", f"31.{os.getpid()}2"
    # A child in the group, and one that leaves it (setsid): only the PID namespace of the
    # "full" isolation ends the second.
    code = (
        "import subprocess, time\n"
        f"subprocess.Popen(['sleep', '{in_group}'])\n"
        f"subprocess.Popen(['setsid', 'sleep', '{escaping}'])\n"
        "while True:\n    time.sleep(0.1)"
    )
    result = await sandbox_run(code=code, limits=limits)
    assert result.limit == "wall_time"
    assert result.logs.endswith("Error: the code ran past its 1-second time limit and was stopped.")
    for _ in range(60):  # the kernel takes a moment to end a namespace's processes
        if not _processes(own_sandbox) + _processes(in_group.encode()):
            break
        await asyncio.sleep(0.05)
    assert not _processes(own_sandbox)
    assert not _processes(in_group.encode())
    escaped = _processes(escaping.encode())
    for pid in escaped:
        os.kill(pid, 9)
    assert not escaped if mode == "full" else True


async def test_a_memory_bomb_hits_the_memory_limit():
    result = await sandbox_run(
        code="blocks = []\nwhile True:\n    blocks.append(' ' * 10_000_000)", limits=LIMITS
    )
    assert result.limit == "memory"
    assert "MemoryError" in result.logs
    assert result.logs.endswith(
        "Error: the code ran past its memory limit (256 MB) and was stopped."
    )


def _isolation(mode: str, monkeypatch) -> None:
    """Runs the sandbox in `mode` (see sandbox.isolation), if the machine allows it."""
    available = sandbox.isolation()
    if mode and (available == "" or (mode == "full" and available != "full")):
        pytest.skip(f"the {mode!r} isolation does not work on this machine")
    monkeypatch.setattr(sandbox, "isolation", lambda: mode)


@pytest.mark.parametrize("mode", ["full", "net", ""], ids=["namespaces", "net-ns", "hook-only"])
async def test_network_calls_are_refused(mode, monkeypatch):
    _isolation(mode, monkeypatch)
    connect = "import socket\nsocket.create_connection(('93.184.216.34', 80), timeout=2)"
    result = await sandbox_run(code=connect, limits=LIMITS)
    assert result.limit == "network"
    assert f"NetworkAccessDisabled: {NETWORK_REFUSED}" in result.logs
    assert result.logs.endswith(f"Error: {NETWORK_REFUSED}")
    lookup = "import urllib.request\nurllib.request.urlopen('http://example.com', timeout=2)"
    result = await sandbox_run(code=lookup, limits=LIMITS)
    assert result.limit == "network"
    assert result.logs.endswith(f"Error: {NETWORK_REFUSED}")
    # Local socket pairs (asyncio's event loop needs one) still work.
    result = await sandbox_run(
        code="import asyncio\nasync def f():\n    return 42\nprint(asyncio.run(f()))",
        limits=LIMITS,
    )
    assert result.ok
    assert result.logs == "42\n"


async def test_huge_output_is_cut_with_a_note():
    # The output limit under test, not the CPU one: 200,000 prints can take more than the
    # 1 s of LIMITS on a busy machine.
    limits = SandboxLimits(cpu_seconds=10, wall_seconds=20, memory_mb=256, output_bytes=4096)
    result = await sandbox_run(
        code="for i in range(200_000):\n    print('line', i)\nprint('done')", limits=limits
    )
    assert result.limit == "output"
    assert result.exit_status == 0
    assert len(result.logs.encode()) < LIMITS.output_bytes + 200
    assert result.logs.startswith("line 0\nline 1\n")
    assert result.logs.endswith("Note: the output was cut at 4096 bytes; the rest was discarded.")


async def test_a_traceback_is_shown_as_python_prints_it():
    result = await sandbox_run(code="def f():\n    return 1 / 0\n\nf()", limits=LIMITS)
    assert result.exit_status == 1
    assert result.limit is None
    lines = result.logs.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert '  File "<code>", line 4, in <module>' in lines
    assert "ZeroDivisionError: division by zero" in lines
    assert lines[-1] == "Error: the code stopped with ZeroDivisionError: division by zero."
    assert "runner.py" not in result.logs
    exited = await sandbox_run(code="import sys\nsys.exit(3)", limits=LIMITS)
    assert exited.exit_status == 3
    assert exited.logs == "Error: the code exited with status 3."


async def test_input_files_are_readable_and_produced_files_come_back():
    code = (
        "rows = open('data.csv').read().splitlines()\n"
        "print(len(rows), 'rows')\n"
        "open('summary.txt', 'w').write(rows[-1])\n"
        "open('data.csv', 'a').write('4,5\\n')\n"
        "same = open('untouched.txt').read()\n"
        "open('untouched.txt', 'w').write(same)\n"
        "import os\nos.symlink('/etc/passwd', 'passwd')\n"
    )
    result = await sandbox_run(
        code=code,
        files=[("data.csv", b"a,b\n1,2\n"), ("../untouched.txt", b"same")],
        limits=LIMITS,
    )
    assert result.logs == "2 rows\n"
    produced = {file.name: file for file in result.files}
    # New and changed files; not the unchanged one, not the symlink.
    assert set(produced) == {"data.csv", "summary.txt"}
    assert produced["summary.txt"].content == b"1,2"
    assert produced["data.csv"].content == b"a,b\n1,2\n4,5\n"
    assert produced["summary.txt"].mime == "text/plain"


async def test_a_matplotlib_plot_returns_a_png():
    pytest.importorskip("matplotlib")
    limits = SandboxLimits(cpu_seconds=10, wall_seconds=20, memory_mb=1024, output_bytes=4096)
    code = (
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2, 3], [2, 4, 1])\n"
        "plt.show()\n"
        "plt.figure()\n"
        "plt.bar(['a', 'b'], [3, 5])\n"
    )
    result = await sandbox_run(code=code, limits=limits)
    assert result.ok, result.logs
    # plt.show() saves the open figure; one left open at the end is saved too.
    assert [file.name for file in result.files] == ["figure_1.png", "figure_2.png"]
    for file in result.files:
        assert file.content.startswith(PNG_MAGIC)
        assert file.mime == "image/png"
        assert file.is_image


async def test_a_figure_the_code_saved_itself_is_not_saved_twice():
    pytest.importorskip("matplotlib")
    limits = SandboxLimits(cpu_seconds=10, wall_seconds=20, memory_mb=1024, output_bytes=4096)
    code = (
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2, 3], [2, 4, 1])\n"
        "plt.savefig('chart.png')\n"
    )
    result = await sandbox_run(code=code, limits=limits)
    assert result.ok, result.logs
    assert [file.name for file in result.files] == ["chart.png"]


async def test_runs_past_the_concurrency_limit_wait_their_turn(settings):
    settings.LOCAL_PROVIDER_SANDBOX_CONCURRENCY = 1
    code = "import time\nprint(time.time())\ntime.sleep(0.4)\nprint(time.time())\n"

    first, second = await asyncio.gather(
        sandbox_run(code=code, limits=LIMITS), sandbox_run(code=code, limits=LIMITS)
    )

    spans = sorted(tuple(map(float, r.logs.split())) for r in (first, second))
    assert spans[1][0] >= spans[0][1], spans  # the second began after the first ended


async def test_the_environment_is_minimal_and_the_scratch_directory_private(scratch_root):
    code = (
        "import os, sys\n"
        "print(sorted(os.environ))\n"
        "print(os.getcwd())\n"
        "print('matplotlib' in sys.modules)\n"
    )
    os.environ["LOCALAI_SECRET_FOR_TEST"] = "s3cret"
    try:
        result = await sandbox_run(code=code, limits=LIMITS)
    finally:
        del os.environ["LOCALAI_SECRET_FOR_TEST"]
    names, cwd, matplotlib_loaded = result.logs.splitlines()
    assert "LOCALAI_SECRET_FOR_TEST" not in names
    assert "'MPLBACKEND'" in names
    assert cwd.startswith(str(scratch_root / "localai-sandbox-"))
    assert cwd.endswith("/data")
    # matplotlib is patched only when the code imports it.
    assert matplotlib_loaded == "False"


async def test_a_file_past_the_size_limit_stops_the_code():
    limits = SandboxLimits(
        cpu_seconds=5, wall_seconds=10, memory_mb=512, output_bytes=4096, file_bytes=1 << 20
    )
    result = await sandbox_run(code="open('big.bin', 'wb').write(b'x' * (2 << 20))", limits=limits)
    assert result.limit == "file_size"
    assert "OSError: [Errno 27] File too large" in result.logs
    assert result.logs.endswith(
        "Error: the code tried to write a file larger than its 1 MB limit and was stopped."
    )


async def test_proc_and_the_sites_data_are_hidden_in_the_namespaces(
    settings, monkeypatch, tmp_path_factory
):
    _isolation("full", monkeypatch)
    # The site's data as a fresh checkout lays it out: media inside VAR_DIR (hidden with it).
    var_dir = tmp_path_factory.mktemp("var")
    (var_dir / "db.sqlite3").write_bytes(b"site data")
    (var_dir / "media").mkdir()
    settings.VAR_DIR, settings.MEDIA_ROOT = var_dir, var_dir / "media"
    code = (
        "import os, sys\n"
        "print(sorted(int(name) for name in os.listdir('/proc') if name.isdigit()))\n"
        f"print(os.listdir({str(var_dir)!r}))\n"
        "import subprocess\n"
        "print(subprocess.run(['echo', 'child'], capture_output=True, text=True).stdout)\n"
    )
    result = await sandbox_run(code=code, limits=LIMITS)
    assert result.ok, result.logs
    processes, data, child = result.logs.splitlines()[:3]
    # Only the run's own processes: sh (PID 1), Python, and the echo just gone.
    assert len(json.loads(processes)) <= 3
    assert str(os.getpid()) not in processes
    assert data == "[]"
    assert child == "child"


@pytest.mark.parametrize("mode", ["full", ""], ids=["namespaces", "hook-only"])
async def test_a_background_process_does_not_hold_the_run(mode, monkeypatch):
    _isolation(mode, monkeypatch)
    sleeper = f"27.{os.getpid()}"  # this run's own: other runs on the machine sleep too
    code = f"import subprocess\nsubprocess.Popen(['sleep', '{sleeper}'])\nprint('bye')"
    result = await sandbox_run(code=code, limits=LIMITS)
    assert result.ok
    assert result.logs == "bye\n"
    assert result.duration < 3
    for _ in range(60):
        if not _processes(sleeper.encode()):
            break
        await asyncio.sleep(0.05)
    assert not _processes(sleeper.encode())
