"""Human-side timeline events and the recorder that writes them.

Every event below carries, besides its own details, the drill context:
    drill   True: this is an exercise, never a real incident
    t_s     seconds since the fault phase began, in scenario time (in tabletop mode the clock is
            compressed, so scenario seconds = real seconds x speed; the run's first event says so)
    mode    live (a real fault), tabletop (no fault), or scripted (responses: in place of people)

Event kinds (actor is a role, a person or a responder name; details in brackets):
    inject.released        [inject, kind, source, text, condition, due_t_s]
    inject.withheld        [inject, kind, condition, reason]   the condition did happen in time
    incident.detected      [signal: alert|customer_report|dashboard|probe|other, alert, person]
    incident.acknowledged  [person]
    severity.declared      [severity: SEV1..SEV4, previous]   may come again (an upgrade or downgrade)
    role.assigned          [role: incident_commander|communications|scribe|sme, person]
    hypothesis.noted       [text]
    note.recorded          [text]
    action.noted           [text]   a mitigation action taken outside a runbook
    runbook.step           [step, title, outcome: done|failed|skipped, command, exit_code, duration_s,
                            output (truncated), scripted]
    status_update.sent     [audience: internal|customer|executive, text]
    escalation.prompted    [reason, rule]
    incident.mitigated     []   impact halted
    all_clear.refused      [reason]   probes not green
    incident.resolved      [confirmed_by]   all-clear accepted
    review.recorded        [went_well, went_poorly, got_lucky, root_cause, action_items: [{text, owner, due}]]
    drill.phase            [phase]   the facilitator entered a phase (detect, triage, investigate,
                                     mitigate, verify, review, done); resume starts from the last one
    drill.stopped          [signal, phase]   Ctrl-C / SIGTERM at the facilitator
    drill.resumed          [from_phase, previous_pid, reverted]   a drill continued after its process died
    drill.finished         []   the facilitator's last event
"""

from __future__ import annotations

from typing import Any, Literal

from gameday.timeline import Event, Timeline

Mode = Literal["live", "tabletop", "scripted"]

HUMAN_KINDS = (
    "inject.released", "inject.withheld", "incident.detected", "incident.acknowledged", "severity.declared",
    "role.assigned", "hypothesis.noted", "note.recorded", "action.noted", "runbook.step", "status_update.sent",
    "escalation.prompted", "incident.mitigated", "all_clear.refused", "incident.resolved", "review.recorded",
    "drill.phase", "drill.stopped", "drill.resumed", "drill.finished",
)

ROLES = ("incident_commander", "communications", "scribe", "sme")
SIGNALS = ("alert", "customer_report", "dashboard", "probe", "other")
AUDIENCES = ("internal", "customer", "executive")


def fault_phase_offset(events: list[Event]) -> float | None:
    """Timeline offset at which the fault phase began (T+0 of injects and responses), or None."""
    for event in events:
        if event.kind == "phase.changed" and event.details.get("phase") == "fault":
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
