"""Watch alerts during a run: Alertmanager's webhook (push) and its API (poll), into the timeline.

Events written: ``alerts.watching`` on start, ``alert.firing`` / ``alert.resolved`` (actor
``alertmanager``), and the ``alerts.*`` kinds about the watching itself; each with its details in the
event catalogue, gameday/events.py.

One alert transition is one event: alerts are de-duplicated by (fingerprint, startsAt), because
Alertmanager repeats a firing alert in later notifications of its group and polling sees it every
second. Polling learns of a resolution when the alert leaves the API's list of active alerts.

The observer keeps listening through the recovery phase. At ``stop()`` after a completed recovery it
waits until every expected alert has fired or passed its deadline (``within`` after the fault took
effect), then (bounded: ``resolve_wait``, default the scenario's ``expect.recovers_within`` from the
last revert) for alerts raised during the fault to resolve, so reset time can be measured.
Interrupted or aborted runs stop listening at once.

The receiver listens where the stack's Alertmanager posts (``alertmanager.webhook_url`` in the stack file,
else http://127.0.0.1:19099/alerts), and when the stack names its Alertmanager's ``external_url`` it takes
webhooks from that Alertmanager only: another stack's alerts are refused (``alerts.foreign_refused``, once
per sender), never recorded as this run's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gameday import events as ev
from gameday.contracts import Role, RunContext
from gameday.errors import GamedayError
from gameday.observe.alertmanager import AlertmanagerClient, ReceivedAlert, redact_url
from gameday.observe.receiver_defaults import listen_address
from gameday.scenario.model import AlertExpectation, Scenario
from gameday.scoring.alerting import AlertExpectations, verdicts_for
from gameday.scoring.expectations import Verdict
from gameday.timeline import Event

if TYPE_CHECKING:
    from gameday.observe.alert_receiver import AlertReceiver

ACTOR = "alertmanager"


@dataclass
class _Open:
    alert: ReceivedAlert
    recorded_at: float
    """Run offset when the firing was recorded; a poll sent before this cannot prove it resolved."""


class AlertObserver:
    """Receives alerts by webhook and polls Alertmanager; records each transition once."""

    name = "alerts"
    role: Role = "watches"
    order = 30

    @staticmethod
    def wanted(scenario: Scenario) -> bool:
        """A stack with an Alertmanager, alert expectations, or a guard on an alert (it needs the alerts too)."""
        expect = scenario.expect
        return (scenario.stack.alertmanager is not None or bool(expect.alerts) or bool(expect.alerts_not_firing)
                or any(g.alert for g in scenario.guards))

    def __init__(
        self,
        *,
        host: str | None = None,
        port: int | None = None,
        path: str | None = None,
        webhook: bool = True,
        accept_from: str | None = None,
        alertmanager_url: str | None = None,
        poll_interval: float = 1.0,
        resolve_wait: float | None = None,
        http_timeout: float = 2.0,
    ) -> None:
        """``host``, ``port`` and ``path`` (each) override the stack's ``alertmanager.webhook_url``, and
        ``accept_from`` its ``external_url``; ``alertmanager_url`` overrides ``stack.alertmanager.url``;
        ``poll_interval=0`` turns polling off; ``webhook=False`` does not start the receiver."""
        self.host, self.port, self.path = host, port, path
        self.webhook = webhook
        self.accept_from = accept_from
        self.alertmanager_url = alertmanager_url
        self.poll_interval = poll_interval
        self.resolve_wait = resolve_wait
        self.http_timeout = http_timeout
        self.receiver: AlertReceiver | None = None
        self._ctx: RunContext | None = None
        self._lock = threading.Lock()
        self._open: dict[str, _Open] = {}
        self._done: set[tuple[str, str | None]] = set()
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._stopped = False
        self._phase = ""
        self._received = {"webhook": 0, "poll": 0}
        """Alerts heard per path, repeats included: shows both paths work even when one always wins."""
        self._foreign: dict[str | None, int] = {}
        """Alerts refused per sending Alertmanager (its externalURL)."""
        self._accepts_from: str | None = None

    # --- lifecycle ------------------------------------------------------------------------------------

    def start(self, ctx: RunContext) -> None:
        self._ctx = ctx
        scenario = ctx.scenario
        alertmanager = scenario.stack.alertmanager
        url = self.alertmanager_url or (alertmanager.url if alertmanager else None)
        accept_from = self._accepts_from = self.accept_from or (alertmanager.external_url if alertmanager else None)
        if self.webhook:
            # Here, not at the top: every run loads this observer to ask wanted(), and http.server is ~10 ms.
            from gameday.observe.alert_receiver import AlertReceiver

            host, port, path = listen_address(alertmanager.webhook_url if alertmanager else None,
                                              host=self.host, port=self.port, path=self.path)
            try:
                self.receiver = AlertReceiver(self._on_webhook, host=host, port=port, path=path,
                                              on_rejected=self._on_rejected, accept_from=accept_from,
                                              on_foreign=self._on_foreign)
            except GamedayError as exc:
                ctx.timeline.record(ev.ALERTS_RECEIVER_FAILED, error=str(exc))
        ctx.timeline.record(
            ev.ALERTS_WATCHING,
            receiver=self.receiver.url if self.receiver else None,
            **({"accepts_from": accept_from} if self.receiver and accept_from else {}),
            alertmanager=redact_url(url) if url else None,
            poll_interval_s=self.poll_interval if url and self.poll_interval > 0 else None,
            **AlertExpectations.from_scenario(scenario).to_details(),
        )
        if url and self.poll_interval > 0:
            self._poller = threading.Thread(target=self._poll_loop, args=(url,), name="alert-poller", daemon=True)
            self._poller.start()

    def on_phase(self, phase: str) -> None:
        self._phase = phase

    def stop(self) -> None:
        if self._stopped or self._ctx is None:
            self._stopped = True
            return
        self._stopped = True
        start = self._ctx.timeline.now()
        try:
            self._wait_for_resolutions()
        finally:
            # Even when a signal cuts the wait short, the receiver and the poller end here.
            self._stop.set()
            if self._poller is not None:
                self._poller.join(timeout=self.http_timeout + 5)
            if self.receiver is not None:
                self.receiver.close()
            with self._lock:
                still = sorted({o.alert.alertname for o in self._open.values()})
                refused: dict[str, Any] = {"refused": sum(self._foreign.values())} if self._foreign else {}
            self._ctx.timeline.record(ev.ALERTS_STOPPED, waited_s=round(self._ctx.timeline.now() - start, 3),
                                      still_firing=still, received=dict(self._received), **refused)

    def verdicts(self, scenario: Scenario, events: list[Event]) -> list[Verdict]:
        return verdicts_for(scenario, events)

    # --- waiting for resolutions --------------------------------------------------------------------

    def _wait_for_resolutions(self) -> None:
        """After a completed recovery, wait (bounded) for expected alerts still due and for resolutions.

        First until every expected alert has fired or its deadline (fault effective + within) has
        passed, so a missing alert is judged missed only when it is really late; then until alerts
        raised during the fault resolve, at most ``resolve_wait`` after the last revert.
        """
        assert self._ctx is not None
        ctx = self._ctx
        events = list(ctx.timeline.events)
        kinds = {e.kind for e in events}
        if ev.RUN_ABORTED in kinds or not kinds & {ev.RECOVERY_MET, ev.RECOVERY_FAILED}:
            return  # interrupted or failed runs stop at once
        injected = [e.offset for e in events if e.kind == ev.FAULT_INJECTED]
        if not injected or (self.receiver is None and self._poller is None):
            return  # nothing was injected, or no alert could arrive anyway
        effective = min((e.offset for e in events if e.kind == ev.FAULT_EFFECTIVE), default=min(injected))
        reverted = [e.offset for e in events if e.kind in (ev.FAULT_REVERTED, ev.REVERT_FAILED)]
        expected = AlertExpectations.from_scenario(ctx.scenario).expected
        due = self._still_due(expected, min(injected))
        if due and ctx.timeline.now() < effective + max(x.within for x in due):
            # Said in the timeline, so a live view shows why the run has not finished yet.
            ctx.timeline.record(ev.ALERTS_WAITING, reason="expected alerts not yet fired",
                                alerts=[x.title for x in due], until_s=round(effective + max(x.within for x in due), 3))
        while ctx.timeline.now() < effective + max((x.within for x in self._still_due(expected, min(injected))),
                                                   default=0.0):
            ctx.clock.sleep(0.1)
        limit = self.resolve_wait if self.resolve_wait is not None else ctx.scenario.expect.recovers_within
        deadline = (max(reverted) if reverted else ctx.timeline.now()) + limit
        if self._raised_since(min(injected)) and ctx.timeline.now() < deadline:
            ctx.timeline.record(ev.ALERTS_WAITING, reason="alerts raised during the fault still firing",
                                until_s=round(deadline, 3))
        while self._raised_since(min(injected)) and ctx.timeline.now() < deadline:
            ctx.clock.sleep(0.1)

    def _still_due(self, expected: tuple[AlertExpectation, ...], since: float) -> list[AlertExpectation]:
        """Expected alerts not yet seen firing since the first fault was injected."""
        assert self._ctx is not None
        fired = [e for e in list(self._ctx.timeline.events) if e.kind == ev.ALERT_FIRING and e.offset >= since]
        return [x for x in expected
                if not any(x.matches(str(e.details.get("alertname")), e.details.get("labels") or {}) for e in fired)]

    def _raised_since(self, offset: float) -> bool:
        with self._lock:
            return any(o.recorded_at >= offset for o in self._open.values())

    # --- arrivals -----------------------------------------------------------------------------------

    def _on_webhook(self, alerts: list[ReceivedAlert]) -> None:
        for alert in alerts:
            self._arrived(alert, "webhook")

    def _on_rejected(self, reason: str) -> None:
        if self._ctx is not None:
            self._ctx.timeline.record(ev.ALERTS_PAYLOAD_REJECTED, error=reason)

    def _on_foreign(self, external_url: str | None, alerts: list[ReceivedAlert]) -> None:
        """Another Alertmanager's webhook (answered 403): said once per sender, with what it sent first."""
        if self._ctx is None:
            return
        with self._lock:
            first = external_url not in self._foreign
            self._foreign[external_url] = self._foreign.get(external_url, 0) + len(alerts)
        if first:
            self._ctx.timeline.record(ev.ALERTS_FOREIGN_REFUSED, sender=redact_url(external_url) if external_url else None,
                                      accepts_from=self._accepts_from, alertnames=sorted({a.alertname for a in alerts}))

    def _arrived(self, alert: ReceivedAlert, via: str) -> None:
        """Record a transition the first time any source reports it."""
        assert self._ctx is not None
        timeline = self._ctx.timeline
        fp = alert.fingerprint
        with self._lock:
            if self._stopped and self._stop.is_set():
                return
            self._received[via] = self._received.get(via, 0) + 1
            if alert.status == "firing":
                if fp in self._open or (fp, alert.starts_at) in self._done:
                    return
                # Recorded inside the lock so that a concurrent poll sees either both or neither.
                event = timeline.record(ev.ALERT_FIRING, actor=ACTOR, **alert.details(via))
                self._open[fp] = _Open(alert, event.offset)
            else:
                opened = self._open.pop(fp, None)
                starts_at = opened.alert.starts_at if opened else alert.starts_at
                if opened is None and (fp, starts_at) in self._done:
                    return
                self._done.add((fp, starts_at))
                details = alert.details(via)
                if opened is not None:
                    details["starts_at"] = details["starts_at"] or opened.alert.starts_at
                timeline.record(ev.ALERT_RESOLVED, actor=ACTOR, **details)

    def _resolved_by_poll(self, fp: str) -> None:
        with self._lock:
            opened = self._open.get(fp)
        if opened is None:
            return
        a = opened.alert
        gone = ReceivedAlert(a.alertname, a.labels, "resolved", a.starts_at, None, fp, a.annotations)
        self._arrived(gone, "poll")

    # --- polling ------------------------------------------------------------------------------------

    def _poll_loop(self, url: str) -> None:
        assert self._ctx is not None
        timeline = self._ctx.timeline
        client = AlertmanagerClient(url, timeout=self.http_timeout)
        failures = 0
        try:
            while not self._stop.is_set():
                sent_at = timeline.now()
                try:
                    active = client.alerts()
                except GamedayError as exc:
                    failures += 1
                    if failures == 1 and not self._stop.is_set():
                        timeline.record(ev.ALERTS_UNREACHABLE, alertmanager=client.safe_url, error=str(exc))
                else:
                    if failures:
                        timeline.record(ev.ALERTS_REACHABLE, alertmanager=client.safe_url, failures=failures)
                        failures = 0
                    self._poll_seen(active, sent_at)
                self._stop.wait(max(0.0, self.poll_interval - (timeline.now() - sent_at)))
        finally:
            client.close()

    def _poll_seen(self, active: list[ReceivedAlert], sent_at: float) -> None:
        present = {a.fingerprint for a in active}
        for alert in active:
            self._arrived(alert, "poll")
        with self._lock:
            # Only firings recorded before this poll was sent can be proven gone by it.
            gone = [fp for fp, o in self._open.items() if fp not in present and o.recorded_at < sent_at]
        for fp in gone:
            self._resolved_by_poll(fp)
