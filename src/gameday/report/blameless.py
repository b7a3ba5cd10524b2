"""Blameless by construction: the report's narrative names roles, not people.

Why: a postmortem that says who did what invites blame, and people who expect blame stop reporting
what they did. So the narrative (who acted, who was paged, who confirmed) names roles, never people.

People enter the timeline as actors of human-side events and in a few details (``person`` of
role.assigned / incident.detected / incident.acknowledged, ``confirmed_by`` of incident.resolved). Each
person gets the label of the first role they were assigned ("incident commander", "SME 2"), or
"responder N" if they never had one; those labels replace the names in actors, in those details, and,
word for word, in free text (status updates, hypotheses, review notes).

An action item's ``owner`` is not blame: it says who follows the item up, and a postmortem names its
owners (a team, a role, a person). It is shown as recorded, or "unassigned" when none was given; only
when the owner took part in the drill is the owner shown by that person's role label, so the owners
column never undoes the narrative's labels.

A team opts in to names with ``names_in_report: true`` in the details of ``run.started``. The raw
``timeline.jsonl`` always keeps what was recorded; only the rendered reports are changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from gameday import events as ev
from gameday.incident import ROLE_LABELS
from gameday.timeline import Event

SYSTEM_ACTORS = {"harness", "facilitator", "load", "alertmanager", "alerts", "system", "engine", "responder", "team",
                 "runbook", "watchdog", "cleanup", "abort"}
NOT_PARTICIPANTS = (ev.INJECT_RELEASED, ev.INJECT_WITHHELD, ev.ESCALATION_PROMPTED, ev.ALL_CLEAR_REFUSED)
"""Human-side kinds whose actor is a scenario-written source or the facilitator, not someone in the drill."""
PERSON_KEYS = ("person", "confirmed_by")
UNASSIGNED = "unassigned"
"""An action item's owner when the review gave none."""


def names_allowed(events: Iterable[Event]) -> bool:
    started = ev.first(events, ev.RUN_STARTED)
    return bool(started and started.details.get("names_in_report") is True)


def _is_system(actor: str) -> bool:
    return actor in SYSTEM_ACTORS or actor in ROLE_LABELS or ":" in actor or not actor.strip()


class Narrator:
    """Maps people to role labels for one timeline (identity when names are allowed)."""

    def __init__(self, events: list[Event], *, names: bool | None = None) -> None:
        self.names = names_allowed(events) if names is None else names
        self.labels: dict[str, str] = {}
        roles: dict[str, list[str]] = {}
        for e in events:
            if e.kind == ev.ROLE_ASSIGNED and e.details.get("person"):
                person = str(e.details["person"])
                if person not in roles.setdefault(str(e.details.get("role") or "responder"), []):
                    roles[str(e.details.get("role") or "responder")].append(person)
        # Names match case-insensitively: "Alice" assigned a role and "alice" acknowledging are one person.
        known: set[str] = set()
        for role, people in roles.items():
            base = ROLE_LABELS.get(role, role.replace("_", " "))
            people = [p for p in people if p.lower() not in known]
            for i, person in enumerate(people, start=1):
                self.labels[person] = base if len(people) == 1 else f"{base} {i}"
                known.add(person.lower())
        unassigned = 0
        for e in events:
            candidates = [e.actor] if e.kind in ev.HUMAN_KINDS and e.kind not in NOT_PARTICIPANTS else []
            candidates += [str(e.details[k]) for k in PERSON_KEYS if e.details.get(k)]
            for who in candidates:
                if who.lower() not in known and not _is_system(who):
                    unassigned += 1
                    self.labels[who] = f"responder {unassigned}"
                    known.add(who.lower())
        self._pattern = (
            re.compile(r"\b(" + "|".join(re.escape(p) for p in sorted(self.labels, key=len, reverse=True)) + r")\b",
                       re.IGNORECASE)
            if self.labels else None
        )
        self._lower = {p.lower(): label for p, label in self.labels.items()}

    def who(self, actor: str) -> str:
        """The actor as the report shows it."""
        if self.names:
            return actor
        if actor in ROLE_LABELS:
            return ROLE_LABELS[actor]
        return self._lower.get(actor.lower(), actor)

    def text(self, value: str) -> str:
        """Free text with known names replaced by role labels."""
        if self.names or self._pattern is None:
            return value
        return self._pattern.sub(lambda m: self._lower.get(m.group(0).lower(), m.group(0)), value)

    def owner(self, value: Any) -> str:
        """An action item's owner as the report shows it: as recorded (a role id in words), a drill
        participant by their role label, "unassigned" when there is none."""
        owner = str(value or "").strip()
        if not owner:
            return UNASSIGNED
        if self.names:
            return owner
        if owner.lower() in self._lower:
            return self._lower[owner.lower()]
        return ROLE_LABELS.get(owner, owner)

    def details(self, details: dict[str, Any]) -> dict[str, Any]:
        if self.names:
            return details
        out: dict[str, Any] = {}
        for key, value in details.items():
            if key in PERSON_KEYS and value:
                out[key] = self.who(str(value))
            elif key == "action_items" and isinstance(value, list):
                out[key] = [self.action_item(i) for i in value if isinstance(i, dict)]
            else:
                out[key] = self._scrub(value)
        return out

    def action_item(self, item: dict[str, Any]) -> dict[str, Any]:
        return {**{k: self._scrub(v) for k, v in item.items()}, "owner": self.owner(item.get("owner"))}

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._scrub(v) for v in value]
        if isinstance(value, dict):
            return {k: self._scrub(v) for k, v in value.items()}
        return value

    def event(self, e: Event) -> Event:
        if self.names:
            return e
        return replace(e, actor=self.who(e.actor), details=self.details(e.details))
