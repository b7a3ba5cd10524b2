"""The default severity table and the escalation triggers, from the incident process (INCIDENT-PROCESS.md).

Pure data and pure functions: given the timeline so far and the time, which escalation prompts are due.
Time targets are in scenario seconds from the fault phase start (the drill's T+0) unless named otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from gameday.timeline import Event

MINUTE = 60.0
HOUR = 3600.0


@dataclass(frozen=True)
class SeverityLevel:
    name: str
    title: str
    meaning: str
    respond_within_s: float | None
    """From detection to a human acknowledging (None: next business day, not tracked in a drill)."""
    update_every_s: tuple[float, float] | None
    """Status update cadence: prompt at the first, overdue at the second (None: no updates)."""
    postmortem: str

    @property
    def respond_text(self) -> str:
        return _human(self.respond_within_s) if self.respond_within_s else "next business day"

    @property
    def cadence_text(self) -> str:
        if self.update_every_s is None:
            return "none"
        low, high = self.update_every_s
        if low >= 4 * HOUR:
            return "business hours"
        return f"every {_human(low)}-{_human(high)}"


SEVERITIES: dict[str, SeverityLevel] = {
    "SEV1": SeverityLevel("SEV1", "critical", "core service down for most customers, data loss possible, security breach",
                          15 * MINUTE, (15 * MINUTE, 30 * MINUTE), "within 48 h"),
    "SEV2": SeverityLevel("SEV2", "major", "significant degradation, key feature broken, workaround inadequate",
                          30 * MINUTE, (30 * MINUTE, 60 * MINUTE), "within 48 h"),
    "SEV3": SeverityLevel("SEV3", "minor", "partial degradation, subset of customers, workaround exists",
                          2 * HOUR, (4 * HOUR, 8 * HOUR), "within 1 week"),
    "SEV4": SeverityLevel("SEV4", "low", "cosmetic, minimal impact", None, None, "none"),
}

SEV1_MITIGATE_WITHIN_S = 30 * MINUTE
"""A SEV1 not mitigated this long after it was declared goes to engineering leadership."""
LEADERSHIP_BRIEFING_AFTER_S = 2 * HOUR
"""Any incident still open this long after detection gets a leadership briefing."""


def parse_severity(text: str) -> str | None:
    """``sev1``, ``SEV 1``, ``1`` -> ``SEV1``; anything else -> None."""
    cleaned = text.strip().upper().replace(" ", "").replace("-", "")
    if cleaned.isdigit():
        cleaned = "SEV" + cleaned
    return cleaned if cleaned in SEVERITIES else None


def _human(seconds: float) -> str:
    if seconds >= HOUR and seconds % HOUR == 0:
        return f"{seconds / HOUR:g} h"
    if seconds >= MINUTE:
        return f"{seconds / MINUTE:g} min"
    return f"{seconds:g} s"


@dataclass(frozen=True)
class Escalation:
    rule: str
    reason: str
    due_t_s: float


def _first(events: list[Event], kind: str) -> Event | None:
    return next((e for e in events if e.kind == kind), None)


def current_severity(events: list[Event]) -> str | None:
    """The last severity declared (a team may downgrade later)."""
    declared = [e for e in events if e.kind == "severity.declared"]
    return str(declared[-1].details.get("severity")) if declared else None


def due_escalations(events: list[Event], *, fault_start: float, now: float,
                    expected_severity: str | None = None) -> list[Escalation]:
    """Escalation prompts whose trigger has passed and that were not prompted yet (pure).

    ``now`` and ``fault_start`` are timeline offsets. Triggers, from the incident process:
      - not acknowledged within the severity's respond-within target (declared severity, else the expected one);
      - a SEV1 not mitigated 30 min after it was declared: engineering leadership;
      - still not resolved 2 h after detection: leadership briefing.
    """
    prompted = {str(e.details.get("rule")) for e in events if e.kind == "escalation.prompted"}
    resolved = _first(events, "incident.resolved")
    if resolved is not None:
        return []
    due: list[Escalation] = []
    severity = current_severity(events) or expected_severity
    level = SEVERITIES.get(severity or "")
    if level is not None and level.respond_within_s and _first(events, "incident.acknowledged") is None:
        deadline = fault_start + level.respond_within_s
        if now >= deadline:
            due.append(Escalation("respond_within", f"no one has acknowledged {level.respond_text} into the incident "
                                  f"({level.name} target): page the secondary on-call", deadline - fault_start))
    declared_sev1 = next((e for e in events if e.kind == "severity.declared" and e.details.get("severity") == "SEV1"), None)
    if declared_sev1 is not None and _first(events, "incident.mitigated") is None:
        deadline = declared_sev1.offset + SEV1_MITIGATE_WITHIN_S
        if now >= deadline:
            due.append(Escalation("sev1_not_mitigated", "SEV1 not mitigated 30 min after it was declared: "
                                  "bring in engineering leadership", deadline - fault_start))
    detected = _first(events, "incident.detected")
    if detected is not None:
        deadline = detected.offset + LEADERSHIP_BRIEFING_AFTER_S
        if now >= deadline:
            due.append(Escalation("open_over_2h", "incident open for over 2 h: brief leadership", deadline - fault_start))
    return [e for e in due if e.rule not in prompted]


def status_update_due(events: list[Event], *, fault_start: float, now: float) -> float | None:
    """Seconds a status update is overdue by the severity's cadence (>= 0), or None if none is due (pure).

    The first update is due as soon as a severity with a cadence is declared; later ones one cadence
    period after the last update. Nothing is due once the incident is resolved.
    """
    if _first(events, "incident.resolved") is not None:
        return None
    severity = current_severity(events)
    level = SEVERITIES.get(severity or "")
    if level is None or level.update_every_s is None:
        return None
    updates = [e for e in events if e.kind == "status_update.sent"]
    if not updates:
        declared = next(e for e in events if e.kind == "severity.declared")
        return max(0.0, now - declared.offset)
    due_at = updates[-1].offset + level.update_every_s[0]
    return now - due_at if now >= due_at else None
