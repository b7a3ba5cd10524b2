"""The response section: the human side's numbers (detect, acknowledge, declare, update, mitigate, resolve).

Pure: the metrics come from ``scoring.metrics`` on the timeline alone. The section is left out when
nobody responded (no human-side events), as in a plain ``gameday run`` without a facilitator.
"""

from __future__ import annotations

from dataclasses import dataclass

from gameday import events as ev
from gameday.scoring.metrics import ResponseMetrics, TargetCheck, compute_metrics
from gameday.timeline import Event

LABELS = {
    "time_to_detect": "Time to detect",
    "time_to_acknowledge": "Time to acknowledge (from the fault)",
    "time_to_acknowledge_from_alert": "Time to acknowledge (from the first alert)",
    "time_to_acknowledge_from_detection": "Time to acknowledge (from detection)",
    "time_to_declare": "Time to declare",
    "time_to_declare_from_detection": "Time to declare (from detection)",
    "time_to_first_update": "Time to first status update",
    "time_to_mitigate": "Time to mitigate",
    "time_to_resolve": "Time to resolve",
    "time_to_resolve_from_detection": "Time to resolve (from detection)",
}


@dataclass(frozen=True)
class MetricRow:
    label: str
    start_event: str
    end_event: str
    seconds: float | None
    time: str
    """As shown: a duration, ``-``, or words when the end came first ("acknowledged 1 s before ...")."""


@dataclass(frozen=True)
class ResponseSection:
    metrics: ResponseMetrics
    rows: list[MetricRow]
    targets: list[TargetCheck]


def build(events: list[Event]) -> ResponseSection | None:
    if not any(e.kind in ev.HUMAN_KINDS for e in events):
        return None
    m = compute_metrics(events)
    rows = [MetricRow(LABELS.get(name, name), i.start_event, i.end_event, i.seconds, i.text) for name, i in m.intervals.items()]
    return ResponseSection(metrics=m, rows=rows, targets=m.targets)


class ResponseReportSection:
    """The ``response`` postmortem section (entry point group gameday.report_sections)."""

    name = "response"
    order = 30
    build = staticmethod(build)
