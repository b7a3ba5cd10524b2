"""`gameday abort`: stop every live run on this machine and revert every live fault.

Each live harness is sent SIGTERM (it reverts its own faults, as on Ctrl-C); whatever is still pending
after a grace period, or belongs to a harness that is gone, is reverted from the journals.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from gameday.engine.cleanup import CleanupResult, cleanup, process_alive
from gameday.engine.journal import find_journals, scan_journal


@dataclass(frozen=True)
class AbortResult:
    signalled: list[int]
    reverted: list[CleanupResult]


def abort_all(reports_dir: Path, *, state_dir: Path | None = None, grace: float = 15.0) -> AbortResult:
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
    return AbortResult(signalled=pids, reverted=cleanup(reports_dir, state_dir=state_dir, include_live=True))
