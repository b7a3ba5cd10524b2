"""A compressed clock for tabletop practice: scenario time runs ``speed`` times faster than real time.

Both the wall time and the monotonic time it gives are scenario time, so offsets and durations in a
tabletop timeline read like those of a real drill (a 15 min update cadence is 15 min in the record); the
run's first event names the speed and says that its times are scenario time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from gameday.clock import Clock


class ScaledClock:
    """Wraps a real clock; time since creation is multiplied by ``speed``; ``sleep`` is divided by it."""

    def __init__(self, base: Clock, speed: float, *, start_wall: datetime | None = None) -> None:
        """``start_wall``: the scenario wall time to start from (a resumed tabletop continues its own)."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.base = base
        self.speed = speed
        self._mono0 = base.monotonic()
        self._wall0 = start_wall or base.wall()

    def _elapsed(self) -> float:
        return (self.base.monotonic() - self._mono0) * self.speed

    def monotonic(self) -> float:
        return self._mono0 + self._elapsed()

    def wall(self) -> datetime:
        return self._wall0 + timedelta(seconds=self._elapsed())

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.base.sleep(seconds / self.speed)

    def real_seconds(self, scenario_seconds: float) -> float:
        return scenario_seconds / self.speed
