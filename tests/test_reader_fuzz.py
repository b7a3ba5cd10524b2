"""Property-based fuzzing of what reads a run's leftovers (issue 13): the timeline (then `score` and `report`),
the fault journal (what `gameday cleanup` scans) and the history database.

Each reader either reads what it is given or says in one line what is wrong (naming the file and line, or the
database, run and column); none raises anything else, and none hangs. Derandomized, with no example database,
so every CI run tries the same cases; the budget keeps the module well under a minute.
"""

from __future__ import annotations

import json
import math
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gameday.engine.journal import scan_journal
from gameday.errors import GamedayError
from gameday.history.store import History
from gameday.report.render import render_run
from gameday.scoring.scorecard import score
from gameday.timeline import read_timeline
from tests.timeline_mutations import FIXTURE, fields, with_field

FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=100,
                suppress_health_check=[HealthCheck.too_slow])

LINES = FIXTURE.read_text(encoding="utf-8").splitlines()
EVENTS = [json.loads(line) for line in LINES]
FIELDS = list(fields())

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats()
           | st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=6), inner, max_size=3), max_leaves=8)


def one_line(message: str) -> bool:
    return "\n" not in message and len(message) < 2000


def refusal(read: Callable[[], object]) -> str | None:
    """What ``read`` refused with (a GamedayError's one line), or None when it read; anything else propagates."""
    try:
        read()
    except GamedayError as exc:
        return str(exc)
    return None


def read_score_render(folder: Path) -> None:
    """What `gameday report` does after finding the folder; only GamedayError may leave it."""
    started = time.monotonic()
    timeline = folder / "timeline.jsonl"
    refused = refusal(lambda: read_timeline(timeline))
    if refused is not None:
        assert refused.startswith(f"{timeline}:") and one_line(refused), refused
        return
    score(read_timeline(timeline))
    refused = refusal(lambda: render_run(folder))
    assert refused is None or one_line(refused), refused
    assert time.monotonic() - started < 20  # refused, not hung: generous for a busy machine


@FUZZ
@given(field=st.sampled_from(FIELDS), value=values)
def test_a_timeline_with_any_one_field_changed_is_read_or_refused_in_one_line(field: tuple[int, Any],
                                                                              value: Any) -> None:
    index, path = field
    lines = list(LINES)
    lines[index] = json.dumps(with_field(EVENTS[index], path, value))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "timeline.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        read_score_render(Path(tmp))


@FUZZ
@given(index=st.integers(min_value=0, max_value=len(LINES) - 1),
       junk=st.binary(max_size=40) | st.sampled_from([b"[" * 100_000, b'{"a": ' * 5_000, b"NaN", b"1e999"]))
def test_a_timeline_with_any_line_replaced_by_junk_is_refused_at_that_line(index: int, junk: bytes) -> None:
    lines = [line.encode() for line in LINES]
    lines[index] = junk.replace(b"\n", b" ")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "timeline.jsonl").write_bytes(b"\n".join(lines) + b"\n")
        read_score_render(Path(tmp))


journal_records = st.fixed_dictionaries(
    {"op": st.sampled_from(["intent", "injected", "reverted", "revert_failed", "closed"]) | values},
    optional={"fault_id": st.text(max_size=4) | values, "handle": values | st.fixed_dictionaries(
        {"kind": st.text(max_size=4), "target": st.text(max_size=4)}, optional={"data": values}),
        "pid": values, "deadline_monotonic": values, "run_id": values})
journal_lines = st.lists(journal_records.map(lambda r: json.dumps(r).encode()) | st.binary(max_size=30)
                         | st.just(b"[" * 100_000), max_size=8)


@FUZZ
@given(lines=journal_lines, torn=st.binary(max_size=10))
def test_scanning_any_journal_never_raises(lines: list[bytes], torn: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.jsonl"
        path.write_bytes(b"".join(line.replace(b"\n", b" ") + b"\n" for line in lines) + torn.replace(b"\n", b""))
        scan = scan_journal(path)  # documented never to raise: `gameday cleanup` depends on it
    assert all(p.startswith(str(path)) and one_line(p) for p in scan.problems)
    for fault in scan.pending:
        assert isinstance(fault.handle.kind, str) and isinstance(fault.handle.target, str)
        assert fault.deadline_monotonic is None or math.isfinite(fault.deadline_monotonic)


cells = (st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.floats() | st.text(max_size=10)
         | st.binary(max_size=4) | values.map(json.dumps) | st.sampled_from(["2026-10-01T10:00:00Z", "{}", "[]"]))
COLUMNS = ("run_id", "scenario", "stack", "category", "started_at", "duration_s", "severity_expected",
           "severity_declared", "outcome", "passed", "exit_code", "metrics", "scores", "report_path")


GOOD_ROW = ("r1", "s", "demo", "latency", "2026-10-01T10:00:00.000Z", 60.0, "SEV2", None, "passed", 1, 0,
            '{"time_to_detect": 30.0}', '{"overall": "S"}', "reports/r1/report.md")
GOOD_ITEM = ("r1", 0, "add an alert", "sre", "2026-12-01", "open")


def changed_row(good: tuple[Any, ...]) -> st.SearchStrategy[tuple[Any, ...]]:
    """``good`` with one or two of its cells replaced: deep checks are reached, not only the first column's."""
    return st.lists(st.tuples(st.integers(min_value=0, max_value=len(good) - 1), cells), min_size=1,
                    max_size=2).map(lambda changes: tuple((dict(enumerate(good)) | dict(changes)).values()))


@FUZZ
@given(rows=st.lists(changed_row(GOOD_ROW), min_size=1, max_size=2), items=st.lists(changed_row(GOOD_ITEM), max_size=2))
def test_a_history_with_any_rows_is_listed_or_refused_in_one_line(rows: list[tuple[Any, ...]],
                                                                  items: list[tuple[Any, ...]]) -> None:
    """Tables as another tool might keep them: the same columns, no types, no constraints."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "h.sqlite"
        History(str(db)).close()
        with sqlite3.connect(db) as conn:
            conn.executescript(f"DROP TABLE action_items; DROP TABLE runs; CREATE TABLE runs ({', '.join(COLUMNS)}); "
                               "CREATE TABLE action_items (run_id, position, text, owner, due, status);")
            conn.executemany(f"INSERT INTO runs VALUES ({', '.join('?' * len(COLUMNS))})", rows)
            conn.executemany("INSERT INTO action_items VALUES (?, ?, ?, ?, ?, ?)",
                             [(rows[0][0] if item[0] == "r1" else item[0], *item[1:]) for item in items])
        conn.close()
        history = History(str(db))
        try:
            for read in (history.runs, lambda: history.runs(limit=1), history.action_items, history.count_runs):
                refused = refusal(read)
                assert refused is None or (refused.startswith(f"history database {db}") and one_line(refused)), refused
        finally:
            history.close()
