"""What people and files wrote is shown as written: rich markup in it is text, never parsed (issue 13)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import cast

import pytest

from gameday.cli.main import main
from gameday.history.store import History, RunRecord
from gameday.printable import markup_safe, printable

FIXTURE = Path(__file__).resolve().parents[1] / "scoring" / "fixtures" / "drill-timeline.jsonl"
MARKUP = "[/]"


@pytest.fixture
def hostile_history(tmp_path: Path) -> str:
    url = str(tmp_path / "history.sqlite")
    history = History(url)
    history.record(RunRecord(
        run_id="r1", scenario=MARKUP, started_at="2026-10-02T10:00:00Z", outcome="[/bold]passed", passed=True,
        severity_declared="[/]", scores={"overall": "[red]"}, report_path="[link=x]report",
        action_items=[{"text": "fix [/bold] it", "owner": "[/]", "due": "[x]"}]))
    history.close()
    return url


@pytest.mark.parametrize("argv", [["history"], ["action-items"], ["action-items", "--all"]],
                         ids=["history", "action-items", "action-items --all"])
def test_history_rows_are_shown_as_written(hostile_history: str, argv: list[str],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--history", hostile_history]) == 0
    out = capsys.readouterr().out
    assert MARKUP in out
    if argv[0] == "action-items":
        assert "fix [/bold] it" in out


def test_a_timeline_naming_its_scenario_in_markup_is_scored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run1"
    run.mkdir()
    lines = FIXTURE.read_text().splitlines()
    first = json.loads(lines[0])
    first["details"]["scenario"] = MARKUP
    first["details"]["run_id"] = "[bold]run"
    (run / "timeline.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    assert main(["score", str(run)]) == 0
    out = capsys.readouterr().out
    assert f"Scorecard: {MARKUP}" in out and "[bold]run" in out


def test_markup_safe_escapes_markup_and_control_characters() -> None:
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    text = "fix [/bold] it [red]now[/] \x1b]0;t\x07"
    console.print(f"[bold]{markup_safe(text)}[/]")
    assert out.getvalue().strip() == "fix [/bold] it [red]now[/] \\x1b]0;t\\x07"
    assert printable("a\nb\u202ec") == "a\\nb\\u202ec"


def test_a_teams_severity_names_in_markup_are_shown_as_written() -> None:
    """``severities: {SEV1: {name: "[/]", meaning: "fix [/bold] it"}}`` validates; the drill's table shows it."""
    from types import SimpleNamespace

    from rich.console import Console

    from gameday.facilitator.core import DrillCore
    from gameday.facilitator.events import DrillRecorder
    from gameday.facilitator.session import FacilitatorSession
    from gameday.scoring.severity import table_for
    from gameday.timeline import Event

    started = Event(at="2026-11-25T10:00:00.000Z", offset=0.0, kind="run.started",
                    details={"severities": {"SEV1": {"name": "[/]", "meaning": "fix [/bold] it"}}})
    session = FacilitatorSession.__new__(FacilitatorSession)
    session.rec = cast("DrillRecorder", SimpleNamespace(events=lambda: [started]))  # only events() is read
    # The table comes from the drill core, which reads it from run.started as DrillCore.severities does.
    session.core = cast("DrillCore", SimpleNamespace(severities=lambda: table_for([started])))
    out = io.StringIO()
    console = Console(file=out, width=300, color_system=None)
    console.print(session._severity_table())
    shown = out.getvalue()
    assert "│ [/]  " in shown and "│ fix [/bold] it " in shown
