"""``gameday runbook lint`` and ``gameday runbook coverage`` through the CLI's entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from gameday.cli.main import main
from tests.runbooks.test_lint import GOOD

REPO = Path(__file__).resolve().parents[2]


def test_lint_exits_1_on_errors_and_prints_file_line_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text(GOOD.replace("docker start gameday-demo-postgres", "docker start <your-db>"))
    assert main(["runbook", "lint", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert f"{bad}:17: error[placeholder]: placeholder '<your-db>' left in" in out
    assert "1 error, 0 warnings in 1 runbook" in err


def test_lint_passes_warnings_unless_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    warn = tmp_path / "warn.md"
    warn.write_text(GOOD.replace("## Rollback\n\nNothing to undo.\n", ""))
    assert main(["runbook", "lint", str(tmp_path)]) == 0
    assert main(["runbook", "lint", "--strict", str(tmp_path)]) == 1
    assert "warning[missing-section]" in capsys.readouterr().out


def test_lint_knows_extra_containers(tmp_path: Path) -> None:
    book = tmp_path / "b.md"
    book.write_text(GOOD.replace("gameday-demo-postgres", "my-db"))
    assert main(["runbook", "lint", str(book)]) == 1
    assert main(["runbook", "lint", "--container", "my-db", str(book)]) == 0


def test_lint_knows_the_containers_the_scenarios_target(tmp_path: Path) -> None:
    book = tmp_path / "b.md"
    book.write_text(GOOD.replace("gameday-demo-postgres", "my-db"))
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "db.yaml").write_text("version: 1\nname: db\nstack:\n  targets:\n    db: {container: my-db}\n")
    (scenarios / "deep.yaml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")  # unreadable: ignored, no crash
    assert main(["runbook", "lint", "--scenarios", str(scenarios), str(book)]) == 0
    assert main(["runbook", "lint", "--scenarios", str(tmp_path / "none"), str(book)]) == 2  # a typo, not 0 containers


def test_lint_of_a_missing_path_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runbook", "lint", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "no such file or folder" in err


def test_lint_and_coverage_of_the_shipped_runbooks_pass(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    assert main(["runbook", "lint", "-q"]) == 0
    assert main(["runbook", "coverage", "-q"]) == 0
    assert "error[" not in capsys.readouterr().out


def test_coverage_of_the_shipped_scenarios_is_strict_clean_and_says_which_runbooks_are_for_people(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """--strict fails on any warning, so a shipped scenario without a runbook fails this."""
    monkeypatch.chdir(REPO)
    assert main(["runbook", "coverage", "--strict"]) == 0
    captured = capsys.readouterr()
    assert "0 errors, 0 warnings" in captured.err
    assert "-> NONE" not in captured.out
    assert ("scenario  checkout-db-down                     -> checkout-db-down (for people: gameday run does not "
            "follow it)") in captured.out
    assert "scenario  checkout-db-partitioned              -> database-unreachable\n" in captured.out


def test_coverage_fails_on_an_alert_without_a_runbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "rules.yml").write_text("groups:\n- name: g\n  rules:\n  - alert: Lonely\n    expr: up == 0\n")
    monkeypatch.chdir(tmp_path)
    assert main(["runbook", "coverage", "--rules", "rules.yml"]) == 1
    out = capsys.readouterr().out
    assert "rules.yml:4: error[alert-no-runbook-url]: alert Lonely has no runbook_url annotation" in out
    assert "alert     Lonely" in out and "-> NONE" in out


def test_run_follows_a_runbook_now_and_exits_by_its_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.md"
    good.write_text("# Ok\n\n## Steps\n\n1. Nothing to fix.\n\n   ```sh {run}\n   echo fixed\n   ```\n\n"
                    "## Verify\n\n```sh {run}\ntrue\n```\n")
    bad = tmp_path / "bad.md"
    bad.write_text(good.read_text().replace("```sh {run}\ntrue", "```sh {run}\nfalse"))
    reports = tmp_path / "reports"
    assert main(["runbook", "run", str(good), "--reports", str(reports)]) == 0
    out = capsys.readouterr().out
    assert "step  1 done" in out and "good: restored" in out
    assert main(["runbook", "run", str(bad), "--reports", str(reports)]) == 1
    out = capsys.readouterr().out
    assert "step  2 failed  Verify: exited with status 1" in out and "bad: NOT restored" in out
    assert len(list(reports.glob("*/timeline.jsonl"))) == 2
