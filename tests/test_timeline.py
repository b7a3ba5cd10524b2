"""A saved timeline is read strictly but fairly: a torn last line is skipped, any other bad line is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gameday.cli.main import main
from gameday.clock import FakeClock
from gameday.errors import JournalError
from gameday.timeline import Timeline, read_timeline


def event(kind: str, offset: float = 0.0) -> str:
    return json.dumps({"at": "2026-11-25T10:00:00.000Z", "offset": offset, "kind": kind, "actor": "harness",
                       "details": {}})


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    """A crash mid-write, or the event being written right now: the events before it are the timeline."""
    path = write(tmp_path / "timeline.jsonl", f"{event('run.started')}\n{event('phase.changed')}\n".encode()
                 + b'{"at": "2026-11-25T10:00:01.000Z", "off')
    assert [e.kind for e in read_timeline(path)] == ["run.started", "phase.changed"]


@pytest.mark.parametrize(("middle", "problem"), [
    (b"\xff\xfe not text", ":2: not UTF-8 text"),
    (b"{not json", ":2: not valid JSON (Expecting property name enclosed in double quotes at column 2)"),
    (b"[1, 2]", ":2: not a timeline event: not a JSON object"),
    (b'{"at": "2026-11-25T10:00:00Z", "offset": 1}', ":2: not a timeline event: no kind"),
    (b'{"at": "2026-11-25T10:00:00Z", "offset": null, "kind": "x"}', ":2: not a timeline event: offset None"),
    (b'{"at": "yesterday", "offset": 1, "kind": "x"}', ":2: not a timeline event: at 'yesterday' is not a time"),
    (b'{"at": "2026-11-25T10:00:00Z", "offset": 1, "kind": "x", "details": [1]}', "details must be a JSON object"),
])
def test_a_bad_line_in_the_middle_is_an_error_naming_file_and_line(tmp_path: Path, middle: bytes, problem: str) -> None:
    path = write(tmp_path / "timeline.jsonl", f"{event('run.started')}\n".encode() + middle
                 + f"\n{event('run.finished')}\n".encode())
    with pytest.raises(JournalError) as err:
        read_timeline(path)
    assert str(err.value).startswith(f"{path}:2: ")
    assert problem in str(err.value)


def test_report_on_a_timeline_that_is_not_utf8_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write(run_dir / "timeline.jsonl", b"\xff\xfe\x00garbage\n")
    assert main(["report", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert err == f"gameday: error: {run_dir / 'timeline.jsonl'}:1: not UTF-8 text\n"


def test_report_on_invalid_json_says_so_not_that_it_is_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write(run_dir / "timeline.jsonl", b"this is not json\n")
    assert main(["report", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert f"{run_dir / 'timeline.jsonl'}:1: not valid JSON" in err and "empty" not in err


def test_appending_after_a_torn_line_drops_it_rather_than_gluing_the_next_event_to_it(tmp_path: Path) -> None:
    """A resumed drill appends to the timeline its dead process left."""
    path = write(tmp_path / "timeline.jsonl", f"{event('run.started')}\n".encode() + b'{"at": "2026-11')
    timeline = Timeline(path, FakeClock())
    timeline.record("drill.resumed")
    timeline.close()
    assert [e.kind for e in read_timeline(path)] == ["run.started", "drill.resumed"]


def test_a_timeline_in_a_folder_under_a_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "reports").write_text("x")
    with pytest.raises(JournalError, match=f"{tmp_path / 'reports'} is a file, not a folder"):
        Timeline(tmp_path / "reports" / "run" / "timeline.jsonl", FakeClock())


def test_runbook_run_with_reports_being_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runbook = tmp_path / "rb.md"
    runbook.write_text("# Runbook\n")
    (tmp_path / "reports").write_text("x")
    assert main(["runbook", "run", str(runbook), "--reports", str(tmp_path / "reports")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{tmp_path / 'reports'} is a file, not a folder" in err
