"""Who put a fault back when the run could not (`gameday cleanup`, the watchdog) is written to the run's own
timeline, so its report says so; the journal alone is not where people look.

The run folders are written by hand, as a run SIGKILLed after its inject leaves them (the watchdog's side is
tested against a real killed harness in test_safety.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gameday.cli.main import main
from gameday.clock import FakeClock
from gameday.engine.cleanup import cleanup
from gameday.report.postmortem import build_postmortem
from gameday.testing import MemoryFaults, ev
from gameday.timeline import read_timeline


def crashed_run(reports: Path, *, torn: bool = False) -> Path:
    run_dir = reports / "r1"
    run_dir.mkdir(parents=True)
    events = [ev(0, "run.started", run_id="r1", scenario="s"),
              ev(5, "fault.intended", fault="kill web", fault_id="f0", kind="fake", target="web"),
              ev(5.1, "fault.injected", fault="kill web", fault_id="f0")]
    (run_dir / "timeline.jsonl").write_text("".join(e.to_json() + "\n" for e in events)
                                            + ('{"at": "2026-11-25T10:00:06' if torn else ""))
    intent = {"op": "intent", "fault_id": "f0", "run_id": "r1", "pid": None, "at": events[1].at,
              "handle": {"kind": "fake", "target": "web", "description": "break web", "data": {}}}
    (run_dir / "journal.jsonl").write_text(json.dumps(intent) + "\n")
    return run_dir


def run_cleanup(tmp_path: Path, *, fail: bool = False, actor: str = "cleanup") -> None:
    faults = MemoryFaults("fake")
    if fail:
        faults.fail("revert", "the container is gone")
    cleanup(tmp_path / "reports", registry=faults.registry(), clock=FakeClock(), state_dir=tmp_path / "state",
            warn=lambda message: None, actor=actor)


def test_a_cleanup_revert_is_in_the_run_timeline_and_its_story(tmp_path: Path) -> None:
    run_dir = crashed_run(tmp_path / "reports")
    run_cleanup(tmp_path)
    events = read_timeline(run_dir / "timeline.jsonl")
    last = events[-1]
    assert (last.kind, last.actor) == ("fault.reverted", "cleanup")
    assert last.details == {"fault": "kill web", "fault_id": "f0", "by": "cleanup"}
    assert last.offset > events[-2].offset  # placed on the run's own time line, after what the run wrote
    story = " ".join(build_postmortem(events).story)
    assert "Fault kill web was put back by `gameday cleanup`" in story


def test_a_failed_cleanup_revert_is_in_the_timeline_too(tmp_path: Path) -> None:
    run_dir = crashed_run(tmp_path / "reports")
    run_cleanup(tmp_path, fail=True)
    last = read_timeline(run_dir / "timeline.jsonl")[-1]
    assert (last.kind, last.actor, last.details["error"]) == ("revert.failed", "cleanup", "the container is gone")


def test_gameday_abort_reverting_for_a_run_is_named_as_abort(tmp_path: Path) -> None:
    run_dir = crashed_run(tmp_path / "reports")
    run_cleanup(tmp_path, actor="abort")
    events = read_timeline(run_dir / "timeline.jsonl")
    assert (events[-1].actor, events[-1].details["by"]) == ("abort", "abort")
    assert '"by": "abort"' in (run_dir / "journal.jsonl").read_text()
    assert "put back by `gameday abort`" in " ".join(build_postmortem(events).story)


def test_a_torn_last_line_left_by_the_crash_is_cut_before_the_event_is_added(tmp_path: Path) -> None:
    run_dir = crashed_run(tmp_path / "reports", torn=True)
    run_cleanup(tmp_path)
    assert [e.kind for e in read_timeline(run_dir / "timeline.jsonl")] == [
        "run.started", "fault.intended", "fault.injected", "fault.reverted"]


def test_gameday_cleanup_renders_an_existing_report_again_so_it_says_who_tried(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """No driver 'fake' is installed for the CLI: its revert fails, and the report says so after cleanup."""
    monkeypatch.setenv("GAMEDAY_STATE_DIR", str(tmp_path / "state"))
    run_dir = crashed_run(tmp_path / "reports")
    (run_dir / "report.md").write_text("the report as the run left it\n")
    assert main(["cleanup", "--reports", str(tmp_path / "reports")]) == 3
    assert "rendered again" in capsys.readouterr().out
    assert "`gameday cleanup` could not put fault kill web back" in (run_dir / "report.md").read_text()
