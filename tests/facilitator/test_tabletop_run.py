"""A tabletop is the engine's one Runner in simulated mode: its record has every field a live run's has.

No Docker is needed: a tabletop touches nothing, so its target container never exists here.
"""

from __future__ import annotations

from pathlib import Path

from gameday.facilitator.drill import tabletop_scripted
from gameday.finish import finish_run
from gameday.history.store import History
from gameday.scenario.loader import load_scenario
from tests.facilitator.conftest import drill_scenario, dump, timeline_of

RESPONSES = [{"at": "10s", "action": "acknowledge", "actor": "Alice Example"},
             {"at": "20s", "action": "assign", "role": "incident_commander", "text": "Alice Example"},
             {"at": "30s", "action": "declare", "severity": "SEV2", "actor": "Alice Example"},
             {"at": "40s", "action": "mitigated", "actor": "Alice Example"},
             {"at": "50s", "action": "all_clear", "actor": "Alice Example"}]


def tabletop(tmp_path: Path, *, names_in_report: bool) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = drill_scenario(tmp_path, container="never-started", url="http://127.0.0.1:9/", runbook=False, injects=[],
                          duration="30m", responses=RESPONSES, tags=["availability", "database"],
                          names_in_report=names_in_report,
                          stack={"name": "shop", "environment": "staging",
                                 "targets": {"web": {"container": "never-started"}}})
    result = tabletop_scripted(load_scenario(path), path, reports_dir=tmp_path / "reports", speed=600)
    assert result.exit_code == 0, dump(timeline_of(result.run_dir))
    return result.run_dir


def test_a_tabletop_run_started_carries_stack_environment_tags_and_names_in_report(tmp_path: Path) -> None:
    run_dir = tabletop(tmp_path, names_in_report=True)
    events = timeline_of(run_dir)
    started = events[0].details
    assert (started["stack"], started["environment"], started["tags"]) == ("shop", "staging", ["availability", "database"])
    assert started["names_in_report"] is True
    assert (started["mode"], started["speed"], started["time"]) == ("tabletop", 600, "scenario")
    assert [e.kind for e in events if e.kind.startswith("fault.")] == ["fault.intended", "fault.injected",
                                                                         "fault.effective", "fault.reverted"]
    assert all(e.details["simulated"] is True for e in events if e.kind.startswith("fault."))
    assert not (run_dir / "journal.jsonl").exists() and not (run_dir / "heartbeat").exists()
    assert "probe.checked" not in {e.kind for e in events}


def test_a_tabletop_report_honours_names_in_report_and_its_history_has_the_tags(tmp_path: Path) -> None:
    named, blameless = tabletop(tmp_path / "a", names_in_report=True), tabletop(tmp_path / "b", names_in_report=False)
    database = tmp_path / "history.sqlite"
    for run_dir in (named, blameless):
        assert finish_run(run_dir, history=str(database)).problems == []
    assert "Alice Example" in (named / "report.md").read_text()
    assert "Alice Example" not in (blameless / "report.md").read_text()
    history = History(str(database))
    try:
        assert {r.category for r in history.runs()} == {"availability"}  # the first tag, as for a live run
    finally:
        history.close()
