"""What the team has done so far, rebuilt from the timeline alone (the timeline is the state).

The facilitator asks only what is still open, so a drill resumed after a crash does not ask twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gameday import events as ev
from gameday.timeline import Event

PHASES = ("detect", "triage", "investigate", "mitigate", "verify", "review", "done")
"""The facilitator's phases in order; communicating happens throughout, at the severity's cadence."""


@dataclass
class DrillState:
    phase: str | None = None
    detected: bool = False
    acknowledged: bool = False
    severity: str | None = None
    roles: dict[str, list[str]] = field(default_factory=dict)
    hypotheses: list[str] = field(default_factory=list)
    steps_recorded: dict[int, str] = field(default_factory=dict)
    """Runbook step number -> the last outcome recorded for it."""
    updates: int = 0
    mitigated: bool = False
    resolved: bool = False
    reviewed: bool = False
    finished: bool = False
    fault_live: bool = False
    alerts_fired: list[str] = field(default_factory=list)

    @property
    def phase_index(self) -> int:
        return PHASES.index(self.phase) if self.phase in PHASES else 0

    def has_role(self, role: str) -> bool:
        return bool(self.roles.get(role))


def drill_state(events: list[Event]) -> DrillState:
    state = DrillState()
    live: set[str] = set()
    for e in events:
        d = e.details
        match e.kind:
            case ev.DRILL_PHASE:
                state.phase = str(d.get("phase"))
            case ev.INCIDENT_DETECTED:
                state.detected = True
            case ev.INCIDENT_ACKNOWLEDGED:
                state.acknowledged = True
            case ev.SEVERITY_DECLARED:
                state.severity = str(d.get("severity"))
            case ev.ROLE_ASSIGNED:
                state.roles.setdefault(str(d.get("role")), []).append(str(d.get("person")))
            case ev.HYPOTHESIS_NOTED:
                state.hypotheses.append(str(d.get("text")))
            case ev.RUNBOOK_STEP:
                state.steps_recorded[int(d.get("step") or 0)] = str(d.get("outcome"))
            case ev.STATUS_UPDATE_SENT:
                state.updates += 1
            case ev.INCIDENT_MITIGATED:
                state.mitigated = True
            case ev.INCIDENT_RESOLVED:
                state.resolved = True
            case ev.REVIEW_RECORDED:
                state.reviewed = True
            case ev.DRILL_FINISHED:
                state.finished = True
            case ev.FAULT_INJECTED:
                live.add(str(d.get("fault")))
            case ev.FAULT_REVERTED:
                live.discard(str(d.get("fault")))
            case ev.ALERT_FIRING:
                name = str(d.get("alertname"))
                if name not in state.alerts_fired:
                    state.alerts_fired.append(name)
    state.fault_live = bool(live)
    return state
