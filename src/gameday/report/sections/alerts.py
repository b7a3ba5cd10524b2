"""The alerts section of a report: the four alerting attributes, MTTD, and each alert's life.

Pure: reads the ``alert.*`` and ``alerts.*`` events of the timeline (the expectations come from the
``alerts.watching`` event the observer writes), scored by ``gameday.scoring.alerting``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gameday import events as ev
from gameday.scoring.alerting import AlertExpectations, AlertScore, score_alerts
from gameday.timeline import Event

_PROBLEMS = (ev.ALERTS_RECEIVER_FAILED, ev.ALERTS_UNREACHABLE, ev.ALERTS_PAYLOAD_REJECTED, ev.ALERTS_FOREIGN_REFUSED)


def _problem(e: Event) -> str | None:
    if e.kind == ev.ALERTS_FOREIGN_REFUSED:
        names = ", ".join(e.details.get("alertnames") or []) or "no alerts"
        return (f"refused what another Alertmanager ({e.details.get('sender') or 'unnamed'}) sent ({names}): "
                f"this stack's is {e.details.get('accepts_from')}")
    error = e.details.get("error")
    return str(error) if error is not None else None


@dataclass(frozen=True)
class AlertRow:
    alertname: str
    labels: str
    severity: str
    fired_at: str
    fired_offset: float
    via: str
    starts_at: str
    delivery_s: float | None
    """Alertmanager's startsAt -> the harness received it: group_wait and polling, not detection."""
    detection_s: float | None
    resolved_at: str | None
    resolved_offset: float | None
    reset_s: float | None
    fault: str | None
    verdict: str
    """expected | noise | must not fire | not expected | already firing before the run"""


@dataclass(frozen=True)
class AlertsSection:
    receiver: str | None
    alertmanager: str | None
    """The Alertmanager polled, when polling was on."""
    precision: float | None
    recall: float | None
    detection_s: float | None
    reset_s: float | None
    alerts: list[AlertRow]
    expectations: list[dict[str, Any]]
    not_firing: list[dict[str, Any]]
    faults: list[dict[str, Any]]
    problems: list[dict[str, Any]]
    still_firing: list[str]


def _row(score: AlertScore, ep: Any) -> AlertRow:
    if ep.preexisting:
        verdict = "already firing before the run"
    elif ep.forbidden:
        verdict = "must not fire"
    elif ep.expected:
        verdict = "expected"
    elif ep in score.noisy:
        verdict = "noise"
    else:
        verdict = "not expected"
    delivery = None if ep.starts_offset is None else round(ep.fired_at - ep.starts_offset, 3)
    return AlertRow(
        alertname=ep.alertname,
        labels=", ".join(f"{k}={v}" for k, v in sorted(ep.labels.items()) if k not in ("alertname", "severity")),
        severity=ep.labels.get("severity", ""),
        fired_at=ep.fired_wall, fired_offset=ep.fired_at, via=ep.via, starts_at=ep.starts_at or "",
        delivery_s=delivery, detection_s=ep.detection_s,
        resolved_at=ep.resolved_wall, resolved_offset=ep.resolved_at, reset_s=ep.reset_s,
        fault=ep.fault, verdict=verdict,
    )


def build(events: list[Event]) -> AlertsSection | None:
    """The section's data, or None when the run did not watch alerts."""
    watching = ev.first(events, ev.ALERTS_WATCHING)
    if watching is None and not any(e.kind.startswith("alert.") for e in events):
        return None
    score = score_alerts(events, AlertExpectations.from_events(events))
    stopped = ev.last(events, ev.ALERTS_STOPPED)
    return AlertsSection(
        receiver=(watching.details.get("receiver") if watching else None),
        alertmanager=(watching.details.get("alertmanager") if watching and watching.details.get("poll_interval_s")
                      else None),
        precision=score.precision, recall=score.recall, detection_s=score.detection_s, reset_s=score.reset_s,
        alerts=[_row(score, ep) for ep in score.episodes],
        expectations=[{"alert": r.expected.title, "within_s": r.expected.within, "status": r.status,
                       "detection_s": r.detection_s, "resolved": r.resolved,
                       "reset_s": r.episode.reset_s if r.episode else None} for r in score.expectations],
        not_firing=[{"alert": n.name, "fired": n.fired, "times": len(n.episodes)} for n in score.not_firing],
        faults=[{"fault": d.window.fault, "detected": d.detected, "detection_s": d.detection_s,
                 "first_alert": d.first_alert} for d in score.faults],
        problems=[{"at": e.at, "kind": e.kind, "error": _problem(e)} for e in events if e.kind in _PROBLEMS],
        still_firing=list(stopped.details.get("still_firing") or []) if stopped else [],
    )


class AlertsReportSection:
    """The ``alerts`` postmortem section (entry point group gameday.report_sections)."""

    name = "alerts"
    order = 10
    build = staticmethod(build)
