"""The cluster events section of a report: what Kubernetes said about the targets while the run broke them.

Pure: reads the ``kubernetes.*`` events the cluster events recorder (kubernetes/events.py) wrote, and the
first ``fault.injected`` for the time from the fault (T+), nothing else; a saved run re-renders offline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from gameday import events as ev
from gameday.clock import parse_iso
from gameday.scoring.scorecard import format_seconds
from gameday.timeline import Event


@dataclass(frozen=True)
class EventRow:
    at: str
    """The Event's own time, UTC (HH:MM:SS)."""
    from_fault: str
    """Seconds from the first fault's inject (negative before it), as text; '-' without a fault."""
    target: str
    object: str
    reason: str
    type: str
    message: str
    count: int


@dataclass(frozen=True)
class ClusterEvents:
    targets: list[str]
    rows: list[EventRow]
    summarised: list[tuple[str, int]] = field(default_factory=list)
    repeated: list[tuple[str, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    per_reason: int = 0
    limit: int = 0
    stopped: bool = True
    """False when the run ended without the recorder's summary (the harness was killed)."""


def _time(text: object) -> datetime | None:
    try:
        return parse_iso(str(text))
    except ValueError:
        return None


def _from(when: datetime | None, fault_at: datetime | None) -> str:
    """T+ of an Event. Most Events' timestamps are whole seconds (cut, not rounded): one in the second of the
    inject is measured from that second's start, so it never reads as before the fault."""
    if when is None or fault_at is None:
        return "-"
    origin = fault_at.replace(microsecond=0) if when.microsecond == 0 else fault_at
    return format_seconds((when - origin).total_seconds())


def _counts(value: object) -> list[tuple[str, int]]:
    if not isinstance(value, dict):
        return []
    return sorted(((str(k), int(v)) for k, v in value.items() if isinstance(v, int)), key=lambda kv: (-kv[1], kv[0]))


def build(events: list[Event]) -> ClusterEvents | None:
    """The section's data; None when no recorder watched this run (no fault on a Kubernetes target)."""
    watching = ev.first(events, ev.KUBERNETES_EVENTS_WATCHING)
    if watching is None:
        return None
    injected = ev.first(events, ev.FAULT_INJECTED)
    fault_at = _time(injected.at) if injected is not None else None
    found = []
    for e in events:
        if e.kind != ev.KUBERNETES_EVENT:
            continue
        d = e.details
        when = _time(d.get("event_at"))
        found.append((str(d.get("event_at")), EventRow(
            at=when.strftime("%H:%M:%S") if when else "-", from_fault=_from(when, fault_at),
            target=str(d.get("target", "")), object=str(d.get("object", "")), reason=str(d.get("reason", "")),
            type=str(d.get("type", "")), message=str(d.get("message", "")), count=int(d.get("count") or 1))))
    rows = [row for _, row in sorted(found, key=lambda pair: pair[0])]
    summary = ev.last(events, ev.KUBERNETES_EVENTS_SUMMARY)
    s = summary.details if summary is not None else {}
    targets = watching.details.get("targets") or []
    return ClusterEvents(
        targets=[f"{t.get('target')} ({t.get('selector')})" for t in targets if isinstance(t, dict)],
        rows=rows, summarised=_counts(s.get("summarised")), repeated=_counts(s.get("repeated")),
        errors=[str(x) for x in s.get("errors") or []], per_reason=int(watching.details.get("per_reason") or 0),
        limit=int(watching.details.get("limit") or 0), stopped=summary is not None)


class ClusterEventsSection:
    """The ``kubernetes_events`` postmortem section (entry point group gameday.report_sections)."""

    name = "kubernetes_events"
    order = 60
    build = staticmethod(build)
