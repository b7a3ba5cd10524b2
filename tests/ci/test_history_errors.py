"""A history or trend-report location that cannot be used is one line naming it; secrets in its URL never show."""

from __future__ import annotations

from pathlib import Path

import pytest

from gameday.cli.main import main
from gameday.errors import GamedayError, ServiceUnavailable
from gameday.history.store import History, RunRecord, redact_url
from gameday.report.markdown import to_html
from gameday.report.trends import Quarter, build_trends, trends_markdown


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("gameday: error: ")
    return err


@pytest.mark.parametrize("command", [["history"], ["trends", "--quarter", "2026Q4", "--out", "out"]])
def test_a_file_that_is_not_sqlite_is_one_line_naming_it(command: list[str], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "notes.sqlite"
    bogus.write_text("these are my notes, not a database\n" * 20)
    assert main([*command, "--history", str(bogus)]) == 2
    err = one_error_line(capsys)
    assert f"history database {bogus}: file is not a database" in err


def test_a_folder_as_history_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--history", str(tmp_path)]) == 2
    assert f"history database {tmp_path} is a folder" in one_error_line(capsys)


def test_a_history_under_a_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    with pytest.raises(GamedayError, match=f"{tmp_path / 'plain'} is a file, not a folder"):
        History(str(tmp_path / "plain" / "history.sqlite"))


def test_a_history_where_no_folder_can_be_made_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:  # a named folder that does not exist is never made (issue 13)
        main(["history", "--history", "/proc/nope/x.sqlite"])
    assert exited.value.code == 2
    assert "the folder '/proc/nope' does not exist" in capsys.readouterr().err
    with pytest.raises(GamedayError, match=r"cannot create the history database /proc/nope/x\.sqlite"):
        History("/proc/nope/x.sqlite")  # the default (or $GAMEDAY_HISTORY) where no folder can be made


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://h/db?password=secret", "postgresql://h/db?password=***"),
    ("postgresql://h/db?sslmode=disable&PassWord=secret&passfile=/secret/pgpass",
     "postgresql://h/db?sslmode=disable&PassWord=***&passfile=***"),
    ("postgres://u:secret@h:5432/db?sslpassword=secret", "postgres://u:***@h:5432/db?sslpassword=***"),
    ("postgresql://u@h/db?application_name=gameday", "postgresql://u@h/db?application_name=gameday"),
])
def test_a_history_url_is_shown_without_its_secrets(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize("url", [
    "postgresql://127.0.0.1:9/history?password=s3cret-pw&connect_timeout=1",
    "postgresql://someone:p%zzs3cret@127.0.0.1:9/history",  # libpq echoes a bad token in its error
])
def test_an_unusable_postgresql_history_never_prints_the_password(url: str) -> None:
    with pytest.raises(ServiceUnavailable) as err:
        History(url)
    assert "s3cret" not in str(err.value)
    assert "127.0.0.1:9/history" in str(err.value)


def test_trends_into_a_folder_under_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "plain").write_text("x")
    out = tmp_path / "plain" / "trends"
    assert main(["trends", "--quarter", "2026Q4", "--history", str(tmp_path / "h.sqlite"), "--out", str(out)]) == 2
    assert f"cannot write the trend report to {out}: {tmp_path / 'plain'} is a file, not a folder" in one_error_line(capsys)


def test_pipes_and_newlines_in_names_and_action_items_keep_the_tables_whole() -> None:
    run = RunRecord(run_id="r1", scenario="db | cache", started_at="2026-10-02T10:00:00Z", outcome="passed",
                    passed=True, category="avail|ability",
                    action_items=[{"text": "page a | b\nthen c", "owner": "sre|ic", "due": "2026-11-01"}])
    md = trends_markdown(build_trends([run], Quarter.parse("2026Q4")))
    assert "| db \\| cache | 1 | 1 |" in md
    assert "| avail\\|ability | 1 |" in md
    assert "| 2026-10-02 | db \\| cache | page a \\| b then c | sre\\|ic | 2026-11-01 |" in md
    html = to_html(md)
    assert "<td>db | cache</td>" in html
    assert "<td>page a | b then c</td><td>sre|ic</td><td>2026-11-01</td></tr>" in html
