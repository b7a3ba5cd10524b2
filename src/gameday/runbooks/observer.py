"""In a scripted (CI) run, follow the scenario's runbook once the fault is in effect.

Wanted (``RunbookObserver.wanted``, asked by gameday.plugins.build_observers) when a scenario names a
``runbook:``, does not say ``follow_runbook: false`` (a runbook named for the people of a drill, while the
scripted run measures the harness alone) and has no scripted ``runbook_step`` responses (with those, the
facilitator's responder drives ``RunbookSession``).

Timing (a responder acts on the page): when the fault phase begins, a thread waits for the fault to
take effect (``fault.effective``). If the scenario expects alerts, it then waits for the first of
them to fire after that (or half the fault's duration, whichever comes first); otherwise it waits
``delay_s``. It records ``runbook.triggered [runbook, by: alert|fault|timeout]``, then runs the
runbook and judges it while the fault is still live. A runbook file that cannot be found is recorded
as ``runbook.missing [runbook, reason]``. The verdict becomes the expectation
"runbook restores service". The fault's ``duration`` must leave the runbook time to work: if the
harness reverts the fault first, the runbook gets no credit for the recovery.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path

from gameday import events as ev
from gameday.contracts import Role, RunContext
from gameday.runbooks.execute import DEFAULT_SETTLE, DEFAULT_STEP_TIMEOUT, execute_runbook
from gameday.scenario.model import Scenario
from gameday.scoring.expectations import Verdict
from gameday.timeline import Event

VERDICT_NAME = "runbook restores service"
FAULT_WAIT = 15.0
"""How long to wait for the fault to show before following the runbook anyway."""


def resolve_runbook(reference: str, scenario_dir: Path, cwd: Path | None = None) -> Path | None:
    """The runbook file a scenario names: relative to the scenario's folder, else to the working folder."""
    candidates = [scenario_dir / reference]
    if cwd is not None:
        candidates.append(cwd / reference)
    candidates.append(scenario_dir.parent / reference)
    return next((c for c in candidates if c.is_file()), None)


class RunbookObserver:
    name = "runbook"
    role: Role = "responds"
    order = 50

    @staticmethod
    def wanted(scenario: Scenario) -> bool:
        """A scripted run follows the runbook itself, unless scripted runbook_step responses drive it or the
        scenario names it for people only (``follow_runbook: false``)."""
        return (bool(scenario.runbook) and scenario.follow_runbook
                and not any(r.action == "runbook_step" for r in scenario.responses))

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        delay_s: float = 1.0,
        step_timeout: float = DEFAULT_STEP_TIMEOUT,
        settle_s: float = DEFAULT_SETTLE,
        cwd: Path | None = None,
    ) -> None:
        # The environment is taken here, at the edge where the run is assembled, and passed down.
        self.env = dict(os.environ if env is None else env)
        self.delay_s = delay_s
        self.step_timeout = step_timeout
        self.settle_s = settle_s
        self.cwd = cwd or Path.cwd()
        self._ctx: RunContext | None = None
        self._path: Path | None = None
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._problem = ""

    def start(self, ctx: RunContext) -> None:
        self._ctx = ctx
        reference = ctx.scenario.runbook
        if not reference:
            self._problem = "the scenario names no runbook"
            return
        self._path = resolve_runbook(reference, ctx.scenario_dir, self.cwd)
        if self._path is None:
            self._problem = f"runbook {reference} not found (looked in {ctx.scenario_dir} and {self.cwd})"
            ctx.timeline.record(ev.RUNBOOK_MISSING, actor=self.name, runbook=reference, reason=self._problem)

    def on_phase(self, phase: str) -> None:
        if phase != "fault" or self._ctx is None or self._path is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._follow, name="runbook", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        ctx = self._ctx
        assert ctx is not None and self._path is not None
        trigger = self._wait_for_trigger(ctx)
        if trigger == "cancelled":
            return
        if trigger != "alert":
            self._cancel.wait(self.delay_s)
        ctx.timeline.record(ev.RUNBOOK_TRIGGERED, actor=self.name, runbook=self._path.stem, by=trigger)
        try:
            execute_runbook(
                self._path, scenario=ctx.scenario, timeline=ctx.timeline, env=self.env, clock=ctx.clock,
                step_timeout=self.step_timeout, settle_s=self.settle_s, actor=self.name, cancel=self._cancel,
            )
        except Exception as exc:  # noqa: BLE001 - a thread must say why it died, in the record
            ctx.timeline.record(ev.OBSERVER_FAILED, observer=self.name, during="runbook",
                                error=f"{type(exc).__name__}: {exc}")

    def _wait_for_trigger(self, ctx: RunContext) -> str:
        """Wait for the page (an expected alert firing) when the scenario expects alerts, else for the fault.

        Returns what started the runbook: ``alert``, ``fault``, or ``timeout`` (no expected alert within
        half the fault's duration: the responder goes ahead, as someone watching the dashboards would).
        Only alerts that fire after the fault took effect count: one left firing by an earlier drill does not.
        """
        expected = {a.name for a in ctx.scenario.expect.alerts}
        start = ctx.clock.monotonic()
        effective: float | None = None  # timeline offset of the fault taking effect
        effective_at = 0.0  # the same moment on the monotonic clock
        alert_wait = max(self.delay_s, ctx.scenario.fault_phase_length / 2)
        while not self._cancel.is_set():
            now = ctx.clock.monotonic()
            events = list(ctx.timeline.events)
            if effective is None:
                shown = [e.offset for e in events if e.kind in (ev.FAULT_EFFECTIVE, ev.FAULT_FAILED)]
                if shown:
                    effective, effective_at = min(shown), now
            if effective is not None:
                if not expected:
                    return "fault"
                if any(e.kind == ev.ALERT_FIRING and e.offset >= effective and e.details.get("alertname") in expected
                       for e in events):
                    return "alert"
                if now - effective_at >= alert_wait:
                    return "timeout"
            elif now - start >= FAULT_WAIT:
                return "timeout"
            ctx.clock.sleep(0.05)
        return "cancelled"

    def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        # Let a judge that is already waiting finish: the fault is reverted by now, so it ends quickly.
        thread.join(timeout=self.step_timeout + 15)
        if thread.is_alive():
            self._cancel.set()
            thread.join(timeout=self.step_timeout + 5)

    def verdicts(self, scenario: Scenario, events: list[Event]) -> list[Verdict]:
        judged = [e for e in events if e.kind == ev.RUNBOOK_JUDGED and e.actor == self.name]
        if not judged:
            return [Verdict(VERDICT_NAME, False, f"the runbook was not followed: {self._problem or 'no verdict'}")]
        d = judged[-1].details
        restored, failing, idle = bool(d.get("restored")), d.get("failing_steps") or [], d.get("idle_steps") or []
        parts = [f"restored in {d.get('time_to_restore_s')}s" if restored else f"not restored: {d.get('reason')}"]
        if failing:
            parts.append(f"failing steps {', '.join(map(str, failing))}")
        if idle:
            parts.append(f"idle steps {', '.join(map(str, idle))}")
        return [Verdict(VERDICT_NAME, restored and not failing, "; ".join(parts))]
