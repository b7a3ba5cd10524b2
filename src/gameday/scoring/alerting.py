"""Score a run's alerting from its timeline: the four attributes of the SRE Workbook ("Alerting on SLOs").

Because the harness knows the exact fault window, it can judge each alert exactly:

    precision       alerts that matched a real fault / all alerts that fired
    recall          faults that some alert detected / all faults injected
    detection time  fault effective -> first alert firing (MTTD: the first *expected* alert, when
                    the scenario lists expected alerts)
    reset time      fault reverted -> the last attributed alert resolved (None while one still fires)

and the scenario's ``expect.alerts`` / ``expect.alerts_not_firing``: each expected alert is met,
late (fired after its deadline) or missed; an alert that fired but was not expected is noise.

Times are the harness's receive times (timeline offsets), which is what a human on call would see.
Alertmanager's ``startsAt`` is kept beside them, so the delay between Prometheus deciding an alert
fires and the harness hearing of it (group_wait, polling) can be told apart.

An alert is attributed to a fault when it was received between the fault's injection and its revert
plus a slack (the longest ``within`` of the expectations, or ``DEFAULT_SLACK``), and Prometheus did
not start it before the fault was injected. Alerts Prometheus started before the harness began
listening are leftovers: shown, but left out of precision, noise and reset time.
Pure functions: no I/O, nothing but events and expectations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from gameday import events as ev
from gameday.clock import parse_iso
from gameday.scenario.durations import format_duration
from gameday.scenario.model import AlertExpectation, Scenario
from gameday.scoring.expectations import Verdict
from gameday.timeline import Event

DEFAULT_SLACK = 60.0
"""Seconds after a revert in which an alert still counts as caused by the fault (detection lags)."""

CLOCK_SKEW = 1.0
"""Tolerance when comparing Alertmanager's startsAt with the harness's clock (same host, different processes)."""

# --- expectations -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertExpectations:
    """What the scenario says about alerts; also written into the timeline so a report needs no scenario."""

    expected: tuple[AlertExpectation, ...] = ()
    not_firing: tuple[str, ...] = ()

    @property
    def declared(self) -> bool:
        return bool(self.expected or self.not_firing)

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> AlertExpectations:
        return cls(
            expected=tuple(scenario.expect.alerts),
            not_firing=tuple(scenario.expect.alerts_not_firing),
        )

    def to_details(self) -> dict[str, Any]:
        return {
            "expected": [{"name": e.name, "labels": dict(e.labels), "matchers": [str(m) for m in e.label_matchers],
                          "within_s": e.within} for e in self.expected],
            "not_firing": list(self.not_firing),
        }

    @classmethod
    def from_events(cls, events: Iterable[Event]) -> AlertExpectations:
        """From the ``alerts.watching`` event the alert observer writes when it starts."""
        watching = ev.first(events, ev.ALERTS_WATCHING)
        if watching is None:
            return cls()
        raw = watching.details
        expected = tuple(
            AlertExpectation.of(str(x.get("name")), labels={str(k): str(v) for k, v in (x.get("labels") or {}).items()},
                                within=float(x.get("within_s", 300.0)), matchers=_texts(x.get("matchers")))
            for x in raw.get("expected") or []
            if isinstance(x, dict)
        )
        return cls(expected=expected, not_firing=tuple(str(n) for n in raw.get("not_firing") or []))

    def slack(self) -> float:
        return max((e.within for e in self.expected), default=DEFAULT_SLACK)


def _texts(raw: Any) -> list[str]:
    return [str(text) for text in raw] if isinstance(raw, (list, tuple)) else []


# --- what happened -------------------------------------------------------------------------------------


@dataclass
class AlertEpisode:
    """One alert (one fingerprint) from firing to resolved, as the harness heard of it."""

    alertname: str
    labels: dict[str, str]
    fingerprint: str
    fired_at: float
    fired_wall: str
    via: str
    starts_at: str | None
    starts_offset: float | None
    """Alertmanager's startsAt on the run's offset scale (None when the payload had no usable time)."""
    resolved_at: float | None = None
    resolved_wall: str | None = None
    ends_at: str | None = None
    fault: str | None = None
    """The fault this alert is attributed to, or None."""
    expected: bool = False
    forbidden: bool = False
    preexisting: bool = False
    """Prometheus started it before the harness began listening: a leftover, not an event of this run."""
    detection_s: float | None = None
    """Fault effective -> received, for attributed alerts."""
    reset_s: float | None = None
    """Fault reverted -> resolved received, for attributed alerts that resolved."""

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None

    @property
    def relevant(self) -> bool:
        return self.fault is not None and not self.forbidden


@dataclass(frozen=True)
class FaultWindowOf:
    fault: str
    injected: float
    effective: float | None
    reverted: float | None

    @property
    def start(self) -> float:
        """When the fault counts as present: effective if seen, else injected."""
        return self.effective if self.effective is not None else self.injected


@dataclass
class FaultDetection:
    window: FaultWindowOf
    detected: bool
    detection_s: float | None
    first_alert: str | None


@dataclass(frozen=True)
class ExpectationResult:
    expected: AlertExpectation
    status: Literal["met", "late", "missed"]
    detection_s: float | None
    """Fault effective -> this alert received."""
    episode: AlertEpisode | None
    observed_s: float
    """How long after the fault took effect the harness was still listening."""

    @property
    def resolved(self) -> bool | None:
        return None if self.episode is None else self.episode.resolved


@dataclass(frozen=True)
class NotFiringResult:
    name: str
    episodes: tuple[AlertEpisode, ...]

    @property
    def fired(self) -> bool:
        return bool(self.episodes)


@dataclass
class AlertScore:
    episodes: list[AlertEpisode]
    faults: list[FaultDetection]
    expectations: list[ExpectationResult]
    not_firing: list[NotFiringResult]
    precision: float | None
    recall: float | None
    detection_s: float | None
    """MTTD: fault effective -> first expected alert (or first attributed alert when none are expected)."""
    reset_s: float | None
    """Last revert -> last attributed alert resolved; None if none fired or one never resolved."""
    noisy: list[AlertEpisode]
    unresolved: list[AlertEpisode]
    declared: bool

    @property
    def preexisting(self) -> list[AlertEpisode]:
        """Alerts already firing before the harness listened (left over from earlier, or a standing problem)."""
        return [ep for ep in self.episodes if ep.preexisting]

    @property
    def missed(self) -> list[ExpectationResult]:
        return [r for r in self.expectations if r.status == "missed"]

    @property
    def late(self) -> list[ExpectationResult]:
        return [r for r in self.expectations if r.status == "late"]


# --- scoring --------------------------------------------------------------------------------------------


def fault_windows(events: list[Event]) -> list[FaultWindowOf]:
    """Each injected fault with its effective and reverted offsets (matched by fault label, in order)."""
    windows: list[FaultWindowOf] = []
    for i, e in enumerate(events):
        if e.kind != ev.FAULT_INJECTED:
            continue
        label = str(e.details.get("fault"))
        later = events[i + 1:]
        effective = next((x.offset for x in later if x.kind == ev.FAULT_EFFECTIVE and x.details.get("fault") == label), None)
        reverted = next((x.offset for x in later if x.kind in (ev.FAULT_REVERTED, ev.REVERT_FAILED)
                         and x.details.get("fault") == label), None)
        windows.append(FaultWindowOf(label, e.offset, effective, reverted))
    return windows


def _offset_of(wall: str | None, event: Event) -> float | None:
    """A wall time from a payload on the run's offset scale, using the event's own (at, offset) pair."""
    if not wall:
        return None
    try:
        when = parse_iso(wall)
        return event.offset + (when - parse_iso(event.at)).total_seconds()
    except (ValueError, TypeError):
        return None


def alert_episodes(events: list[Event]) -> list[AlertEpisode]:
    """alert.firing / alert.resolved events folded into episodes, one per fingerprint and firing."""
    episodes: list[AlertEpisode] = []
    open_by_fp: dict[str, AlertEpisode] = {}
    for e in events:
        if e.kind not in (ev.ALERT_FIRING, ev.ALERT_RESOLVED):
            continue
        d = e.details
        fp = str(d.get("fingerprint") or "")
        if e.kind == ev.ALERT_FIRING:
            if fp in open_by_fp:
                continue
            starts_at = d.get("starts_at")
            ep = AlertEpisode(
                alertname=str(d.get("alertname", "")),
                labels={str(k): str(v) for k, v in (d.get("labels") or {}).items()},
                fingerprint=fp,
                fired_at=e.offset,
                fired_wall=e.at,
                via=str(d.get("via", "")),
                starts_at=starts_at,
                starts_offset=_offset_of(starts_at, e),
            )
            open_by_fp[fp] = ep
            episodes.append(ep)
        else:
            ep_open = open_by_fp.pop(fp, None)
            if ep_open is None:
                continue  # resolved without a firing we saw: nothing to time
            ep_open.resolved_at = e.offset
            ep_open.resolved_wall = e.at
            ep_open.ends_at = d.get("ends_at")
    return episodes


def _attribute(ep: AlertEpisode, windows: list[FaultWindowOf], slack: float, end: float) -> FaultWindowOf | None:
    for w in windows:
        until = (w.reverted if w.reverted is not None else end) + slack
        started_before = ep.starts_offset is not None and ep.starts_offset < w.injected - CLOCK_SKEW
        if w.injected <= ep.fired_at <= until and not started_before:
            return w
    return None


def score_alerts(events: list[Event], expectations: AlertExpectations) -> AlertScore:
    """The four attributes and the expectation results of one run, from its timeline alone."""
    windows = fault_windows(events)
    episodes = alert_episodes(events)
    watching = ev.first(events, ev.ALERTS_WATCHING)
    end = events[-1].offset if events else 0.0
    slack = expectations.slack()

    for ep in episodes:
        w = _attribute(ep, windows, slack, end)
        ep.expected = any(x.matches(ep.alertname, ep.labels) for x in expectations.expected)
        ep.forbidden = ep.alertname in expectations.not_firing
        ep.preexisting = (watching is not None and ep.starts_offset is not None
                          and ep.starts_offset < watching.offset - CLOCK_SKEW)
        if w is not None:
            ep.fault = w.fault
            ep.detection_s = round(ep.fired_at - w.start, 3)
            if ep.resolved_at is not None and w.reverted is not None:
                ep.reset_s = round(ep.resolved_at - w.reverted, 3)

    detections: list[FaultDetection] = []
    for w in windows:
        mine = [ep for ep in episodes if ep.fault == w.fault and ep.relevant]
        first = min(mine, key=lambda ep: ep.fired_at, default=None)
        detections.append(FaultDetection(
            window=w, detected=first is not None,
            detection_s=None if first is None else round(first.fired_at - w.start, 3),
            first_alert=None if first is None else first.alertname,
        ))

    reference = min((w.start for w in windows), default=None)
    first_injected = min((w.injected for w in windows), default=None)
    results: list[ExpectationResult] = []
    for exp in expectations.expected:
        observed = 0.0 if reference is None else round(end - reference, 3)
        candidates = [ep for ep in episodes if exp.matches(ep.alertname, ep.labels) and first_injected is not None
                      and ep.fired_at >= first_injected
                      and not (ep.starts_offset is not None and ep.starts_offset < first_injected - CLOCK_SKEW)]
        first = min(candidates, key=lambda ep: ep.fired_at, default=None)
        if first is None or reference is None:
            results.append(ExpectationResult(exp, "missed", None, None, observed))
            continue
        took = round(first.fired_at - reference, 3)
        results.append(ExpectationResult(exp, "met" if took <= exp.within else "late", took, first, observed))

    not_firing = [NotFiringResult(name, tuple(ep for ep in episodes if ep.alertname == name))
                  for name in expectations.not_firing]

    relevant = [ep for ep in episodes if ep.relevant]
    # Alerts left firing from before the run are shown, but they are not this run's alerts to judge.
    judged = [ep for ep in episodes if not ep.preexisting]
    precision = None if not judged else round(len(relevant) / len(judged), 4)
    recall = None if not windows else round(sum(d.detected for d in detections) / len(detections), 4)

    timed = [r.detection_s for r in results if r.detection_s is not None]
    if expectations.expected:
        detection = min(timed, default=None)
    else:
        detection = min((d.detection_s for d in detections if d.detection_s is not None), default=None)

    unresolved = [ep for ep in judged if not ep.resolved]
    reset = None
    if relevant and all(ep.reset_s is not None for ep in relevant):
        reset = max(ep.reset_s for ep in relevant if ep.reset_s is not None)

    if expectations.expected:
        noisy = [ep for ep in judged if not ep.expected or ep.forbidden]
    else:
        noisy = [ep for ep in judged if ep.forbidden]

    return AlertScore(
        episodes=episodes, faults=detections, expectations=results, not_firing=not_firing,
        precision=precision, recall=recall, detection_s=detection, reset_s=reset,
        noisy=noisy, unresolved=unresolved, declared=expectations.declared,
    )


def score_run(scenario: Scenario, events: list[Event]) -> AlertScore:
    return score_alerts(events, AlertExpectations.from_scenario(scenario))


# --- verdicts ------------------------------------------------------------------------------------------


def _resolution(ep: AlertEpisode | None) -> str:
    if ep is None:
        return ""
    if ep.reset_s is not None and ep.reset_s < 0:  # the team (or the system) fixed it before the harness reverted
        return f"; resolved {-ep.reset_s:.1f}s before revert"
    if ep.reset_s is not None:
        return f"; resolved {ep.reset_s:.1f}s after revert"
    if ep.resolved:
        return "; resolved"
    return "; still firing when the harness stopped listening"


def alert_verdicts(score: AlertScore) -> list[Verdict]:
    """One verdict per expected alert and per alert that must not fire."""
    out: list[Verdict] = []
    for r in score.expectations:
        exp = r.expected
        name = f"alert {exp.title} fires within {format_duration(exp.within)}"
        if r.status == "missed":
            out.append(Verdict(name, False, f"missed: did not fire ({r.observed_s:.1f}s observed after the fault took effect)"))
            continue
        assert r.episode is not None and r.detection_s is not None
        when = f"fired {r.detection_s:.1f}s after the fault took effect (via {r.episode.via})"
        if r.status == "late":
            out.append(Verdict(name, False, f"late: {when}, after the {format_duration(exp.within)} deadline"
                               + _resolution(r.episode)))
        else:
            out.append(Verdict(name, True, when + _resolution(r.episode)))
    for nf in score.not_firing:
        name = f"alert {nf.name} does not fire"
        if nf.fired:
            first = nf.episodes[0]
            out.append(Verdict(name, False, f"fired {len(nf.episodes)} time(s), first at T+{first.fired_at:.1f}s"))
        else:
            out.append(Verdict(name, True, "did not fire"))
    return out


def verdicts_for(scenario: Scenario, events: list[Event]) -> list[Verdict]:
    return alert_verdicts(score_run(scenario, events))
