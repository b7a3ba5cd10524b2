"""Escalation triggers and update cadence, from the incident process (INCIDENT-PROCESS.md).

Pure functions: given the timeline so far, the time and the severity table (``scoring.severity``, the
one table the facilitator shows and the score judges by), which prompts are due. Time targets are in
scenario seconds from the fault phase start (the drill's T+0) unless named otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from gameday import events as ev
from gameday.scoring.severity import DEFAULT_SEVERITIES, HOUR, SeverityTable, human_duration
from gameday.timeline import Event

LEADERSHIP_BRIEFING_AFTER_S = 2 * HOUR
"""Any incident still open this long after detection gets a leadership briefing."""


@dataclass(frozen=True)
class Escalation:
    rule: str
    reason: str
    due_t_s: float


def current_severity(events: list[Event]) -> str | None:
    """The last severity declared (a team may downgrade later)."""
    declared = [e for e in events if e.kind == ev.SEVERITY_DECLARED]
    return str(declared[-1].details.get("severity")) if declared else None


def due_escalations(events: list[Event], *, fault_start: float, now: float, expected_severity: str | None = None,
                    table: SeverityTable = DEFAULT_SEVERITIES) -> list[Escalation]:
    """Escalation prompts whose trigger has passed and that were not prompted yet (pure).

    ``now`` and ``fault_start`` are timeline offsets. Triggers, from the incident process:
      - not acknowledged within the severity's respond-within target (declared severity, else the expected one);
      - not mitigated within the severity's escalation target after it was declared (SEV1: 30 min):
        engineering leadership;
      - still not resolved 2 h after detection: leadership briefing.
    """
    prompted = {str(e.details.get("rule")) for e in events if e.kind == ev.ESCALATION_PROMPTED}
    resolved = ev.first(events, ev.INCIDENT_RESOLVED)
    if resolved is not None:
        return []
    due: list[Escalation] = []
    severity = current_severity(events) or expected_severity
    level = table.get(severity)
    if level is not None and level.respond_within_s and ev.first(events, ev.INCIDENT_ACKNOWLEDGED) is None:
        deadline = fault_start + level.respond_within_s
        if now >= deadline:
            due.append(Escalation("respond_within", f"no one has acknowledged {level.respond_text} into the incident "
                                  f"({level.name} target): page the secondary on-call", deadline - fault_start))
    declared = ev.last(events, ev.SEVERITY_DECLARED)
    declared_level = table.get(str(declared.details.get("severity"))) if declared is not None else None
    if declared is not None and declared_level is not None and declared_level.escalate_unmitigated_after_s \
            and ev.first(events, ev.INCIDENT_MITIGATED) is None:
        first_at = next(e for e in events if e.kind == ev.SEVERITY_DECLARED
                        and e.details.get("severity") == declared_level.id).offset
        deadline = first_at + declared_level.escalate_unmitigated_after_s
        if now >= deadline:
            due.append(Escalation(f"{declared_level.id.lower()}_not_mitigated",
                                  f"{declared_level.name} not mitigated "
                                  f"{human_duration(declared_level.escalate_unmitigated_after_s)} after it was "
                                  "declared: bring in engineering leadership", deadline - fault_start))
    detected = ev.first(events, ev.INCIDENT_DETECTED)
    if detected is not None:
        deadline = detected.offset + LEADERSHIP_BRIEFING_AFTER_S
        if now >= deadline:
            due.append(Escalation("open_over_2h", "incident open for over 2 h: brief leadership", deadline - fault_start))
    return [e for e in due if e.rule not in prompted]


def status_update_due(events: list[Event], *, fault_start: float, now: float,
                      table: SeverityTable = DEFAULT_SEVERITIES) -> float | None:
    """Seconds a status update is overdue by the severity's cadence (>= 0), or None if none is due (pure).

    The first update is due as soon as a severity with a cadence is declared; later ones one cadence
    period (the short end of the range) after the last update. Nothing is due once the incident is resolved.
    """
    if ev.first(events, ev.INCIDENT_RESOLVED) is not None:
        return None
    level = table.get(current_severity(events))
    if level is None or level.update_every_min_s is None:
        return None
    updates = [e for e in events if e.kind == ev.STATUS_UPDATE_SENT]
    if not updates:
        declared = next(e for e in events if e.kind == ev.SEVERITY_DECLARED)
        return max(0.0, now - declared.offset)
    due_at = updates[-1].offset + level.update_every_min_s
    return now - due_at if now >= due_at else None
