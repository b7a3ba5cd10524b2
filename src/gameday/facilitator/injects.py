"""The master scenario events list: which of a scenario's injects are due, from the timeline alone.

An inject is released at T+``at`` from the start of the fault phase. With ``unless``, it is released only
if none of the named things happened by its deadline (``no_alert_by: 3m``: no alert fired by T+3m); its
release time is the latest of ``at`` and the deadlines. When the thing did happen in time, the inject is
withheld, and that is recorded too, so a report shows what the team did not need to be told.

The scheduler keeps no state of its own: what was released or withheld is read back from the timeline,
so a resumed drill never releases an inject twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gameday import events as ev
from gameday.scenario.durations import format_duration
from gameday.scenario.model import InjectCondition, InjectSpec
from gameday.timeline import Event

CONDITION_EVENTS: dict[str, tuple[str, str]] = {
    # condition field -> (event kind that satisfies it, words for the record)
    "no_alert_by": (ev.ALERT_FIRING, "no alert fired"),
    "no_acknowledge_by": (ev.INCIDENT_ACKNOWLEDGED, "no one acknowledged"),
    "no_severity_by": (ev.SEVERITY_DECLARED, "no severity declared"),
}


def inject_id(index: int) -> str:
    """Stable id of the index-th inject (1-based in the record, like runbook steps)."""
    return f"inject-{index + 1}"


def conditions(unless: InjectCondition | None) -> list[tuple[str, float]]:
    if unless is None:
        return []
    return [(name, float(getattr(unless, name))) for name in CONDITION_EVENTS if getattr(unless, name) is not None]


def release_time(spec: InjectSpec) -> float:
    """Scenario seconds after the fault phase start at which the inject is decided."""
    return max([spec.at or 0.0] + [deadline for _, deadline in conditions(spec.unless)])


def condition_text(spec: InjectSpec) -> str | None:
    parts = [f"{CONDITION_EVENTS[name][1]} by T+{format_duration(deadline)}" for name, deadline in conditions(spec.unless)]
    return " and ".join(parts) or None


@dataclass(frozen=True)
class Decision:
    index: int
    spec: InjectSpec
    release: bool
    due_t_s: float
    condition: str | None
    reason: str = ""

    @property
    def inject(self) -> str:
        return inject_id(self.index)

    def details(self) -> dict[str, object]:
        if self.release:
            return {"inject": self.inject, "kind": self.spec.kind, "source": self.spec.source, "text": self.spec.text,
                    "condition": self.condition, "due_t_s": self.due_t_s}
        return {"inject": self.inject, "kind": self.spec.kind, "condition": self.condition, "reason": self.reason}


class InjectScheduler:
    """Decides which injects are due; ``fault_start`` is the timeline offset of the fault phase start."""

    def __init__(self, injects: list[InjectSpec], *, fault_start: float) -> None:
        self.injects = injects
        self.fault_start = fault_start

    def decided(self, events: list[Event]) -> set[str]:
        return {str(e.details.get("inject")) for e in events if e.kind in (ev.INJECT_RELEASED, ev.INJECT_WITHHELD)}

    def due(self, events: list[Event], t: float, *, on_time: Mapping[int, float] | None = None) -> list[Decision]:
        """Injects whose time has come at ``t`` (seconds since the fault phase start) and not yet decided.

        Ordered by release time, then by their order in the scenario, so a replay is deterministic.
        ``on_time`` maps an event's position in ``events`` to the scenario seconds it counts at when that is not
        its offset: a scripted step the loop performed late (a busy machine) happened at its scripted time.
        """
        done = self.decided(events)
        out: list[Decision] = []
        for index, spec in enumerate(self.injects):
            when = release_time(spec)
            if inject_id(index) in done or t < when:
                continue
            happened = [
                f"{CONDITION_EVENTS[name][0]} at T+{hit:.1f}s"
                for name, deadline in conditions(spec.unless)
                if (hit := self._first(events, CONDITION_EVENTS[name][0], deadline, on_time or {})) is not None
            ]
            if happened:
                out.append(Decision(index, spec, False, when, condition_text(spec), reason="; ".join(happened)))
            else:
                out.append(Decision(index, spec, True, when, condition_text(spec)))
        return sorted(out, key=lambda d: (d.due_t_s, d.index))

    def next_due(self, events: list[Event]) -> float | None:
        """The earliest release time of an undecided inject (scenario seconds from the fault), or None."""
        done = self.decided(events)
        times = [release_time(s) for i, s in enumerate(self.injects) if inject_id(i) not in done]
        return min(times) if times else None

    def _first(self, events: list[Event], kind: str, deadline: float, on_time: Mapping[int, float]) -> float | None:
        """Scenario seconds of the first ``kind`` event that happened by ``deadline``, or None."""
        # The events are in time order, but a condition counts only if it happened by its deadline.
        for position, event in enumerate(events):
            if event.kind == kind:
                t = on_time.get(position, event.offset - self.fault_start)
                if t <= deadline:
                    return t
        return None
