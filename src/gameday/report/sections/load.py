"""The load section of a report: Locust's requests/s, latency and errors before, during and after the fault.

Pure: reads ``load.*`` events of the timeline and nothing else. Each ``load.stats`` event carries the
run's phase when it arrived (steady_state = before, fault = during, recovery = after); events without
one (older timelines) are placed by the fault window instead. Percentiles of a phase are computed from
the per-second histograms, so they are percentiles of all the phase's requests, not an average of
per-second percentiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gameday import events as ev
from gameday.observe.stats import hist_percentile
from gameday.scoring.expectations import FaultWindow, fault_window
from gameday.timeline import Event

PERIODS = (("before", "steady_state"), ("during", "fault"), ("after", "recovery"))
_BY_PHASE = {phase: period for period, phase in PERIODS}


@dataclass(frozen=True)
class LoadPeriod:
    period: str  # before | during | after
    seconds: float
    requests: int
    failures: int
    rps: float
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    worst_error_rate: float  # of its seconds
    worst_p99_ms: float | None


@dataclass(frozen=True)
class LoadSection:
    locustfile: str
    host: str
    users: int | None
    periods: list[LoadPeriod]
    totals: dict[str, Any]
    complete: bool


def _period(event: Event, window: FaultWindow | None) -> str | None:
    phase = event.details.get("phase")
    if phase in _BY_PHASE:
        return _BY_PHASE[phase]
    if window is None:
        return None
    if event.offset < window.start:
        return "before"
    return "during" if event.offset <= window.end else "after"


def summarise_period(name: str, stats: list[Event]) -> LoadPeriod:
    requests = sum(int(e.details.get("requests", 0)) for e in stats)
    failures = sum(int(e.details.get("failures", 0)) for e in stats)
    seconds = sum(float(e.details.get("interval_s", 1.0)) for e in stats)
    hist: dict[int, int] = {}
    for e in stats:
        for value, count in (e.details.get("hist") or {}).items():
            hist[int(value)] = hist.get(int(value), 0) + int(count)
    p99s = [float(e.details["p99_ms"]) for e in stats if e.details.get("p99_ms") is not None]
    return LoadPeriod(
        period=name,
        seconds=round(seconds, 1),
        requests=requests,
        failures=failures,
        rps=round(requests / seconds, 1) if seconds else 0.0,
        error_rate=round(failures / requests, 4) if requests else 0.0,
        p50_ms=hist_percentile(hist, 0.50),
        p95_ms=hist_percentile(hist, 0.95),
        p99_ms=hist_percentile(hist, 0.99),
        worst_error_rate=max((float(e.details.get("error_rate", 0.0)) for e in stats), default=0.0),
        worst_p99_ms=max(p99s) if p99s else None,
    )


def build(events: list[Event]) -> LoadSection | None:
    """The section's data, or None when the run had no load."""
    started = ev.first(events, ev.LOAD_STARTED)
    stats = [e for e in events if e.kind == ev.LOAD_STATS]
    if started is None and not stats:
        return None
    window = fault_window(events)
    grouped: dict[str, list[Event]] = {name: [] for name, _ in PERIODS}
    for event in stats:
        period = _period(event, window)
        if period is not None:
            grouped[period].append(event)
    finished = ev.first(events, ev.LOAD_FINISHED)
    details = started.details if started else {}
    return LoadSection(
        locustfile=str(details.get("locustfile", "")),
        host=str(details.get("host", "")),
        users=details.get("users"),
        periods=[summarise_period(name, grouped[name]) for name, _ in PERIODS if grouped[name]],
        totals=dict(finished.details) if finished else {},
        complete=bool(finished and finished.details.get("complete")),
    )


class LoadReportSection:
    """The ``load`` postmortem section (entry point group gameday.report_sections)."""

    name = "load"
    order = 20
    build = staticmethod(build)
