"""A corrupt journal line never hides a journalled fault, and never stops the cleanup of other journals.

Journals are written by hand here, line by line, as a crash, a full disk or a stray editor leaves them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from gameday.cli.main import main
from gameday.clock import FakeClock
from gameday.engine.cleanup import cleanup
from gameday.engine.journal import Journal, find_journals, pending_faults, read_records, scan_journal
from gameday.faults.base import FaultHandle
from gameday.testing import MemoryFaults


def intent(fault_id: str, *, run_id: str | None = "r1", **extra: Any) -> bytes:
    record = {"op": "intent", "fault_id": fault_id, "run_id": run_id, "pid": None, "at": "2026-11-25T10:00:00.000Z",
              "deadline_monotonic": None,
              "handle": {"kind": "fake", "target": f"web-{fault_id}", "description": f"break {fault_id}", "data": {}}}
    return json.dumps({**record, **extra}).encode()


def reverted(fault_id: str) -> bytes:
    return json.dumps({"op": "reverted", "fault_id": fault_id, "by": "run"}).encode()


def journal(folder: Path, *lines: bytes, torn: bytes = b"") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "journal.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines) + torn)
    return path


BAD_LINES = [
    b"\xff\xfe\x00 not text",
    b"{half a record",
    b"[1, 2, 3]",
    b'"just a string"',
    b'{"op": "intent", "handle": {"kind": "fake", "target": "web"}}',  # no fault_id
    b'{"op": "intent", "fault_id": "f9"}',  # no handle
    b'{"op": "intent", "fault_id": "f9", "handle": {"target": "web"}}',  # a handle with no kind
    b'{"op": "intent", "fault_id": "f9", "handle": "docker:web"}',
    b'{"op": "reverted", "fault_id": ["f1"]}',  # an unhashable id must not stop the reading
]


@pytest.mark.parametrize("bad", BAD_LINES)
def test_every_well_formed_intent_survives_a_bad_neighbour(tmp_path: Path, bad: bytes) -> None:
    path = journal(tmp_path / "r1", intent("f1"), bad, intent("f2"), reverted("f2"), bad, intent("f3"))
    assert [f.fault_id for f in pending_faults(path)] == ["f1", "f3"]
    scan = scan_journal(path)
    assert [f.fault_id for f in scan.pending] == ["f1", "f3"]
    named = set() if bad.startswith(b'{"op": "reverted"') else {f"{path}:2", f"{path}:5"}  # a revert not recorded: safe
    assert {p.split(": ", 1)[0] for p in scan.problems} == named


@pytest.mark.parametrize(("bad", "problem"), [
    (b"\xff\xfe", "not UTF-8 text; line skipped"),
    (b"{half", "not valid JSON; line skipped"),
    (b"[1]", "not a JSON object; line skipped"),
    (b'{"op": "intent", "fault_id": "f9"}', "an intent without a fault_id or a usable handle"),
])
def test_each_bad_line_is_named_by_file_and_line(tmp_path: Path, bad: bytes, problem: str) -> None:
    path = journal(tmp_path / "r1", intent("f1"), bad, reverted("f1"))
    scan = scan_journal(path)
    assert scan.pending == []
    assert len(scan.problems) == 1 and scan.problems[0].startswith(f"{path}:2: ")
    assert problem in scan.problems[0]


def test_a_torn_last_line_is_expected_after_a_crash_and_not_a_problem(tmp_path: Path) -> None:
    path = journal(tmp_path / "r1", intent("f1"), torn=b'{"op": "reverted", "fault_id": "f')
    scan = scan_journal(path)
    assert [f.fault_id for f in scan.pending] == ["f1"] and scan.problems == []


def test_a_record_written_after_a_torn_line_is_not_glued_to_it(tmp_path: Path) -> None:
    path = journal(tmp_path / "r1", intent("f1"), torn=b'{"op": "inj')
    Journal(path, run_id="r1", clock=FakeClock(), state_dir=tmp_path / "state").reverted("f1")
    assert pending_faults(path) == []
    assert [r["op"] for r in read_records(path)] == ["intent", "reverted"]


def test_odd_field_types_in_a_good_intent_do_not_break_its_revert(tmp_path: Path) -> None:
    """The watchdog compares deadline_monotonic with a float and cleanup checks the pid: both must be numbers."""
    path = journal(tmp_path / "r1", intent("f1", pid="1234", deadline_monotonic="soon", run_id=None))
    [fault] = pending_faults(path)
    assert (fault.pid, fault.deadline_monotonic, fault.run_id) == (None, None, "r1")
    assert fault.handle == FaultHandle(kind="fake", target="web-f1", description="break f1", data={})


def test_a_journal_that_cannot_be_read_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    (tmp_path / "r1" / "journal.jsonl").mkdir(parents=True)
    scan = scan_journal(tmp_path / "r1" / "journal.jsonl")
    assert scan.pending == [] and scan.problems == [f"{tmp_path / 'r1' / 'journal.jsonl'}: cannot read: not a regular file: a directory"]


def test_a_pointer_that_is_not_text_does_not_stop_finding_journals(tmp_path: Path) -> None:
    path = journal(tmp_path / "reports" / "r1", intent("f1"))
    live = tmp_path / "state" / "live"
    live.mkdir(parents=True)
    (live / "garbage").write_bytes(b"\xff\xfe\x00")
    assert find_journals(tmp_path / "reports", tmp_path / "state") == [path.resolve()]


def test_cleanup_warns_about_a_corrupt_journal_and_reverts_every_journalled_fault(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    corrupt = journal(reports / "r1", intent("f1"), b"\xff garbage \xfe", b"[1]", intent("f2"))
    journal(reports / "r2", intent("g1", run_id="r2"))
    (reports / "r3" / "journal.jsonl").mkdir(parents=True)  # unreadable: warned about, never fatal
    warnings: list[str] = []
    faults = MemoryFaults("fake")
    results = cleanup(reports, registry=faults.registry(), clock=FakeClock(), state_dir=tmp_path / "state",
                      warn=warnings.append)
    assert sorted(faults.calls) == [("revert", "web-f1"), ("revert", "web-f2"), ("revert", "web-g1")]
    assert all(r.reverted for r in results) and len(results) == 3
    assert warnings == [f"{corrupt.resolve()}:2: not UTF-8 text; line skipped",
                        f"{corrupt.resolve()}:3: not a JSON object; line skipped",
                        f"{(reports / 'r3' / 'journal.jsonl').resolve()}: cannot read: not a regular file: a directory"]
    assert pending_faults(corrupt) == []  # marked reverted despite its bad lines


def test_gameday_cleanup_on_a_corrupt_journal_warns_in_one_line_per_problem(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GAMEDAY_STATE_DIR", str(tmp_path / "state"))
    path = journal(tmp_path / "reports" / "r1", b"\xff\xfe", b'{"op": "intent"}', b'"x"')
    assert main(["cleanup", "--reports", str(tmp_path / "reports")]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines() == [
        f"gameday: warning: {path.resolve()}:1: not UTF-8 text; line skipped",
        (f"gameday: warning: {path.resolve()}:2: an intent without a fault_id or a usable handle; "
         "whatever it was for cannot be reverted from this journal"),
        f"gameday: warning: {path.resolve()}:3: not a JSON object; line skipped",
    ]


@pytest.mark.parametrize(("bad", "problem"), [
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON (nested more than 32 deep); line skipped"),
    (b'{"op": "note", "x": ' + b"[" * 40 + b"]" * 40 + b"}", "nested more than 32 deep; line skipped"),
])
def test_a_deeply_nested_line_is_named_and_never_raises(tmp_path: Path, bad: bytes, problem: str) -> None:
    """issue 13: 100,000-deep JSON was a RecursionError out of scan_journal, and so out of `gameday cleanup`."""
    path = journal(tmp_path / "r1", intent("f1"), bad, intent("f2"))
    scan = scan_journal(path)
    assert [f.fault_id for f in scan.pending] == ["f1", "f2"]
    assert scan.problems == [f"{path}:2: {problem}"]


def test_a_nan_deadline_is_no_deadline(tmp_path: Path) -> None:
    """NaN compares false with every clock reading: as a deadline it would never come due."""
    path = journal(tmp_path / "r1", intent("f1", deadline_monotonic=float("nan")))
    assert b'"deadline_monotonic": NaN' in path.read_bytes()
    [fault] = scan_journal(path).pending
    assert fault.deadline_monotonic is None


def test_a_fifo_in_place_of_a_journal_never_blocks_the_scan(tmp_path: Path) -> None:
    path = tmp_path / "r1" / "journal.jsonl"
    path.parent.mkdir()
    os.mkfifo(path)
    assert scan_journal(path).problems == [f"{path}: cannot read: not a regular file: a FIFO (named pipe)"]


def test_gameday_cleanup_on_a_100000_deep_journal_line_warns_and_exits_0(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GAMEDAY_STATE_DIR", str(tmp_path / "state"))
    path = journal(tmp_path / "reports" / "r1", b"[" * 100_000 + b"]" * 100_000, b"{}")
    assert main(["cleanup", "--reports", str(tmp_path / "reports")]) == 0
    assert capsys.readouterr().err.splitlines() == [
        f"gameday: warning: {path.resolve()}:1: not valid JSON (nested more than 32 deep); line skipped"]
