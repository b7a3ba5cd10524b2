"""The drill's background thread: from the fault phase on, release injects and escalation prompts when due.

A scripted responder adds its own steps to the same loop (``extra``), so injects and responses are
performed in one thread, in time order, and a replay of the same scenario writes the same sequence.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from gameday.clock import Clock
from gameday.errors import GamedayError
from gameday.facilitator.events import DrillRecorder
from gameday.facilitator.injects import InjectScheduler
from gameday.facilitator.severity import due_escalations
from gameday.scenario.model import Scenario

TICK_S = 0.05
"""Real seconds between looks at the timeline: small next to any inject or response time."""

Extra = Callable[[float], None]
"""Called each tick with the scenario time since the fault phase start (after injects were released)."""


def real_seconds(clock: Clock, scenario_seconds: float) -> float:
    """Real seconds for a span of scenario time (a ScaledClock runs faster than the real one)."""
    convert = getattr(clock, "real_seconds", None)
    return float(convert(scenario_seconds)) if callable(convert) else scenario_seconds


class DrillLoop:
    def __init__(self, scenario: Scenario, recorder: DrillRecorder, clock: Clock, *, name: str,
                 extra: Extra | None = None, escalations: bool = True) -> None:
        self.scenario = scenario
        self.recorder = recorder
        self.clock = clock
        self.scheduler = InjectScheduler(list(scenario.injects), fault_start=recorder.fault_start)
        self.extra = extra
        self.escalations = escalations
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None

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
        events = self.recorder.events()
        for decision in self.scheduler.due(events, t):
            kind = "inject.released" if decision.release else "inject.withheld"
            self.recorder.record(kind, actor=decision.spec.source if decision.release else "facilitator",
                                 **decision.details())
        if self.escalations:
            events = self.recorder.events()
            now = self.recorder.timeline.now()
            for esc in due_escalations(events, fault_start=self.recorder.fault_start, now=now,
                                       expected_severity=self.scenario.severity):
                self.recorder.record("escalation.prompted", reason=esc.reason, rule=esc.rule, due_t_s=esc.due_t_s)
        if self.extra is not None:
            self.extra(t)

    def stop(self, *, wait: bool = True) -> None:
        self._stop.set()
        if wait and self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
