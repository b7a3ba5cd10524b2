"""What a report shows, computed from the timeline: a plain data model the templates read."""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median
from typing import Any

from gameday import events as ev
from gameday.scoring.expectations import FaultWindow, fault_window
from gameday.timeline import Event


@dataclass(frozen=True)
class ProbeSummary:
    probe: str
    phase: str
    checks: int
    failures: int
    median_ms: float | None
    max_ms: float | None
    first_error: str | None


@dataclass
class RunSummary:
    run_id: str
    scenario: str
    description: str
    started_at: str
    finished_at: str
    duration_s: float
    outcome: str
    exit_code: int | None
    error: str | None
    window: FaultWindow | None
    faults: list[dict[str, Any]]
    fault_events: list[Event]
    verdicts: list[Event]
    probes: list[ProbeSummary]
    timeline: list[Event]
    extra: dict[str, Any] = field(default_factory=dict)


PHASES = ("steady_state", "fault", "recovery")
# Cluster events have their own section (kubernetes_events): up to 200 rows would bury the run's own events.
_QUIET = {ev.PROBE_CHECKED, ev.LOAD_STATS, ev.KUBERNETES_EVENT}


def summarize(events: list[Event]) -> RunSummary:
    if not events:
        raise ValueError("empty timeline")
    started = ev.first(events, ev.RUN_STARTED) or events[0]
    finished = ev.last(events, ev.RUN_FINISHED)
    probes: list[ProbeSummary] = []
    names = sorted({str(e.details.get("probe")) for e in events if e.kind == ev.PROBE_CHECKED})
    for name in names:
        for phase in PHASES:
            checks = [e for e in events if e.kind == ev.PROBE_CHECKED and e.details.get("probe") == name
                      and e.details.get("phase") == phase]
            if not checks:
                continue
            latencies = [float(e.details.get("latency_ms", 0.0)) for e in checks if e.details.get("ok")]
            failures = [e for e in checks if not e.details.get("ok")]
            probes.append(ProbeSummary(
                probe=name, phase=phase, checks=len(checks), failures=len(failures),
                median_ms=round(median(latencies), 1) if latencies else None,
                max_ms=round(max(latencies), 1) if latencies else None,
                first_error=str(failures[0].details.get("error")) if failures else None,
            ))
    return RunSummary(
        run_id=str(started.details.get("run_id", "")),
        scenario=str(started.details.get("scenario", "")),
        description=str(started.details.get("description", "")),
        started_at=started.at,
        finished_at=finished.at if finished else events[-1].at,
        duration_s=round((finished or events[-1]).offset - started.offset, 1),
        outcome=str(finished.details.get("outcome")) if finished else "unfinished (the harness stopped mid-run)",
        exit_code=finished.details.get("exit_code") if finished else None,
        error=finished.details.get("error") if finished else None,
        window=fault_window(events),
        faults=list(started.details.get("faults") or []),
        fault_events=[e for e in events if e.kind.startswith(("fault.", "revert."))],
        verdicts=[e for e in events if e.kind in (ev.EXPECTATION_MET, ev.EXPECTATION_FAILED)],
        probes=probes,
        timeline=[e for e in events if e.kind not in _QUIET] + _probe_transitions(events),
    )


def _probe_transitions(events: list[Event]) -> list[Event]:
    """Only the checks where a probe turned red or green again, so the table stays readable."""
    last: dict[str, bool] = {}
    out = []
    for e in events:
        if e.kind != ev.PROBE_CHECKED:
            continue
        name, ok = str(e.details.get("probe")), bool(e.details.get("ok"))
        if last.get(name) != ok:
            out.append(e)
        last[name] = ok
    return out
