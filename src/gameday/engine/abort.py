"""`gameday abort`: stop every live run on this machine and revert every live fault.

An abort flag in the state directory first tells every run live now to stop as if interrupted and inject
nothing more (each run checks it every second, in any phase). Each harness with a live fault is sent SIGTERM (it reverts its
own faults, as on Ctrl-C); whatever is still pending after a grace period, or belongs to a harness that
is gone, is reverted from the journals.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from gameday.engine.cleanup import CleanupResult, cleanup, process_alive
from gameday.engine.journal import find_journals, scan_journal
from gameday.folders import default_state_dir


@dataclass(frozen=True)
class AbortResult:
    signalled: list[int]
    reverted: list[CleanupResult]


ABORT_FLAG = "abort.json"


def raise_abort_flag(state_dir: Path | None = None, *, at: float | None = None) -> Path:
    """Mark "every run live now must stop": a run that started before this time injects nothing more,
    whatever phase it is in (one still in preflight or steady state has no fault to signal it by yet)."""
    directory = state_dir or default_state_dir(os.environ)
    directory.mkdir(parents=True, exist_ok=True)
    flag = directory / ABORT_FLAG
    tmp = flag.with_suffix(".tmp")
    tmp.write_text(json.dumps({"at": time.time() if at is None else at, "pid": os.getpid()}), encoding="utf-8")
    tmp.replace(flag)
    return flag


def aborted_since(started_at: float, state_dir: Path | None = None) -> bool:
    """True if `gameday abort` was called after a run that started at ``started_at`` (epoch seconds)."""
    try:
        raw = json.loads(((state_dir or default_state_dir(os.environ)) / ABORT_FLAG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    at = raw.get("at") if isinstance(raw, dict) else None
    return isinstance(at, (int, float)) and at >= started_at


def abort_all(reports_dir: Path, *, state_dir: Path | None = None, grace: float = 15.0) -> AbortResult:
    raise_abort_flag(state_dir)
    pids = sorted({f.pid for j in find_journals(reports_dir, state_dir) for f in scan_journal(j).pending
                   if f.pid and process_alive(f.pid)})
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(process_alive(p) for p in pids):
        time.sleep(0.1)
    reverted = cleanup(reports_dir, state_dir=state_dir, include_live=True, actor="abort")
    return AbortResult(signalled=pids, reverted=reverted)
