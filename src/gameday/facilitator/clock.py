"""A compressed clock for tabletop practice: scenario time runs ``speed`` times faster than real time.

Both the wall time and the monotonic time it gives are scenario time, so offsets and durations in a
tabletop timeline read like those of a real drill (a 15 min update cadence is 15 min in the record); the
run's first event names the speed and says that its times are scenario time.

The clock can be paused: while paused, scenario time stands still, so everything that waits on it (the
injects, the escalation prompts, the simulated fault window, the engine's phases) holds, and no span of
the record includes the pause. pause.py records each pause on the timeline; this class only keeps time.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from gameday.clock import Clock


class ScaledClock:
    """Wraps a real clock; time since creation, less paused time, is multiplied by ``speed``; ``sleep`` is
    divided by it. Thread-safe: the front end pauses it while the engine and the inject loop read it."""

    def __init__(self, base: Clock, speed: float, *, start_wall: datetime | None = None) -> None:
        """``start_wall``: the scenario wall time to start from (a resumed tabletop continues its own)."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.base = base
        self.speed = speed
        self._mono0 = base.monotonic()
        self._wall0 = start_wall or base.wall()
        self._lock = threading.Lock()
        self._paused_at: float | None = None
        """The base clock's monotonic time when the pause began; None while running."""
        self._paused_total = 0.0
        """Real seconds spent paused, in pauses that have ended."""

    def _elapsed(self) -> float:
        with self._lock:
            end = self._paused_at if self._paused_at is not None else self.base.monotonic()
            return (end - self._mono0 - self._paused_total) * self.speed

    def monotonic(self) -> float:
        return self._mono0 + self._elapsed()

    def wall(self) -> datetime:
        return self._wall0 + timedelta(seconds=self._elapsed())

    def sleep(self, seconds: float) -> None:
        # While paused this still waits real time (callers poll in short ticks) but scenario time stays put.
        if seconds > 0:
            self.base.sleep(seconds / self.speed)

    def real_seconds(self, scenario_seconds: float) -> float:
        return scenario_seconds / self.speed

    # --- pause --------------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        with self._lock:
            return self._paused_at is not None

    def pause(self) -> bool:
        """Stop scenario time; False when it was already stopped."""
        with self._lock:
            if self._paused_at is not None:
                return False
            self._paused_at = self.base.monotonic()
            return True

    def paused_for(self) -> float:
        """Real seconds the current pause has lasted (0 while running)."""
        with self._lock:
            return 0.0 if self._paused_at is None else max(0.0, self.base.monotonic() - self._paused_at)

    def resume(self) -> float | None:
        """Let scenario time run again from where it stopped; the real seconds the pause lasted, or None
        when the clock was not paused."""
        with self._lock:
            if self._paused_at is None:
                return None
            span = max(0.0, self.base.monotonic() - self._paused_at)
            self._paused_total += span
            self._paused_at = None
            return span
