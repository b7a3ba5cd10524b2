"""Scenarios written to slip through or to hurt (issue 13): each is one located line from `gameday validate`, exit 1.

The catalogue continues the one in test_validate.py: a name, the scenario text, the line, the field and
words the message must hold.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gameday.cli.main import main
from tests.scenario.test_validate import GOOD, LINE, validate

FILL = """\
version: 1
name: fill
stack:
  targets:
    data: {container: some-c}
faults:
  - kind: disk_fill
    target: data
    args: {path: /data, write: 64MB}
    duration: 10s
"""

BAD_INPUTS = [
    ("a 400-digit size", FILL.replace("write: 64MB", "write: '" + "9" * 400 + "B'"), 9, "faults[0].args.write",
     "larger than 1024 TiB"),
    ("a 400-digit size as a number", FILL.replace("write: 64MB", "write: " + "9" * 400), 9, "faults[0].args.write",
     "larger than 1024 TiB"),
]


@pytest.mark.parametrize(("text", "line", "field", "words"), [b[1:] for b in BAD_INPUTS], ids=[b[0] for b in BAD_INPUTS])
def test_hostile_input_gives_one_located_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | bytes, line: int, field: str | None, words: str
) -> None:
    code, lines = validate(tmp_path, text, capsys)
    assert code == 1
    match = next((LINE.match(ln) for ln in lines if words.lower() in ln.lower()), None)
    assert match is not None, f"no line mentions {words!r}: {lines}"
    assert match["file"].endswith("scenario.yaml")
    assert int(match["line"]) == line, lines
    if field is not None:
        assert match["field"] == field, lines


def test_the_good_scenarios_here_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate(tmp_path, FILL, capsys) == (0, [])


def test_control_characters_from_a_scenario_never_reach_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ESC and BEL in a target name and a fault kind would set the window title or clear the screen."""
    text = GOOD.replace("container_kill", '"kill\\e[2J\\a"').replace("target: web", 'target: "w\\e]0;pwned\\a"')
    code, lines = validate(tmp_path, text, capsys)
    assert code == 1
    assert not any(c in "".join(lines) for c in "\x1b\x07"), lines
    assert any("unknown fault kind 'kill\\x1b[2J\\x07'" in ln for ln in lines), lines
    assert all(LINE.match(ln) for ln in lines), lines


def test_a_huge_value_is_echoed_cut_in_the_middle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = GOOD.replace("duration: 1h30m", 'duration: "' + "x" * 500_000 + '"')
    code, lines = validate(tmp_path, text, capsys)
    assert code == 1
    (line,) = [ln for ln in lines if "faults[0].duration" in ln]
    assert len(line) < 500 and "characters left out" in line and line.endswith("as in 90s, 5m or 1h30m")


def test_a_file_name_with_a_newline_stays_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evil\nname\x1b.yaml"
    path.write_text(GOOD.replace("version: 1", "version: 2"))
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and "evil\\nname\\x1b.yaml:1" in out[0]
