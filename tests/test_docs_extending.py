"""docs/extending.md cannot rot: each section's Python blocks run in order, as one module, with the template
files the section shows written beside it; its entry point tables name groups gameday really loads."""

from __future__ import annotations

import re
import sys
import tomllib
import types
from pathlib import Path

import pytest

from gameday.contracts import FAULTS_GROUP, OBSERVERS_GROUP, PROBES_GROUP, REPORT_SECTIONS_GROUP
from gameday.faults.credentials import BACKENDS_GROUP
from gameday.platforms.registry import ENTRY_POINT_GROUP as PLATFORMS_GROUP

DOC = Path(__file__).resolve().parents[1] / "docs" / "extending.md"
GROUPS = {FAULTS_GROUP, PLATFORMS_GROUP, PROBES_GROUP, OBSERVERS_GROUP, REPORT_SECTIONS_GROUP, BACKENDS_GROUP}


def sections() -> dict[str, list[tuple[str, str, str]]]:
    """``## title`` -> its fenced blocks as (language, file name after the language, code); a ``## `` line
    inside a block (a template's own heading) is code, not a section."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    title, fence = "", None
    block: list[str] = []
    for line in DOC.read_text(encoding="utf-8").splitlines(keepends=True):
        if fence is None and line.startswith("## "):
            title = line[3:].strip()
            found[title] = []
        elif fence is None and line.startswith("```"):
            info = line[3:].split()
            fence, block = (info[0] if info else "", info[1] if len(info) > 1 else ""), []
        elif fence is not None and line.rstrip() == "```":
            found.setdefault(title, []).append((*fence, "".join(block)))
            fence = None
        elif fence is not None:
            block.append(line)
    assert fence is None, "an unclosed code block"
    return found


SECTIONS = sections()
RUNNABLE = [title for title, blocks in SECTIONS.items() if any(lang == "python" for lang, _, _ in blocks)]


def test_the_page_shows_each_kind_of_plugin_with_a_runnable_example() -> None:
    assert {"A fault kind", "A platform", "A probe kind", "An observer", "A report section",
            "How a plugin is found and checked"} <= set(RUNNABLE)


@pytest.mark.parametrize("title", RUNNABLE)
def test_the_examples_run(title: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    name = "extending_" + re.sub(r"\W+", "_", title.lower()).strip("_")
    module = types.ModuleType(name)
    module.__file__ = str(tmp_path / f"{name}.py")  # a section's templates/ folder is found beside its module
    monkeypatch.setitem(sys.modules, name, module)  # entry points name classes as f"{__name__}:Class"
    for _, filename, code in SECTIONS[title]:
        if filename:
            (tmp_path / filename).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / filename).write_text(code, encoding="utf-8")
    for lang, _, code in SECTIONS[title]:
        if lang == "python":
            exec(compile(code, f"{DOC}: {title}", "exec"), module.__dict__)  # the page's own examples


@pytest.mark.parametrize("title", [t for t, blocks in SECTIONS.items() if any(lang == "toml" for lang, _, _ in blocks)])
def test_entry_points_are_declared_in_groups_gameday_loads_naming_the_sections_classes(title: str) -> None:
    python = "\n".join(code for lang, _, code in SECTIONS[title] if lang == "python")
    for lang, _, code in SECTIONS[title]:
        if lang != "toml":
            continue
        groups = tomllib.loads(code)["project"]["entry-points"]
        assert set(groups) <= GROUPS
        for entries in groups.values():
            for value in entries.values():
                attribute = value.partition(":")[2]
                assert re.search(rf"^class {attribute}\b", python, re.M), f"{value}: no such class on the page"
