"""The one finish step: a run is scored once, and its report, scorecard.json and history record agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gameday.finish import finish_run
from gameday.history.from_run import record_from_run
from gameday.history.store import History
from gameday.scoring.scorecard import score
from gameday.testing import drill, ev, full_response
from gameday.timeline import read_timeline


def run_folder(tmp_path: Path) -> Path:
    """A finished drill whose scenario expected an alert that never fired, with no alerts.watching event:
    only the scenario copy says alerts were expected, so scoring without it judges no alerts at all."""
    run_dir = tmp_path / "reports" / "r1"
    run_dir.mkdir(parents=True)
    events = drill("SEV2", *full_response(), ev(500, "expectation.met", name="recovers"))
    (run_dir / "timeline.jsonl").write_text("".join(e.to_json() + "\n" for e in events))
    (run_dir / "scenario.yaml").write_text(yaml.safe_dump({
        "version": 1, "name": "s", "expect": {"alerts": [{"name": "CheckoutDown", "within": "1m"}]}}))
    return run_dir


def test_the_history_record_and_the_report_read_one_scorecard(tmp_path: Path) -> None:
    run_dir = run_folder(tmp_path)
    database = tmp_path / "history.sqlite"
    finished = finish_run(run_dir, history=str(database))
    assert finished.problems == [] and finished.report == run_dir / "report.md"
    reported = json.loads((run_dir / "scorecard.json").read_text())
    history = History(str(database))
    try:
        (recorded,) = history.runs()
    finally:
        history.close()
    assert recorded.metrics["alerts_expected"] == 1.0 and recorded.metrics["alerts_missed"] == 1.0
    assert reported["metrics"]["alerts"]["missed"] and reported["overall"] == recorded.scores["overall"]
    assert (reported["points"], reported["max_points"]) == (recorded.scores["points"], recorded.scores["max_points"])
    assert {c["id"]: c["rating"] for c in reported["capabilities"]} == recorded.scores["ratings"]


def test_without_the_scenario_copy_the_score_differs_so_the_context_matters(tmp_path: Path) -> None:
    """Why the history must score with the report's context: without it, the missed alert is not judged."""
    run_dir = run_folder(tmp_path)
    events = read_timeline(run_dir / "timeline.jsonl")
    assert not score(events).metrics.alerts.judged
    assert record_from_run(run_dir).metrics["alerts_missed"] == 1.0  # record_from_run reads the scenario copy


def test_a_history_that_cannot_be_written_is_a_warning_and_the_report_is_still_written(tmp_path: Path) -> None:
    run_dir = run_folder(tmp_path)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    finished = finish_run(run_dir, history=str(blocker / "history.sqlite"))
    assert (run_dir / "report.md").is_file() and finished.report is not None
    assert len(finished.problems) == 1 and finished.problems[0].startswith("warning: run not recorded in the history")


FRESH_FINISH = """
import json, sys
from pathlib import Path
from gameday.cli.common import check_report_sections
from gameday.finish import finish_run, prepare
check_report_sections()  # as `gameday run` does before the run
prepare()
before = set(sys.modules)
finished = finish_run(Path(sys.argv[1]), history=sys.argv[2])
print(json.dumps({"problems": finished.problems, "new": sorted(set(sys.modules) - before)}))
"""


def test_prepare_leaves_finish_run_nothing_of_gameday_or_jinja2_to_import(tmp_path: Path) -> None:
    """`gameday run` imports the finish step's modules while its faults hold (finish.prepare), so the end of
    the run, which the person waits for, does not: FINISH_MODULES must name what finish_run uses."""
    import subprocess
    import sys

    run_dir = run_folder(tmp_path)
    done = subprocess.run([sys.executable, "-c", FRESH_FINISH, str(run_dir), str(tmp_path / "h.sqlite")],
                          capture_output=True, text=True, timeout=120, check=True)
    out = json.loads(done.stdout)
    assert out["problems"] == []
    left = [m for m in out["new"] if m.split(".")[0] in ("gameday", "jinja2", "markupsafe", "sqlite3")]
    assert left == []


def test_the_background_listener_starts_prepare_once_when_a_fault_has_taken_effect(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Not at inject: the fault's first moments are measured (fault.effective) and must not share the process."""
    import threading

    import gameday.finish as finish

    calls: list[str] = []
    ran = threading.Event()

    def fake_prepare() -> None:
        calls.append(threading.current_thread().name)
        ran.set()

    monkeypatch.setattr(finish, "prepare", fake_prepare)
    listener = finish.prepare_in_background()
    listener(ev(0, "phase.changed", phase="fault"))
    listener(ev(1, "fault.injected", fault="f"))
    assert calls == []
    listener(ev(2, "fault.effective", fault="f", after_ms=3.0))
    assert ran.wait(60)
    listener(ev(3, "fault.effective", fault="g", after_ms=3.0))
    listener(ev(4, "phase.changed", phase="recovery"))
    assert calls == ["finish-prepare"]


def test_without_a_fault_seen_taking_effect_prepare_starts_when_recovery_begins(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import gameday.finish as finish

    ran = threading.Event()
    monkeypatch.setattr(finish, "prepare", ran.set)
    listener = finish.prepare_in_background()
    listener(ev(0, "phase.changed", phase="fault"))
    assert not ran.is_set()
    listener(ev(5, "phase.changed", phase="recovery"))
    assert ran.wait(60)
