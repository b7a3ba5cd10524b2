"""``gameday score`` and ``gameday report`` through the CLI's own entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gameday.cli.main import main


def test_score_prints_the_ratings_with_reasons(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "Triage and declaration" in out and "raised to SEV2" in out
    assert "Overall: S (performed with some challenges)" in out
    assert "time to mitigate" in out and "14 min 30 s" in out and "18 min 30 s" in out


def test_score_finds_a_run_by_id_in_the_reports_folder(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", run_dir.name, "--reports", str(run_dir.parent), "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["overall"] == "S" and card["points"] == 19
    assert [c["rating"] for c in card["capabilities"]] == ["P", "S", "P", "S", "S", "P", "S", "S"]


def test_score_of_an_unknown_run_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "no-such-run", "--reports", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gameday: error: no run 'no-such-run'") and err.count("\n") == 1


def test_report_re_renders_markdown_and_html(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(run_dir)]) == 0
    assert capsys.readouterr().out.strip() == str(run_dir / "report.md")
    for name in ("report.md", "report.html", "scorecard.json"):
        assert (run_dir / name).stat().st_size > 1000


def test_report_of_an_empty_timeline_is_one_line(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (run_dir / "timeline.jsonl").write_text("")
    assert main(["report", str(run_dir)]) == 2
    assert "is empty: nothing to report" in capsys.readouterr().err
