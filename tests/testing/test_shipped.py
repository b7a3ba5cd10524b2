"""gameday.testing ships with the package, and nothing else in gameday depends on it."""

from __future__ import annotations

import ast
from pathlib import Path

import gameday
import gameday.testing

SRC = Path(gameday.__file__).parent


def test_no_module_outside_gameday_testing_imports_it() -> None:
    importers = []
    for path in SRC.rglob("*.py"):
        if path.is_relative_to(SRC / "testing"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or "", *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            importers += [f"{path.relative_to(SRC)}:{node.lineno}" for n in names
                          if n == "gameday.testing" or n.startswith("gameday.testing.")]
    assert importers == []


def test_every_name_it_exports_is_there() -> None:
    missing = [name for name in gameday.testing.__all__ if not hasattr(gameday.testing, name)]
    assert missing == []
    assert (SRC / "py.typed").is_file()  # users' type checkers read its annotations (PEP 561)
