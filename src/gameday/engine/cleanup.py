"""Revert every fault a journal says is still pending (after a crash, a SIGKILL, a power cut).

Safe to run any number of times: a fault is reverted from its handle, drivers' reverts are
idempotent, and a fault is marked reverted in its journal only once the revert succeeded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gameday.clock import Clock, SystemClock
from gameday.engine.journal import Journal, PendingFault, find_journals, pending_faults
from gameday.errors import GamedayError
from gameday.faults.base import FaultRegistry


@dataclass(frozen=True)
class CleanupResult:
    fault: PendingFault
    reverted: bool
    skipped: bool = False
    error: str | None = None


def pid_running(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state != "Z"


def process_alive(pid: int | None) -> bool:
    """True if pid is a live gameday process (not a zombie, not a reused pid of something else)."""
    if not pid or pid == os.getpid() or not pid_running(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return True
    return b"gameday" in cmdline or b"pytest" in cmdline


def cleanup(
    reports_dir: Path,
    *,
    registry: FaultRegistry | None = None,
    clock: Clock | None = None,
    state_dir: Path | None = None,
    include_live: bool = False,
) -> list[CleanupResult]:
    """Revert pending faults of every journal found; faults of runs still alive are left to them."""
    registry = registry or FaultRegistry()
    clock = clock or SystemClock()
    results: list[CleanupResult] = []
    for path in find_journals(reports_dir, state_dir):
        pending = pending_faults(path)
        if not pending:
            continue
        journal = Journal(path, run_id=pending[0].run_id, clock=clock, state_dir=state_dir)
        for fault in reversed(pending):  # newest first, as a run reverts
            if not include_live and process_alive(fault.pid):
                results.append(CleanupResult(fault, reverted=False, skipped=True, error=f"run still alive (pid {fault.pid})"))
                continue
            try:
                registry.create(fault.handle.kind).revert(fault.handle)
            except GamedayError as exc:
                journal.revert_failed(fault.fault_id, str(exc))
                results.append(CleanupResult(fault, reverted=False, error=str(exc)))
                continue
            journal.reverted(fault.fault_id, by="cleanup")
            results.append(CleanupResult(fault, reverted=True))
    return results
