"""process_alive: whether a journal's or a lock's pid is a live gameday run. A run inside a pytest-xdist worker (the
gameday plugin under ``pytest -n``) is one: the worker's command line is execnet's bootstrap, its parent's is
pytest's. A live process that is neither, nor the child of one, is a reused pid of something else."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gameday.engine.cleanup import process_alive

# A parent that starts a child naming nothing of ours, prints its pid and waits; its own argv names ``name``.
PARENT = ("import subprocess, sys; child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
          "print(child.pid, flush=True); sys.stdin.read(); child.kill(); child.wait()")


@pytest.mark.parametrize(("name", "alive"), [("pytest", True), ("gameday", True), ("something-else", False)])
def test_a_process_counts_as_a_run_when_it_or_its_parent_names_gameday_or_pytest(name: str, alive: bool) -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, name], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert process_alive(child) is alive
    finally:
        parent.communicate(timeout=60)


def test_a_pid_that_is_gone_is_not_alive() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert process_alive(gone.pid) is False
