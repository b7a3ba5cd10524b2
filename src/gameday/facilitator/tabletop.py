"""A tabletop drill: the scenario's timeline without a real fault, on a compressed clock.

Nothing is touched: no Docker, no proxy, no probe. Faults are *simulated*: ``fault.injected``,
``fault.effective`` and ``fault.reverted`` are recorded at the scenario's times with ``simulated: true``
(so time to detect and the fault window read as in a live drill), and a simulated fault ends at its
duration or when the team mitigates it. Injects and scripted responses replay on the same clock.
Times in the record are scenario time; ``run.started`` says so and names the speed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from gameday import events as ev
from gameday.clock import Clock
from gameday.engine.observers import Observer, RunContext
from gameday.engine.run import Outcome, RunResult, StopRequest, new_run_id
from gameday.errors import GamedayError, RunInterrupted
from gameday.scenario.model import Scenario
from gameday.scoring.expectations import Verdict
from gameday.timeline import Listener, Timeline

MAX_REAL_TICK_S = 0.1


class TabletopRun:
    def __init__(self, scenario: Scenario, *, clock: Clock, speed: float, reports_dir: Path,
                 observers: list[Observer], stop: StopRequest | None = None, scenario_file: Path | None = None,
                 listeners: list[Listener] | None = None, run_id: str | None = None) -> None:
        self.scenario = scenario
        self.clock = clock
        self.speed = speed
        self.observers = observers
        self.stop = stop or StopRequest()
        self.scenario_file = scenario_file
        self.run_id = run_id or new_run_id(scenario, clock)
        self.run_dir = reports_dir / self.run_id
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.timeline = Timeline(self.run_dir / "timeline.jsonl", clock)
        for listener in listeners or []:
            self.timeline.subscribe(listener)
        self._stopped = False

    def end_fault_phase(self) -> None:
        """The team mitigated: the simulated faults end now."""
        self.stop.end_fault_phase()

    def run(self) -> RunResult:
        if self.scenario_file is not None:
            shutil.copyfile(self.scenario_file, self.run_dir / "scenario.yaml")
        self.timeline.record(
            ev.RUN_STARTED, run_id=self.run_id, scenario=self.scenario.name, description=self.scenario.description,
            scenario_file=str(self.scenario_file or ""), drill=True, mode="tabletop", speed=self.speed,
            time="scenario", note=f"tabletop: no fault is injected; offsets and durations are scenario seconds "
                                   f"(real seconds x {self.speed:g})",
            pid=os.getpid(),
            faults=[{"fault": f.label, "kind": f.kind, "target": f.target, "at_s": f.at, "duration_s": f.duration}
                    for f in self.scenario.faults],
            expected_severity=self.scenario.severity, severities=self.scenario.severity_changes(),
            recovers_within_s=self.scenario.expect.recovers_within,
        )
        outcome, error = Outcome.PASSED, None
        verdicts: list[Verdict] = []
        try:
            self._phases()
            verdicts = self._evaluate()
            outcome = Outcome.PASSED if all(v.met for v in verdicts) else Outcome.FAILED
        except RunInterrupted as exc:
            outcome, error = Outcome.INTERRUPTED, str(exc)
            self.timeline.record(ev.RUN_ABORTED, reason=str(exc))
        except GamedayError as exc:
            outcome, error = Outcome.ERROR, str(exc)
            self.timeline.record(ev.RUN_ABORTED, reason=str(exc))
        finally:
            self._stop_observers()
        self.timeline.record(ev.RUN_FINISHED, outcome=outcome.name.lower(), exit_code=outcome.exit_code, error=error)
        self.timeline.close()
        return RunResult(self.run_id, self.run_dir, outcome, verdicts, error)

    def _check(self) -> bool:
        # The event first: `interrupt` names the signal before it sets the event, so a set event with no
        # name is an all-clear, never a Ctrl-C read halfway.
        if not self.stop.is_set():
            return False
        if self.stop.signal_name:
            raise RunInterrupted(self.stop.signal_name)
        return True

    def _phase(self, name: str) -> None:
        self.timeline.record(ev.PHASE_CHANGED, phase=name)
        for observer in self.observers:
            self._call(observer, "on_phase", lambda o=observer: o.on_phase(name))

    def _call(self, observer: Observer, what: str, call: object) -> None:
        try:
            call()  # type: ignore[operator]
        except GamedayError as exc:
            self.timeline.record(ev.OBSERVER_FAILED, observer=observer.name, during=what, error=str(exc))

    def _phases(self) -> None:
        scenario_dir = (self.scenario_file or Path("x")).resolve().parent
        ctx = RunContext(self.scenario, self.timeline, self.clock, self.run_dir, scenario_dir)
        for observer in self.observers:
            self._call(observer, "start", lambda o=observer: o.start(ctx))
        self._phase("steady_state")
        self.timeline.record(ev.STEADY_STATE_MET, rounds=0, note="tabletop: no real system is checked")
        self._phase("fault")
        self._simulate()
        self._phase("recovery")
        self.timeline.record(ev.RECOVERY_MET, after_s=0.0, note="tabletop: simulated")

    def _simulate(self) -> None:
        pending = sorted(enumerate(self.scenario.faults), key=lambda item: item[1].at)
        live: list[tuple[int, float]] = []  # (fault index, phase seconds when injected)
        start = self.clock.monotonic()
        while pending or live:
            now = self.clock.monotonic() - start
            if self._check():
                for index, injected in live:
                    self._revert(index, now - injected, early=True)
                return
            while pending and pending[0][1].at <= now:
                index, spec = pending.pop(0)
                details: dict[str, Any] = {"fault": spec.label, "fault_id": f"f{index}", "kind": spec.kind, "target": spec.target,
                           "description": f"tabletop: {spec.kind} on {spec.target} (simulated, nothing touched)",
                           "simulated": True}
                self.timeline.record(ev.FAULT_INJECTED, duration_s=spec.duration, **details)
                self.timeline.record(ev.FAULT_EFFECTIVE, fault=spec.label, after_ms=0.0, simulated=True)
                live.append((index, now))
            for index, injected in list(live):
                spec = self.scenario.faults[index]
                if now >= spec.at + spec.duration:
                    live.remove((index, injected))
                    self._revert(index, now - injected)
            upcoming = [s.at for _, s in pending] + [self.scenario.faults[i].at + self.scenario.faults[i].duration
                                                     for i, _ in live]
            if upcoming:
                wait = max(0.0, min(upcoming) - (self.clock.monotonic() - start))
                self.clock.sleep(min(wait, MAX_REAL_TICK_S * self.speed))

    def _revert(self, index: int, lasted: float, *, early: bool = False) -> None:
        spec = self.scenario.faults[index]
        self.timeline.record(ev.FAULT_REVERTED, fault=spec.label, duration_s=round(lasted, 3), revert_ms=0.0,
                             simulated=True, **({"reason": "mitigated by the team"} if early else {}))

    def _evaluate(self) -> list[Verdict]:
        self._stop_observers()
        self._phase("evaluation")
        verdicts: list[Verdict] = []
        for observer in self.observers:
            verdicts.extend(observer.verdicts(self.scenario, self.timeline.events))
        for v in verdicts:
            self.timeline.record(ev.EXPECTATION_MET if v.met else ev.EXPECTATION_FAILED, name=v.name, detail=v.detail)
        return verdicts

    def _stop_observers(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for observer in self.observers:
            self._call(observer, "stop", observer.stop)
