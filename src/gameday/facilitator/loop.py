"""The drill's background thread: from the fault phase on, release injects and escalation prompts when due.

A scripted responder adds its own steps to the same loop (a ``Script``), so injects and responses are
performed in one thread, in time order, and a replay of the same scenario writes the same sequence.
"""

from __future__ import annotations

import threading
from typing import Protocol

from gameday import events as ev
from gameday.clock import Clock
from gameday.errors import GamedayError
from gameday.facilitator.events import DrillRecorder
from gameday.facilitator.injects import InjectScheduler
from gameday.facilitator.severity import due_escalations
from gameday.scenario.model import Scenario
from gameday.scoring.severity import table_for

TICK_S = 0.05
"""Real seconds between looks at the timeline: small next to any inject or response time."""

class Script(Protocol):
    """Timed steps performed in the loop's thread, merged with the injects in time order."""

    def next_due(self) -> float | None:
        """Scenario seconds from the fault phase start of the next step, or None when all are done."""
        ...

    def perform_next(self) -> None: ...


def real_seconds(clock: Clock, scenario_seconds: float) -> float:
    """Real seconds for a span of scenario time (a ScaledClock runs faster than the real one)."""
    convert = getattr(clock, "real_seconds", None)
    return float(convert(scenario_seconds)) if callable(convert) else scenario_seconds


class DrillLoop:
    def __init__(self, scenario: Scenario, recorder: DrillRecorder, clock: Clock, *, name: str,
                 script: Script | None = None, escalations: bool = True) -> None:
        self.scenario = scenario
        self.recorder = recorder
        self.clock = clock
        self.scheduler = InjectScheduler(list(scenario.injects), fault_start=recorder.fault_start)
        self.script = script
        self.escalations = escalations
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None
        # Timeline position -> scripted time of the human events the script wrote (see tick).
        self._scripted_at: dict[int, float] = {}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except GamedayError as exc:
                # A timeline that cannot be written ends the loop; the run records why.
                self.error = str(exc)
                return
            self._stop.wait(TICK_S)

    def tick(self) -> None:
        """Release what is due now; safe to call from any one thread at a time."""
        t = self.recorder.t()
        while True:
            # Whatever is due, earliest first (an inject before a step due at the same time): a step that
            # takes long (a runbook command) never reorders what was due while it ran.
            events = self.recorder.events()
            decisions = self.scheduler.due(events, t, on_time=self._scripted_at)
            step_due = self.script.next_due() if self.script is not None else None
            if step_due is not None and step_due <= t and (not decisions or step_due < decisions[0].due_t_s):
                assert self.script is not None
                self.script.perform_next()
                # A step performed late (this thread starved on a busy machine) still happened at its scripted
                # time for the injects' conditions: "declare at 400ms" withholds "unless no_severity_by: 1s"
                # even when the loop got to it at T+1.2s, so a replay writes the same events whatever the load.
                written = self.recorder.events()
                for position in range(len(events), len(written)):
                    if written[position].details.get("drill"):
                        self._scripted_at[position] = step_due
                continue
            if not decisions:
                break
            decision = decisions[0]
            kind = ev.INJECT_RELEASED if decision.release else ev.INJECT_WITHHELD
            self.recorder.record(kind, actor=decision.spec.source if decision.release else "facilitator",
                                 **decision.details())
        if self.escalations:
            events = self.recorder.events()
            now = self.recorder.timeline.now()
            for esc in due_escalations(events, fault_start=self.recorder.fault_start, now=now,
                                       expected_severity=self.scenario.severity, table=table_for(events)):
                self.recorder.record(ev.ESCALATION_PROMPTED, reason=esc.reason, rule=esc.rule, due_t_s=esc.due_t_s)

    def stop(self, *, wait: bool = True) -> None:
        self._stop.set()
        if wait and self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
