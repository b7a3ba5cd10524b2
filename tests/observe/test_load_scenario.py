"""A whole scenario with ``load:`` through the engine: Locust runs while a real container is killed."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gameday.engine.run import Outcome, RunOptions, run_scenario
from gameday.report.render import render_run
from gameday.scenario.loader import load_scenario
from tests.conftest import http_ok, wait_for
from tests.helpers import events, harness_process, wait_for_event, web_scenario
from tests.observe.test_load_observer import process_gone

pytestmark = pytest.mark.docker

STEADY = Path(__file__).parent / "locustfiles" / "steady.py"


def the_run(reports: Path) -> Path:
    """The one run folder in a reports folder (which also holds the run history)."""
    return next(p for p in reports.iterdir() if (p / "timeline.jsonl").is_file())


def load_scenario_file(tmp_path: Path, web: Any, duration: str, warmup: str = "1s") -> Path:
    """The web-kill scenario of tests/helpers.py, with a steady Locust load on the same container."""
    path = web_scenario(tmp_path, container=web.name, url=web.url, duration=duration, name="load-kill")
    doc = yaml.safe_load(path.read_text())
    doc["load"] = {"locustfile": str(STEADY), "host": web.url.rstrip("/"), "users": 4, "spawn_rate": 50.0,
                   "warmup": warmup}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_load_runs_through_a_container_kill_and_lands_in_the_report(tmp_path: Path, web_container) -> None:
    web = web_container(labels={"gameday.allowed": "true"})
    # 5 s of load before steady state: at least one whole second ends before the kill even when the child's
    # once-a-second report reaches the harness seconds late (a parallel run under load: none had, with 1 s).
    path = load_scenario_file(tmp_path, web, "2s", warmup="5s")

    result = run_scenario(load_scenario(path),
                          RunOptions(reports_dir=tmp_path / "reports", scenario_file=path, handle_signals=False))

    assert result.outcome is Outcome.PASSED, result.verdicts
    timeline = events(result.run_dir)
    kinds = [e["kind"] for e in timeline]
    assert kinds.count("load.started") == 1 and kinds.count("load.finished") == 1
    assert kinds.index("load.started") < kinds.index("fault.injected")
    assert kinds.index("load.finished") < kinds.index("run.finished")
    assert "observer.failed" not in kinds
    stats = [e["details"] for e in timeline if e["kind"] == "load.stats"]
    by_phase = {p: [s for s in stats if s["phase"] == p] for p in ("steady_state", "fault", "recovery")}
    assert all(by_phase.values()), {p: len(v) for p, v in by_phase.items()}
    # Every second recorded before the kill was clean. (The second the kill falls in is counted where most of it
    # was, so the last steady_state second may hold the kill's first errors: judged by the harness's offsets.)
    killed_at = next(e["offset"] for e in timeline if e["kind"] == "fault.intended")
    before = [e["details"] for e in timeline if e["kind"] == "load.stats" and e["offset"] <= killed_at]
    assert before and all(s["error_rate"] == 0.0 for s in before), before
    assert max(s["error_rate"] for s in by_phase["fault"]) > 0.5
    assert by_phase["recovery"][-1]["error_rate"] == 0.0
    finished = next(e["details"] for e in timeline if e["kind"] == "load.finished")
    assert finished["complete"] and finished["requests"] == sum(s["requests"] for s in stats)

    report = render_run(result.run_dir).read_text()
    section = report[report.index("## Load"):report.index("## Timeline")]
    for period in ("before", "during", "after"):
        assert f"| {period} the fault |" in section
    assert "locust" not in sys.modules


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_harness_stops_locust(tmp_path: Path, web_container, sig: signal.Signals) -> None:
    """Ctrl-C or SIGTERM mid-fault: the fault is reverted, Locust is stopped with its totals, no child is left."""
    web = web_container(labels={"gameday.allowed": "true"})
    path = load_scenario_file(tmp_path, web, "60s")
    proc = harness_process("run", str(path), "--reports", "reports", cwd=tmp_path)
    try:
        started = wait_for_event(tmp_path / "reports", "load.started")
        wait_for_event(tmp_path / "reports", "fault.effective")
        proc.send_signal(sig)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130
    assert process_gone(int(started["details"]["pid"]))
    run_dir = the_run(tmp_path / "reports")
    kinds = [e["kind"] for e in events(run_dir)]
    assert kinds.count("load.finished") == 1
    finished = next(e["details"] for e in events(run_dir) if e["kind"] == "load.finished")
    assert finished["complete"] is True and finished["reason"] == "stopped by the harness"
    wait_for(lambda: http_ok(web.url), timeout=60)  # the fault was reverted


def test_ctrl_c_during_the_warmup_stops_the_run_before_any_fault(tmp_path: Path, web_container) -> None:
    web = web_container(labels={"gameday.allowed": "true"})
    path = load_scenario_file(tmp_path, web, "2s", warmup="20s")
    proc = harness_process("run", str(path), "--reports", "reports", cwd=tmp_path)
    try:
        started = wait_for_event(tmp_path / "reports", "load.started")
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    run_dir = the_run(tmp_path / "reports")
    kinds = [e["kind"] for e in events(run_dir)]
    assert process_gone(int(started["details"]["pid"]))
    assert "fault.intended" not in kinds
    assert proc.returncode == 130, kinds
