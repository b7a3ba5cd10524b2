"""The disk section of a report: each filled filesystem's usage before, during and after the fault.

Pure: reads the ``disk.usage`` events the disk_fill driver reports through the engine (phase before,
during, after) and nothing else. A run killed mid-fault has no ``after`` row: its revert happened
later, in ``gameday cleanup``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gameday import events as ev
from gameday.scenario.sizes import format_size
from gameday.timeline import Event

PHASES = ("before", "during", "after")


@dataclass(frozen=True)
class DiskRow:
    phase: str
    at: str
    used: str
    free: str
    size: str
    percent_used: float
    fill: str


@dataclass(frozen=True)
class DiskFault:
    fault: str
    target: str
    where: str
    path: str
    rows: list[DiskRow]
    missing: list[str]
    """Phases with no measurement (e.g. ``after`` when the harness was killed mid-fault)."""


def _row(event: Event) -> DiskRow:
    d: dict[str, Any] = event.details
    return DiskRow(
        phase=str(d.get("phase")),
        at=event.at,
        used=format_size(d.get("used_bytes")),
        free=format_size(d.get("free_bytes")),
        size=format_size(d.get("size_bytes")),
        percent_used=float(d.get("percent_used") or 0.0),
        fill=format_size(d.get("fill_bytes")),
    )


def build(events: list[Event]) -> list[DiskFault] | None:
    """One entry per filled filesystem, rows in phase order; None when no disk was filled."""
    found: dict[tuple[str, str], list[Event]] = {}
    for event in events:
        if event.kind == ev.DISK_USAGE:
            key = (str(event.details.get("fault", "")), str(event.details.get("path", "")))
            found.setdefault(key, []).append(event)
    if not found:
        return None
    out = []
    for (fault, path), evs in found.items():
        by_phase = {str(e.details.get("phase")): e for e in evs}
        first = evs[0].details
        out.append(DiskFault(
            fault=fault,
            target=str(first.get("target", "")),
            where=str(first.get("where", "")),
            path=path,
            rows=[_row(by_phase[p]) for p in PHASES if p in by_phase],
            missing=[p for p in PHASES if p not in by_phase],
        ))
    return out


class DiskReportSection:
    """The ``disk`` postmortem section (entry point group gameday.report_sections)."""

    name = "disk"
    order = 50
    build = staticmethod(build)
