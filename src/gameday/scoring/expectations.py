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

    verdicts.extend(oom_kill_verdicts(scenario, events))

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


def oom_kill_verdicts(scenario: Scenario, events: list[Event]) -> list[Verdict]:
    """expect.oom_kills, from the OOM watcher's record (observe/oom.py): kills seen once the first inject began
    (fault.intended: memory_pressure's hold gets its kill inside the inject call)."""
    if not scenario.expect.oom_kills:
        return []
    began = ev.first(events, ev.FAULT_INTENDED, ev.FAULT_INJECTED)
    since = began.offset if began is not None else 0.0
    watching = ev.first(events, ev.OOM_WATCHING)
    watched = {str(t.get("target")) for t in (watching.details.get("targets") or [])} if watching else set()
    verdicts = []
    for exp in scenario.expect.oom_kills:
        name = (f"{exp.target} OOM-killed during fault" if exp.during_fault == "killed"
                else f"{exp.target} not OOM-killed")
        if exp.target not in watched:
            failed = [str(e.details.get("error")) for e in events
                      if e.kind == ev.OOM_WATCH_FAILED and e.details.get("target") == exp.target]
            verdicts.append(Verdict(name, False, "its OOM kills were not watched"
                                    + (f": {failed[0]}" if failed else "")))
            continue
        kills = [e for e in events if e.kind == ev.CONTAINER_OOM_KILLED and e.details.get("target") == exp.target
                 and e.offset >= since]
        seen = "; ".join(_kill_text(e) for e in kills[:3])
        if exp.during_fault == "killed":
            verdicts.append(Verdict(name, bool(kills), f"{len(kills)} seen: {seen}" if kills
                                    else "no OOM kill seen (the runtime's OOMKilled, the cgroup's oom_kill count)"))
        else:
            verdicts.append(Verdict(name, not kills, f"{len(kills)} seen: {seen}" if kills else "no OOM kill seen"))
    return verdicts


def _kill_text(event: Event) -> str:
    d = event.details
    if d.get("source") == "runtime":
        return f"{d.get('container')} exited {d.get('exit_code')} at {d.get('finished_at')}, OOMKilled"
    return f"{d.get('container')}: the kernel's oom_kill count +{d.get('kills')} (it was {d.get('status')})"
