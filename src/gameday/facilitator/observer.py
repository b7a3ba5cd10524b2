"""The engine side of a human drill: an Observer that starts the inject loop and holds the run open.

The engine runs in a background thread; the facilitator's prompts run in the foreground. When the fault
phase begins this observer releases injects and escalation prompts (loop.py) and tells the foreground
(``fault_started``). Its ``stop()`` waits until the human side is finished (``session_done``), so the
engine's evaluation and its ``run.finished`` come after the review, and the timeline stays open for it.
"""

from __future__ import annotations

import threading

from gameday.contracts import Role, RunContext
from gameday.facilitator.events import DrillRecorder, Mode, fault_phase_offset
from gameday.facilitator.loop import DrillLoop
from gameday.scenario.model import Scenario
from gameday.scoring.expectations import Verdict
from gameday.timeline import Event


class FacilitatorObserver:
    """Not an entry point: a facilitated drill adds it itself, for the people at the screen."""

    name = "facilitator"
    role: Role = "responds"

    @staticmethod
    def wanted(scenario: Scenario) -> bool:
        return False

    def __init__(self, *, mode: Mode = "live") -> None:
        self.mode = mode
        self.ctx: RunContext | None = None
        self.recorder: DrillRecorder | None = None
        self.loop: DrillLoop | None = None
        self.phase = "starting"
        self.fault_started = threading.Event()
        self.session_done = threading.Event()

    def start(self, ctx: RunContext) -> None:
        self.ctx = ctx

    def on_phase(self, phase: str) -> None:
        self.phase = phase
        if phase != "fault" or self.ctx is None or self.loop is not None:
            return
        timeline = self.ctx.timeline
        start = fault_phase_offset(list(timeline.events))
        self.recorder = DrillRecorder(timeline, fault_start=timeline.now() if start is None else start, mode=self.mode)
        self.loop = DrillLoop(self.ctx.scenario, self.recorder, self.ctx.clock, name="facilitator-injects")
        self.loop.start()
        self.fault_started.set()

    def stop(self) -> None:
        if self.loop is not None:
            self.session_done.wait()
            self.loop.stop()

    def verdicts(self, scenario: Scenario, events: list[Event]) -> list[Verdict]:
        return []
