"""The report's Runbook section, from a timeline alone."""

from __future__ import annotations

from gameday.report.render import _environment
from gameday.report.sections.runbook import build
from gameday.timeline import Event


def ev(offset: float, kind: str, **details: object) -> Event:
    return Event(at="2026-01-01T00:00:00.000Z", offset=offset, kind=kind, actor="runbook", details=details)


EVENTS = [
    ev(1, "runbook.started", runbook="web-down", path="runbooks/web-down.md", steps=2, total_steps=3),
    ev(2, "runbook.step", runbook="web-down", step=1, title="Look | around", outcome="done", exit_code=0,
       duration_s=0.1, output="running", section="steps", idle=True, reason="no steady-state probe changed state"),
    ev(3, "runbook.step", runbook="web-down", step=2, title="Start it", outcome="failed", exit_code=1,
       duration_s=0.2, output="line\n```\nError: No such container: web-old", section="steps", idle=False,
       reason="exited with status 1"),
    ev(4, "runbook.step", runbook="web-down", step=3, title="Verify", outcome="skipped", exit_code=None,
       duration_s=0.0, output="", section="verify", idle=False, reason="an earlier step failed"),
    ev(9, "runbook.judged", runbook="web-down", restored=False, time_to_restore_s=None, failing_steps=[2],
       idle_steps=[1], restored_by=None, reason="probes still red after 10s (web: connection refused)"),
]


def test_no_runbook_events_no_section() -> None:
    assert build([ev(1, "probe.checked", probe="web", ok=True)]) is None


def test_the_section_shows_the_verdict_each_step_and_the_failing_output() -> None:
    data = build(EVENTS)
    assert data is not None and len(data) == 1
    text = _environment().get_template("_runbook.md.j2").render(data=data)
    assert "**web-down**: **did not restore service** (probes still red after 10s (web: connection refused))" in text
    assert "Failing steps: 2." in text and "Idle steps (ran no command, or changed no probe): 1." in text
    assert "| 1 | Look \\| around | done | 0 | 0.10 s | runbook | no steady-state probe changed state |" in text
    assert "| 3 (verify) | Verify | skipped | - | 0.00 s | runbook | an earlier step failed |" in text
    assert "Output of failing step 2 (end):\n\n````text\nline\n```\nError: No such container: web-old\n````" in text
