"""Turn a finished run folder into a history record, from its timeline alone (as the report does)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gameday import events as ev
from gameday.history.store import RunRecord
from gameday.timeline import Event, read_timeline

if TYPE_CHECKING:
    from gameday.scoring.scorecard import Scorecard

METRICS = ("time_to_detect", "time_to_acknowledge", "time_to_declare", "time_to_mitigate", "time_to_resolve",
           "time_to_resolve_from_detection", "time_to_first_update")


def record_from_run(run_dir: Path, events: list[Event] | None = None, card: Scorecard | None = None) -> RunRecord:
    """The history record of a run folder. ``card``: the scorecard the report used (gameday.finish scores
    once); without it the run is scored here with the same context the report reads (its scenario copy)."""
    if events is None:
        events = read_timeline(run_dir / "timeline.jsonl")
    if card is None:
        from gameday.report.run_inputs import scoring_context
        from gameday.scoring.scorecard import score

        card = score(events, scoring_context(run_dir))
    started = ev.first(events, ev.RUN_STARTED) or events[0]
    finished = ev.last(events, ev.RUN_FINISHED)
    metrics: dict[str, float | None] = {name: card.metrics.seconds(name) for name in METRICS}
    alerts = card.metrics.alerts
    if alerts.judged:
        metrics["alerts_expected"] = float(len(alerts.expected))
        metrics["alerts_missed"] = float(len(alerts.missed))
        metrics["alert_recall"] = alerts.recall
        metrics["alert_precision"] = alerts.precision
    runbook = card.metrics.runbook
    declared = next((e.details.get("severity") for e in reversed(events) if e.kind == ev.SEVERITY_DECLARED), None)
    review = ev.last(events, ev.REVIEW_RECORDED)
    faults = started.details.get("faults") or []
    tags = started.details.get("tags") or []
    category = str(tags[0]) if tags else ",".join(sorted({str(f.get("kind")) for f in faults}))
    outcome = str(finished.details.get("outcome")) if finished else "unfinished"
    return RunRecord(
        run_id=str(started.details.get("run_id") or run_dir.name),
        scenario=str(started.details.get("scenario", "")),
        stack=str(started.details.get("stack", "")),
        category=category,
        started_at=started.at,
        duration_s=round((finished or events[-1]).offset - started.offset, 3),
        severity_expected=started.details.get("expected_severity"),
        severity_declared=str(declared) if declared else None,
        outcome=outcome,
        passed=outcome == "passed",
        exit_code=finished.details.get("exit_code") if finished else None,
        metrics=metrics,
        scores={
            "overall": card.overall,
            "points": card.points,
            "max_points": card.max_points,
            "ratings": {c.id: c.rating for c in card.capabilities},
            "runbook_restored": runbook.restored if runbook.recorded else None,
        },
        report_path=str(run_dir / "report.md"),
        action_items=[
            {"text": str(i.get("text", "")), "owner": str(i.get("owner", "")), "due": str(i.get("due", ""))}
            for i in (review.details.get("action_items") or [] if review else [])
            if isinstance(i, dict)
        ],
    )
