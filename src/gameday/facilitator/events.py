"""The recorder of the human side of a drill: each event it writes carries the drill context.

The kinds it writes (``human=True``) and the drill context (``DRILL_CONTEXT``: drill, t_s, mode) are
declared, with their details, in the event catalogue, gameday/events.py.
"""

from __future__ import annotations

from typing import Any, Literal

from gameday import events as ev
from gameday.timeline import Event, Timeline

Mode = Literal["live", "tabletop", "scripted"]


def fault_phase_offset(events: list[Event]) -> float | None:
    """Timeline offset at which the fault phase began (T+0 of injects and responses), or None."""
    for event in events:
        if event.kind == ev.PHASE_CHANGED and event.details.get("phase") == "fault":
            return event.offset
    return None


class DrillRecorder:
    """Writes human-side events with the drill context; thread-safe because the timeline is."""

    def __init__(self, timeline: Timeline, *, fault_start: float, mode: Mode) -> None:
        self.timeline = timeline
        self.fault_start = fault_start
        self.mode = mode

    def t(self) -> float:
        """Seconds since the fault phase began (scenario time)."""
        return self.timeline.now() - self.fault_start

    def events(self) -> list[Event]:
        return list(self.timeline.events)

    def record(self, kind: str, /, actor: str = "facilitator", **details: Any) -> Event:
        return self.timeline.record(kind, actor=actor, drill=True, mode=self.mode, t_s=round(self.t(), 3), **details)
