"""Command-line values argparse took and the code then crashed on (issue 13): one line, non-zero, nothing done."""

from __future__ import annotations

from pathlib import Path

import pytest

from gameday.cli.main import main

LONG_ID = "x" * 300

# name, argv, words the one line must hold; refused by argparse (exit 2) before the command runs.
REFUSED_BY_ARGPARSE = [
    ("run id with a trailing newline", ["run", "--run-id", "nightly\n", "x.yaml"], "argument --run-id: 'nightly\\n' is not a run id"),
    ("run id of 300 characters", ["run", "--run-id", LONG_ID, "x.yaml"], "is not a run id (1 to 128"),
    ("negative HTTP timeout", ["doctor", "--http-timeout", "-1"], "argument --http-timeout: '-1' is not a number of seconds above 0"),
    ("NaN HTTP timeout", ["doctor", "--http-timeout", "nan"], "argument --http-timeout: 'nan'"),
    ("negative doctor timeout", ["doctor", "--timeout", "-5"], "argument --timeout: '-5'"),
    ("receiver port out of range", ["doctor", "--receiver-port", "70000"], "argument --receiver-port: '70000' is not a port"),
    ("negative stack timeout", ["stack", "up", "--timeout", "-5"], "argument --timeout: '-5'"),
    ("NaN abort grace", ["abort", "--grace", "nan"], "argument --grace: 'nan'"),
    ("jobs past any machine", ["ci", "--jobs", "99999999999999999999", "x.yaml"], "is more than 10000"),
    ("a time past the last UTC day", ["history", "--since", "9999-12-31T23:59-14:00"], "is not a UTC date or time"),
    ("a time before the first UTC day", ["history", "--until", "0001-01-01T00:00+14:00"], "is not a UTC date or time"),
]


@pytest.mark.parametrize(("argv", "words"), [c[1:] for c in REFUSED_BY_ARGPARSE], ids=[c[0] for c in REFUSED_BY_ARGPARSE])
def test_a_bad_value_is_refused_by_argparse(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert words in err and "Traceback" not in err


def test_a_history_in_a_folder_that_does_not_exist_is_refused_and_nothing_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for argv in (["history"], ["action-items"], ["trends", "--quarter", "2026Q4"], ["run", "x.yaml"],
                 ["facilitate", "x.yaml"], ["ci", "x.yaml"]):
        with pytest.raises(SystemExit) as exited:
            main([*argv, "--history", "typo/new/x.sqlite"])
        assert exited.value.code == 2
        assert "the folder 'typo/new' does not exist" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_history_in_a_folder_that_exists_and_the_default_are_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GAMEDAY_HISTORY", raising=False)
    assert main(["history", "--history", "h.sqlite"]) == 0
    assert main(["history"]) == 0  # the default reports/history.sqlite: its folder is made
    assert (tmp_path / "h.sqlite").is_file() and (tmp_path / "reports" / "history.sqlite").is_file()


# name, argv, words; the command itself refuses it (one line, exit 2).
REFUSED_BY_THE_COMMAND = [
    ("action item number past a database integer", ["action-items", "--done", "r1:99999999999999999999"],
     "--done takes RUN_ID:N (N from `gameday action-items`), got 'r1:99999999999999999999'"),
    ("action item number in superscript", ["action-items", "--done", "r1:\u00b2"], "--done takes RUN_ID:N"),
    ("action item number in Arabic-Indic digits", ["action-items", "--done", "r1:\u0661"], "--done takes RUN_ID:N"),
    ("action item number 0", ["action-items", "--done", "r1:0"], "--done takes RUN_ID:N"),
    ("action item without a run", ["action-items", "--done", ":1"], "--done takes RUN_ID:N"),
    ("quarter in year 0", ["trends", "--quarter", "0000Q1"], "cannot read quarter '0000Q1'"),
    ("quarter ending past year 9999", ["trends", "--quarter", "9999Q4"], "cannot read quarter '9999Q4'"),
    ("report of a run id too long for a file name", ["report", LONG_ID], f"no run '{LONG_ID[:100]}"),
    ("score of a run id too long for a file name", ["score", LONG_ID], f"no run '{LONG_ID[:100]}"),
    ("resume of a run id too long for a file name", ["facilitate", "--resume", LONG_ID], f"no run '{LONG_ID[:100]}"),
    ("demo of a scenario name too long for a file name", ["demo", "--scenario", LONG_ID],
     f"no scenario '{LONG_ID[:100]}"),
]


@pytest.mark.parametrize(("argv", "words"), [c[1:] for c in REFUSED_BY_THE_COMMAND],
                         ids=[c[0] for c in REFUSED_BY_THE_COMMAND])
def test_a_bad_value_is_one_line_from_the_command(argv: list[str], words: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GAMEDAY_HISTORY", str(tmp_path / "h.sqlite"))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err


def test_marking_an_item_done_still_takes_run_ids_with_colons_out(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from gameday.history.store import History, RunRecord

    url = str(tmp_path / "h.sqlite")
    history = History(url)
    history.record(RunRecord(run_id="20261125T100000Z-x-a1b2", scenario="x", started_at="2026-11-25T10:00:00Z",
                             outcome="passed", passed=True, action_items=[{"text": "t", "owner": "o", "due": "d"}]))
    history.close()
    assert main(["action-items", "--done", "20261125T100000Z-x-a1b2:1", "--history", url]) == 0
    assert "action item 1 of run 20261125T100000Z-x-a1b2 is done" in capsys.readouterr().out
