"""Abort conditions: guards that stop the run and revert at once when the blast radius grows.

    probe                  a probe outside the blast radius stays red for `sustained`
    load_error_rate_above  the load's error rate (load.stats events) stays above the bound for `sustained`
    alert                  an alert with this name fires (alert.firing events)

Guards watch from the steady-state phase on: a guard that trips before the fault stops the run
before anything is injected.
"""

from __future__ import annotations

import threading

from gameday import events as ev
from gameday.contracts import Role, RunContext
from gameday.observe.probes import Prober
from gameday.scenario.model import GuardSpec, Scenario
from gameday.scoring.expectations import Verdict
from gameday.timeline import Event


class GuardObserver:
    name = "guards"
    role: Role = "watches"
    order = 10  # first: a guard watches from the start of steady state

    @staticmethod
    def wanted(scenario: Scenario) -> bool:
        return bool(scenario.guards)

    def __init__(self) -> None:
        self._ctx: RunContext | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._bad_since: dict[str, float] = {}

    def start(self, ctx: RunContext) -> None:
        self._ctx = ctx
        ctx.timeline.subscribe(self._on_event)
        for guard in ctx.scenario.guards:
            if guard.probe is not None:
                thread = threading.Thread(target=self._probe_loop, args=(guard,), name=f"guard-{guard.name}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _trip(self, guard: GuardSpec, why: str) -> None:
        assert self._ctx is not None
        if not self._stop.is_set():
            self._ctx.request_abort(f"guard {guard.name} tripped: {why}")

    def _condition(self, guard: GuardSpec, bad: bool, now: float, why: str) -> None:
        if not bad:
            self._bad_since.pop(guard.name, None)
            return
        since = self._bad_since.setdefault(guard.name, now)
        if now - since >= guard.sustained:
            self._trip(guard, why)

    def _probe_loop(self, guard: GuardSpec) -> None:
        assert self._ctx is not None and guard.probe is not None
        prober = Prober(self._ctx.scenario.stack)
        try:
            while not self._stop.is_set():
                result = prober.check(guard.probe)
                now = self._ctx.timeline.now()
                self._ctx.timeline.record(ev.GUARD_CHECKED, actor=f"guard:{guard.name}", guard=guard.name, **result.details())
                self._condition(guard, not result.ok, now, f"probe {guard.probe.name} red ({result.error})")
                self._stop.wait(guard.probe.interval)
        finally:
            prober.close()

    def _on_event(self, event: Event) -> None:
        if self._ctx is None or self._stop.is_set():
            return
        for guard in self._ctx.scenario.guards:
            if guard.alert is not None and event.kind == ev.ALERT_FIRING and event.details.get("alertname") == guard.alert:
                self._trip(guard, f"alert {guard.alert} fired")
            elif guard.load_error_rate_above is not None and event.kind == ev.LOAD_STATS:
                rate = float(event.details.get("error_rate") or 0.0)
                self._condition(guard, rate > guard.load_error_rate_above, event.offset,
                                f"load error rate {rate:.0%} above {guard.load_error_rate_above:.0%}")

    def on_phase(self, phase: str) -> None:
        return None

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def verdicts(self, scenario: Scenario, events: list[Event]) -> list[Verdict]:
        return []
