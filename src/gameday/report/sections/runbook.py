"""Report section "Runbook": each runbook followed in the run, its steps and its verdict.

Reads ``runbook.started``, ``runbook.step`` and ``runbook.judged`` events (runbooks/execute.py);
steps a scripted responder only recorded (no exit code) are shown the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gameday import events as ev
from gameday.timeline import Event

OUTPUT_LINES = 12
"""Lines of a failing step's output shown in the report (the end, where errors are)."""


@dataclass
class StepRow:
    step: Any
    title: str
    outcome: str
    exit_code: Any
    duration_s: float | None
    idle: bool
    note: str
    section: str
    actor: str
    output: str = ""


@dataclass
class RunbookData:
    name: str
    path: str = ""
    steps: list[StepRow] = field(default_factory=list)
    judged: dict[str, Any] | None = None
    failure_outputs: list[tuple[Any, str, str]] = field(default_factory=list)
    """(step, fence, output tail) of each failing step."""


def build(events: list[Event]) -> list[RunbookData] | None:
    books: dict[str, RunbookData] = {}

    def book(details: dict[str, Any]) -> RunbookData:
        name = str(details.get("runbook") or "runbook")
        short = re.split(r"[\\/]", name)[-1].removesuffix(".md")
        return books.setdefault(short, RunbookData(short))

    for e in events:
        d = e.details
        if e.kind == ev.RUNBOOK_STARTED:
            book(d).path = str(d.get("path") or "")
        elif e.kind == ev.RUNBOOK_STEP:
            duration = d.get("duration_s")
            outcome = str(d.get("outcome") or "")
            note = str(d.get("reason") or "")
            if d.get("idle") and not note:
                note = "idle"
            row = StepRow(step=d.get("step"), title=str(d.get("title") or ""), outcome=outcome,
                          exit_code=d.get("exit_code"),
                          duration_s=float(duration) if isinstance(duration, (int, float)) else None,
                          idle=bool(d.get("idle")), note=note, section=str(d.get("section") or "steps"), actor=e.actor,
                          output=str(d.get("output") or ""))
            target = book(d)
            target.steps.append(row)
            if outcome == "failed" and row.output.strip():
                tail = "\n".join(row.output.rstrip().splitlines()[-OUTPUT_LINES:])
                target.failure_outputs.append((row.step, _fence(tail), tail))
        elif e.kind == ev.RUNBOOK_JUDGED:
            book(d).judged = dict(d)
    return list(books.values()) or None


def _fence(text: str) -> str:
    """A backtick fence longer than any run of backticks in ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


class RunbookReportSection:
    """The ``runbook`` postmortem section (entry point group gameday.report_sections)."""

    name = "runbook"
    order = 40
    build = staticmethod(build)
