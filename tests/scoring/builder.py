"""Small timelines written in a test, plus the fixture drill timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gameday.clock import iso
from gameday.timeline import Event, read_timeline

FIXTURE = Path(__file__).parent / "fixtures" / "drill-timeline.jsonl"
T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


def ev(offset: float, kind: str, actor: str = "harness", /, **details: Any) -> Event:
    """One event at T0 + offset seconds."""
    return Event(at=iso(T0 + timedelta(seconds=offset)), offset=offset, kind=kind, actor=actor, details=details)


def fixture_events() -> list[Event]:
    return read_timeline(FIXTURE)


def drill(expected: str | None = "SEV2", *extra: Event, finished: bool = True) -> list[Event]:
    """A minimal finished drill: run started, fault effective at T+10, plus the given events."""
    events = [
        ev(0, "run.started", run_id="r1", scenario="s", drill=True, expected_severity=expected),
        ev(9, "fault.injected", fault="f"),
        ev(10, "fault.effective", fault="f"),
        *extra,
    ]
    if finished:
        events.append(ev(max(e.offset for e in events) + 1, "run.finished", outcome="passed", exit_code=0))
    return sorted(events, key=lambda e: e.offset)


def full_response(severity: str = "SEV2", *, update_offsets: tuple[float, ...] = (100.0,),
                  resolved: float = 400.0) -> list[Event]:
    """A complete, on-time response: detect T+60, ack T+70, declare T+80, IC, updates, mitigate, resolve, review."""
    return [
        ev(60, "incident.detected", "ic", signal="dashboard"),
        ev(70, "incident.acknowledged", "ic"),
        ev(80, "severity.declared", "ic", severity=severity),
        ev(81, "role.assigned", "facilitator", role="incident_commander", person="ic"),
        *[ev(t, "status_update.sent", "comms", audience="internal", text="update") for t in update_offsets],
        ev(resolved - 100, "incident.mitigated", "ic"),
        ev(resolved, "incident.resolved", "ic"),
        ev(resolved + 10, "review.recorded", "scribe", went_well=["a"], went_poorly=["b"], got_lucky=[],
           root_cause="because", action_items=[{"text": "fix", "owner": "sme", "due": "2026-12-01"}]),
    ]
