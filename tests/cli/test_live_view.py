"""The console of `gameday run` off a terminal: one short line per notable event, the team's side included."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from gameday.cli.live_view import LiveView
from gameday.timeline import Event


def ev(offset: float, kind: str, actor: str = "harness", **details: Any) -> Event:
    return Event(at="2026-01-01T00:00:00.000Z", offset=offset, kind=kind, actor=actor, details=details)


def printed(*events: Event) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=300)
    with LiveView(console, "drill") as view:
        for event in events:
            view(event)
    return out.getvalue().splitlines()


def test_the_team_side_of_a_scripted_drill_is_shown_line_by_line() -> None:
    lines = printed(
        ev(19.3, "alert.firing", "alertmanager", alertname="DatabaseUnreachable", fingerprint="f", via="poll",
           labels={"alertname": "DatabaseUnreachable", "severity": "critical"}, summary="checkout cannot reach PostgreSQL"),
        ev(20.8, "incident.detected", "oncall", signal="alert", alert="DatabaseUnreachable", drill=True),
        ev(20.8, "incident.acknowledged", "oncall", drill=True),
        ev(40.8, "severity.declared", "oncall", severity="SEV2", drill=True),
        ev(45.8, "role.assigned", "oncall", role="incident_commander", person="alex", drill=True),
        ev(70.8, "status_update.sent", "sam", audience="internal", text="SEV2 | investigating.\nNext update in 30 min."),
        ev(86.2, "runbook.step", "oncall", step=2, title="Start PostgreSQL again", outcome="done",
           output="postgres password=s3cret", section="steps"),
        ev(92.0, "runbook.step", "oncall", step=3, title="Wait until healthy", outcome="failed",
           reason="exited with status 1", output="still starting", section="steps"),
        ev(110.8, "runbook.judged", "oncall", runbook="checkout-db-down", restored=True, time_to_restore_s=85.4),
        ev(114.3, "alert.resolved", "alertmanager", alertname="DatabaseUnreachable", fingerprint="f"),
        ev(130.9, "incident.resolved", "alex", confirmed_by="oncall", drill=True),
        ev(150.8, "review.recorded", "team", action_items=[{"text": "a", "owner": "b", "due": "2026-12-01"}]),
    )
    assert lines == [
        "T+  19.30s  ALERT firing DatabaseUnreachable (critical): checkout cannot reach PostgreSQL",
        "T+  20.80s  oncall detected the incident (via alert DatabaseUnreachable)",
        "T+  20.80s  oncall acknowledged",
        "T+  40.80s  oncall declared SEV2",
        "T+  45.80s  alex is incident commander",
        "T+  70.80s  status update to internal (sam): SEV2 | investigating.",
        "T+  86.20s  runbook step 2 done: Start PostgreSQL again",
        "T+  92.00s  runbook step 3 failed: Wait until healthy (exited with status 1)",
        "T+ 110.80s  runbook checkout-db-down restored service after 85.4 s",
        "T+ 114.30s  alert resolved DatabaseUnreachable",
        "T+ 130.90s  all-clear by alex, confirmed by oncall",
        "T+ 150.80s  review recorded by team: 1 action item",
    ]
    assert not any("s3cret" in line or "still starting" in line for line in lines)  # command output stays out


def test_probe_checks_print_only_when_the_state_changes() -> None:
    lines = printed(*(ev(t, "probe.checked", "probe:web", probe="web", ok=ok, error="" if ok else "status 503")
                      for t, ok in ((1, True), (2, True), (3, False), (4, False), (5, True))))
    assert lines == ["T+   1.00s  probe web is green", "T+   3.00s  probe web is red (status 503)",
                     "T+   5.00s  probe web is green"]
