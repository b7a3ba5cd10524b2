"""Timelines written in a test: one event at a given offset, a minimal finished drill, a full response.

    drill("SEV2", *full_response("SEV2"))       a drill scored as a complete, on-time response
    drill("SEV1", ev(70, ev.INCIDENT_ACKNOWLEDGED, "ic"))

Scoring and the report read only events, so these are enough to test a scoring rule or a report
section without running anything.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gameday import events as kinds
from gameday.clock import iso
from gameday.timeline import Event

T0 = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
"""When the built timelines start (wall time of offset 0)."""


def ev(offset: float, kind: str, actor: str = "harness", /, **details: Any) -> Event:
    """One event at T0 + offset seconds."""
    return Event(at=iso(T0 + timedelta(seconds=offset)), offset=offset, kind=kind, actor=actor, details=details)


def drill(expected: str | None = "SEV2", *extra: Event, finished: bool = True) -> list[Event]:
    """A minimal drill: run started, fault injected at T+9 and effective at T+10, the given events, and
    (unless ``finished=False``) run finished one second after the last of them; sorted by offset."""
    events = [
        ev(0, kinds.RUN_STARTED, run_id="r1", scenario="s", drill=True, expected_severity=expected),
        ev(9, kinds.FAULT_INJECTED, fault="f"),
        ev(10, kinds.FAULT_EFFECTIVE, fault="f"),
        *extra,
    ]
    if finished:
        events.append(ev(max(e.offset for e in events) + 1, kinds.RUN_FINISHED, outcome="passed", exit_code=0))
    return sorted(events, key=lambda e: e.offset)


def full_response(severity: str = "SEV2", *, update_offsets: tuple[float, ...] = (100.0,),
                  resolved: float = 400.0) -> list[Event]:
    """A complete, on-time response: detect T+60, ack T+70, declare T+80, IC, updates, mitigate, resolve, review."""
    return [
        ev(60, kinds.INCIDENT_DETECTED, "ic", signal="dashboard"),
        ev(70, kinds.INCIDENT_ACKNOWLEDGED, "ic"),
        ev(80, kinds.SEVERITY_DECLARED, "ic", severity=severity),
        ev(81, kinds.ROLE_ASSIGNED, "facilitator", role="incident_commander", person="ic"),
        *[ev(t, kinds.STATUS_UPDATE_SENT, "comms", audience="internal", text="update") for t in update_offsets],
        ev(resolved - 100, kinds.INCIDENT_MITIGATED, "ic"),
        ev(resolved, kinds.INCIDENT_RESOLVED, "ic"),
        ev(resolved + 10, kinds.REVIEW_RECORDED, "scribe", went_well=["a"], went_poorly=["b"], got_lucky=[],
           root_cause="because", action_items=[{"text": "fix", "owner": "sme", "due": "2026-12-01"}]),
    ]
