"""Files a person names that are not what they claim (issue 13): every reader says so in one line, at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gameday.cli.main import main

REPO = Path(__file__).resolve().parents[2]
BOOK = str(REPO / "runbooks" / "checkout-db-down.md")

# Each command line reads the file named X; what it must say about a device or a FIFO.
READERS = [
    ("validate", ["validate", "X"]),
    ("plan", ["plan", "X"]),
    ("run", ["run", "X"]),
    ("facilitate", ["facilitate", "X"]),
    ("tabletop", ["facilitate", "--speed", "10", "X"]),
    ("doctor", ["doctor", "X", "--alertmanager", "http://127.0.0.1:1"]),
    ("runbook lint", ["runbook", "lint", "X"]),
    ("runbook run", ["runbook", "run", "X"]),
    ("runbook run --scenario", ["runbook", "run", BOOK, "--scenario", "X"]),
    ("runbook coverage --rules", ["runbook", "coverage", "--runbooks", str(REPO / "runbooks"), "--rules", "X"]),
    ("runbook coverage --scenarios",
     ["runbook", "coverage", "--runbooks", str(REPO / "runbooks"), "--scenarios", "X"]),
]


@pytest.mark.parametrize("argv", [r[1] for r in READERS], ids=[r[0] for r in READERS])
def test_a_device_is_not_a_regular_file(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """/dev/zero says its size is 0 and never ends: it was read whole (MemoryError)."""
    code = main([a if a != "X" else "/dev/zero" for a in argv])
    out = capsys.readouterr()
    assert code != 0
    assert "/dev/zero" in out.out + out.err and "not a regular file: a character device" in out.out + out.err


@pytest.mark.parametrize("argv", [r[1] for r in READERS], ids=[r[0] for r in READERS])
def test_a_fifo_is_not_a_regular_file(argv: list[str], tmp_path: Path) -> None:
    """A FIFO blocked its reader forever; in a child process, so a regression fails instead of hanging the suite."""
    fifo = tmp_path / "named.yaml"
    os.mkfifo(fifo)
    proc = subprocess.run([sys.executable, "-m", "gameday", *[a if a != "X" else str(fifo) for a in argv]],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert "not a regular file: a FIFO" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_locustfile_that_is_a_fifo_is_a_located_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo(tmp_path / "load.py")
    scenario = tmp_path / "s.yaml"
    scenario.write_text("version: 1\nname: x\nstack: {targets: {w: {container: c}}}\n"
                        "faults: [{kind: container_kill, target: w, duration: 5s}]\n"
                        "load: {locustfile: load.py, host: 'http://127.0.0.1:1'}\n")
    assert main(["validate", str(scenario)]) == 1
    assert "s.yaml:5:20: load.locustfile: locustfile 'load.py' (relative to the scenario): not a regular file: a FIFO" \
        in capsys.readouterr().out


@pytest.mark.parametrize("name", ["a\\0b.py", "x" * 300 + ".py", "/dev/null"])
def test_a_locustfile_name_that_names_no_file_is_a_located_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("version: 1\nname: x\nstack: {targets: {w: {container: c}}}\n"
                        "faults: [{kind: container_kill, target: w, duration: 5s}]\n"
                        f'load: {{locustfile: "{name}", host: "http://127.0.0.1:1"}}\n')
    assert main(["validate", str(scenario)]) == 1
    out = capsys.readouterr().out
    assert "s.yaml:5:20: load.locustfile: locustfile" in out
    assert any(words in out for words in ("NUL character", "File name too long", "not a regular file")), out
