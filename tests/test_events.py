"""The event catalogue (gameday/events.py) is the one place timeline kinds are declared.

Read from the source with ``ast``, so a kind written in a code path no test runs is still checked.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gameday import events as ev
from gameday.timeline import Event

SRC = Path(ev.__file__).parent
CATALOGUE_FILE = SRC / "events.py"
WRITE_METHODS = {"record", "_emit"}
"""Methods whose first argument is a timeline kind: ``Timeline.record``, ``DrillRecorder.record``, the load
observer's ``_emit``."""


@dataclass(frozen=True)
class WriteSite:
    path: Path
    line: int
    kinds: tuple[str, ...]
    keys: tuple[str, ...]
    """Detail keys given as literal keywords (``**details`` is not followed)."""

    def where(self) -> str:
        return f"{self.path.relative_to(SRC.parent)}:{self.line}"


def _sources() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(SRC.rglob("*.py")):
        if "stack/files" not in path.as_posix():  # the demo stack's own code, shipped into containers
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}


def _enclosing_function(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> ast.FunctionDef | None:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef):
            return node
    return None


class Unresolved(Exception):
    pass


def _kinds_of(expr: ast.expr, function: ast.FunctionDef | None) -> tuple[str, ...]:
    """The kind strings an expression can be; () for a parameter passed through (its callers are checked)."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return (expr.value,)
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "ev":
        return (getattr(ev, expr.attr),)
    if isinstance(expr, ast.IfExp):
        return _kinds_of(expr.body, function) + _kinds_of(expr.orelse, function)
    if isinstance(expr, ast.Name) and function is not None:
        params = {a.arg for a in function.args.posonlyargs + function.args.args + function.args.kwonlyargs}
        if expr.id in params:
            return ()
        assigned = [n.value for n in ast.walk(function) if isinstance(n, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == expr.id for t in n.targets)]
        loops = [n for n in ast.walk(function) if isinstance(n, ast.For)
                 and any(isinstance(t, ast.Name) and t.id == expr.id for t in ast.walk(n.target))]
        if assigned:
            return tuple(k for value in assigned for k in _kinds_of(value, function))
        if loops:
            return ()  # a kind a driver returns from observations(): checked where the driver returns it
    raise Unresolved(ast.unparse(expr))


def _write_sites() -> list[WriteSite]:
    sites = []
    for path, tree in _sources():
        if path == CATALOGUE_FILE:
            continue
        parents = _parents(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in WRITE_METHODS and node.args \
                    and not (isinstance(node.func.value, ast.Name) and node.func.value.id == "history"):
                function = _enclosing_function(node, parents)
                try:
                    kinds = _kinds_of(node.args[0], function)
                except Unresolved as exc:
                    raise AssertionError(f"{path}:{node.lineno}: cannot tell which kind {exc} is") from None
                keys = tuple(k.arg for k in node.keywords if k.arg not in (None, "actor"))
                sites.append(WriteSite(path, node.lineno, kinds, keys))
            # A fault driver's observations(handle, phase) returns [(kind, details), ...].
            if isinstance(node, ast.FunctionDef) and node.name == "observations":
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Tuple) and len(ret.elts) == 2 and isinstance(ret.elts[1], ast.Dict):
                        keys = tuple(k.value for k in ret.elts[1].keys if isinstance(k, ast.Constant) and isinstance(k.value, str))
                        sites.append(WriteSite(path, ret.lineno, _kinds_of(ret.elts[0], node), keys))
    return sites


WRITE_SITES = _write_sites()
WRITTEN = {kind for site in WRITE_SITES for kind in site.kinds}


def test_every_kind_written_in_src_is_declared_in_the_catalogue() -> None:
    undeclared = [f"{site.where()}: {kind}" for site in WRITE_SITES for kind in site.kinds
                  if kind not in ev.CATALOGUE]
    assert not undeclared, "kinds written but not declared in gameday/events.py:\n" + "\n".join(undeclared)


def test_every_declared_kind_is_written_somewhere() -> None:
    assert len(WRITE_SITES) > 80  # the walk found the record calls at all
    unwritten = sorted(set(ev.CATALOGUE) - WRITTEN)
    assert not unwritten, f"declared in gameday/events.py but written nowhere in src: {unwritten}"


def test_every_detail_key_written_is_documented_with_its_kind() -> None:
    undocumented = [f"{site.where()}: {kind} {key}" for site in WRITE_SITES for kind in site.kinds
                    for key in site.keys
                    if kind in ev.CATALOGUE and key not in ev.CATALOGUE[kind].details and key not in ev.DRILL_CONTEXT]
    assert not undocumented, "detail keys not documented in gameday/events.py:\n" + "\n".join(undocumented)


def _docstrings(tree: ast.Module) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            out.add(id(node.value))
    return out


def test_code_uses_the_declared_names_never_a_free_kind_string() -> None:
    """``e.kind == "fault.injected"`` drifts from the catalogue unseen; ``ev.FAULT_INJECTED`` cannot."""
    free = []
    for path, tree in _sources():
        if path == CATALOGUE_FILE:
            continue
        docs = _docstrings(tree)
        in_fstrings = {id(n) for j in ast.walk(tree) if isinstance(j, ast.JoinedStr) for n in ast.walk(j)}
        free += [f"{path.relative_to(SRC.parent)}:{n.lineno}: {n.value!r}" for n in ast.walk(tree)
                 if isinstance(n, ast.Constant) and n.value in ev.CATALOGUE
                 and id(n) not in docs and id(n) not in in_fstrings]
    assert not free, "use the names in gameday/events.py:\n" + "\n".join(free)


def test_module_docstrings_point_at_the_catalogue_instead_of_listing_kinds() -> None:
    listing = re.compile(r"^\s+([a-z_]+\.[a-z_]+)\s+\[", re.MULTILINE)  # "    fault.injected  [fault, kind, ...]"
    found = []
    for path, tree in _sources():
        doc = ast.get_docstring(tree) or ""
        found += [f"{path.relative_to(SRC.parent)}: {m.group(1)}" for m in listing.finditer(doc)
                  if m.group(1) in ev.CATALOGUE]
    assert not found, "kinds listed with their details outside gameday/events.py:\n" + "\n".join(found)


def test_kinds_the_report_templates_compare_are_declared() -> None:
    templates = sorted((SRC / "report" / "templates").glob("*.j2"))
    assert templates
    named = {m.group(1) for t in templates
             for m in re.finditer(r"kind == [\"']([a-z_]+\.[a-z_]+)[\"']", t.read_text(encoding="utf-8"))}
    assert named and named <= set(ev.CATALOGUE), named - set(ev.CATALOGUE)


def test_each_declared_name_is_its_on_disk_string() -> None:
    """Old timelines still load and score: the constants are the strings they always were."""
    names = {k: v for k, v in vars(ev).items() if k.isupper() and not k.startswith("_") and isinstance(v, str)}
    assert set(names.values()) == set(ev.CATALOGUE)
    assert all(name == value.upper().replace(".", "_") for name, value in names.items())
    assert ev.FAULT_INJECTED == "fault.injected" and ev.STATUS_UPDATE_SENT == "status_update.sent"


def test_the_human_side_is_what_people_and_the_facilitator_write_not_the_runbook_verdict() -> None:
    assert ev.RUNBOOK_JUDGED not in ev.HUMAN_KINDS  # the harness judges a runbook; nobody acted
    assert ev.RUNBOOK_STEP in ev.HUMAN_KINDS and ev.INCIDENT_ACKNOWLEDGED in ev.HUMAN_KINDS
    assert ev.FAULT_INJECTED not in ev.HUMAN_KINDS and ev.ALERT_FIRING not in ev.HUMAN_KINDS
    assert ev.TABLETOP_PAUSED in ev.HUMAN_KINDS and ev.TABLETOP_RESUMED in ev.HUMAN_KINDS  # the facilitator's
    assert len(ev.HUMAN_KINDS) == 22


def test_every_kind_the_drill_recorder_writes_is_on_the_human_side() -> None:
    """What goes through ``DrillRecorder`` carries the drill context, which HUMAN_KINDS promises."""
    recorder_sites = [site for site in WRITE_SITES if "facilitator" in site.path.parts
                      and site.path.name in ("core.py", "session.py", "scripted.py", "loop.py", "pause.py")]
    assert recorder_sites
    not_human = {k for site in recorder_sites for k in site.kinds} - ev.HUMAN_KINDS
    assert not_human <= {ev.OBSERVER_FAILED}, not_human  # a responder's failure is the harness's record


def _event(offset: float, kind: str, **details: object) -> Event:
    return Event(at="2026-01-01T00:00:00.000Z", offset=offset, kind=kind, details=dict(details))


def test_first_and_last_find_the_earliest_and_latest_event_of_any_kind_given() -> None:
    events = [_event(0, ev.RUN_STARTED), _event(1, ev.SEVERITY_DECLARED, severity="SEV3"),
              _event(2, ev.SEVERITY_DECLARED, severity="SEV1"), _event(3, ev.RECOVERY_FAILED)]
    first, last = ev.first(events, ev.SEVERITY_DECLARED), ev.last(events, ev.SEVERITY_DECLARED)
    assert first is not None and first.details["severity"] == "SEV3"
    assert last is not None and last.details["severity"] == "SEV1"
    recovered = ev.first(events, ev.RECOVERY_MET, ev.RECOVERY_FAILED)
    assert recovered is not None and recovered.offset == 3
    assert ev.first(events, ev.RUN_FINISHED) is None and ev.last([], ev.RUN_FINISHED) is None


def test_a_kind_cannot_be_declared_twice() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        ev._declare(ev.FAULT_INJECTED, actor="harness", writer="x", doc="again")


def test_the_fixture_drills_timeline_uses_only_declared_kinds_and_documented_details() -> None:
    """A timeline written by an earlier version: what ``**details`` spreads, the AST walk cannot see."""
    from gameday.timeline import read_timeline

    events = read_timeline(Path(__file__).parent / "scoring" / "fixtures" / "drill-timeline.jsonl")
    assert len({e.kind for e in events}) > 20
    assert ev.undocumented(events) == []


def test_undocumented_names_an_unknown_kind_and_an_undocumented_detail() -> None:
    events = [_event(0, "made.up"), _event(1, ev.FAULT_FAILED, fault="f", error="x", extra=1),
              _event(2, ev.INCIDENT_MITIGATED, drill=True, t_s=1.0, mode="live")]
    assert ev.undocumented(events) == ["fault.failed: details extra not documented", "made.up: not in the catalogue"]
