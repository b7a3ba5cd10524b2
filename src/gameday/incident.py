"""The incident process's words (docs/INCIDENT-PROCESS): roles, detection signals, status-update audiences.

Declared once: the scenario model's fields, the facilitator's prompts and aliases, the scorecard and
the blameless report read them from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, get_args

Role = Literal["incident_commander", "communications", "scribe", "sme"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
ROLE_LABELS: Final[Mapping[str, str]] = {
    "incident_commander": "incident commander",
    "communications": "communications lead",
    "scribe": "scribe",
    "sme": "SME",
}
"""How a role reads in a sentence; the blameless report writes it in place of a person's name."""

Signal = Literal["alert", "customer_report", "dashboard", "probe", "other"]
SIGNALS: Final[tuple[Signal, ...]] = get_args(Signal)
SIGNAL_WORDS: Final[Mapping[str, str]] = {
    "alert": "an alert",
    "customer_report": "a customer report",
    "dashboard": "a dashboard",
    "probe": "a probe",
    "other": "another signal",
}
"""How the signal that detected the incident reads in the scorecard and the postmortem."""

Audience = Literal["internal", "customer", "executive"]
AUDIENCES: Final[tuple[Audience, ...]] = get_args(Audience)
