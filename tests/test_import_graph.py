"""The import graph of src/gameday has no cycles, and the core never imports a plugin.

Read from the source (an AST walk), not from an interpreter, so the whole package is covered whatever a
test happened to import. Counted: imports a module runs when it is imported, i.e. at module level and in
class bodies, including under ``try``/``if``; importing ``a.b.c`` runs ``a`` and ``a.b`` too, so those
count. Left out: imports inside functions (they run when called; the CLI uses them to start fast, and a
function-level import cannot deadlock module initialisation) and imports under ``if TYPE_CHECKING:``
(never run). For the engine the stricter rule holds too: not even a function imports a plugin.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

CORE = ("gameday.engine", "gameday.scenario", "gameday.scoring", "gameday.report", "gameday.timeline",
        "gameday.contracts", "gameday.plugins", "gameday.errors", "gameday.clock")
"""Packages and modules that depend on contracts only. report.sections are plugins, not core."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in (SRC / "gameday").rglob("*.py")}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(body: list[ast.stmt], *, functions: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _type_checking(node):
            continue
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if functions:
                yield from _imports(node.body, functions=True)
        elif isinstance(node, ast.ClassDef):
            yield from _imports(node.body, functions=functions)
        else:  # if / try / with / for bodies run at import time
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, field, []):
                    yield from _imports([child] if isinstance(child, ast.stmt) else child.body, functions=functions)


def imported(name: str, *, functions: bool = False) -> set[str]:
    """The gameday modules importing ``name`` runs (with ``functions``: also those its functions import)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _imports(ast.parse(path.read_text()).body, functions=functions):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, *([node.module] if node.module else [])])
        targets.add(base)
        targets.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    runs: set[str] = set()
    for target in targets:
        parts = target.split(".")
        runs.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))  # a.b.c runs a and a.b first
    own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 2)}
    return {m for m in runs if m in MODULES and m not in own}


def plugin_modules() -> set[str]:
    """Modules registered in a gameday.* entry point group of pyproject.toml (built-ins register as plugins do)."""
    groups = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    return {target.split(":")[0] for group, eps in groups.items() if group.startswith("gameday.")
            for target in eps.values()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_walk_sees_the_imports_it_should() -> None:
    """The checks below mean something only if the walk finds real edges (and skips what it should)."""
    assert "gameday.contracts" in imported("gameday.engine.run")
    assert "gameday.scenario" in imported("gameday.engine.run")  # via gameday.scenario.model: the package runs
    assert "gameday.scoring.scorecard" not in imported("gameday.contracts")  # TYPE_CHECKING only
    assert "gameday.report.render" not in imported("gameday.cli.main")  # inside a function
    assert "gameday.report.render" in imported("gameday.cli.main", functions=True)
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_the_import_graph_has_no_cycles() -> None:
    graph = {name: imported(name) for name in MODULES}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_contracts_is_a_leaf_of_the_package() -> None:
    assert imported("gameday.contracts") <= {"gameday"}


def test_the_core_never_imports_a_plugin_module_at_module_level() -> None:
    plugins = plugin_modules()
    assert {"gameday.faults.docker", "gameday.observe.load", "gameday.report.sections.alerts"} <= plugins
    core = [m for m in MODULES if m.startswith(CORE) and m not in plugins and not m.startswith("gameday.report.sections")]
    offending = {m: sorted(imported(m) & plugins) for m in core if imported(m) & plugins}
    assert offending == {}


def test_the_engine_never_imports_a_plugin_module_even_inside_a_function() -> None:
    plugins = plugin_modules()
    engine = [m for m in MODULES if m.startswith("gameday.engine") and m not in plugins]
    offending = {m: sorted(imported(m, functions=True) & plugins) for m in engine
                 if imported(m, functions=True) & plugins}
    assert offending == {}


def third_party_imported(name: str) -> set[str]:
    """The top-level packages outside gameday that ``name`` imports anywhere (functions too)."""
    found: set[str] = set()
    for node in _imports(ast.parse(MODULES[name].read_text()).body, functions=True):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found - {"gameday"}


def test_the_kubernetes_client_is_imported_only_by_the_kubernetes_platform() -> None:
    """lightkube (and its HTTP library) costs import time and memory; only gameday.kubernetes pays it."""
    assert "lightkube" in third_party_imported("gameday.kubernetes.client")
    offending = {m for m in MODULES if {"lightkube", "httpx2"} & third_party_imported(m)
                 and not (m == "gameday.kubernetes" or m.startswith("gameday.kubernetes."))}
    assert offending == set()


def test_the_drill_room_is_a_front_end_nothing_else_imports() -> None:
    """The room (issue 18) drives the one drill core; the core, the engine and the terminal never import it,
    and its web libraries (the optional ``room`` extra) are imported by gameday.room and the room command only."""
    importers = {m for m in MODULES if not m.startswith("gameday.room")
                 and any(i == "gameday.room" or i.startswith("gameday.room.") for i in imported(m, functions=True))}
    assert importers == {"gameday.cli.room_commands"}
    assert "starlette" in third_party_imported("gameday.room.app")
    web = {m for m in MODULES if {"starlette", "uvicorn"} & third_party_imported(m)}
    assert web <= {"gameday.room.app", "gameday.room.serve"}


def test_the_full_screen_toolkit_is_imported_only_by_the_facilitators_screen() -> None:
    """prompt_toolkit (about 0.1 s and 15 MB) is for a person at a terminal: only cli/drill_screen.py imports
    it, and only `gameday facilitate` at a terminal imports that (tests/cli/test_startup_imports.py)."""
    assert "prompt_toolkit" in third_party_imported("gameday.cli.drill_screen")
    offending = {m for m in MODULES if "prompt_toolkit" in third_party_imported(m) and m != "gameday.cli.drill_screen"}
    assert offending == set()
