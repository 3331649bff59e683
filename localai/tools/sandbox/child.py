"""The sandbox's child program: copied into the scratch directory and run as
`python -I -u <scratch>/meta/runner.py <config JSON>` (see run.py); never imported.

It sets the limits, installs the network refusal and the matplotlib patch, runs the code,
and reports how it ended in a status file (the code could overwrite it: it only changes the
code's own error message). It imports nothing but the standard library, and `socket` not at
all before the code does.
"""

import json
import os
import resource
import sys
import traceback

# socket.AF_UNIX, without importing socket before the code does.
_UNIX = 1
_NETWORK_EVENTS = (
    "socket.connect",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyaddr",
    "socket.sendto",
    "socket.sendmsg",
    "socket.bind",
    "socket.getnameinfo",
)


class NetworkAccessDisabled(PermissionError):
    pass


# Set by main(): the run's configuration, and the message a refused network call raises.
_config: dict = {}
_refused = [False]
_figures = [0]
# Figures the code saved itself (savefig): at the end they are not saved a second time.
_saved_by_code: set[int] = set()


def _limit(kind, soft, hard=None):
    try:
        resource.setrlimit(kind, (soft, soft if hard is None else hard))
    except (ValueError, OSError):
        pass


def _audit(event, args):
    if event == "socket.__new__":
        if args[1] == _UNIX:
            return
    elif event not in _NETWORK_EVENTS:
        return
    # Remembered: libraries often wrap the error in their own (urllib's URLError).
    _refused[0] = True
    raise NetworkAccessDisabled(_config["network_refused"])


def _save_figures(unsaved_only=False):
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return
    for number in pyplot.get_fignums():
        if unsaved_only and id(pyplot.figure(number)) in _saved_by_code:
            continue
        _figures[0] += 1
        name = f"figure_{_figures[0]}.png"
        while os.path.exists(name):
            _figures[0] += 1
            name = f"figure_{_figures[0]}.png"
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


def main():
    _config.update(json.loads(sys.argv[1]))
    reserve = bytearray(1 << 20)  # freed on MemoryError, so the report itself can be made

    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_CPU, _config["cpu_seconds"], _config["cpu_seconds"] + 1)
    _limit(resource.RLIMIT_AS, _config["memory_bytes"])
    _limit(resource.RLIMIT_FSIZE, _config["file_bytes"])
    _limit(resource.RLIMIT_NOFILE, _config["open_files"])
    sys.addaudithook(_audit)
    sys.meta_path.insert(0, _PyplotHook())
    sys.path.insert(0, os.getcwd())

    with open(_config["code_path"], encoding="utf-8") as handle:
        source = handle.read()
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        exec(compile(source, "<code>", "exec"), namespace)
        _save_figures(unsaved_only=True)
    except MemoryError as error:
        del reserve
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
        _report("error", f"{type(error).__name__}: {error}".rstrip(": "))
        sys.exit(1)
    _report("ok")


if __name__ == "__main__":
    main()
