"""A whole run: a real container is killed, Prometheus sees it down, Alertmanager posts to the run's receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gameday import events as ev
from gameday.engine.run import Outcome, RunOptions, RunResult, run_scenario
from gameday.observe.alerts import AlertObserver
from gameday.report.render import render_run
from gameday.scenario.loader import load_scenario
from gameday.scoring.alerting import score_run
from gameday.testing import free_port
from gameday.timeline import Event, read_timeline
from tests.conftest import wait_http
from tests.observe.alerting_fixtures import AlertStacks

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def metrics_container(docker_client, test_image):
    """A busybox httpd serving a static /metrics file: killing it makes Prometheus' `up` drop to 0."""
    port = free_port()
    name = f"gdtest-alerts-{port}"
    script = f"printf 'gameday_test_fault 0\\n' > /www/metrics && exec httpd -f -p 127.0.0.1:{port} -h /www"
    container = docker_client.containers.run(test_image, ["sh", "-c", script], name=name, detach=True,
                                             network_mode="host", labels={"gameday.test": "1", "gameday.allowed": "true"})
    wait_http(f"http://127.0.0.1:{port}/metrics")
    yield name, port
    container.remove(force=True)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory, metrics_container: tuple[str, int]) -> Iterator[RunResult]:
    """One run shared by the tests of this module (it takes ~10 s): each test reads another aspect of it."""
    name, port = metrics_container
    tmp_path = tmp_path_factory.mktemp("alerts-run")
    stacks = AlertStacks(tmp_path)
    try:
        yield _run(tmp_path, stacks, name, port)
    finally:
        stacks.close()


def _run(tmp_path: Path, stacks: AlertStacks, name: str, port: int) -> RunResult:
    stack = stacks(f"127.0.0.1:{port}")
    stack.wait_scraped()
    raw: dict[str, Any] = {
        "version": 1,
        "name": "alerts-e2e",
        "stack": {"alertmanager": {"url": stack.alertmanager_url}, "targets": {"metrics": {"container": name}}},
        "steady_state": {"probes": [{"name": "metrics", "interval": "500ms",
                                     "http": {"url": f"http://127.0.0.1:{port}/metrics"}}]},
        "faults": [{"kind": "container_kill", "target": "metrics", "duration": "4s"}],
        "expect": {
            "recovers_within": "15s",
            "alerts": [{"name": "GamedayTestTargetDown", "labels": {"severity": "critical"}, "within": "15s"},
                       {"name": "GamedayTestNever", "within": "15s"}],
            "alerts_not_firing": ["GamedayTestNoise"],
        },
    }
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    observer = AlertObserver(port=stack.receiver_port, poll_interval=0, resolve_wait=15)
    return run_scenario(load_scenario(path), RunOptions(reports_dir=tmp_path / "reports", scenario_file=path,
                                                        observers=[observer], handle_signals=False))


def timeline_of(result: RunResult) -> list[Event]:
    return read_timeline(result.run_dir / "timeline.jsonl")


def test_the_expected_alert_arrives_through_the_webhook(finished_run: RunResult) -> None:
    events = timeline_of(finished_run)
    fired = [e for e in events if e.kind == "alert.firing" and e.details["alertname"] == "GamedayTestTargetDown"]
    assert len(fired) == 1 and fired[0].details["via"] == "webhook"
    # After the kill, which happens between fault.intended and fault.injected: fault.effective is recorded only
    # once the harness's own check has seen the container gone, and at load 100+ the alert can beat that check.
    intended = next(e for e in events if e.kind == "fault.intended")
    assert fired[0].offset > intended.offset
    verdict = next(v for v in finished_run.verdicts if v.name.startswith("alert GamedayTestTargetDown"))
    assert verdict.met, verdict.detail


def test_every_kind_and_detail_of_a_run_with_alerts_is_in_the_event_catalogue(finished_run: RunResult) -> None:
    assert ev.undocumented(timeline_of(finished_run)) == []


def test_an_alert_that_never_fires_is_reported_missed_once_its_deadline_passed(finished_run: RunResult) -> None:
    verdict = next(v for v in finished_run.verdicts if v.name.startswith("alert GamedayTestNever"))
    assert not verdict.met and verdict.detail.startswith("missed")
    assert finished_run.outcome is Outcome.FAILED
    # The fault lasted 4 s and recovery came well before the alert's 15 s deadline (8.4 s after the fault at load
    # 150, about 5 s quiet), but the run listened until that deadline had passed.
    events = timeline_of(finished_run)
    effective = next(e for e in events if e.kind == "fault.effective")
    recovered = next(e for e in events if e.kind == "recovery.met")
    stopped = next(e for e in events if e.kind == "alerts.stopped")
    assert recovered.offset < effective.offset + 15 <= stopped.offset


def test_an_alert_nobody_expected_is_reported_as_noise(finished_run: RunResult) -> None:
    scenario = load_scenario(finished_run.run_dir / "scenario.yaml")
    score = score_run(scenario, timeline_of(finished_run))
    assert [ep.alertname for ep in score.noisy] == ["GamedayTestScrapeFailed"]
    assert score.recall == 1.0 and score.precision == 1.0
    assert score.detection_s is not None and 0 < score.detection_s < 15


def test_the_alerts_resolve_after_revert_before_the_observer_stops(finished_run: RunResult) -> None:
    events = timeline_of(finished_run)
    reverted = next(e for e in events if e.kind == "fault.reverted")
    resolved = [e for e in events if e.kind == "alert.resolved"]
    assert {e.details["alertname"] for e in resolved} == {"GamedayTestTargetDown", "GamedayTestScrapeFailed"}
    assert all(e.offset > reverted.offset for e in resolved)
    stopped = next(e for e in events if e.kind == "alerts.stopped")
    assert stopped.details["still_firing"] == []


def test_the_report_shows_the_alerting_section(finished_run: RunResult) -> None:
    text = render_run(finished_run.run_dir).read_text()
    assert "## Alerts" in text
    assert "MTTD" in text and "GamedayTestTargetDown" in text
