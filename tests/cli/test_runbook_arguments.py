"""`gameday runbook run` refuses durations that are not a finite number of seconds, in argparse's one line."""

from __future__ import annotations

import pytest

from gameday.cli.arg_types import positive_seconds, seconds
from gameday.cli.main import main


@pytest.mark.parametrize(("argv", "words"), [
    (["--step-timeout", "nan"], "argument --step-timeout: 'nan' is not a number of seconds above 0"),
    (["--step-timeout", "-5"], "argument --step-timeout: '-5' is not a number of seconds above 0"),
    (["--step-timeout", "0"], "argument --step-timeout: '0'"),
    (["--step-timeout", "inf"], "argument --step-timeout: 'inf'"),
    (["--step-timeout", "soon"], "argument --step-timeout: 'soon'"),
    (["--restore-timeout", "-1"], "argument --restore-timeout: '-1' is not a number of seconds of 0 or more"),
    (["--restore-timeout", "NaN"], "argument --restore-timeout: 'NaN'"),
])
def test_a_bad_duration_is_one_line_and_exit_2(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["runbook", "run", "rb.md", *argv])
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert words in err and "Traceback" not in err


def test_good_durations_pass_through() -> None:
    assert positive_seconds("2.5") == 2.5
    assert seconds("0") == 0.0  # a restore timeout of 0: look once, do not wait
