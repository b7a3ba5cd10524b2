"""The default severity table, as data (from docs/INCIDENT-PROCESS: severity decides the response).

| level | meaning                                   | respond within     | update cadence  | postmortem |
|-------|-------------------------------------------|--------------------|-----------------|------------|
| SEV1  | core service down for most customers      | 15 min             | every 15-30 min | 48 h       |
| SEV2  | significant degradation, key feature down | 30 min             | every 30-60 min | 48 h       |
| SEV3  | partial degradation, workaround exists    | 2 h                | business hours  | 1 week     |
| SEV4  | cosmetic, minimal impact                  | next business day  | none            | none       |

Timeline events always carry the canonical ids SEV1..SEV4; what a team calls them (P1, S0, ...) is
display only. A scenario may change names and targets (``severities:``); the run writes the changes into
``run.started`` so the facilitator, the score and a report re-rendered later all use the same table.
Targets the table does not time ("business hours", "next business day") are ``None`` and are reported
as not timed rather than guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from gameday import events as ev

MINUTE = 60.0
HOUR = 3600.0
WEEK = 7 * 24 * HOUR

DETECT_WITHIN_S = 5 * MINUTE
"""MTTD target from the incident-process metrics (< 5 min), the same for every severity."""


@dataclass(frozen=True)
class SeverityLevel:
    """One row of the table. ``rank`` 1 is the most severe."""

    id: str
    rank: int
    name: str
    meaning: str
    respond_within_s: float | None
    """Declare (triage) target, from detection."""
    acknowledge_within_s: float | None
    """Acknowledge target, from detection: MTTA < 5 min for SEV1, else the respond-within time."""
    update_every_s: float | None
    """The longest silence allowed between status updates (the top of the cadence range)."""
    update_every_min_s: float | None
    cadence_text: str
    resolve_within_s: float | None
    """Resolve target, from detection: MTTR < 1 h for SEV1; the table sets none for the others."""
    escalate_unmitigated_after_s: float | None
    postmortem_within_s: float | None
    updates_required: bool

    @property
    def label(self) -> str:
        return f"{self.name} ({self.meaning.split(',')[0]})"

    @property
    def title(self) -> str:
        """``critical``, ``major``, ...: the word before the colon of the meaning."""
        return self.meaning.split(":", 1)[0] if ":" in self.meaning else ""

    @property
    def description(self) -> str:
        return self.meaning.split(":", 1)[1].strip() if ":" in self.meaning else self.meaning

    @property
    def respond_text(self) -> str:
        return human_duration(self.respond_within_s) if self.respond_within_s else "next business day"

    @property
    def postmortem_text(self) -> str:
        return f"within {human_duration(self.postmortem_within_s)}" if self.postmortem_within_s else "none"


OVERRIDABLE = ("name", "meaning", "respond_within_s", "acknowledge_within_s", "update_every_s", "update_every_min_s",
               "cadence_text", "resolve_within_s", "escalate_unmitigated_after_s", "postmortem_within_s")
"""The fields a scenario's ``severities:`` may change (the rank and the id stay)."""


@dataclass(frozen=True)
class SeverityTable:
    levels: tuple[SeverityLevel, ...]
    detect_within_s: float = DETECT_WITHIN_S

    def __iter__(self) -> Iterator[SeverityLevel]:
        return iter(self.levels)

    def get(self, key: str | None) -> SeverityLevel | None:
        """The level for a canonical id (SEV2) or a display name (P2); ``None`` if unknown."""
        if not key:
            return None
        wanted = str(key).strip().upper()
        return next((lv for lv in self.levels if wanted in (lv.id.upper(), lv.name.upper())), None)

    def more_severe(self, a: SeverityLevel | None, b: SeverityLevel | None) -> SeverityLevel | None:
        """The stricter of two levels (either may be missing)."""
        present = [lv for lv in (a, b) if lv is not None]
        return min(present, key=lambda lv: lv.rank) if present else None

    def parse(self, text: str) -> str | None:
        """What a person types (``sev1``, ``SEV 1``, ``1``, or a display name such as ``P1``) -> ``SEV1``."""
        cleaned = text.strip().upper().replace(" ", "").replace("-", "")
        if cleaned.isdigit():
            cleaned = "SEV" + cleaned
        level = self.get(cleaned)
        return level.id if level is not None else None

    def choices(self) -> str:
        """``SEV1, SEV2, SEV3 or SEV4`` in the team's names."""
        names = [lv.name for lv in self.levels]
        return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)

    def with_overrides(self, overrides: Mapping[str, Mapping[str, Any]] | None) -> SeverityTable:
        """The table with a scenario's changes applied, per level id; unknown ids and fields are ignored
        (the scenario was validated; a timeline from a newer version may carry more)."""
        if not overrides:
            return self
        allowed = {f.name for f in fields(SeverityLevel)} & set(OVERRIDABLE)
        levels = []
        for lv in self.levels:
            changes = {k: v for k, v in (overrides.get(lv.id) or {}).items() if k in allowed}
            if "update_every_s" in changes and "update_every_min_s" not in changes:
                changes["update_every_min_s"] = changes["update_every_s"]
            if ("update_every_s" in changes or "update_every_min_s" in changes) and "cadence_text" not in changes:
                changes["cadence_text"] = _cadence_text(changes.get("update_every_min_s"), changes.get("update_every_s"))
            if changes.get("update_every_s"):
                changes["updates_required"] = True
            levels.append(replace(lv, **changes))
        return replace(self, levels=tuple(levels))


def _cadence_text(low: float | None, high: float | None) -> str:
    if not high:
        return "none"
    if not low or low == high:
        return f"every {human_duration(high)}"
    return f"every {human_duration(low)}-{human_duration(high)}"


def human_duration(seconds: float) -> str:
    """``15 min``, ``2 h``, ``48 h``, ``1 week``, ``90 s``: how the severity table is written."""
    if seconds >= WEEK and seconds % WEEK == 0:
        return f"{seconds / WEEK:g} week" + ("s" if seconds > WEEK else "")
    if seconds >= HOUR and seconds % HOUR == 0:
        return f"{seconds / HOUR:g} h"
    if seconds >= MINUTE and seconds % MINUTE == 0:
        return f"{seconds / MINUTE:g} min"
    return f"{seconds:g} s"


def table_for(events: Iterable[Any], base: SeverityTable | None = None) -> SeverityTable:
    """The table a run used: ``base`` (the default) with the changes its ``run.started`` recorded."""
    started = ev.first(events, ev.RUN_STARTED)
    overrides = started.details.get("severities") if started is not None else None
    return (base or DEFAULT_SEVERITIES).with_overrides(overrides if isinstance(overrides, dict) else None)


DEFAULT_SEVERITIES = SeverityTable(
    levels=(
        SeverityLevel(
            id="SEV1", rank=1, name="SEV1",
            meaning="critical: core service down for most customers, data loss possible, security breach",
            respond_within_s=15 * MINUTE, acknowledge_within_s=5 * MINUTE,
            update_every_s=30 * MINUTE, update_every_min_s=15 * MINUTE, cadence_text="every 15-30 min",
            resolve_within_s=1 * HOUR, escalate_unmitigated_after_s=30 * MINUTE,
            postmortem_within_s=48 * HOUR, updates_required=True,
        ),
        SeverityLevel(
            id="SEV2", rank=2, name="SEV2",
            meaning="major: significant degradation, key feature broken, workaround inadequate",
            respond_within_s=30 * MINUTE, acknowledge_within_s=30 * MINUTE,
            update_every_s=60 * MINUTE, update_every_min_s=30 * MINUTE, cadence_text="every 30-60 min",
            resolve_within_s=None, escalate_unmitigated_after_s=None,
            postmortem_within_s=48 * HOUR, updates_required=True,
        ),
        SeverityLevel(
            id="SEV3", rank=3, name="SEV3",
            meaning="minor: partial degradation, subset of customers, workaround exists",
            respond_within_s=2 * HOUR, acknowledge_within_s=2 * HOUR,
            update_every_s=None, update_every_min_s=None, cadence_text="business hours",
            resolve_within_s=None, escalate_unmitigated_after_s=None,
            postmortem_within_s=7 * 24 * HOUR, updates_required=True,
        ),
        SeverityLevel(
            id="SEV4", rank=4, name="SEV4",
            meaning="low: cosmetic, minimal impact",
            respond_within_s=None, acknowledge_within_s=None,
            update_every_s=None, update_every_min_s=None, cadence_text="none",
            resolve_within_s=None, escalate_unmitigated_after_s=None,
            postmortem_within_s=None, updates_required=False,
        ),
    )
)
