"""Everything the postmortem shows, gathered once from the timeline: the data both templates read.

Narrative parts (timeline, review, action items) pass through ``blameless.Narrator``, so they name
roles rather than people unless the run opted in; the scorecard holds no names at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gameday import events as ev
from gameday.incident import SIGNAL_WORDS
from gameday.report.blameless import Narrator
from gameday.report.charts import Chart, build_charts
from gameday.report.impact import Impact, build_impact
from gameday.report.summary import RunSummary, summarize
from gameday.scoring.metrics import ScoringContext
from gameday.scoring.scorecard import (
    RATINGS,
    RUBRIC,
    Capability,
    Scorecard,
    acknowledged_words,
    format_seconds,
    score,
)
from gameday.timeline import Event


@dataclass
class Review:
    root_cause: str
    went_well: list[str]
    went_poorly: list[str]
    got_lucky: list[str]
    action_items: list[dict[str, Any]]


@dataclass
class Postmortem:
    summary: RunSummary
    scorecard: Scorecard
    impact: Impact
    review: Review | None
    timeline: list[Event]
    """The table's events (probe checks only where they changed), people shown as roles."""
    narrated: list[Event]
    """Every event, people shown as roles: what the optional sections read, so they stay blameless too."""
    charts: list[Chart]
    story: list[str]
    names_shown: bool
    rubric: tuple[Capability, ...] = RUBRIC
    ratings: dict[str, str] = field(default_factory=lambda: dict(RATINGS))


def build_postmortem(events: list[Event], context: ScoringContext | None = None) -> Postmortem:
    summary = summarize(events)
    narrator = Narrator(events)
    card = score(events, context)
    review_event = ev.last(events, ev.REVIEW_RECORDED)
    review = None
    if review_event is not None:
        d = narrator.details(review_event.details)
        review = Review(
            root_cause=str(d.get("root_cause") or ""),
            went_well=[str(x) for x in d.get("went_well") or []],
            went_poorly=[str(x) for x in d.get("went_poorly") or []],
            got_lucky=[str(x) for x in d.get("got_lucky") or []],
            action_items=[i for i in d.get("action_items") or [] if isinstance(i, dict)],
        )
    timeline = [narrator.event(e) for e in sorted(summary.timeline, key=lambda e: e.offset)]
    return Postmortem(
        summary=summary, scorecard=card, impact=build_impact(events), review=review, timeline=timeline,
        narrated=[narrator.event(e) for e in events], charts=build_charts(events),
        story=story(card) + put_back_by_others(events), names_shown=narrator.names,
    )


_t = format_seconds


PUT_BACK_BY = {"watchdog": "the watchdog", "cleanup": "`gameday cleanup`", "abort": "`gameday abort`"}
"""Who else may revert a run's fault, when the run itself could not: they write to its timeline too."""


def put_back_by_others(events: list[Event]) -> list[str]:
    """Faults the run did not put back itself: who did (or tried), and why, in plain sentences."""
    out = []
    for e in events:
        who = PUT_BACK_BY.get(e.actor)
        if who is None or e.kind not in (ev.FAULT_REVERTED, ev.REVERT_FAILED):
            continue
        why = f" ({e.details['reason']})" if e.details.get("reason") else ""
        if e.kind == ev.FAULT_REVERTED:
            out.append(f"Fault {e.details.get('fault')} was put back by {who} at T+{e.offset:.0f} s{why}, not by the run.")
        else:
            out.append(f"{who[0].upper()}{who[1:]} could not put fault {e.details.get('fault')} back at "
                       f"T+{e.offset:.0f} s{why}: {e.details.get('error')}.")
    return out


def story(card: Scorecard) -> list[str]:
    """The summary in a few plain sentences, in the order things happened."""
    m = card.metrics
    if m.empty:
        return ["Nothing was recorded."]
    out = []
    if m.start is not None:
        out.append(f"The incident started at T+{m.start:.0f} s ({m.start_event}).")
    detected = m.seconds("time_to_detect")
    signal = SIGNAL_WORDS.get(m.detection_signal or "", m.detection_signal)
    if not m.responded:
        out.append(f"An alert fired {_t(detected)} later." if detected is not None else "No alert fired.")
        out.append("Nobody responded in this run: it ran without a facilitator or scripted responders.")
    else:
        # "never" only of a drill that finished: a stopped one had not reached the step yet.
        never = "never" if m.finished else "not yet"
        if detected is None:
            out.append("Nobody detected it." if m.finished else "Nobody had detected it when the drill stopped.")
        elif m.seconds("time_to_acknowledge") is None:
            out.append(f"It was detected by {signal} after {_t(detected)} and {never} acknowledged.")
        else:
            out.append(f"It was detected by {signal} after {_t(detected)} and {acknowledged_words(m)}.")
        out.append(sentence(m.severity.text if m.finished or m.severity.first_declared
                            else "no severity was declared before the drill stopped"))
        if m.seconds("time_to_mitigate") is not None:
            out.append(f"Impact was halted after {_t(m.seconds('time_to_mitigate'))}.")
        if m.seconds("time_to_resolve") is not None:
            from_detection = m.intervals["time_to_resolve_from_detection"]
            after = from_detection.note or f"{from_detection.text} after detection"
            out.append(f"The incident was resolved {_t(m.seconds('time_to_resolve'))} after it started ({after}).")
    if m.stopped is not None:
        reached = f"; phases reached: {', '.join(m.phases_reached)}" if m.phases_reached else ""
        out.append(sentence(f"the drill stopped before it finished ({m.stopped}{reached}): "
                            "later steps are not reached, not failed"))
    return out


def sentence(text: str) -> str:
    """A clause as a sentence of the summary: capitalised, ending with one full stop."""
    text = text.strip()
    if not text:
        return text
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")
