"""The impact section: what users would have felt, from probes and load alone (not from anyone's opinion)."""

from __future__ import annotations

from dataclasses import dataclass, field

from gameday import events as ev
from gameday.timeline import Event


@dataclass(frozen=True)
class ProbeImpact:
    probe: str
    failed: int
    checks: int
    first_failure: float | None
    last_failure: float | None

    @property
    def span_s(self) -> float | None:
        if self.first_failure is None or self.last_failure is None:
            return None
        return round(self.last_failure - self.first_failure, 1)


@dataclass(frozen=True)
class Impact:
    probes: list[ProbeImpact]
    fault_start: float | None
    recovered_at: float | None
    load_failed_requests: int | None
    load_requests: int | None
    peak_error_rate: float | None
    peak_p95_ms: float | None
    baseline_p95_ms: float | None
    lines: list[str] = field(default_factory=list)


def build_impact(events: list[Event]) -> Impact:
    probes: list[ProbeImpact] = []
    names = sorted({str(e.details.get("probe")) for e in events if e.kind == ev.PROBE_CHECKED})
    for name in names:
        checks = [e for e in events if e.kind == ev.PROBE_CHECKED and str(e.details.get("probe")) == name]
        failed = [e.offset for e in checks if not e.details.get("ok")]
        probes.append(ProbeImpact(name, len(failed), len(checks), min(failed, default=None), max(failed, default=None)))
    start = next((e.offset for e in events if e.kind == ev.FAULT_EFFECTIVE),
                 next((e.offset for e in events if e.kind == ev.FAULT_INJECTED), None))
    # A tabletop's recovery is simulated (no probe ran): it says nothing about users.
    recovered = next((e.offset for e in events if e.kind == ev.RECOVERY_MET and not e.details.get("note")), None)
    stats = [e for e in events if e.kind == ev.LOAD_STATS]
    during = [e for e in stats if e.details.get("phase") == "fault"] or stats
    before = [e for e in stats if e.details.get("phase") == "steady_state"]
    failed_requests = sum(int(e.details.get("failures") or 0) for e in during) if stats else None
    requests = sum(int(e.details.get("requests") or 0) for e in during) if stats else None
    peak_error = max((float(e.details.get("error_rate") or 0.0) for e in stats), default=None)
    p95s = [float(e.details["p95_ms"]) for e in stats if e.details.get("p95_ms") is not None]
    base = [float(e.details["p95_ms"]) for e in before if e.details.get("p95_ms") is not None]
    impact = Impact(
        probes=probes, fault_start=start, recovered_at=recovered,
        load_failed_requests=failed_requests, load_requests=requests,
        peak_error_rate=peak_error, peak_p95_ms=max(p95s) if p95s else None,
        baseline_p95_ms=sorted(base)[len(base) // 2] if base else None,
    )
    impact.lines.extend(_sentences(impact))
    return impact


def _sentences(i: Impact) -> list[str]:
    out = []
    for p in i.probes:
        if p.failed and p.span_s is not None and p.first_failure is not None:
            out.append(f"Probe {p.probe} failed {p.failed} of {p.checks} checks, from T+{p.first_failure:.0f} s "
                       f"to T+{p.last_failure:.0f} s ({p.span_s:.0f} s).")
        elif p.checks:
            out.append(f"Probe {p.probe} stayed green in all {p.checks} checks.")
    if i.load_requests:
        rate = (i.load_failed_requests or 0) / i.load_requests
        out.append(f"Under load, {i.load_failed_requests} of {i.load_requests} requests failed while the fault was "
                   f"live ({rate:.0%}); the worst sample's error rate was {100 * (i.peak_error_rate or 0):.0f}%.")
    if i.peak_p95_ms is not None:
        base = f" against {i.baseline_p95_ms:.0f} ms before the fault" if i.baseline_p95_ms is not None else ""
        out.append(f"p95 latency peaked at {i.peak_p95_ms:.0f} ms{base}.")
    if i.fault_start is not None and i.recovered_at is not None:
        out.append(f"Probes were green again {i.recovered_at - i.fault_start:.0f} s after the fault took effect.")
    if not out:
        out.append("No probe or load data was recorded, so impact cannot be measured from this run.")
    return out
