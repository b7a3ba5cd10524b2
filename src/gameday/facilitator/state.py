"""What the team has done so far, rebuilt from the timeline alone (the timeline is the state).

The facilitator asks only what is still open, so a drill resumed after a crash does not ask twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    run_finished: bool = False
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
            case "drill.phase":
                state.phase = str(d.get("phase"))
            case "incident.detected":
                state.detected = True
            case "incident.acknowledged":
                state.acknowledged = True
            case "severity.declared":
                state.severity = str(d.get("severity"))
            case "role.assigned":
                state.roles.setdefault(str(d.get("role")), []).append(str(d.get("person")))
            case "hypothesis.noted":
                state.hypotheses.append(str(d.get("text")))
            case "runbook.step":
                state.steps_recorded[int(d.get("step") or 0)] = str(d.get("outcome"))
            case "status_update.sent":
                state.updates += 1
            case "incident.mitigated":
                state.mitigated = True
            case "incident.resolved":
                state.resolved = True
            case "review.recorded":
                state.reviewed = True
            case "drill.finished":
                state.finished = True
            case "fault.injected":
                live.add(str(d.get("fault")))
            case "fault.reverted":
                live.discard(str(d.get("fault")))
            case "run.finished":
                state.run_finished = True
            case "alert.firing":
                name = str(d.get("alertname"))
                if name not in state.alerts_fired:
                    state.alerts_fired.append(name)
    state.fault_live = bool(live)
    return state
