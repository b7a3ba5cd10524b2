"""Revert every fault a journal says is still pending (after a crash, a SIGKILL, a power cut).

Safe to run any number of times: a fault is reverted from its handle, drivers' reverts are
idempotent, and a fault is marked reverted in its journal only once the revert succeeded. Each revert
(or failed one) is also written to the run's timeline with actor ``cleanup``, so its report shows who
put things back.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gameday import events as ev
from gameday.clock import Clock, SystemClock
from gameday.engine.journal import Journal, PendingFault, find_journals, scan_journal
from gameday.errors import GamedayError, JournalError
from gameday.timeline import append_event, read_timeline

if TYPE_CHECKING:  # the registry (pydantic, the drivers) is loaded when a fault is reverted: see engine.watchdog
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
    """True if pid is a live gameday process (not a zombie, not a reused pid of something else).

    A run in a pytest-xdist worker (the gameday plugin under ``pytest -n``) counts too: a worker's command line
    is execnet's bootstrap, naming neither, and its parent is the pytest it works for."""
    if not pid or pid == os.getpid() or not pid_running(pid):
        return False
    try:
        if _names_gameday(pid):
            return True
    except OSError:
        return True
    try:
        parent = _parent(pid)
        return parent > 1 and _names_gameday(parent)
    except OSError:  # the parent is gone: not a worker of a live pytest
        return False


def _names_gameday(pid: int) -> bool:
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    return b"gameday" in cmdline or b"pytest" in cmdline


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def record_in_timeline(fault: PendingFault, actor: str, *, error: str | None = None, **details: Any) -> None:
    """Say in the run's own timeline who put a fault back (or failed to), so its report shows it.

    ``fault.reverted`` (or ``revert.failed`` with ``error``) with ``actor`` and ``by`` the watchdog or
    cleanup, named by the fault's label from the run's ``fault.intended`` event.
    """
    path = fault.journal.parent / "timeline.jsonl"
    try:
        labels = {str(e.details.get("fault_id")): str(e.details.get("fault"))
                  for e in read_timeline(path) if e.kind == ev.FAULT_INTENDED}
    except JournalError:
        labels = {}
    label = labels.get(fault.fault_id, fault.fault_id)
    if error is None:
        append_event(path, ev.FAULT_REVERTED, actor=actor, at=datetime.now(UTC), fault=label, fault_id=fault.fault_id,
                     by=actor, **details)
    else:
        append_event(path, ev.REVERT_FAILED, actor=actor, at=datetime.now(UTC), fault=label, fault_id=fault.fault_id,
                     by=actor, error=error, **details)


def warn_on_stderr(message: str) -> None:
    """The default for ``cleanup(warn=...)``: one ``gameday: warning:`` line on stderr."""
    sys.stderr.write(f"gameday: warning: {message}\n")


def cleanup(
    reports_dir: Path,
    *,
    registry: FaultRegistry | None = None,
    clock: Clock | None = None,
    state_dir: Path | None = None,
    include_live: bool = False,
    warn: Callable[[str], None] = warn_on_stderr,
    actor: str = "cleanup",
) -> list[CleanupResult]:
    """Revert pending faults of every journal found; faults of runs still alive are left to them.

    A corrupt journal line, or a journal that cannot be read or written, is passed to ``warn`` (stderr
    unless told otherwise, since `gameday cleanup` and `gameday abort` must show it) and cleanup goes on
    with every other fault and journal: one bad file must not leave the others' faults live. ``actor``
    (``cleanup``, or ``abort`` for `gameday abort`) is who the journal and the run's timeline say reverted it.
    """
    if registry is None:
        from gameday.faults.base import FaultRegistry

        registry = FaultRegistry()
    clock = clock or SystemClock()
    results: list[CleanupResult] = []
    for path in find_journals(reports_dir, state_dir):
        scan = scan_journal(path)
        for problem in scan.problems:
            warn(problem)
        if not scan.pending:
            continue
        journal = Journal(path, run_id=scan.pending[0].run_id, clock=clock, state_dir=state_dir)
        for fault in reversed(scan.pending):  # newest first, as a run reverts
            if not include_live and process_alive(fault.pid):
                results.append(CleanupResult(fault, reverted=False, skipped=True,
                                             error=f"run still alive (pid {fault.pid})"))
                continue
            result = _revert(fault, registry)
            results.append(result)
            try:
                if result.reverted:
                    journal.reverted(fault.fault_id, by=actor)
                else:
                    journal.revert_failed(fault.fault_id, result.error or "")
            except JournalError as exc:
                # The revert itself is done (or reported); a journal we cannot write must not stop the others.
                warn(f"{exc}; {fault.fault_id} will be reverted again by the next cleanup (reverts are idempotent)")
            record_in_timeline(fault, actor, error=None if result.reverted else result.error or "failed")
    return results


def _revert(fault: PendingFault, registry: FaultRegistry) -> CleanupResult:
    try:
        registry.create(fault.handle.kind).revert(fault.handle)
    except GamedayError as exc:
        return CleanupResult(fault, reverted=False, error=str(exc))
    return CleanupResult(fault, reverted=True)
