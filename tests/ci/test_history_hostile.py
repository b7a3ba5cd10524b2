"""A catalogue of named bad histories (issue 13): rows gameday did not write, a schema from the future, a view
that never ends, and a history of many runs. Each command ends well under 5 s with one line naming the database,
the run and the column, exit 2; or lists what it should, bounded by default."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gameday.cli.main import main
from gameday.history import store
from gameday.history.store import History
from tests.ci.test_history import record

RUN_COMMANDS = [["history"], ["trends", "--quarter", "2026Q4", "--out", "trends"]]  # action-items reads no run row
ITEM_COMMANDS = [["action-items"], ["trends", "--quarter", "2026Q4", "--out", "trends"]]
COMMANDS = [["history"], ["action-items"], ["trends", "--quarter", "2026Q4", "--out", "trends"]]


def seeded(path: Path) -> Path:
    history = History(str(path))
    history.record(record("r1", "2026-10-02T10:00:00.000Z", items=[{"text": "add an alert", "owner": "sre", "due": "x"}]))
    history.close()
    return path


def updated(sql: str, *params: object) -> Callable[[Path], None]:
    def change(db: Path) -> None:
        with sqlite3.connect(db) as conn:
            conn.execute(sql, params)
        conn.close()
    return change


def table_without_constraints(db: Path) -> None:
    """The runs table as another tool might make it: the same columns, no NOT NULL, no types."""
    with sqlite3.connect(db) as conn:
        conn.executescript("ALTER TABLE runs RENAME TO old_runs; CREATE TABLE runs AS SELECT * FROM old_runs; "
                           "DROP TABLE old_runs; UPDATE runs SET scenario = NULL;")
    conn.close()


BAD_ROWS = [
    ("metrics not JSON", updated("UPDATE runs SET metrics = '{oops'"),
     "run 'r1': metrics: not valid JSON (Expecting property name enclosed in double quotes at column 2)"),
    ("metrics a list", updated("UPDATE runs SET metrics = '[1, 2]'"), "run 'r1': metrics: a JSON list, not an object"),
    ("metrics NaN", updated("""UPDATE runs SET metrics = '{"time_to_detect": NaN}'"""),
     "run 'r1': metrics: not valid JSON (NaN is not a number JSON allows)"),
    ("a metric as text", updated("""UPDATE runs SET metrics = '{"time_to_detect": "fast"}'"""),
     "run 'r1': metrics.time_to_detect: 'fast' is not a number"),
    ("scores 100,000 deep", updated("UPDATE runs SET scores = ?", "[" * 100_000 + "]" * 100_000),
     "run 'r1': scores: not valid JSON (nested more than 32 deep)"),
    ("a duration as text", updated("UPDATE runs SET duration_s = 'long'"), "run 'r1': duration_s: 'long' is not a number"),
    ("passed as yes", updated("UPDATE runs SET passed = 'yes'"), "run 'r1': passed: 'yes' is not 0 or 1"),
    ("a start that is no time", updated("UPDATE runs SET started_at = '2026-13-45'"),
     "run 'r1': started_at: '2026-13-45' is not a time"),
    ("an exit code as text", updated("UPDATE runs SET exit_code = 'zero'"),
     "run 'r1': exit_code: 'zero' is not a whole number"),
    ("a scenario of NULL", table_without_constraints, "run 'r1': scenario: expected text, got None"),
]


@pytest.mark.parametrize(("change", "message"), [c[1:] for c in BAD_ROWS], ids=[c[0] for c in BAD_ROWS])
@pytest.mark.parametrize("command", RUN_COMMANDS, ids=[c[0] for c in RUN_COMMANDS])
def test_a_row_gameday_did_not_write_is_one_line(command: list[str], change: Callable[[Path], None], message: str,
                                                 tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = seeded(tmp_path / "h.sqlite")
    change(db)
    assert main([*command, "--history", str(db)]) == 2
    err = capsys.readouterr().err
    assert err == f"gameday: error: history database {db}: {message}, which gameday never writes\n"


@pytest.mark.parametrize("command", ITEM_COMMANDS, ids=[c[0] for c in ITEM_COMMANDS])
def test_an_action_item_gameday_did_not_write_is_one_line(command: list[str], tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    db = seeded(tmp_path / "h.sqlite")
    updated("UPDATE action_items SET text = X'6869'")(db)
    assert main([*command, "--history", str(db)]) == 2
    assert capsys.readouterr().err == (f"gameday: error: history database {db}: run 'r1': action item text: "
                                       "expected text, got b'hi', which gameday never writes\n")


@pytest.mark.parametrize(("version", "message"), [
    (99, " has schema version 99, newer than this gameday knows (2): use a newer gameday, or another --history"),
    ("'x'", ": schema_migrations holds version 'x', which gameday never writes"),
])
@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_schema_from_the_future_is_refused(command: list[str], version: object, message: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    db = seeded(tmp_path / "h.sqlite")
    with sqlite3.connect(db) as conn:  # as another tool might keep it: any type in the version column
        conn.executescript("CREATE TABLE m AS SELECT * FROM schema_migrations; DROP TABLE schema_migrations; "
                           "CREATE TABLE schema_migrations (version, applied_at); INSERT INTO schema_migrations "
                           f"SELECT * FROM m; INSERT INTO schema_migrations (version) VALUES ({version});")
    conn.close()
    assert main([*command, "--history", str(db)]) == 2
    assert capsys.readouterr().err == f"gameday: error: history database {db}{message}\n"


@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_a_runs_view_over_an_endless_query_is_stopped(command: list[str], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "QUERY_SECONDS", 0.5)
    db = seeded(tmp_path / "h.sqlite")
    with sqlite3.connect(db) as conn:
        conn.executescript(
            "DROP TABLE action_items; DROP TABLE runs; CREATE VIEW runs AS WITH RECURSIVE n(i) AS "
            "(SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT 'r' || i AS run_id, 's' AS scenario, '' AS stack, "
            "'' AS category, '2026-10-01' AS started_at, 1.0 AS duration_s, NULL AS severity_expected, "
            "NULL AS severity_declared, 'passed' AS outcome, 1 AS passed, 0 AS exit_code, '{}' AS metrics, "
            "'{}' AS scores, '' AS report_path FROM n WHERE i > 0 AND i < 0 OR i = -1; "
            "CREATE TABLE action_items (run_id TEXT, position INTEGER, text TEXT, owner TEXT, due TEXT, status TEXT);")
    conn.close()
    started = time.monotonic()
    assert main([*command, "--history", str(db)]) == 2
    assert time.monotonic() - started < 20  # refused, not hung: generous for a busy machine
    assert capsys.readouterr().err == (f"gameday: error: cannot use the history database {db}: a query ran past "
                                       "0.5 s and was stopped (is runs or action_items a view over an endless query?)\n")


def many_runs(db: Path, count: int) -> None:
    History(str(db)).close()
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO runs (run_id, scenario, started_at, outcome, passed, metrics) VALUES (?, ?, ?, 'passed', 1, ?)",
            [(f"r{i:05d}", f"s{i % 7}", f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:{i % 60:02d}.{i:06d}Z",
              '{"time_to_detect": 60.0}') for i in range(count)])
        conn.executemany("INSERT INTO action_items VALUES (?, 0, ?, 'sre', '2027-01-01', 'open')",
                         [(f"r{i:05d}", f"item {i}") for i in range(count)])
    conn.close()


def test_history_and_action_items_show_the_latest_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    db = tmp_path / "h.sqlite"
    many_runs(db, 3000)
    assert main(["history", "--history", str(db)]) == 0
    out = capsys.readouterr().out
    assert "gameday history (the latest 50 of 3000 runs; --limit 0 for all)" in out
    assert out.count("2026-12-") == 50 and "r02999" not in out  # December's runs: the latest
    assert main(["action-items", "--history", str(db), "--limit", "7"]) == 0
    out = capsys.readouterr().out
    assert "action items still open (the latest 7 of 3000; --limit 0 for all)" in out
    assert main(["history", "--history", str(db), "--limit", "0", "--scenario", "s1"]) == 0
    assert "gameday history (429 runs)" in capsys.readouterr().out


def test_what_the_listings_look_up_is_indexed(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    many_runs(db, 10)
    with sqlite3.connect(db) as conn:
        plans = [" ".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql)) for sql in (
            "SELECT * FROM runs ORDER BY started_at DESC, run_id DESC LIMIT 50",
            "SELECT * FROM runs WHERE started_at >= '2026-01-01' AND started_at < '2026-04-01'",
            "SELECT * FROM action_items WHERE run_id IN ('r00001', 'r00002') ORDER BY run_id, position",
        )]
    conn.close()
    assert "USING INDEX runs_started" in plans[0] and "USE TEMP B-TREE" not in plans[0]
    assert "USING INDEX runs_started" in plans[1]
    assert "USING INDEX sqlite_autoindex_action_items_1" in plans[2]


def test_trends_cover_eight_quarters_unless_asked_and_list_the_latest_open_items(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    history = History(str(tmp_path / "h.sqlite"))
    for year in range(2020, 2027):
        history.record(record(f"y{year}", f"{year}-02-01T10:00:00.000Z",
                              items=[{"text": f"item {year}-{n}", "owner": "o", "due": "d"} for n in range(10)]))
    history.close()
    assert main(["trends", "--quarter", "2026Q4", "--history", str(tmp_path / "h.sqlite"), "--out", "t"]) == 0
    md = (tmp_path / "t" / "trends-2026Q4.md").read_text()
    assert "| 2025Q1 |" in md and "| 2024Q1 |" not in md
    assert "The latest" not in md and "| item 2024-0 |" not in md and "| item 2025-0 |" in md
    assert main(["trends", "--quarter", "2026Q4", "--quarters", "0", "--history", str(tmp_path / "h.sqlite"),
                 "--out", "t"]) == 0
    md = (tmp_path / "t" / "trends-2026Q4.md").read_text()
    assert "| 2020Q1 |" in md
    assert "The latest 50 of 70; `gameday action-items --limit 0` lists them all." in md


def test_more_than_a_thousand_rows_are_tab_separated_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """rich takes about 3 ms to lay out a row: 30,000 runs in a table took a minute and a half."""
    monkeypatch.setattr("gameday.cli.ci_commands.TABLE_ROWS", 20)
    db = tmp_path / "h.sqlite"
    many_runs(db, 30)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE action_items SET text = 'tab\tand [/bold] and \x1b]0;title\x07' WHERE run_id = 'r00029'")
    conn.close()
    assert main(["action-items", "--history", str(db), "--limit", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "action items still open: one line per row, tab-separated"
    assert lines[1] == "item\tscenario\ttext\towner\tdue\tstatus"
    assert len(lines) == 32
    assert "r00029:1\ts1\ttab\\tand [/bold] and \\x1b]0;title\\x07\tsre\t2027-01-01\topen" in lines


def test_a_postgresql_runs_view_over_an_endless_query_is_stopped(capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    from gameday.testing.services import postgres_server

    monkeypatch.setattr(store, "QUERY_SECONDS", 0.5)  # statement_timeout = 500 ms
    with postgres_server() as pg:
        History(pg.admin_url).close()
        with psycopg.connect(pg.admin_url, autocommit=True) as conn:
            conn.execute("DROP TABLE action_items; DROP TABLE runs; CREATE VIEW runs AS WITH RECURSIVE n(i) AS "
                         "(SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i::text AS run_id, "
                         + ", ".join(f"''::text AS {c}" for c in store.COLUMNS[1:]) + " FROM n WHERE i < 0")
        started = time.monotonic()
        assert main(["history", "--history", pg.admin_url]) == 2
        assert time.monotonic() - started < 20  # refused, not hung: generous for a busy machine
    err = capsys.readouterr().err
    assert err.startswith("gameday: error: cannot use the history database postgresql://") and err.count("\n") == 1
    assert err.endswith(": a query ran past 0.5 s and was stopped (is runs or action_items a view over an endless "
                        "query?)\n")
