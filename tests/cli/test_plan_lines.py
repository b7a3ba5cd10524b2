"""`gameday plan` piped (issue 13): one line per message, however long; rich wrapped them at 80 columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from gameday.cli.main import main
from tests.helpers import stack_file

SCENARIO = """\
version: 1
name: a-scenario-with-a-rather-long-name-so-that-lines-pass-eighty-columns
stack: far
faults:
  - kind: latency
    target: the-path-from-checkout-to-its-database
    args: {latency: 800ms}
    duration: 30s
"""


def test_plan_keeps_each_message_on_one_line_when_piped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack_file(tmp_path, "far", {"toxiproxy": {"url": "http://127.0.0.1:9"},
                                 "targets": {"the-path-from-checkout-to-its-database": {"proxy": "postgres"}}},
               allow={"toxiproxy": ["postgres"]})
    (tmp_path / "s.yaml").write_text(SCENARIO)
    assert main(["plan", str(tmp_path / "s.yaml")]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("plan for a-scenario-with-a-rather-long-name-so-that-lines-pass-eighty-columns "
                        "(a dry run: nothing was changed)")
    assert ("latency@the-path-from-checkout-to-its-database (latency on target the-path-from-checkout-to-its-database)"
            " at T+0s for 30s") in lines
    assert ("  check:      cannot reach Toxiproxy at http://127.0.0.1:9: connection refused "
            "(is toxiproxy-server running?)") in lines
    assert len(lines) == 6
