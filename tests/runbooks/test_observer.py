"""A scripted run follows the scenario's runbook while the fault is live, and the run is judged by it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from gameday.engine.run import RunOptions, run_scenario
from gameday.plugins import build_observers
from gameday.report.render import render_run
from gameday.runbooks.observer import VERDICT_NAME, RunbookObserver
from gameday.scenario.loader import load_scenario
from gameday.scenario.model import Expectations, ResponseStep
from gameday.timeline import read_timeline
from tests.conftest import WebContainer
from tests.runbooks.conftest import render_fixture, web_scenario

ENV_KEYS = ("PATH", "HOME")


def scenario_file(tmp_path: Path, web: WebContainer, runbook: str, duration: str = "6s") -> Path:
    path = tmp_path / "web-down.yaml"
    path.write_text(yaml.safe_dump({
        "version": 1,
        "name": "web-down",
        "stack": {"targets": {"web": {"container": web.name}}},
        "steady_state": {"probes": [{"name": "web", "http": {"url": web.url, "timeout": "1s", "max_latency": "900ms"},
                                     "interval": "200ms"}]},
        "faults": [{"kind": "container_kill", "target": "web", "duration": duration}],
        "expect": {"recovers_within": "10s", "probes": [{"probe": "web", "during_fault": "down"}]},
        "runbook": runbook,
    }, sort_keys=False))
    return path


def test_build_observers_follows_a_runbook_only_without_scripted_runbook_steps() -> None:
    plain = web_scenario("c", "http://127.0.0.1:1/", runbook="runbooks/x.md")
    assert any(isinstance(o, RunbookObserver) for o in build_observers(plain))
    step = ResponseStep.model_validate({"at": "1s", "action": "runbook_step", "step": 1}, strict=False)
    scripted = plain.model_copy(update={"responses": [step]})
    assert not any(isinstance(o, RunbookObserver) for o in build_observers(scripted))
    assert not any(isinstance(o, RunbookObserver) for o in build_observers(web_scenario("c", "http://127.0.0.1:1/")))
    people_only = plain.model_copy(update={"follow_runbook": False})
    assert not any(isinstance(o, RunbookObserver) for o in build_observers(people_only))


@pytest.mark.docker
def test_a_run_follows_the_good_runbook_and_passes(
    web_container: Callable[..., WebContainer], tmp_path: Path, state_dir: Path
) -> None:
    web = web_container()
    render_fixture("good-web.md", tmp_path / "runbooks", web=web.name, port=web.port)
    # 15 s of fault: the runbook must restore the web server while the fault is live, and at load 150 its docker
    # start, probe rounds and settle outlasted a 6 s window (CI), so the harness's revert took the credit.
    path = scenario_file(tmp_path, web, "runbooks/good-web.md", duration="15s")
    observer = RunbookObserver({k: os.environ[k] for k in ENV_KEYS if k in os.environ}, delay_s=0.3, settle_s=0.5)
    result = run_scenario(load_scenario(path), RunOptions(reports_dir=tmp_path / "reports", scenario_file=path,
                                                          state_dir=state_dir, handle_signals=False,
                                                          observers=[observer]))

    verdict = next(v for v in result.verdicts if v.name == VERDICT_NAME)
    assert verdict.met, verdict.detail
    assert result.exit_code == 0, [(v.name, v.detail) for v in result.verdicts]
    events = read_timeline(result.run_dir / "timeline.jsonl")
    kinds = [e.kind for e in events]
    assert kinds.index("fault.effective") < kinds.index("runbook.triggered") < kinds.index("runbook.judged")
    assert kinds.index("runbook.judged") < kinds.index("fault.reverted"), "restored while the fault was live"
    report = render_run(result.run_dir).read_text(encoding="utf-8")
    assert "## Runbook" in report and "**good-web**: restored service" in report
    assert "| 2 | Start the web server (a no-op if it runs). | done | 0 |" in report


@pytest.mark.docker
def test_a_run_with_the_broken_runbook_fails_on_the_runbook_verdict(
    web_container: Callable[..., WebContainer], tmp_path: Path, state_dir: Path
) -> None:
    web = web_container()
    decoy = web_container()
    render_fixture("broken-restarts-wrong-container.md", tmp_path / "runbooks", web=web.name, decoy=decoy.name)
    path = scenario_file(tmp_path, web, "runbooks/broken-restarts-wrong-container.md", duration="3s")
    observer = RunbookObserver({k: os.environ[k] for k in ENV_KEYS if k in os.environ}, delay_s=0.2, settle_s=0.3)
    result = run_scenario(load_scenario(path), RunOptions(reports_dir=tmp_path / "reports", scenario_file=path,
                                                          state_dir=state_dir, handle_signals=False,
                                                          observers=[observer]))

    verdict = next(v for v in result.verdicts if v.name == VERDICT_NAME)
    assert not verdict.met
    assert result.exit_code == 1
    report = render_run(result.run_dir).read_text(encoding="utf-8")
    assert "did not restore service" in report


def _trigger(tmp_path: Path, *, alerts: list[str], events: list[tuple[str, dict[str, Any]]]) -> str:
    from gameday.clock import FakeClock
    from gameday.contracts import RunContext
    from gameday.timeline import Timeline

    expect = Expectations.model_validate({"alerts": [{"name": a} for a in alerts]}, strict=False)
    scenario = web_scenario("c", "http://127.0.0.1:1/", duration="10s").model_copy(update={"expect": expect})
    clock = FakeClock()
    timeline = Timeline(tmp_path / "t.jsonl", clock)
    for kind, details in events:
        clock.advance(1.0)
        timeline.record(kind, **details)
    observer = RunbookObserver({}, delay_s=0.5)
    try:
        return observer._wait_for_trigger(RunContext(scenario, timeline, clock, tmp_path, tmp_path))
    finally:
        timeline.close()


def test_the_runbook_starts_on_the_page_not_on_a_stale_or_unrelated_alert(tmp_path: Path) -> None:
    stale = ("alert.firing", {"alertname": "WebDown"})
    effective = ("fault.effective", {"fault": "kill"})
    assert _trigger(tmp_path / "a", alerts=["WebDown"], events=[effective, stale]) == "alert"
    assert _trigger(tmp_path / "b", alerts=["WebDown"], events=[stale, effective]) == "timeout"
    assert _trigger(tmp_path / "c", alerts=["WebDown"],
                    events=[effective, ("alert.firing", {"alertname": "Other"})]) == "timeout"
    assert _trigger(tmp_path / "d", alerts=[], events=[effective]) == "fault"
