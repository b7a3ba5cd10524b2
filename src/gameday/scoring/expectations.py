"""Judge a run's expectations from its timeline alone."""

from __future__ import annotations

from dataclasses import dataclass

from gameday import events as ev
from gameday.scenario.durations import format_duration
from gameday.scenario.model import Scenario
from gameday.timeline import Event


@dataclass(frozen=True)
class Verdict:
    name: str
    met: bool
    detail: str


@dataclass(frozen=True)
class FaultWindow:
    start: float
    end: float

    @property
    def length(self) -> float:
        return self.end - self.start


def fault_window(events: list[Event]) -> FaultWindow | None:
    """From the first fault injected to the last fault reverted (or the last event, if never reverted)."""
    injected = [e.offset for e in events if e.kind == ev.FAULT_INJECTED]
    if not injected:
        return None
    reverted = [e.offset for e in events if e.kind in (ev.FAULT_REVERTED, ev.REVERT_FAILED)]
    end = max(reverted) if reverted else events[-1].offset
    return FaultWindow(min(injected), max(end, min(injected)))


def probe_checks(events: list[Event], probe: str, phase: str) -> list[Event]:
    checks = [e for e in events if e.kind == ev.PROBE_CHECKED and e.details.get("probe") == probe
              and e.details.get("phase") == phase]
    window = fault_window(events) if phase == "fault" else None
    if window is not None:
        # A check still in flight when the last fault was reverted ends after the window: it saw recovery.
        checks = [e for e in checks if e.offset <= window.end]
    return checks


def judge(scenario: Scenario, events: list[Event]) -> list[Verdict]:
    """One verdict per expectation; alert verdicts come from the alerting module when alerts are watched."""
    verdicts: list[Verdict] = []
    kinds = {e.kind for e in events}
    if ev.FAULT_INJECTED not in kinds:
        return [Verdict("faults injected", False, "no fault was injected")]

    failed_reverts = [e for e in events if e.kind == ev.REVERT_FAILED]
    verdicts.append(
        Verdict(
            "faults reverted",
            not failed_reverts,
            "every fault was reverted" if not failed_reverts
            else "; ".join(f"{e.details.get('fault')}: {e.details.get('error')}" for e in failed_reverts),
        )
    )

    for exp in scenario.expect.probes:
        checks = probe_checks(events, exp.probe, "fault")
        failures = [c for c in checks if not c.details.get("ok")]
        name = f"probe {exp.probe} {exp.during_fault} during fault"
        if exp.during_fault == "any":
            continue
        if not checks:
            verdicts.append(Verdict(name, False, "the probe never ran while the fault was live"))
        elif exp.during_fault == "down":
            verdicts.append(
                Verdict(name, bool(failures), f"{len(failures)} of {len(checks)} checks failed"
                        + ("" if failures else ": the outage was not seen"))
            )
        else:
            ratio = len(failures) / len(checks)
            allowed = exp.max_failure_ratio or 0.0
            verdicts.append(Verdict(name, ratio <= allowed, f"{len(failures)} of {len(checks)} checks failed "
                                    f"({ratio:.0%}, allowed {allowed:.0%})"))

    recovered = ev.first(events, ev.RECOVERY_MET, ev.RECOVERY_FAILED)
    limit = format_duration(scenario.expect.recovers_within)
    if recovered is None:
        verdicts.append(Verdict(f"recovers within {limit}", False, "recovery was not checked"))
    elif recovered.kind == ev.RECOVERY_MET:
        verdicts.append(Verdict(f"recovers within {limit}", True,
                                f"all probes green {recovered.details.get('after_s', 0):.1f}s after revert"))
    else:
        verdicts.append(Verdict(f"recovers within {limit}", False,
                                f"probes still failing {recovered.details.get('waited_s', 0):.1f}s after revert"))
    return verdicts
