"""The alert observer against real Prometheus and Alertmanager processes and a real HTTP receiver."""

# ruff: noqa: F811 - the fixtures are imported from alerting_fixtures and named as parameters

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gameday.clock import FakeClock, SystemClock
from gameday.contracts import RunContext
from gameday.observe.alertmanager import fingerprint
from gameday.observe.alerts import AlertObserver
from gameday.scenario.model import Scenario
from gameday.testing import free_port
from gameday.timeline import Event, Timeline
from tests.conftest import wait_for
from tests.observe.alerting_fixtures import MetricsTarget, StackFactory, alert_stack, metrics_target  # noqa: F401 - fixtures


def scenario(alertmanager: str | None = None, **expect: Any) -> Scenario:
    raw: dict[str, Any] = {"version": 1, "name": "alerts-test",
                           "faults": [{"kind": "container_kill", "target": "t", "duration": "1s"}]}
    if alertmanager:
        raw["stack"] = {"alertmanager": {"url": alertmanager}}
    if expect:
        raw["expect"] = expect
    return Scenario.model_validate(raw)


@pytest.fixture
def timeline(tmp_path: Path) -> Iterator[Timeline]:
    tl = Timeline(tmp_path / "timeline.jsonl", SystemClock())
    yield tl
    tl.close()


def start(observer: AlertObserver, timeline: Timeline, sc: Scenario, tmp_path: Path) -> AlertObserver:
    observer.start(RunContext(sc, timeline, SystemClock(), tmp_path, tmp_path))
    return observer


def of_kind(timeline: Timeline, kind: str) -> list[Event]:
    return [e for e in timeline.events if e.kind == kind]


def webhook_body(status: str = "firing", name: str = "GamedayTestFault") -> dict[str, Any]:
    labels = {"alertname": name, "severity": "critical"}
    return {"version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0, "status": status, "receiver": "harness",
            "groupLabels": {}, "commonLabels": labels, "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9",
            "alerts": [{"status": status, "labels": labels, "annotations": {"summary": "s"},
                        "startsAt": "2026-03-01T12:00:00.123456789Z", "endsAt": "0001-01-01T00:00:00Z",
                        "generatorURL": "http://127.0.0.1:9/graph", "fingerprint": fingerprint(labels)}]}


def test_a_flipped_metric_arrives_through_the_webhook_and_resolves(
    tmp_path: Path, timeline: Timeline, alert_stack: StackFactory, metrics_target: MetricsTarget
) -> None:
    stack = alert_stack(metrics_target.address)
    observer = start(AlertObserver(port=stack.receiver_port, poll_interval=0), timeline,
                     scenario(stack.alertmanager_url), tmp_path)
    try:
        metrics_target.set("gameday_test_fault", 1)
        wait_for(lambda: of_kind(timeline, "alert.firing"), timeout=20)
        metrics_target.set("gameday_test_fault", 0)
        wait_for(lambda: of_kind(timeline, "alert.resolved"), timeout=20)
    finally:
        observer.stop()
    fired, = of_kind(timeline, "alert.firing")
    assert fired.details["alertname"] == "GamedayTestFault"
    assert fired.details["via"] == "webhook"
    assert fired.details["labels"]["severity"] == "critical"
    assert fired.details["runbook_url"] == "runbooks/gameday-test-fault.md"
    assert fired.details["starts_at"].endswith("Z") and fired.details["ends_at"] is None
    gone, = of_kind(timeline, "alert.resolved")
    assert gone.details["fingerprint"] == fired.details["fingerprint"]
    assert gone.details["ends_at"] is not None


def test_webhook_and_poll_together_record_each_transition_once(
    tmp_path: Path, timeline: Timeline, alert_stack: StackFactory, metrics_target: MetricsTarget
) -> None:
    stack = alert_stack(metrics_target.address, group_interval="1s")
    observer = start(AlertObserver(port=stack.receiver_port, poll_interval=0.25), timeline,
                     scenario(stack.alertmanager_url), tmp_path)
    try:
        metrics_target.set("gameday_test_fault", 1)
        wait_for(lambda: of_kind(timeline, "alert.firing"), timeout=20)
        # Polling sees the firing alert 4 times a second, and the webhook told us too: still one event.
        timeline.clock.sleep(1)
        metrics_target.set("gameday_test_fault", 0)
        wait_for(lambda: of_kind(timeline, "alert.resolved"), timeout=20)
        timeline.clock.sleep(1)
    finally:
        observer.stop()
    assert len(of_kind(timeline, "alert.firing")) == 1
    assert len(of_kind(timeline, "alert.resolved")) == 1
    received = of_kind(timeline, "alerts.stopped")[0].details["received"]
    assert received["webhook"] >= 2 and received["poll"] >= 3  # both paths heard it; one event each way


def test_polling_sees_an_alert_when_the_webhook_route_is_absent(
    tmp_path: Path, timeline: Timeline, alert_stack: StackFactory, metrics_target: MetricsTarget
) -> None:
    stack = alert_stack(metrics_target.address, webhook=False)
    observer = start(AlertObserver(webhook=False, poll_interval=0.5), timeline, scenario(stack.alertmanager_url), tmp_path)
    try:
        metrics_target.set("gameday_test_fault", 1)
        wait_for(lambda: of_kind(timeline, "alert.firing"), timeout=20)
        metrics_target.set("gameday_test_fault", 0)
        wait_for(lambda: of_kind(timeline, "alert.resolved"), timeout=20)
    finally:
        observer.stop()
    fired, = of_kind(timeline, "alert.firing")
    gone, = of_kind(timeline, "alert.resolved")
    assert fired.details["via"] == gone.details["via"] == "poll"
    assert fired.details["state"] == "active"
    # Our fingerprint of a label set is Alertmanager's own, so webhook and poll agree without it.
    assert fired.details["fingerprint"] == fingerprint(fired.details["labels"])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "JSON object"),
        (b'{"version": "4"}', "no 'alerts' list"),
        (b'{"version": "3", "alerts": []}', "version"),
        (json.dumps({"version": "4", "alerts": [{"status": "firing", "labels": {}}]}).encode(), "no alertname"),
        (json.dumps({"version": "4", "alerts": [{"status": "burning", "labels": {"alertname": "A"}}]}).encode(),
         "status"),
        (json.dumps({"version": "4", "alerts": [{"status": "firing", "labels": {"alertname": "A"},
                                                  "startsAt": "yesterday"}]}).encode(), "RFC 3339"),
        (json.dumps({"version": "4", "alerts": [{"status": "firing", "labels": {"alertname": 7}}]}).encode(),
         "strings"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
    ids=["not-json", "not-object", "no-alerts", "old-version", "no-alertname", "bad-status", "bad-time", "bad-labels",
         "nested-bomb"],
)
def test_a_malformed_payload_gets_400_and_the_receiver_keeps_working(
    tmp_path: Path, timeline: Timeline, body: bytes, reason: str
) -> None:
    observer = start(AlertObserver(port=0, poll_interval=0), timeline, scenario(), tmp_path)
    assert observer.receiver is not None
    url = observer.receiver.url
    try:
        bad = httpx.post(url, content=body, headers={"Content-Type": "application/json"}, trust_env=False)
        assert bad.status_code == 400
        assert reason in bad.json()["error"]
        good = httpx.post(url, json=webhook_body(), trust_env=False)
        assert good.status_code == 200
        assert httpx.post(url.replace("/alerts", "/other"), json=webhook_body(), trust_env=False).status_code == 404
    finally:
        observer.stop()
    rejected, = of_kind(timeline, "alerts.payload_rejected")
    assert reason in rejected.details["error"]
    fired, = of_kind(timeline, "alert.firing")
    assert fired.details["starts_at"] == "2026-03-01T12:00:00.123Z"


def test_a_receiver_told_its_alertmanager_takes_only_its_webhooks_however_its_url_is_written(
    tmp_path: Path, timeline: Timeline
) -> None:
    observer = start(AlertObserver(port=0, poll_interval=0, accept_from="http://127.0.0.1:9093"), timeline,
                     scenario(), tmp_path)
    assert observer.receiver is not None
    url = observer.receiver.url

    def post(external: str | None, name: str) -> httpx.Response:
        body = webhook_body(name=name)
        if external is None:
            del body["externalURL"]
        else:
            body["externalURL"] = external
        return httpx.post(url, json=body, trust_env=False)

    try:
        assert post("HTTP://127.0.0.1:9093/", "Own").status_code == 200  # Alertmanager's default form: a slash
        other = post("http://127.0.0.1:9094/", "Other")
        assert other.status_code == 403
        assert "the Alertmanager at http://127.0.0.1:9093 only, not http://127.0.0.1:9094/" in other.json()["error"]
        assert post("http://127.0.0.1:9094/", "OtherAgain").status_code == 403
        assert post(None, "Unnamed").status_code == 403
    finally:
        observer.stop()
    assert [e.details["alertname"] for e in of_kind(timeline, "alert.firing")] == ["Own"]
    assert [(e.details["sender"], e.details["alertnames"]) for e in of_kind(timeline, "alerts.foreign_refused")] == [
        ("http://127.0.0.1:9094/", ["Other"]), (None, ["Unnamed"])]
    assert of_kind(timeline, "alerts.watching")[0].details["accepts_from"] == "http://127.0.0.1:9093"
    assert of_kind(timeline, "alerts.stopped")[0].details["refused"] == 3


def test_a_receiver_not_told_its_alertmanager_takes_any_webhook(tmp_path: Path, timeline: Timeline) -> None:
    """A stack file without alertmanager.external_url: as before, so a user's own Alertmanager keeps working."""
    observer = start(AlertObserver(port=0, poll_interval=0), timeline, scenario(), tmp_path)
    assert observer.receiver is not None
    try:
        assert httpx.post(observer.receiver.url, json=webhook_body(), trust_env=False).status_code == 200
    finally:
        observer.stop()
    assert of_kind(timeline, "alert.firing") and not of_kind(timeline, "alerts.foreign_refused")
    assert "accepts_from" not in of_kind(timeline, "alerts.watching")[0].details


def test_the_receiver_listens_where_the_stacks_webhook_url_says(tmp_path: Path, timeline: Timeline) -> None:
    port = free_port()
    sc = Scenario.model_validate({
        "version": 1, "name": "alerts-test", "faults": [{"kind": "container_kill", "target": "t", "duration": "1s"}],
        "stack": {"alertmanager": {"url": "http://127.0.0.1:9", "webhook_url": f"http://127.0.0.1:{port}/hook"}}})
    observer = start(AlertObserver(poll_interval=0), timeline, sc, tmp_path)
    observer.stop()
    assert of_kind(timeline, "alerts.watching")[0].details["receiver"] == f"http://127.0.0.1:{port}/hook"


def test_an_unreachable_alertmanager_is_recorded_once_and_nothing_crashes(tmp_path: Path, timeline: Timeline) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    observer = start(AlertObserver(port=0, poll_interval=0.1, http_timeout=0.5), timeline, scenario(closed), tmp_path)
    wait_for(lambda: of_kind(timeline, "alerts.unreachable"), timeout=60)
    timeline.clock.sleep(0.6)
    assert observer.receiver is not None
    assert httpx.post(observer.receiver.url, json=webhook_body(), trust_env=False).status_code == 200
    observer.stop()
    down, = of_kind(timeline, "alerts.unreachable")
    assert down.details["alertmanager"] == closed
    assert "cannot be reached" in down.details["error"]
    assert of_kind(timeline, "alert.firing")
    assert of_kind(timeline, "alerts.stopped")


def test_a_password_in_the_alertmanager_url_is_never_recorded(tmp_path: Path, timeline: Timeline) -> None:
    url = f"http://gameday:s3cret-pw@127.0.0.1:{free_port()}"
    observer = start(AlertObserver(webhook=False, poll_interval=0.1, http_timeout=0.5), timeline, scenario(url), tmp_path)
    wait_for(lambda: of_kind(timeline, "alerts.unreachable"), timeout=60)
    observer.stop()
    assert "s3cret-pw" not in (tmp_path / "timeline.jsonl").read_text()


def test_a_busy_receiver_port_is_recorded_and_polling_goes_on(
    tmp_path: Path, timeline: Timeline, alert_stack: StackFactory, metrics_target: MetricsTarget
) -> None:
    stack = alert_stack(metrics_target.address, webhook=False)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        observer = start(AlertObserver(port=busy.getsockname()[1], poll_interval=0.5), timeline,
                         scenario(stack.alertmanager_url), tmp_path)
        try:
            metrics_target.set("gameday_test_fault", 1)
            wait_for(lambda: of_kind(timeline, "alert.firing"), timeout=20)
        finally:
            observer.stop()
    assert "cannot listen" in of_kind(timeline, "alerts.receiver_failed")[0].details["error"]
    assert of_kind(timeline, "alert.firing")[0].details["via"] == "poll"


def test_the_receiver_refuses_to_listen_beyond_loopback(tmp_path: Path, timeline: Timeline) -> None:
    observer = start(AlertObserver(host="0.0.0.0", port=0, poll_interval=0), timeline, scenario(), tmp_path)
    observer.stop()
    assert "loopback only" in of_kind(timeline, "alerts.receiver_failed")[0].details["error"]


def _ran_until_recovery(tmp_path: Path, *, aborted: bool) -> tuple[Timeline, AlertObserver, FakeClock]:
    clock = FakeClock()
    tl = Timeline(tmp_path / "fake.jsonl", clock)
    sc = scenario(alerts=[{"name": "GamedayTestFault", "within": "30s"}])
    observer = AlertObserver(port=0, poll_interval=0)
    observer.start(RunContext(sc, tl, clock, tmp_path, tmp_path))
    tl.record("fault.injected", fault="f")
    tl.record("fault.effective", fault="f")
    clock.advance(4)
    tl.record("fault.reverted", fault="f")
    tl.record("run.aborted" if aborted else "recovery.met", reason="x")
    return tl, observer, clock


def test_after_recovery_the_observer_listens_until_an_expected_alerts_deadline(tmp_path: Path) -> None:
    tl, observer, _ = _ran_until_recovery(tmp_path, aborted=False)
    observer.stop()
    tl.close()
    waiting, = of_kind(tl, "alerts.waiting")
    assert waiting.details["alerts"] == ["GamedayTestFault"] and waiting.details["until_s"] == pytest.approx(30, abs=0.2)
    assert of_kind(tl, "alerts.stopped")[0].offset >= 30
    verdict, = observer.verdicts(scenario(alerts=[{"name": "GamedayTestFault", "within": "30s"}]), tl.events)
    assert not verdict.met and verdict.detail.startswith("missed")


def test_an_aborted_run_stops_listening_at_once(tmp_path: Path) -> None:
    tl, observer, _ = _ran_until_recovery(tmp_path, aborted=True)
    observer.stop()
    tl.close()
    assert not of_kind(tl, "alerts.waiting")
    assert of_kind(tl, "alerts.stopped")[0].details["waited_s"] == 0
