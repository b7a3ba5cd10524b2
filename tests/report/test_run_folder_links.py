"""A run folder may come from anywhere (issue 13): gameday never writes through a link standing in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gameday.cli.main import main
from gameday.clock import FakeClock
from gameday.errors import GamedayError
from gameday.runfiles import open_append, write_file
from gameday.timeline import Timeline


@pytest.mark.parametrize("name", ["report.md", "report.html", "scorecard.json"])
def test_report_replaces_a_link_instead_of_writing_through_it(run_dir: Path, tmp_path: Path, name: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (run_dir / name).symlink_to(victim)
    assert main(["report", str(run_dir)]) == 0
    assert victim.read_text() == "precious\n"
    assert not (run_dir / name).is_symlink() and (run_dir / name).stat().st_size > 100
    assert [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")] == []


def test_a_report_md_that_is_a_folder_is_one_line(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (run_dir / "report.md").mkdir()
    assert main(["report", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert err == (f"gameday: error: cannot write {run_dir / 'report.md'}: it is a folder, not a file "
                   "(move it away and try again)\n")


def test_write_file_into_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(GamedayError, match=r"cannot write .*gone/report\.md: No such file or directory"):
        write_file(tmp_path / "gone" / "report.md", "x")


def test_a_timeline_that_is_a_link_is_never_appended_to(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")  # no newline: the torn-tail cut would have truncated it
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "timeline.jsonl").symlink_to(victim)
    with pytest.raises(GamedayError, match="symbolic link; gameday never writes through one"):
        Timeline(tmp_path / "run" / "timeline.jsonl", FakeClock())
    assert victim.read_text() == "precious"
    with pytest.raises(OSError, match="symbolic link"):
        open_append(tmp_path / "run" / "timeline.jsonl")
