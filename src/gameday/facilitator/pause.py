"""Pausing a tabletop: the scenario clock stops and the timeline says so, from any front end.

``TabletopPause`` is what both front ends call: the terminal's ``/pause`` and ``/resume`` (typed at any
prompt, see ``pause_interjection``) and a drill room's pause button. While paused, scenario time stands
still (clock.py), so injects, escalation prompts and the simulated fault window hold; the pause is
recorded as ``tabletop.paused`` and ``tabletop.resumed`` at the same offset, the real seconds it lasted
on the second. Nothing else is recorded while paused (the terminal refuses answers until /resume): an
answer given during a pause would take no scenario time, a free minute the score would not show.

A live drill cannot be paused: its fault is real and keeps running whatever the facilitator's clock says.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from rich.console import Console

from gameday import events as ev
from gameday.facilitator.clock import ScaledClock
from gameday.facilitator.events import DrillRecorder
from gameday.facilitator.state import drill_state
from gameday.scenario.durations import format_duration

LIVE_REFUSAL = "only a tabletop can be paused: in a live drill the fault is real and keeps running"


class TabletopPause:
    """Pause and resume one tabletop's clock, each recorded on its timeline. Thread-safe."""

    def __init__(self, clock: ScaledClock, recorder: DrillRecorder) -> None:
        self.clock = clock
        self.recorder = recorder
        self._lock = threading.Lock()

    @property
    def paused(self) -> bool:
        return self.clock.paused

    def pause(self, *, by: str = "facilitator") -> bool:
        """Stop scenario time and record it; False when already paused (nothing recorded)."""
        with self._lock:
            if not self.clock.pause():
                return False
            # Recorded after the clock stopped: its offset is the instant scenario time stands at.
            self.recorder.record(ev.TABLETOP_PAUSED, actor=by, phase=drill_state(self.recorder.events()).phase)
            return True

    def resume(self, *, by: str = "facilitator", reason: str | None = None) -> float | None:
        """Record the resume and let scenario time run again; the real seconds paused, or None when it was
        not paused. ``reason`` says why when nobody asked (the drill stopped or ended while paused)."""
        with self._lock:
            if not self.clock.paused:
                return None
            span = self.clock.paused_for()
            # Recorded before the clock runs again: the same offset as the pause, so the pause spans no time.
            extra = {"reason": reason} if reason else {}
            self.recorder.record(ev.TABLETOP_RESUMED, actor=by, paused_real_s=round(span, 3), **extra)
            self.clock.resume()
            return span


def pause_interjection(pause: TabletopPause | None, console: Console) -> Callable[[str], bool]:
    """The terminal's ``/pause`` and ``/resume``, typed at any prompt: returns True when it consumed the
    answer (the question is then asked again). While paused every other answer is refused, so nothing is
    recorded at a frozen time. ``pause`` is None in a live drill: /pause is refused, with the reason."""

    def interject(answer: str) -> bool:
        word = answer.strip().lower()
        if word not in ("/pause", "/resume"):
            if pause is not None and pause.paused:
                console.print("[yellow]the drill is paused: type /resume to continue[/]", highlight=False)
                return True
            return False
        if pause is None:
            console.print(f"[red]{LIVE_REFUSAL}[/]", highlight=False)
            return True
        t = f"T+{format_duration(max(0.0, pause.recorder.t()))}"
        if word == "/pause":
            if pause.pause():
                console.print(f"[bold yellow]PAUSED at {t}[/]: the tabletop clock is stopped (injects, escalations "
                              "and the fault window hold). Type /resume to continue.", highlight=False)
            else:
                console.print("[yellow]already paused: type /resume to continue[/]", highlight=False)
        else:
            span = pause.resume()
            if span is None:
                console.print("[yellow]not paused[/]", highlight=False)
            else:
                console.print(f"[bold green]RESUMED at {t}[/] after {format_duration(span)} of real time "
                              "(not counted as response time).", highlight=False)
        return True

    return interject
