"""The scorecard: each capability rated on the HSEEP scale, with the reason beside the rating.

HSEEP (the US Homeland Security Exercise and Evaluation Program) rates each capability an exercise
tested as P, S, M or U. The rubric here is one rule for all capabilities, so a rating is never a
black box:

    not rated  the scenario does not test it (e.g. no alerts declared), or the drill stopped first
    U          the capability's core action never happened (no severity declared, never resolved ...)
    M          it happened, with at least one major challenge (e.g. a target missed by more than 2x)
    S          it happened, with only minor challenges (e.g. a target missed by less than 2x)
    P          it happened, with no challenge

Each capability's core action and its major and minor challenges are listed in ``RUBRIC`` (and in
docs/scoring.md). The overall rating is the median of the rated capabilities (the lower of the two
middle ones when their number is even, so a tie never rounds up), shown with the counts behind it; a
drill stopped before it finished is rated "incomplete" overall, with the phases it reached and the
capabilities rated so far, never a median of the part it reached.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gameday import events as ev
from gameday.incident import SIGNAL_WORDS
from gameday.scoring.durations import format_seconds as format_seconds  # re-exported: reports import it here
from gameday.scoring.metrics import ResponseMetrics, ScoringContext, compute_metrics
from gameday.scoring.severity import SeverityTable, table_for
from gameday.timeline import Event

RATINGS: dict[str, str] = {
    "P": "performed without challenges",
    "S": "performed with some challenges",
    "M": "performed with major challenges",
    "U": "unable to be performed",
}
POINTS = {"P": 3, "S": 2, "M": 1, "U": 0}
INCOMPLETE = "incomplete"
"""The overall rating of a drill stopped before it finished: a median of the phases it reached would rate a
drill nobody completed as if it had been."""
MAJOR_FACTOR = 2.0
"""A time target missed by more than this factor is a major challenge; missed by less, a minor one."""


@dataclass(frozen=True)
class Capability:
    id: str
    title: str
    core: str
    major: tuple[str, ...]
    minor: tuple[str, ...]


RUBRIC: tuple[Capability, ...] = (
    Capability("detection", "Detection", "the incident was detected (incident.detected or alert.firing)",
               ("detected later than 2x the MTTD target (5 min)",),
               ("detected later than the MTTD target", "first signal was a customer report, not monitoring")),
    Capability("alerting", "Alerting", "at least one expected alert fired (rated only when the scenario declares alerts)",
               ("an expected alert never fired", "an alert that must not fire fired"),
               ("an expected alert fired after its deadline", "unexpected (noisy) alerts fired")),
    Capability("acknowledgement", "Acknowledgement", "a human acknowledged the incident",
               ("acknowledged later than 2x the severity's target",),
               ("acknowledged later than the severity's target",)),
    Capability("triage", "Triage and declaration", "a severity was declared",
               ("declared less severe than expected and never raised", "declared later than 2x respond-within"),
               ("declared less severe than expected, raised later", "declared later than respond-within",
                "no incident commander assigned")),
    Capability("mitigation", "Mitigation", "the impact was halted (incident.mitigated)",
               ("a runbook step failed and never succeeded", "the runbook did not restore service",
                "SEV1 not mitigated within 30 min of its declaration, and not escalated"),
               ("a runbook step failed before it succeeded", "runbook steps skipped or missing",
                "SEV1 not mitigated within 30 min of its declaration, but escalated")),
    Capability("communication", "Communication", "at least one status update was sent (not rated for SEV4)",
               ("first update or a silence longer than 2x the cadence",),
               ("first update or a silence longer than the cadence",)),
    Capability("resolution", "Resolution and all-clear", "the incident was resolved (all-clear accepted)",
               ("resolved later than 2x the severity's target",),
               ("resolved later than the severity's target", "all-clear asked for while probes were red")),
    Capability("review", "Review", "a blameless review was recorded",
               ("no root cause recorded", "no action items"),
               ("action items without owner or due date", "no lessons (went well / poorly / lucky)")),
)


@dataclass(frozen=True)
class CapabilityRating:
    id: str
    title: str
    rating: str | None
    meaning: str
    reason: str
    challenges: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Scorecard:
    run_id: str
    scenario: str
    finished: bool
    capabilities: list[CapabilityRating]
    overall: str | None
    overall_reason: str
    points: int
    max_points: int
    targets_met: int
    targets_timed: int
    metrics: ResponseMetrics
    notes: list[str]

    def rating(self, capability: str) -> str | None:
        return next(c.rating for c in self.capabilities if c.id == capability)

    @property
    def overall_meaning(self) -> str:
        """The overall rating in words: the HSEEP meaning, "stopped before it finished", or "not rated"."""
        if self.overall == INCOMPLETE:
            return "stopped before it finished"
        return RATINGS.get(self.overall or "", "not rated")

    @property
    def tally(self) -> str:
        """Points and time targets, as every scorecard prints them after the overall reason."""
        rated = sum(1 for c in self.capabilities if c.rating is not None)
        points = f"Points {self.points} of {self.max_points}"
        if self.overall == INCOMPLETE:
            points += f" for the {rated} capabilit{'y' if rated == 1 else 'ies'} rated so far"
        return f"{points}; time targets met {self.targets_met} of {self.targets_timed}."

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; holds no people's names (metrics and ratings only)."""
        return asdict(self)


def score(events: list[Event], context: ScoringContext | None = None) -> Scorecard:
    """Metrics and ratings for one run's timeline."""
    metrics = compute_metrics(events, context)
    started = ev.first(events, ev.RUN_STARTED)
    ratings = rate(metrics, table_for(events, (context or ScoringContext()).severities))
    rated = [c for c in ratings if c.rating is not None]
    overall, reason = _overall(rated)
    if not metrics.finished and not metrics.empty:
        overall, reason = INCOMPLETE, _incomplete(metrics, rated)
    timed = [t for t in metrics.targets if t.met is not None]
    return Scorecard(
        run_id=str(started.details.get("run_id", "")) if started else "",
        scenario=str(started.details.get("scenario", "")) if started else "",
        finished=metrics.finished,
        capabilities=ratings,
        overall=overall,
        overall_reason=reason,
        points=sum(POINTS[c.rating] for c in rated if c.rating),
        max_points=3 * len(rated),
        targets_met=sum(1 for t in timed if t.met),
        targets_timed=len(timed),
        metrics=metrics,
        notes=list(metrics.notes),
    )


def rate(m: ResponseMetrics, table: SeverityTable) -> list[CapabilityRating]:
    level = table.get(m.governing_severity)
    raters = {
        "detection": _detection, "alerting": _alerting, "acknowledgement": _acknowledgement,
        "triage": _triage, "mitigation": _mitigation, "communication": _communication,
        "resolution": _resolution, "review": _review,
    }
    out = []
    for cap in RUBRIC:
        verdict = raters[cap.id](m, table, level)
        out.append(_finish(cap, m, verdict))
    return out


# --- one rule for every capability -------------------------------------------------------------


@dataclass
class _Verdict:
    core_done: bool
    core_text: str
    """What happened (when done) or what did not (when not)."""
    major: list[str] = field(default_factory=list)
    minor: list[str] = field(default_factory=list)
    not_rated: str | None = None


HUMAN_CAPABILITIES = ("acknowledgement", "triage", "mitigation", "communication", "resolution", "review")
NO_RESPONSE = "nobody responded in this run (no facilitator or scripted responders)"


def _finish(cap: Capability, m: ResponseMetrics, v: _Verdict) -> CapabilityRating:
    if m.empty:
        v.not_rated = "nothing was recorded"
    elif not m.responded and (cap.id in HUMAN_CAPABILITIES or (cap.id == "detection" and not v.core_done)):
        v.not_rated = NO_RESPONSE
    if v.not_rated is None and not v.core_done and not m.finished:
        v.not_rated = f"not reached before the drill stopped ({v.core_text})"
    if v.not_rated is not None:
        return CapabilityRating(cap.id, cap.title, None, "not rated", v.not_rated)
    if not v.core_done:
        rating, reason = "U", v.core_text
    elif v.major:
        rating, reason = "M", "; ".join(v.major + v.minor)
    elif v.minor:
        rating, reason = "S", "; ".join(v.minor)
    else:
        rating, reason = "P", v.core_text
    return CapabilityRating(cap.id, cap.title, rating, RATINGS[rating], reason, v.major + v.minor)


def _timed(value: float | None, limit: float | None, what: str, v: _Verdict) -> None:
    """Add a minor or major challenge when a time target is missed (by up to, or more than, 2x)."""
    if value is None or limit is None or value <= limit:
        return
    text = f"{what} took {_fmt(value)}, target {_fmt(limit)}"
    (v.major if value > MAJOR_FACTOR * limit else v.minor).append(text)


_fmt = format_seconds


# --- raters ------------------------------------------------------------------------------------


def _detection(m: ResponseMetrics, table: SeverityTable, _: Any) -> _Verdict:
    ttd = m.seconds("time_to_detect")
    if ttd is None:
        return _Verdict(False, "the incident was never detected")
    signal = SIGNAL_WORDS.get(m.detection_signal or "", f"{m.detection_signal}")
    v = _Verdict(True, f"detected by {signal} {_fmt(ttd)} after the fault became effective")
    _timed(ttd, table.detect_within_s, "detection", v)
    if m.detection_signal == "customer_report":
        v.minor.append("customers reported it before monitoring caught it")
    return v


def _alerting(m: ResponseMetrics, _: SeverityTable, __: Any) -> _Verdict:
    a = m.alerts
    if not a.judged:
        fired = f"; {len(a.fired)} alert(s) fired" if a.fired else ""
        return _Verdict(True, "", not_rated=f"the scenario declares no alert expectations{fired}")
    if a.expected and len(a.missed) == len(a.expected):
        return _Verdict(False, f"no expected alert fired (expected {', '.join(a.expected)})")
    v = _Verdict(True, f"{len(a.expected) - len(a.missed)} of {len(a.expected)} expected alert(s) fired in time"
                 if a.expected else "no alert was expected and none unexpected fired")
    if a.missed:
        v.major.append(f"expected alert(s) never fired: {', '.join(a.missed)}")
    if a.forbidden_fired:
        v.major.append(f"alert(s) that must not fire fired: {', '.join(a.forbidden_fired)}")
    if a.late:
        v.minor.append(f"fired after the deadline: {', '.join(a.late)}")
    noisy = [n for n in a.noisy if n not in a.forbidden_fired]
    if noisy:
        v.minor.append(f"unexpected (noisy) alert(s): {', '.join(noisy)}")
    return v


def _acknowledgement(m: ResponseMetrics, _: SeverityTable, level: Any) -> _Verdict:
    from_fault = m.seconds("time_to_acknowledge")
    if from_fault is None:
        return _Verdict(False, "nobody acknowledged the incident")
    from_detection = m.seconds("time_to_acknowledge_from_detection")
    v = _Verdict(True, acknowledged_words(m))
    if level is None:
        v.core_text += " (no severity, so no target to judge against)"
    else:
        _timed(from_detection, level.acknowledge_within_s, "acknowledgement", v)
    return v


def acknowledged_words(m: ResponseMetrics) -> str:
    """When the incident was acknowledged, said without a negative time: after detection, before the first
    alert fired (from a probe), or after the fault when nothing detected it first."""
    ack = m.intervals["time_to_acknowledge_from_detection"]
    if ack.early_s is not None:
        text = ack.note
    elif ack.seconds is not None:
        text = ("acknowledged as it was detected" if ack.seconds < 0.5
                else f"acknowledged {_fmt(ack.seconds)} after detection")
    else:
        text = f"acknowledged {_fmt(m.seconds('time_to_acknowledge'))} after the fault (no detection recorded)"
    from_alert = m.intervals["time_to_acknowledge_from_alert"]
    if from_alert.early_s is not None and ack.early_s is None:
        text += f", {_fmt(from_alert.early_s)} before the first alert fired"
    return text


def _triage(m: ResponseMetrics, _: SeverityTable, level: Any) -> _Verdict:
    s = m.severity
    if s.first_declared is None:
        return _Verdict(False, "no severity was declared")
    v = _Verdict(True, s.text)
    if s.verdict == "under":
        v.major.append(s.text)
    elif s.verdict == "under_corrected":
        v.minor.append(s.text)
    if level is not None:
        _timed(m.seconds("time_to_declare_from_detection"), level.respond_within_s, "declaration", v)
    if not m.roles.get("incident_commander"):
        v.minor.append("no incident commander was assigned")
    return v


def _mitigation(m: ResponseMetrics, table: SeverityTable, level: Any) -> _Verdict:
    ttm = m.seconds("time_to_mitigate")
    if ttm is None:
        return _Verdict(False, "the impact was never declared halted (no incident.mitigated)")
    rb = m.runbook
    text = f"impact halted {_fmt(ttm)} after the fault"
    if rb.recorded:
        text += f"; runbook: {len(rb.succeeded)} step(s) succeeded of {len(rb.attempted)} attempted"
    v = _Verdict(True, text)
    if rb.failed:
        v.major.append(f"runbook step(s) failed and never succeeded: {_steps(rb.failed)}")
    if rb.restored is False:
        v.major.append("the runbook did not restore service")
    if rb.retried:
        v.minor.append(f"runbook step(s) failed before succeeding: {_steps(rb.retried)}")
    if rb.skipped:
        v.minor.append(f"runbook step(s) skipped: {_steps(rb.skipped)}")
    if rb.missing:
        v.minor.append(f"runbook step(s) never recorded: {_steps(rb.missing)}")
    trigger = next((t for t in m.targets if t.interval == "time_to_mitigate_from_sev1"), None)
    if trigger is not None and trigger.met is False:
        if m.escalations:
            v.minor.append(f"SEV1 not mitigated within {_fmt(trigger.limit_s)}; escalation was prompted")
        else:
            v.major.append(f"SEV1 not mitigated within {_fmt(trigger.limit_s)} and not escalated")
    return v


def _communication(m: ResponseMetrics, _: SeverityTable, level: Any) -> _Verdict:
    u = m.updates
    if level is not None and not level.updates_required:
        return _Verdict(True, "", not_rated=f"{level.name} needs no status updates")
    if u.count == 0:
        return _Verdict(False, "no status update was sent")
    audiences = ", ".join(f"{n} {a}" for a, n in sorted(u.audiences.items()))
    v = _Verdict(True, f"{u.count} update(s) ({audiences}), cadence {u.cadence_text} kept")
    if u.cadence_s is None:
        v.core_text = f"{u.count} update(s) ({audiences}); cadence {u.cadence_text} is not timed"
        return v
    _timed(u.first_from_declaration_s, u.cadence_s, "the first update", v)
    _timed(u.longest_silence_s, u.cadence_s, "the longest silence between updates", v)
    return v


def _resolution(m: ResponseMetrics, _: SeverityTable, level: Any) -> _Verdict:
    ttr = m.seconds("time_to_resolve")
    if ttr is None:
        return _Verdict(False, "the incident was never resolved (no all-clear)")
    from_detection = m.intervals["time_to_resolve_from_detection"]
    after = (from_detection.note if from_detection.early_s is not None
             else f"{_fmt(from_detection.seconds)} after detection" if from_detection.seconds is not None
             else "no detection recorded")
    v = _Verdict(True, f"resolved {_fmt(ttr)} after the fault, {after}")
    if level is not None:
        _timed(m.seconds("time_to_resolve_from_detection"), level.resolve_within_s, "resolution", v)
    if m.all_clear_refusals:
        v.minor.append(f"all-clear asked for {m.all_clear_refusals} time(s) while probes were still red")
    return v


def _review(m: ResponseMetrics, _: SeverityTable, __: Any) -> _Verdict:
    r = m.review
    if r is None:
        return _Verdict(False, "no review was recorded")
    v = _Verdict(True, f"root cause, {r.action_items} action item(s) and "
                       f"{r.went_well + r.went_poorly + r.got_lucky} lesson(s) recorded")
    if not r.root_cause.strip():
        v.major.append("no root cause recorded")
    if r.action_items == 0:
        v.major.append("no action items")
    elif r.action_items_with_owner_and_due < r.action_items:
        v.minor.append(f"{r.action_items - r.action_items_with_owner_and_due} action item(s) lack an owner or due date")
    if r.went_well + r.went_poorly + r.got_lucky == 0:
        v.minor.append("no lessons recorded (went well / poorly / got lucky)")
    return v


def _steps(steps: list[int]) -> str:
    return ", ".join(str(s) for s in steps)


def _incomplete(m: ResponseMetrics, rated: list[CapabilityRating]) -> str:
    """Why a stopped drill has no overall rating: how it stopped, the phases it reached, what was rated."""
    reason = f"the drill stopped before it finished ({m.stopped})"
    if m.phases_reached:
        reason += f"; phases reached: {', '.join(m.phases_reached)}"
    if rated:
        so_far = ", ".join(f"{c.title} {c.rating}" for c in rated)
        reason += f"; rated so far: {so_far}; the other {len(RUBRIC) - len(rated)} not reached or not rated"
    else:
        reason += "; no capability was rated before it stopped"
    return reason


def _overall(rated: list[CapabilityRating]) -> tuple[str | None, str]:
    if not rated:
        return None, "no capability could be rated"
    order = sorted(rated, key=lambda c: POINTS[c.rating or "U"], reverse=True)
    # Sorted best first, order[n // 2] is the middle rating, or the lower of the two middle ones.
    middle = order[len(order) // 2]
    counts = ", ".join(f"{r}x{sum(1 for c in rated if c.rating == r)}" for r in POINTS
                       if any(c.rating == r for c in rated))
    weakest = [c for c in rated if POINTS[c.rating or "U"] == min(POINTS[x.rating or "U"] for x in rated)]
    reason = (f"median of {len(rated)} rated capabilities ({counts})"
              + ("; the lower middle rating is taken" if len(rated) % 2 == 0 else ""))
    if weakest and weakest[0].rating != "P":
        reason += f"; weakest: {', '.join(c.title for c in weakest)} ({weakest[0].rating})"
    return middle.rating, reason
