"""The bounded version of benchmarks/fuzz_timeline.py (issue 13): every field of one event of each kind changed
once (to null, a number, NaN, text, markup, a list, a mapping, removed, ... in turn), plus whole-line damage,
fed to `score` and `report` in-process. Each ends in one located line (exit 2) or a scorecard and a report."""

from __future__ import annotations

from pathlib import Path

import pytest

from gameday.cli.main import main
from tests.timeline_mutations import Mutation, mutations, structural

CASES = [*structural(), *mutations(cycle=True)]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_mutated_timeline_is_scored_and_reported_or_refused_in_one_line(
        case: Mutation, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "timeline.jsonl").write_text(case.text, encoding="utf-8", errors="surrogateescape")
    for command in ("score", "report"):
        code = main([command, str(tmp_path)])
        err = capsys.readouterr().err
        assert code in (0, 2)
        if code == 2:
            assert err.startswith(f"gameday: error: {tmp_path / 'timeline.jsonl'}:") and err.count("\n") == 1, err
