"""The engine's StopRequest: a facilitated drill ends the fault phase early, or stops the run, from another thread."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gameday.engine.run import Outcome, RunOptions, StopRequest, run_scenario
from gameday.scenario.loader import load_scenario
from tests.conftest import http_ok
from tests.facilitator.conftest import drill_scenario, dump, kinds, timeline_of

pytestmark = pytest.mark.docker


def _run_with(stop: StopRequest, action: str, tmp_path: Path, web) -> list:
    path = drill_scenario(tmp_path, container=web.name, url=web.url, duration="60s", runbook=False, injects=[])
    seen = threading.Event()

    def listener(event) -> None:
        if event.kind == "fault.effective":
            seen.set()

    def stopper() -> None:
        if seen.wait(20):
            stop.end_fault_phase() if action == "end" else stop.interrupt("SIGINT")

    threading.Thread(target=stopper, daemon=True).start()
    result = run_scenario(load_scenario(path), RunOptions(reports_dir=tmp_path / "reports", scenario_file=path,
                                                          handle_signals=False, stop=stop, listeners=[listener]))
    return [result, timeline_of(result.run_dir)]


def test_ending_the_fault_phase_early_reverts_and_goes_on_to_recovery(tmp_path: Path, web_container) -> None:
    web = web_container()
    result, events = _run_with(StopRequest(), "end", tmp_path, web)
    assert result.outcome is Outcome.PASSED, dump(events)
    assert kinds(events, "fault.effective", "fault_phase.ended", "fault.reverted", "recovery.met") == \
        ["fault.effective", "fault_phase.ended", "fault.reverted", "recovery.met"]
    reverted = next(e for e in events if e.kind == "fault.reverted")
    assert reverted.details["duration_s"] < 20  # far less than the 60 s asked for
    assert http_ok(web.url)


def test_an_interrupt_request_ends_the_run_as_interrupted_with_the_fault_reverted(tmp_path: Path, web_container) -> None:
    web = web_container()
    result, events = _run_with(StopRequest(), "interrupt", tmp_path, web)
    assert result.outcome is Outcome.INTERRUPTED, dump(events)
    assert "fault.reverted" in kinds(events) and "recovery.met" not in kinds(events)
    assert events[-1].details["outcome"] == "interrupted"
    web.container.reload()
    assert web.container.attrs["State"]["Status"] == "running"
