"""The dead-man's switch: a process apart from the harness that reverts what the harness cannot.

The run starts it before any fault, in its own session (so neither SIGKILL of the harness, nor its
terminal closing, nor a Ctrl-C in that terminal reaches it). It watches three things:

    the harness process    gone (killed, crashed)          -> revert every pending fault now
    the heartbeat file     not touched for heartbeat_timeout -> the harness hangs: revert now
    each fault's TTL       deadline passed                  -> revert that fault (the harness's own
                                                              revert later is harmless: reverts are idempotent)

It reads the pending faults from the journal (written and fsynced before each inject) and marks
what it reverted there with ``by: watchdog``, and in the run's timeline (``fault.reverted``, actor
``watchdog``, with the reason), so the report shows who put things back. It leaves when the run has closed its journal and
nothing is pending, or when the harness is gone and nothing is pending.
"""

from __future__ import annotations

import argparse
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gameday.clock import SystemClock
from gameday.engine.cleanup import pid_running, record_in_timeline
from gameday.engine.journal import Journal, PendingFault, pending_faults, read_records
from gameday.errors import GamedayError

if TYPE_CHECKING:
    from gameday.faults.base import FaultDriver, FaultRegistry

POLL_SECONDS = 0.2
HEARTBEAT_EVERY = 1.0
HEARTBEAT_TIMEOUT = 10.0
VERIFY_AFTER = (0.5, 1.5, 3.0, 6.0)
GIVE_UP_AFTER = 100
"""Failed attempts at one revert (20 s of tries) after which, with the harness gone, the watchdog leaves it to
`gameday cleanup` and a human: its journal says revert_failed."""


def start_watchdog(journal: Path, heartbeat: Path, *, harness_pid: int, state_dir: Path | None,
                   heartbeat_timeout: float = HEARTBEAT_TIMEOUT, wake_fd: int | None = None) -> subprocess.Popen[bytes]:
    """Start the watchdog detached from this process's session and terminal.

    ``wake_fd``: the read end of a pipe whose write end only the harness holds; the watchdog waits on it
    between polls, so the harness closing it (when its journal is closed, or by dying) wakes it at once."""
    log = (journal.parent / "watchdog.log").open("ab")
    try:
        env = dict(os.environ)
        if state_dir is not None:
            env["GAMEDAY_STATE_DIR"] = str(state_dir)
        wake = ["--wake-fd", str(wake_fd)] if wake_fd is not None else []
        return subprocess.Popen(
            [sys.executable, "-m", "gameday.engine.watchdog", "--journal", str(journal), "--heartbeat", str(heartbeat),
             "--pid", str(harness_pid), "--heartbeat-timeout", str(heartbeat_timeout), *wake],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True, env=env,
            pass_fds=() if wake_fd is None else (wake_fd,),
        )
    finally:
        log.close()


def _pause(wake_fd: int | None) -> int | None:
    """One poll interval, cut short when the harness closes its end of the wake pipe; the pipe still worth
    waiting on (None once it has closed: from then on the watchdog polls as it did without one)."""
    if wake_fd is None:
        time.sleep(POLL_SECONDS)
        return None
    ready, _, _ = select.select([wake_fd], [], [], POLL_SECONDS)
    if ready and not os.read(wake_fd, 64):  # end of file: the harness closed it or is gone
        os.close(wake_fd)
        return None
    return wake_fd


def watch(journal: Path, heartbeat: Path, harness_pid: int, heartbeat_timeout: float,
          wake_fd: int | None = None) -> int:
    # The fault registry (pydantic and the drivers: ~0.15 s of CPU at every run) is loaded only when a fault
    # must be reverted here, which a run that ends normally never asks; it costs that revert the same time.
    registries: list[FaultRegistry] = []

    def driver_for(kind: str) -> FaultDriver:
        if not registries:
            from gameday.faults.base import FaultRegistry

            registries.append(FaultRegistry())
        return registries[0].create(kind)

    clock = SystemClock()
    run_id = journal.parent.name
    writer = Journal(journal, run_id=run_id, clock=clock)
    failures: dict[str, int] = {}
    # An inject the harness sent just before it died may still be in flight at the daemon and land
    # after our revert; so a fault reverted here is checked again for a few seconds, and re-reverted.
    to_verify: list[tuple[float, PendingFault, Any]] = []

    def log(message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        print(f"{stamp} watchdog: {message}", flush=True)  # noqa: T201 - its own process: stdout is its log file

    log(f"watching run {run_id} (harness pid {harness_pid})")
    while True:
        records = read_records(journal)
        pending = pending_faults(journal, records)
        closed = any(rec.get("op") == "closed" for rec in records)
        harness_alive = pid_running(harness_pid)
        for item in list(to_verify):
            due, fault, driver = item
            if time.monotonic() < due:
                continue
            to_verify.remove(item)
            try:
                if driver.check(fault.handle):
                    log(f"{fault.fault_id} came back after the revert (an inject in flight); reverting again")
                    driver.revert(fault.handle)
            except GamedayError as exc:
                log(f"re-checking {fault.fault_id} failed: {exc}")
        if not pending and not to_verify and (closed or not harness_alive):
            log("nothing pending; leaving")
            return 0
        if not harness_alive and all(failures.get(f.fault_id, 0) >= GIVE_UP_AFTER for f in pending):
            log("giving up: reverts keep failing; run `gameday cleanup` once the cause is fixed")
            return 1
        try:
            beat_age = time.time() - heartbeat.stat().st_mtime
        except FileNotFoundError:
            beat_age = 0.0
        now = time.monotonic()
        for fault in reversed(pending):
            deadline = fault.deadline_monotonic
            if not harness_alive:
                reason = "the harness is gone"
            elif beat_age > heartbeat_timeout:
                reason = f"no heartbeat for {beat_age:.0f}s"
            elif deadline is not None and now > deadline:
                reason = "its time-to-live passed"
            else:
                continue
            try:
                driver = driver_for(fault.handle.kind)
                driver.revert(fault.handle)
            except GamedayError as exc:
                failures[fault.fault_id] = failures.get(fault.fault_id, 0) + 1
                log(f"revert of {fault.fault_id} ({fault.handle.description}) failed: {exc}")
                if failures[fault.fault_id] == 1:
                    writer.revert_failed(fault.fault_id, str(exc))
                    record_in_timeline(fault, "watchdog", error=str(exc), reason=reason)
                continue
            writer.reverted(fault.fault_id, by="watchdog")
            record_in_timeline(fault, "watchdog", reason=reason)
            log(f"reverted {fault.fault_id} ({fault.handle.description}): {reason}")
            to_verify.extend((time.monotonic() + delay, fault, driver) for delay in VERIFY_AFTER)
        wake_fd = _pause(wake_fd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gameday-watchdog")
    parser.add_argument("--journal", required=True, type=Path)
    parser.add_argument("--heartbeat", required=True, type=Path)
    parser.add_argument("--pid", required=True, type=int)
    parser.add_argument("--heartbeat-timeout", type=float, default=HEARTBEAT_TIMEOUT)
    parser.add_argument("--wake-fd", type=int, help="read end of the harness's wake pipe (start_watchdog)")
    args = parser.parse_args(argv)
    return watch(args.journal, args.heartbeat, args.pid, args.heartbeat_timeout, args.wake_fd)


if __name__ == "__main__":
    from gameday.processexit import leave

    # Its work is done and its log written: it leaves without the interpreter's teardown, which the harness,
    # waiting for it at the end of every run, saw take 50 ms to over a second on a loaded machine; os._exit
    # takes a few ms. An exception still ends it the ordinary way.
    leave(main())
