"""A finished command leaves without the interpreter's teardown, keeping what an ordinary exit does that
matters: its output flushed, its atexit handlers run, the other threads' work waited for (gameday.processexit)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False)


def test_output_is_flushed_atexit_handlers_run_and_the_code_is_kept(tmp_path: Path) -> None:
    done = child("import atexit, sys\n"
                 "from gameday.processexit import leave\n"
                 "atexit.register(lambda: print('handler ran'))\n"
                 "print('out', end=' ')\n"  # still in the buffer: stdout is a pipe
                 "sys.stderr.write('err')\n"
                 "leave(3)\n", tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (3, "out handler ran\n", "err")


def test_it_skips_the_teardown(tmp_path: Path) -> None:
    """An object's finaliser that only the teardown would call is not called: the teardown did not happen."""
    done = child("from gameday.processexit import leave\n"
                 "class Noisy:\n"
                 "    def __del__(self):\n"
                 "        print('torn down')\n"
                 "kept = Noisy()\n"
                 "leave(0)\n", tmp_path)
    assert (done.returncode, done.stdout) == (0, "")


def test_a_non_daemon_thread_still_working_is_waited_for_as_by_an_ordinary_exit(tmp_path: Path) -> None:
    done = child("import threading\n"
                 "from pathlib import Path\n"
                 "from gameday.processexit import leave\n"
                 "go = threading.Event()\n"
                 "def work():\n"
                 "    go.wait(60)\n"
                 "    Path('written').write_text('done')\n"
                 "threading.Thread(target=work).start()\n"
                 "threading.Timer(0.2, go.set).start()\n"
                 "leave(5)\n", tmp_path)
    assert done.returncode == 5
    assert (tmp_path / "written").read_text() == "done"


def test_the_command_exits_with_mains_code_and_its_whole_output(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: bad\nfaults:\n  - {kind: latency, target: nowhere, duration: 1s}\n")
    done = subprocess.run([sys.executable, "-m", "gameday", "validate", str(bad)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert done.stdout.count("bad.yaml:4:") + done.stderr.count("bad.yaml:4:") >= 1
    usage = subprocess.run([sys.executable, "-m", "gameday", "validate"], cwd=ROOT, capture_output=True, text=True,
                           timeout=120, check=False)
    assert usage.returncode == 2 and "usage:" in usage.stderr
    helped = subprocess.run([sys.executable, "-m", "gameday", "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False)
    assert helped.returncode == 0 and "validate" in helped.stdout
