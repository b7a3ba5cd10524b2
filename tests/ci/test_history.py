"""History round-trips through SQLite and a real PostgreSQL server; the trend report renders from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gameday.history.store import History, RunRecord
from gameday.report.trends import Quarter, build_trends, trends_html, trends_markdown
from gameday.testing.services import postgres_server


def record(run_id: str, started: str, *, scenario: str = "checkout-db-down", mttd: float | None = 60.0,
           passed: bool = True, items: list[dict[str, str]] | None = None, restored: bool | None = True,
           category: str = "availability") -> RunRecord:
    return RunRecord(
        run_id=run_id, scenario=scenario, started_at=started, outcome="passed" if passed else "failed", passed=passed,
        stack="demo", category=category, duration_s=300.0, severity_expected="SEV2", severity_declared="SEV2",
        exit_code=0 if passed else 1,
        metrics={"time_to_detect": mttd, "time_to_acknowledge": 30.0, "time_to_resolve_from_detection": 600.0},
        scores={"overall": "S", "runbook_restored": restored}, report_path=f"reports/{run_id}/report.md",
        action_items=items or [],
    )


def roundtrip(url: str) -> None:
    history = History(url)
    first = record("r1", "2026-10-02T10:00:00.000Z", items=[{"text": "add a DB alert", "owner": "sre", "due": "2026-11-01"}])
    second = record("r2", "2026-11-05T10:00:00.000Z", scenario="checkout-cache-flaky", mttd=None, passed=False)
    history.record(first)
    history.record(second)
    history.record(first)  # recording again replaces, never duplicates
    history.close()

    reopened = History(url)  # migrations already applied: nothing happens twice
    assert reopened.migrate() == 2
    runs = reopened.runs()
    assert [r.run_id for r in runs] == ["r1", "r2"]
    got = runs[0]
    assert got.metrics == first.metrics and got.scores == first.scores and got.passed is True
    assert got.action_items == [{"text": "add a DB alert", "owner": "sre", "due": "2026-11-01", "status": "open"}]
    assert runs[1].metrics["time_to_detect"] is None and runs[1].passed is False
    assert [r.run_id for r in reopened.runs(scenario="checkout-cache-flaky")] == ["r2"]
    assert [r.run_id for r in reopened.runs(since="2026-11-01")] == ["r2"]
    assert [r.run_id for r in reopened.runs(until="2026-11-01")] == ["r1"]
    assert [r.run_id for r in reopened.runs(limit=1)] == ["r2"] and reopened.count_runs() == 2
    items, total = reopened.action_items(limit=5)
    assert total == 1 and [(i.run_id, i.position, i.scenario, i.text) for i in items] == [
        ("r1", 0, "checkout-db-down", "add a DB alert")]
    reopened.close_action_item("r1", 0)
    assert reopened.runs(scenario="checkout-db-down")[0].action_items[0]["status"] == "done"
    assert reopened.action_items() == ([], 0) and reopened.action_items(include_done=True)[1] == 1
    reopened.close()


def test_history_roundtrips_through_sqlite(tmp_path: Path) -> None:
    roundtrip(str(tmp_path / "history.sqlite"))


def test_history_roundtrips_through_postgresql() -> None:
    with postgres_server() as pg:
        roundtrip(pg.admin_url)


def test_unreachable_postgresql_history_is_one_line_without_the_password() -> None:
    from gameday.errors import ServiceUnavailable

    with pytest.raises(ServiceUnavailable) as err:
        History("postgresql://someone:s3cret-pw@127.0.0.1:9/history")
    assert "s3cret-pw" not in str(err.value)
    assert "cannot reach the history database at postgresql://someone:***@127.0.0.1:9/history" in str(err.value)


def test_trend_report_from_a_seeded_history_of_several_quarters() -> None:
    runs = [
        record("q1a", "2026-02-01T10:00:00Z", mttd=600.0, restored=False),
        record("q1b", "2026-03-01T10:00:00Z", mttd=300.0, restored=False, category="data"),
        record("q2a", "2026-05-01T10:00:00Z", mttd=240.0, items=[{"text": "page the DB team", "owner": "ic", "due": "2026-06-01"}]),
        record("q3a", "2026-08-01T10:00:00Z", mttd=120.0),
        record("q4a", "2026-10-10T10:00:00Z", mttd=60.0),
        record("q4b", "2026-11-10T10:00:00Z", mttd=90.0, scenario="checkout-cache-flaky"),
        record("q4c", "2026-12-01T10:00:00Z", mttd=3000.0, passed=False),  # one long drill: the median barely moves
        record("2027", "2027-01-05T10:00:00Z", mttd=1.0),  # after the quarter: left out
    ]
    report = build_trends(runs, Quarter.parse("2026Q4"))
    assert [q.quarter for q in report.quarters] == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    assert [q.medians["MTTD"] for q in report.quarters] == [450.0, 240.0, 120.0, 90.0]
    assert report.quarters[0].runbook_pass_rate == 0.0 and report.quarters[3].runbook_pass_rate == 1.0
    assert {s["scenario"]: s["runs"] for s in report.scenarios} == {"checkout-db-down": 2, "checkout-cache-flaky": 1}
    assert report.categories == {"availability": 3}
    assert [a["text"] for a in report.open_actions] == ["page the DB team"]

    md = trends_markdown(report)
    assert "| 2026Q4 | 3 | 2 | 1 min 30 s |" in md
    assert "| 2026Q1 | 2 | 2 | 7 min 30 s |" in md
    assert "page the DB team" in md
    html = trends_html(report)
    assert html.count("<svg") == 3 and "checkout-cache-flaky" in html


def test_trends_and_history_write_a_duration_as_the_scorecard_and_report_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """One formatter for measured durations: MTTD read "7.5 min" in trends and "450 s" nowhere else."""
    from gameday.cli.main import main
    from gameday.scoring.scorecard import format_seconds

    assert format_seconds(450.0) == "7 min 30 s"
    report = build_trends([record("a", "2026-11-01T10:00:00Z", mttd=450.0)], Quarter.parse("2026Q4"))
    assert "| 2026Q4 | 1 | 1 | 7 min 30 s | 30 s | 10 min 00 s |" in trends_markdown(report)
    history = History(str(tmp_path / "h.sqlite"))
    history.record(record("a", "2026-11-01T10:00:00Z", mttd=450.0))
    history.close()
    monkeypatch.setenv("COLUMNS", "200")  # one table row per line
    assert main(["history", "--history", str(tmp_path / "h.sqlite")]) == 0
    out = capsys.readouterr().out
    assert "7 min 30 s" in out and "10 min 00 s" in out


def test_a_badly_written_quarter_is_a_clear_error() -> None:
    from gameday.errors import GamedayError

    with pytest.raises(GamedayError, match="write it as 2026Q4"):
        Quarter.parse("Q4-2026")


def test_action_items_are_listed_open_and_closed_from_the_command_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gameday.cli.main import main

    database = str(tmp_path / "h.sqlite")
    history = History(database)
    history.record(record("r1", "2026-10-02T10:00:00.000Z", items=[
        {"text": "add a DB alert", "owner": "sre", "due": "2026-11-01"},
        {"text": "restart policy", "owner": "platform", "due": "2026-11-15"}]))
    history.close()
    assert main(["action-items", "--history", database]) == 0
    listed = capsys.readouterr().out
    assert "r1:1" in listed and "r1:2" in listed and "restart policy" in listed
    assert main(["action-items", "--history", database, "--done", "r1:2"]) == 0
    capsys.readouterr()
    assert main(["action-items", "--history", database]) == 0
    still_open = capsys.readouterr().out
    assert "r1:1" in still_open and "restart policy" not in still_open
    assert main(["action-items", "--history", database, "--all"]) == 0
    assert "restart policy" in capsys.readouterr().out
    # What the trend report counts as open follows.
    reopened = History(database)
    assert [i["status"] for i in reopened.runs()[0].action_items] == ["open", "done"]
    reopened.close()
    assert main(["action-items", "--history", database, "--done", "r1:9"]) == 2
    assert "no action item 9 in run r1" in capsys.readouterr().err
    assert main(["action-items", "--history", database, "--done", "r1"]) == 2
    assert "--done takes RUN_ID:N" in capsys.readouterr().err


def test_an_action_item_without_an_owner_reads_unassigned_in_trends_and_the_action_item_list(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """As in the postmortem: the owner as recorded, or "unassigned", never an empty cell."""
    from gameday.cli.main import main

    items = [{"text": "add a DB alert", "owner": "", "due": "2026-11-01"},
             {"text": "restart policy", "owner": "platform-team", "due": "2026-11-15"}]
    report = build_trends([record("r1", "2026-11-01T10:00:00Z", items=items)], Quarter.parse("2026Q4"))
    md = trends_markdown(report)
    assert "| add a DB alert | unassigned | 2026-11-01 |" in md and "| restart policy | platform-team |" in md
    database = str(tmp_path / "h.sqlite")
    history = History(database)
    history.record(record("r1", "2026-11-01T10:00:00Z", items=items))
    history.close()
    monkeypatch.setenv("COLUMNS", "200")  # one table row per line
    assert main(["action-items", "--history", database]) == 0
    listed = capsys.readouterr().out
    assert "unassigned" in listed and "platform-team" in listed


def test_a_negative_duration_an_older_version_recorded_is_left_out_of_the_trends() -> None:
    """Resolved before detection was once recorded as a negative MTTR; it is not a duration, so no median takes it."""
    old = record("old", "2026-11-01T10:00:00Z")
    old.metrics["time_to_resolve_from_detection"] = -5.0
    report = build_trends([old, record("new", "2026-11-02T10:00:00Z")], Quarter.parse("2026Q4"))
    assert report.quarters[-1].medians["MTTR"] == 600.0
    assert "-5 s" not in trends_markdown(report)
