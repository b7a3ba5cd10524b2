"""Bad command-line values are refused by argparse in one line with exit 2, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from gameday.cli.arg_types import utc_time
from gameday.cli.main import main


@pytest.mark.parametrize(("argv", "words"), [
    (["run", "--run-id", "../../etc", "x.yaml"], "argument --run-id: '../../etc' is not a run id"),
    (["run", "--run-id", ".hidden", "x.yaml"], "is not a run id"),
    (["ci", "--jobs", "0", "x.yaml"], "argument --jobs: '0' is not a whole number of 1 or more"),
    (["ci", "--jobs", "many", "x.yaml"], "argument --jobs: 'many'"),
    (["history", "--since", "last tuesday"], "argument --since: 'last tuesday' is not a UTC date or time"),
    (["history", "--until", "2026-13-01"], "argument --until: '2026-13-01'"),
    (["facilitate", "--speed", "nan", "x.yaml"], "argument --speed: speed must be > 0 and <= 10000, got nan"),
    (["facilitate", "--speed", "inf", "x.yaml"], "argument --speed: speed must be > 0 and <= 10000, got inf"),
    (["facilitate", "--speed", "-2", "x.yaml"], "argument --speed: speed must be > 0"),
])
def test_a_bad_value_is_one_line_and_exit_2(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert words in err and "Traceback" not in err


def test_times_are_compared_in_utc() -> None:
    assert utc_time("2026-10-01") == "2026-10-01"
    assert utc_time("2026-10-01T12:00Z") == "2026-10-01T12:00:00.000Z"
    assert utc_time("2026-10-01T14:00+02:00") == "2026-10-01T12:00:00.000Z"
    assert utc_time("2026-10-01T12:00") == "2026-10-01T12:00:00.000Z"  # no zone given: UTC, as the help says


def test_schema_to_a_folder_that_does_not_exist_is_an_error_not_a_traceback(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "-o", str(tmp_path / "missing" / "s.json")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_an_invalid_scenario_is_a_usage_error_for_run_and_a_finding_for_validate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\nfaults: []\n")
    # exit 1 from `run` means "an expectation failed"; a file that is not a scenario must not look like that.
    assert main(["run", str(bad)]) == 2
    assert main(["plan", str(bad)]) == 2
    assert main(["validate", str(bad)]) == 1
    assert "faults: list should have at least 1 item" in capsys.readouterr().err


def test_a_run_id_that_is_taken_is_refused_before_anything_is_touched(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("version: 1\nname: s\nstack:\n  targets:\n    web: {container: gdtest-none}\n"
                        "faults:\n  - {kind: container_kill, target: web, duration: 1s}\n")
    earlier = tmp_path / "reports" / "nightly-1"
    earlier.mkdir(parents=True)
    (earlier / "timeline.jsonl").write_text('{"kind": "run.started"}\n')
    assert main(["run", str(scenario), "--reports", str(tmp_path / "reports"), "--run-id", "nightly-1", "-q"]) == 2
    assert "run id nightly-1 is taken" in capsys.readouterr().err
    assert (earlier / "timeline.jsonl").read_text() == '{"kind": "run.started"}\n'
    assert not (earlier / "journal.jsonl").exists()


def test_cleanup_with_only_a_corrupt_journal_line_does_not_claim_everything_is_reverted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "reports" / "r1"
    run.mkdir(parents=True)
    (run / "journal.jsonl").write_text('{"bad json\n')
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # no other journals of this machine
    assert main(["cleanup", "--reports", str(tmp_path / "reports")]) == 0
    out = capsys.readouterr()
    assert "journal.jsonl:1: not valid JSON; line skipped" in out.err
    assert "every journalled fault is reverted" not in out.out and "could be read" in out.out
