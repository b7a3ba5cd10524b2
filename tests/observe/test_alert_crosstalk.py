"""Two stacks on one machine, side by side: a run records its own stack's alerts and never another's.

Each stack here is a real Alertmanager (alerts are posted to its API, as Prometheus would) whose config posts
to a webhook url; the runs' observers are made as the engine makes them, with no arguments, so where each
listens and whose webhooks it takes come from its scenario's stack alone. An audit found the default demo
stack's CheckoutLatencyHigh and DatabaseUnreachable in a test stack's run: every run listened on
127.0.0.1:19099 and took any payload.
"""

# ruff: noqa: F811 - the fixtures are imported from alerting_fixtures and named as parameters

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gameday.clock import SystemClock, iso
from gameday.contracts import RunContext
from gameday.observe.alertmanager import AlertmanagerClient
from gameday.observe.alerts import AlertObserver
from gameday.scenario.model import Scenario
from gameday.testing import free_port
from gameday.timeline import Event, Timeline
from tests.conftest import wait_for
from tests.observe.alerting_fixtures import AlertStack, StackFactory, alert_stack  # noqa: F401 - fixtures


def scenario(stack: dict[str, Any]) -> Scenario:
    return Scenario.model_validate({
        "version": 1, "name": "crosstalk", "stack": stack,
        "faults": [{"kind": "container_kill", "target": "t", "duration": "1s"}],
        "expect": {"alerts": [{"name": "DatabaseUnreachable", "within": "60s"}]}})


class Run:
    """An alert observer watching one stack, as a run's: its own timeline, made with no arguments."""

    def __init__(self, tmp_path: Path, stack: AlertStack, name: str) -> None:
        self.timeline = Timeline(tmp_path / f"{name}.jsonl", SystemClock())
        self.observer = AlertObserver(poll_interval=0)  # the webhook alone: polling reads only the stack's own
        self.observer.start(RunContext(scenario(stack.stack()), self.timeline, SystemClock(), tmp_path, tmp_path))
        self.timeline.record("fault.injected", fault="f")
        self.timeline.record("fault.effective", fault="f")

    def of_kind(self, kind: str) -> list[Event]:
        return [e for e in self.timeline.events if e.kind == kind]

    def fired(self) -> list[tuple[str, str]]:
        return [(e.details["alertname"], e.details["labels"]["stack"]) for e in self.of_kind("alert.firing")]

    def close(self) -> None:
        self.observer.stop()
        self.timeline.close()


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:
        run.close()


def fire(stack: AlertStack, name: str, *names: str) -> None:
    """The stack's Alertmanager receives firing alerts (labelled with the stack's name), as from its Prometheus."""
    now = SystemClock().wall()
    client = AlertmanagerClient(stack.alertmanager_url)
    try:
        client.post_alerts([{"labels": {"alertname": alert, "severity": "critical", "stack": name},
                             "startsAt": iso(now), "endsAt": iso(now + timedelta(minutes=10))} for alert in names])
    finally:
        client.close()


def test_two_stacks_runs_side_by_side_each_hear_only_their_own_alertmanager(
    tmp_path: Path, alert_stack: StackFactory, runs: list[Run]
) -> None:
    a = alert_stack("unused", prometheus=False, external_url=True)
    b = alert_stack("unused", prometheus=False, external_url=True)
    runs += [Run(tmp_path, a, "a"), Run(tmp_path, b, "b")]
    run_a, run_b = runs
    assert run_a.observer.receiver is not None and run_a.observer.receiver.port == a.receiver_port
    assert run_b.observer.receiver is not None and run_b.observer.receiver.port == b.receiver_port

    fire(b, "b", "CheckoutLatencyHigh", "DatabaseUnreachable")
    wait_for(lambda: len(run_b.fired()) == 2, timeout=30)
    fire(a, "a", "DatabaseUnreachable")
    wait_for(lambda: run_a.fired(), timeout=30)

    assert run_a.fired() == [("DatabaseUnreachable", "a")]
    assert sorted(run_b.fired()) == [("CheckoutLatencyHigh", "b"), ("DatabaseUnreachable", "b")]
    assert not run_a.of_kind("alerts.foreign_refused") and not run_b.of_kind("alerts.foreign_refused")


def test_another_alertmanager_posting_to_this_stacks_receiver_is_refused_and_said_once(
    tmp_path: Path, alert_stack: StackFactory, runs: list[Run]
) -> None:
    """A stack left posting to the port another listens on (an old config, a port not moved): its alerts are
    refused by their externalURL, so they can neither show in the timeline nor meet an expectation."""
    shared = free_port()
    a = alert_stack("unused", prometheus=False, external_url=True, receiver_port=shared)
    b = alert_stack("unused", prometheus=False, external_url=True, receiver_port=shared)
    runs.append(Run(tmp_path, a, "a"))
    run_a, = runs

    fire(b, "b", "CheckoutLatencyHigh", "DatabaseUnreachable")
    wait_for(lambda: run_a.of_kind("alerts.foreign_refused"), timeout=30)
    fire(a, "a", "DatabaseUnreachable")
    wait_for(lambda: run_a.fired(), timeout=30)
    fire(b, "b", "InstanceDown")  # another payload from the same sender is refused without a second event
    b_log = b.workdir / "alertmanager.log"  # b's owner reads why: "unexpected status code 403: ... only, not ..."
    wait_for(lambda: b_log.read_text().count("status code 403") >= 3, timeout=30)
    run_a.observer.stop()

    assert run_a.fired() == [("DatabaseUnreachable", "a")]
    refused, = run_a.of_kind("alerts.foreign_refused")
    assert refused.details["sender"] == b.alertmanager_url and refused.details["accepts_from"] == a.alertmanager_url
    assert refused.details["alertnames"] in (["CheckoutLatencyHigh"], ["DatabaseUnreachable"],
                                             ["CheckoutLatencyHigh", "DatabaseUnreachable"])
    stopped, = run_a.of_kind("alerts.stopped")
    assert stopped.details["refused"] >= 3  # Alertmanager tries a refused group again at each group_interval
    assert "this receiver takes the alerts of the Alertmanager at" in b_log.read_text()
    verdict, = run_a.observer.verdicts(scenario(a.stack()), run_a.timeline.events)
    assert verdict.met  # by a's own DatabaseUnreachable
