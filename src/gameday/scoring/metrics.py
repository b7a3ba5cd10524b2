"""Response metrics from a timeline: how long each step of the incident process took, and what was done.

Pure: events (plus what the scenario expected, passed in as ``ScoringContext``) in, ``ResponseMetrics``
out. Durations use the events' monotonic ``offset``, never their wall time, so a clock step during a
drill cannot bend a number. Definitions, start and end events and sources are in docs/scoring.md.

The incident's start is when the fault became effective (``fault.effective``); if the harness never saw
it take effect, the first ``fault.injected``; in a tabletop run without a real fault, the change to the
``fault`` phase. Every "time to X" is measured from that start, like Rootly's durations from
``started_at``; acknowledge, declare and resolve are also given from detection, which is where
PagerDuty's clock starts (an incident exists once an alert triggers it).

A tabletop run replayed at ``--speed N`` runs on a compressed clock whose offsets are already scenario
time (see facilitator/clock.py), so durations read like a real drill's and are compared with the
severity table's targets unchanged; the speed is only noted.

A drill counts as finished when ``run.finished`` was written, its outcome is not ``interrupted``, and
no ``drill.stopped`` is left without a later ``drill.resumed``. In an unfinished drill, a step that
never happened is "not reached", never "failed".

An interval whose end came before its start (acknowledged from a probe before the alert fired) is not a
duration: its ``seconds`` is None and ``note`` says it in words; no metric here is ever a negative time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any

from gameday import events as ev
from gameday.incident import SIGNAL_WORDS
from gameday.scenario.model import AlertExpectation
from gameday.scoring.durations import format_seconds
from gameday.scoring.severity import DEFAULT_SEVERITIES, SeverityLevel, SeverityTable, table_for
from gameday.timeline import Event
from gameday.timeline_shapes import MAX_STEPS


@dataclass(frozen=True)
class ScoringContext:
    """What the timeline alone cannot say: the scenario's alert expectations and the severity table."""

    expected_alerts: tuple[AlertExpectation, ...] = ()
    forbidden_alerts: tuple[str, ...] = ()
    severities: SeverityTable = DEFAULT_SEVERITIES
    alerts_declared: bool = False
    """True when the scenario said something about alerts (even "none expected")."""


@dataclass(frozen=True)
class Interval:
    """A measured duration between two timeline events (seconds, in drill time)."""

    name: str
    start_event: str
    end_event: str
    start: float | None
    end: float | None
    seconds: float | None
    """Never negative: None when either event is missing or when the end came first (see ``early_s``)."""
    early_s: float | None = None
    """The end came this many seconds before the start (the team acknowledged before any alert fired):
    not a duration, so it is said in ``note`` instead of printed as a negative time."""
    note: str = ""
    """The words shown instead of a time when the end came first."""

    @property
    def text(self) -> str:
        """The time as the scorecard and the report show it: ``1 min 05 s``, ``-``, or the note."""
        return self.note if self.early_s is not None else format_seconds(self.seconds)


@dataclass(frozen=True)
class TargetCheck:
    name: str
    interval: str
    limit_s: float | None
    actual_s: float | None
    met: bool | None
    """None: not timed by the severity table, or not reached before the drill stopped."""
    note: str
    source: str


@dataclass(frozen=True)
class SeverityCheck:
    expected: str | None
    first_declared: str | None
    final_declared: str | None
    most_severe_declared: str | None
    declarations: int
    verdict: str
    """match | over | under | under_corrected | not_declared | no_expectation"""
    text: str


@dataclass(frozen=True)
class UpdateStats:
    count: int
    audiences: dict[str, int]
    offsets: list[float]
    first_from_declaration_s: float | None
    first_before_declaration_s: float | None
    """The first update went out this long before the declaration (else None): the cadence was kept."""
    gaps_s: list[float]
    largest_gap_s: float | None
    """Largest gap between two consecutive updates (None with fewer than two updates)."""
    longest_silence_s: float | None
    """Largest of those gaps and the gap from the last update to resolution (or to the end of the record)."""
    cadence_s: float | None
    cadence_text: str
    cadence_met: bool | None


@dataclass(frozen=True)
class RunbookStats:
    recorded: bool
    total_steps: int | None
    attempted: list[int]
    succeeded: list[int]
    failed: list[int]
    retried: list[int]
    """Steps that failed at first and succeeded later."""
    skipped: list[int]
    missing: list[int]
    restored: bool | None
    time_to_restore_s: float | None
    idle_steps: list[int]


@dataclass(frozen=True)
class AlertStats:
    judged: bool
    """False when the scenario declared nothing about alerts: fired alerts are counted, not judged."""
    watched: bool
    expected: list[str]
    fired: list[str]
    missed: list[str]
    late: list[str]
    noisy: list[str]
    forbidden_fired: list[str]
    firings: int
    precision: float | None
    recall: float | None
    detection_s: float | None
    reset_s: float | None
    source: str


@dataclass(frozen=True)
class ReviewFacts:
    root_cause: str
    went_well: int
    went_poorly: int
    got_lucky: int
    action_items: int
    action_items_with_owner_and_due: int


@dataclass(frozen=True)
class ResponseMetrics:
    empty: bool
    responded: bool
    """False for a plain ``gameday run``: no facilitator or scripted responders, no human-side events."""
    finished: bool
    speed: float
    """Tabletop compression recorded on run.started (1 for a live drill); offsets are scenario time."""
    start_event: str | None
    start: float | None
    detection_signal: str | None
    milestones: dict[str, float | None]
    intervals: dict[str, Interval]
    governing_severity: str | None
    severity: SeverityCheck
    targets: list[TargetCheck]
    updates: UpdateStats
    runbook: RunbookStats
    alerts: AlertStats
    roles: dict[str, int]
    escalations: int
    all_clear_refusals: int
    review: ReviewFacts | None
    notes: list[str] = field(default_factory=list)
    phases_reached: list[str] = field(default_factory=list)
    """The drill's phases in the order reached (the facilitator's detect, triage, ...; else the engine's)."""
    stopped: str | None = None
    """How an unfinished drill stopped, in words (None when it finished)."""

    def seconds(self, name: str) -> float | None:
        interval = self.intervals.get(name)
        return interval.seconds if interval else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


INTERVALS: tuple[tuple[str, str, str], ...] = (
    # (name, start milestone, end milestone)
    ("time_to_detect", "start", "detected"),
    ("time_to_acknowledge", "start", "acknowledged"),
    ("time_to_acknowledge_from_alert", "first_alert", "acknowledged"),
    ("time_to_acknowledge_from_detection", "detected", "acknowledged"),
    ("time_to_declare", "start", "declared"),
    ("time_to_declare_from_detection", "detected", "declared"),
    ("time_to_first_update", "start", "first_update"),
    ("time_to_mitigate", "start", "mitigated"),
    ("time_to_resolve", "start", "resolved"),
    ("time_to_resolve_from_detection", "detected", "resolved"),
)

END_WORDS = {"detected": "detected", "acknowledged": "acknowledged", "declared": "declared",
             "first_update": "first update sent", "mitigated": "mitigated", "resolved": "resolved"}
START_WORDS = {"start": "the fault took effect", "first_alert": "the first alert fired", "detected": "detection"}
"""How an interval whose end came before its start reads: "acknowledged 1 s before the first alert fired"."""

MILESTONE_EVENTS = {
    "detected": "first alert.firing / incident.detected",
    "first_alert": ev.ALERT_FIRING,
    "acknowledged": ev.INCIDENT_ACKNOWLEDGED,
    "declared": ev.SEVERITY_DECLARED,
    "first_update": ev.STATUS_UPDATE_SENT,
    "mitigated": ev.INCIDENT_MITIGATED,
    "resolved": ev.INCIDENT_RESOLVED,
    "reviewed": ev.REVIEW_RECORDED,
}


def _pause_note(events: list[Event]) -> str | None:
    """The tabletop's pauses in words. Its clock stood still while paused (tabletop.paused and the
    tabletop.resumed that ends it share one offset), so no duration here includes a pause: said, not hidden."""
    paused = sum(1 for e in events if e.kind == ev.TABLETOP_PAUSED)
    if not paused:
        return None
    real = sum(float(e.details.get("paused_real_s") or 0.0) for e in events if e.kind == ev.TABLETOP_RESUMED)
    times = "once" if paused == 1 else f"{paused} times"
    return (f"the tabletop clock was paused {times} ({format_seconds(real)} of real time): scenario time "
            "stood still, so no time here includes a pause")


def compute_metrics(events: list[Event], context: ScoringContext | None = None) -> ResponseMetrics:
    """Every response metric of one run, from its timeline."""
    ctx = context or ScoringContext()
    table = table_for(events, ctx.severities)
    events = sorted(events, key=lambda e: e.offset)
    started = ev.first(events, ev.RUN_STARTED)
    finished = drill_finished(events)
    notes: list[str] = []
    stopped = None if finished or not events else how_it_stopped(events)
    if not events:
        notes.append("the timeline is empty")
    elif stopped is not None:
        notes.append(f"the drill stopped before it finished ({stopped}): later phases are not reached, not failed")
    speed = _speed(started)
    if speed != 1.0:
        notes.append(f"tabletop replay at speed {speed:g}: offsets are already scenario time")
    pause_note = _pause_note(events)
    if pause_note:
        notes.append(pause_note)

    start_event, start = _incident_start(events)
    if events and start is None:
        notes.append("no fault became effective: times are measured from the first event")
        start = events[0].offset
        start_event = events[0].kind

    def first(*kinds: str) -> Event | None:
        return next((e for e in events if e.kind in kinds and (start is None or e.offset >= start)), None)

    alert = first(ev.ALERT_FIRING)
    reported = first(ev.INCIDENT_DETECTED)
    detection = min((e for e in (alert, reported) if e is not None), key=lambda e: e.offset, default=None)
    milestones: dict[str, float | None] = {
        "start": start,
        "detected": detection.offset if detection else None,
        "first_alert": alert.offset if alert else None,
        "acknowledged": _offset(first(ev.INCIDENT_ACKNOWLEDGED)),
        "declared": _offset(first(ev.SEVERITY_DECLARED)),
        "first_update": _offset(first(ev.STATUS_UPDATE_SENT)),
        "mitigated": _offset(first(ev.INCIDENT_MITIGATED)),
        "resolved": _offset(first(ev.INCIDENT_RESOLVED)),
        "reviewed": _offset(first(ev.REVIEW_RECORDED)),
    }
    signal = None
    if detection is not None:
        signal = "alert" if detection.kind == ev.ALERT_FIRING else str(detection.details.get("signal") or "other")

    intervals = {
        name: _interval(name, a, b, milestones, start_event=start_event, signal=signal) for name, a, b in INTERVALS
    }

    severity = _severity_check(events, started, table)
    governing = table.more_severe(table.get(severity.expected), table.get(severity.most_severe_declared))
    last_offset = events[-1].offset if events else None
    updates = _update_stats(events, milestones, governing, last_offset)
    metrics_targets = _targets(intervals, updates, governing, table, finished, events, milestones)

    return ResponseMetrics(
        empty=not events,
        responded=any(e.kind in ev.HUMAN_KINDS for e in events),
        finished=finished,
        speed=speed,
        start_event=start_event,
        start=start,
        detection_signal=signal,
        milestones=milestones,
        intervals=intervals,
        governing_severity=governing.id if governing else None,
        severity=severity,
        targets=metrics_targets,
        updates=updates,
        runbook=_runbook_stats(events),
        alerts=alert_stats(events, ctx, start),
        roles=_roles(events),
        escalations=sum(1 for e in events if e.kind == ev.ESCALATION_PROMPTED),
        all_clear_refusals=sum(1 for e in events if e.kind == ev.ALL_CLEAR_REFUSED),
        review=_review(events),
        notes=notes,
        phases_reached=phases_reached(events),
        stopped=stopped,
    )


# --- pieces -----------------------------------------------------------------------------------


def drill_finished(events: list[Event]) -> bool:
    """True when the run ended normally: run.finished, not interrupted, no drill.stopped left unresumed."""
    finished = ev.last(events, ev.RUN_FINISHED)
    if finished is None or finished.details.get("outcome") == "interrupted":
        return False
    stops = [e.offset for e in events if e.kind == ev.DRILL_STOPPED]
    resumes = [e.offset for e in events if e.kind == ev.DRILL_RESUMED]
    return not stops or (bool(resumes) and max(resumes) >= max(stops))


def phases_reached(events: list[Event]) -> list[str]:
    """The phases a run reached, in order: the facilitator's (``drill.phase``) when people or a facilitator
    recorded any, else the engine's (``phase.changed``)."""
    for kind in (ev.DRILL_PHASE, ev.PHASE_CHANGED):
        seen = [str(e.details.get("phase")) for e in events if e.kind == kind and e.details.get("phase")]
        if seen:
            return list(dict.fromkeys(seen))
    return []


def how_it_stopped(events: list[Event]) -> str:
    """Why an unfinished run ended, in words: the signal and phase of its last ``drill.stopped``, the
    reason of an interrupted run, or a record that ends without ``run.finished``."""
    stop = ev.last(events, ev.DRILL_STOPPED)
    finished = ev.last(events, ev.RUN_FINISHED)
    if stop is not None and not any(e.kind == ev.DRILL_RESUMED and e.offset >= stop.offset for e in events):
        where = f" in the {stop.details['phase']} phase" if stop.details.get("phase") else ""
        return f"{stop.details.get('signal') or 'stopped'}{where}"
    if finished is None:
        return "the record ends without run.finished: the harness stopped mid-run"
    aborted = ev.last(events, ev.RUN_ABORTED)
    return str(aborted.details.get("reason") if aborted and aborted.details.get("reason") else "interrupted")


def _speed(started: Event | None) -> float:
    try:
        speed = float((started.details.get("speed") if started else None) or 1.0)
    except (TypeError, ValueError):
        return 1.0
    return speed if speed > 0 else 1.0


def _incident_start(events: list[Event]) -> tuple[str | None, float | None]:
    for kind in (ev.FAULT_EFFECTIVE, ev.FAULT_INJECTED):
        found = ev.first(events, kind)
        if found is not None:
            return kind, found.offset
    phase = next((e for e in events if e.kind == ev.PHASE_CHANGED and e.details.get("phase") == "fault"), None)
    if phase is not None:
        return "phase.changed (fault)", phase.offset
    return None, None


def _interval(name: str, a: str, b: str, milestones: dict[str, float | None], *, start_event: str | None,
              signal: str | None) -> Interval:
    span = _span(milestones[a], milestones[b])
    early, note = None, ""
    if span is not None and span < 0:
        # Acknowledged from a probe before the alert fired, declared before an alert: a fact, not a time.
        early = -span
        note = f"{END_WORDS[b]} {format_seconds(early)} before {START_WORDS[a]}"
        if a == "first_alert" and signal and signal != "alert":
            note += f" (from {SIGNAL_WORDS.get(signal, signal)})"
    return Interval(
        name=name,
        start_event=(start_event or "start") if a == "start" else MILESTONE_EVENTS[a],
        end_event=MILESTONE_EVENTS[b],
        start=milestones[a], end=milestones[b],
        seconds=span if early is None else None, early_s=early, note=note,
    )


def _offset(event: Event | None) -> float | None:
    return event.offset if event is not None else None


def _span(a: float | None, b: float | None) -> float | None:
    """Signed seconds from a to b (negative: b came first, e.g. an ack before the alert fired); callers
    turn a negative span into words, never into a time shown."""
    if a is None or b is None:
        return None
    return round(b - a, 3)


def _severity_check(events: list[Event], started: Event | None, table: SeverityTable) -> SeverityCheck:
    expected_raw = started.details.get("expected_severity") if started else None
    expected = table.get(str(expected_raw)) if expected_raw else None
    declared = [table.get(str(e.details.get("severity"))) for e in events if e.kind == ev.SEVERITY_DECLARED]
    levels = [lv for lv in declared if lv is not None]
    first = levels[0] if levels else None
    final = levels[-1] if levels else None
    worst: SeverityLevel | None = None
    for lv in levels:
        worst = table.more_severe(worst, lv)

    def name(lv: SeverityLevel | None) -> str | None:
        return lv.id if lv else None

    if first is None:
        verdict, text = "not_declared", "no severity was declared"
    elif expected is None:
        verdict, text = "no_expectation", f"declared {first.name}; the scenario sets no expected severity"
    elif first.rank == expected.rank:
        verdict, text = "match", f"declared {first.name}, as expected"
    elif first.rank < expected.rank:
        verdict = "over"
        text = f"declared {first.name}, more severe than the expected {expected.name} (acceptable: when unsure, declare higher)"
    elif worst is not None and worst.rank <= expected.rank:
        verdict = "under_corrected"
        text = f"declared {first.name} first, below the expected {expected.name}; raised to {worst.name} later"
    else:
        verdict, text = "under", f"declared {first.name}, less severe than the expected {expected.name}"
    if final is not None and first is not None and final.rank != first.rank and verdict in ("match", "over"):
        text += f"; changed to {final.name} later"
    return SeverityCheck(
        expected=name(expected), first_declared=name(first), final_declared=name(final),
        most_severe_declared=name(worst), declarations=len(levels), verdict=verdict, text=text,
    )


def _update_stats(
    events: list[Event],
    milestones: dict[str, float | None],
    level: SeverityLevel | None,
    last_offset: float | None,
) -> UpdateStats:
    updates = [e for e in events if e.kind == ev.STATUS_UPDATE_SENT]
    offsets = [e.offset for e in updates]
    audiences: dict[str, int] = {}
    for e in updates:
        audience = str(e.details.get("audience") or "internal")
        audiences[audience] = audiences.get(audience, 0) + 1
    gaps = [round(b - a, 3) for a, b in pairwise(offsets)]
    end = milestones.get("resolved") if milestones.get("resolved") is not None else last_offset
    silences = list(gaps)
    if offsets and end is not None and end >= offsets[-1]:
        silences.append(round(end - offsets[-1], 3))
    anchor = milestones.get("declared") if milestones.get("declared") is not None else milestones.get("detected")
    cadence = level.update_every_s if level else None
    longest = max(silences) if silences else None
    met: bool | None = None
    if cadence is not None and offsets:
        met = longest is None or longest <= cadence
    elif cadence is not None and not offsets:
        met = False
    first = _span(anchor, offsets[0]) if offsets else None
    return UpdateStats(
        count=len(updates),
        audiences=audiences,
        offsets=offsets,
        first_from_declaration_s=first if first is None or first >= 0 else None,
        first_before_declaration_s=-first if first is not None and first < 0 else None,
        gaps_s=gaps,
        largest_gap_s=max(gaps) if gaps else None,
        longest_silence_s=longest,
        cadence_s=cadence,
        cadence_text=level.cadence_text if level else "unknown (no severity)",
        cadence_met=met,
    )


def _targets(
    intervals: dict[str, Interval],
    updates: UpdateStats,
    level: SeverityLevel | None,
    table: SeverityTable,
    finished: bool,
    events: list[Event],
    milestones: dict[str, float | None],
) -> list[TargetCheck]:
    out: list[TargetCheck] = []
    sev = level.name if level else "no severity"

    def check(name: str, interval: str, limit: float | None, source: str, actual: float | None = None,
              reached: bool | None = None, early: str = "") -> None:
        value = intervals[interval].seconds if actual is None and interval in intervals else actual
        early = early or (intervals[interval].note if interval in intervals else "")
        happened = (value is not None or bool(early)) if reached is None else reached
        if limit is None:
            met, note = None, f"not timed for {sev}"
        elif early:
            # It came before the moment its target runs from: the target cannot have been missed.
            met, note = True, f"met: {early}"
        elif not happened:
            met, note = (False, "never happened") if finished else (None, "not reached before the drill stopped")
        elif value is None:
            met, note = None, "cannot be measured: its start event is missing"
        else:
            met = value <= limit
            note = "met" if met else f"missed by {value - limit:.0f} s"
        out.append(TargetCheck(name, interval, limit, value, met, note, source))

    check("detect within the MTTD target", "time_to_detect", table.detect_within_s,
          "INCIDENT-PROCESS metrics: MTTD < 5 min")
    check("acknowledge within target (from detection)", "time_to_acknowledge_from_detection",
          level.acknowledge_within_s if level else None,
          "INCIDENT-PROCESS: MTTA < 5 min for SEV1; respond-within for the others")
    check("declare within respond-within (from detection)", "time_to_declare_from_detection",
          level.respond_within_s if level else None, "INCIDENT-PROCESS severity table: respond within")
    first_early = updates.first_before_declaration_s
    check("first status update within the cadence (from declaration)", "first_update_from_declaration",
          level.update_every_s if level else None, "INCIDENT-PROCESS severity table: update cadence",
          actual=updates.first_from_declaration_s, reached=updates.count > 0,
          early="" if first_early is None else f"first update sent {format_seconds(first_early)} before "
                                               f"{'the declaration' if milestones.get('declared') is not None else 'detection'}")
    check("update cadence kept (longest silence)", "longest_update_silence",
          level.update_every_s if level else None, "INCIDENT-PROCESS severity table: update cadence",
          actual=updates.longest_silence_s, reached=updates.count > 0)
    if level is not None and level.escalate_unmitigated_after_s is not None:
        # The escalation trigger runs from the SEV1 declaration (as the facilitator's prompt does), or from
        # detection when the SEV1 was expected but never declared.
        declared = next((e.offset for e in events if e.kind == ev.SEVERITY_DECLARED
                         and str(e.details.get("severity")) == level.id), None)
        since = declared if declared is not None else milestones.get("detected")
        took = _span(since, milestones.get("mitigated"))
        check("mitigated within the escalation trigger (from the SEV1 declaration)", "time_to_mitigate_from_sev1",
              level.escalate_unmitigated_after_s,
              "INCIDENT-PROCESS escalation: SEV1 not mitigated in 30 min -> engineering leadership",
              actual=took if took is None or took >= 0 else None, reached=took is not None,
              early="" if took is None or took >= 0 else
              f"mitigated {format_seconds(-took)} before {'the SEV1 was declared' if declared is not None else 'detection'}")
    check("resolve within target (from detection)", "time_to_resolve_from_detection",
          level.resolve_within_s if level else None, "INCIDENT-PROCESS metrics: MTTR < 1 h for SEV1")
    return out


def _runbook_stats(events: list[Event]) -> RunbookStats:
    outcomes: dict[int, list[str]] = {}
    total: int | None = None
    for e in events:
        if e.kind == ev.RUNBOOK_STARTED:
            total = _max_int(total, e.details.get("total_steps"))
        if e.kind == ev.RUNBOOK_STEP:
            try:
                step = int(e.details.get("step"))  # type: ignore[arg-type]
            except (TypeError, ValueError, OverflowError):
                continue
            outcomes.setdefault(step, []).append(str(e.details.get("outcome") or ""))
            total = _max_int(total, e.details.get("total_steps"))
    judged = ev.last(events, ev.RUNBOOK_JUDGED)
    if judged is not None:
        total = _max_int(total, judged.details.get("total_steps"))
    seen = sorted(outcomes)
    last_real = {s: [o for o in outcomes[s] if o in ("done", "failed")] for s in seen}
    attempted = [s for s in seen if last_real[s]]
    succeeded = [s for s in attempted if last_real[s][-1] == "done"]
    failed = [s for s in attempted if last_real[s][-1] == "failed"]
    retried = [s for s in succeeded if "failed" in last_real[s]]
    skipped = [s for s in seen if not last_real[s] and "skipped" in outcomes[s]]
    # read_timeline refuses step numbers past MAX_STEPS; events built in memory are bounded here all the same.
    upper = min(max([total or 0, *seen]) if seen or total else 0, MAX_STEPS)
    missing = [n for n in range(1, upper + 1) if n not in outcomes]
    restore = judged.details.get("time_to_restore_s") if judged else None
    return RunbookStats(
        recorded=bool(outcomes) or judged is not None,
        total_steps=total,
        attempted=attempted, succeeded=succeeded, failed=failed, retried=retried, skipped=skipped,
        missing=missing,
        restored=bool(judged.details.get("restored")) if judged is not None else None,
        time_to_restore_s=round(float(restore), 3) if isinstance(restore, (int, float)) else None,
        idle_steps=[int(s) for s in (judged.details.get("idle_steps") or []) if isinstance(s, int)] if judged else [],
    )


def _max_int(current: int | None, value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return max(current or 0, value)
    return current


def alert_stats(events: list[Event], ctx: ScoringContext, start: float | None) -> AlertStats:
    """Alerts expected / fired / missed / late / noisy.

    Judged by ``scoring.alerting`` (fault windows, label matchers, deadlines) from the expectations the
    alert observer wrote into the timeline (``alerts.watching``), or else those in ``ctx`` (the scenario).
    """
    from gameday.scoring import alerting

    expectations = alerting.AlertExpectations.from_events(events)
    if not expectations.declared and (ctx.expected_alerts or ctx.forbidden_alerts):
        expectations = alerting.AlertExpectations(
            expected=ctx.expected_alerts,
            not_firing=tuple(ctx.forbidden_alerts),
        )
    watched = expectations.declared or ctx.alerts_declared or any(e.kind == ev.ALERTS_WATCHING for e in events)
    judged = expectations.declared or ctx.alerts_declared
    result = alerting.score_alerts(events, expectations)
    forbidden = sorted({nf.name for nf in result.not_firing if nf.fired})
    return AlertStats(
        judged=judged,
        watched=watched,
        expected=[r.expected.title for r in result.expectations],
        fired=sorted({ep.alertname for ep in result.episodes}),
        missed=[r.expected.title for r in result.missed],
        late=[r.expected.title for r in result.late],
        noisy=sorted({ep.alertname for ep in result.noisy}) if judged else [],
        forbidden_fired=forbidden,
        firings=len(result.episodes),
        precision=result.precision,
        recall=result.recall,
        detection_s=result.detection_s,
        reset_s=result.reset_s,
        source="scoring.alerting: alert.firing / alert.resolved events against the expectations",
    )


def _roles(events: list[Event]) -> dict[str, int]:
    roles: dict[str, int] = {}
    for e in events:
        if e.kind == ev.ROLE_ASSIGNED:
            role = str(e.details.get("role") or "unknown")
            roles[role] = roles.get(role, 0) + 1
    return roles


def _review(events: list[Event]) -> ReviewFacts | None:
    review = ev.last(events, ev.REVIEW_RECORDED)
    if review is None:
        return None
    d = review.details
    items = [i for i in (d.get("action_items") or []) if isinstance(i, dict)]
    return ReviewFacts(
        root_cause=str(d.get("root_cause") or ""),
        went_well=len(d.get("went_well") or []),
        went_poorly=len(d.get("went_poorly") or []),
        got_lucky=len(d.get("got_lucky") or []),
        action_items=len(items),
        action_items_with_owner_and_due=sum(1 for i in items if i.get("owner") and i.get("due")),
    )
