"""Status update templates (from the incident process): a draft the communications lead edits.

The facilitator shows the template with what the timeline already knows filled in; the team's text is
recorded verbatim, whatever it is.
"""

from __future__ import annotations

from dataclasses import dataclass

TEMPLATES: dict[str, str] = {
    "internal": (
        "Incident: {incident} | Severity: {severity} | Status: {status}\n"
        "Impact: <who is affected, how>\n"
        "Current theory: {theory}\n"
        "Next steps: <what we do next>\n"
        "Next update: {next_update}"
    ),
    "customer": (
        "We are aware of an issue affecting {incident}. <N>% of customers may see <symptom>. "
        "We are investigating and will post the next update by {next_update}."
    ),
    "executive": (
        "What is happening: <one sentence>\n"
        "Customer impact: <who, how many>\n"
        "Business impact: <orders, revenue, SLA>\n"
        "Current status: {status}\n"
        "Estimated resolution: <honest estimate, or unknown>"
    ),
}

STATUSES = ("investigating", "identified", "mitigating", "monitoring", "resolved")


@dataclass(frozen=True)
class TemplateContext:
    incident: str
    severity: str
    status: str
    theory: str
    next_update: str


def draft(audience: str, ctx: TemplateContext) -> str:
    """The template for this audience with the known facts filled in; unknown parts stay as <...>."""
    return TEMPLATES[audience].format(
        incident=ctx.incident, severity=ctx.severity or "<not declared>", status=ctx.status,
        theory=ctx.theory or "<none yet>", next_update=ctx.next_update,
    )
