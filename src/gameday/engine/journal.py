"""The fault journal: an intent is on disk (fsynced) before any fault is applied.

``reports/<run-id>/journal.jsonl`` holds one JSON record per line:
    {"op": "intent",   "fault_id": ..., "handle": {...}, "run_id": ..., "pid": ..., "at": ...}
    {"op": "injected", "fault_id": ...}
    {"op": "reverted", "fault_id": ..., "by": "run" | "cleanup"}
    {"op": "revert_failed", "fault_id": ..., "error": ...}
    {"op": "closed"}   the run is over (the watchdog may leave once nothing is pending)
An intent carries ``deadline_monotonic``: past it the watchdog reverts the fault (its time-to-live).
A fault with an intent and no ``reverted`` is pending: ``gameday cleanup`` reverts it from the handle.
Besides the run folder, a small pointer file in the state directory names every journal with pending
faults, so cleanup finds them from any working directory.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gameday.clock import Clock, iso
from gameday.errors import JournalError
from gameday.faults.base import FaultHandle

JOURNAL_NAME = "journal.jsonl"


def default_state_dir() -> Path:
    base = os.environ.get("GAMEDAY_STATE_DIR") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "gameday"
    )
    return Path(base)


@dataclass(frozen=True)
class PendingFault:
    journal: Path
    run_id: str
    fault_id: str
    handle: FaultHandle
    pid: int | None
    deadline_monotonic: float | None = None


class Journal:
    def __init__(self, path: Path, *, run_id: str, clock: Clock, state_dir: Path | None = None) -> None:
        self.path = path
        self.run_id = run_id
        self.clock = clock
        self.state_dir = state_dir or default_state_dir()
        path.parent.mkdir(parents=True, exist_ok=True)

    def _append(self, record: dict[str, Any]) -> None:
        record = {**record, "run_id": self.run_id, "at": iso(self.clock.wall())}
        line = json.dumps(record, sort_keys=True) + "\n"
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise JournalError(f"cannot write journal {self.path}: {exc.strerror}", path=self.path) from exc

    def intend(self, fault_id: str, handle: FaultHandle, *, deadline_monotonic: float | None = None) -> None:
        """Record the intent to inject; fsynced before this returns, so a crash after it is recoverable.

        ``deadline_monotonic`` is on the system-wide monotonic clock (CLOCK_MONOTONIC), which other
        processes on this machine (the watchdog) read alike.
        """
        self._register()
        self._append({"op": "intent", "fault_id": fault_id, "handle": handle.to_json(), "pid": os.getpid(),
                      "deadline_monotonic": deadline_monotonic})

    def close(self) -> None:
        self._append({"op": "closed"})

    def injected(self, fault_id: str) -> None:
        self._append({"op": "injected", "fault_id": fault_id})

    def reverted(self, fault_id: str, *, by: str = "run") -> None:
        self._append({"op": "reverted", "fault_id": fault_id, "by": by})
        if not pending_faults(self.path):
            self._unregister()

    def revert_failed(self, fault_id: str, error: str) -> None:
        self._append({"op": "revert_failed", "fault_id": fault_id, "error": error})

    def _pointer(self) -> Path:
        digest = hashlib.sha1(str(self.path.resolve()).encode()).hexdigest()[:12]
        return self.state_dir / "live" / f"{self.run_id}-{digest}"

    def _register(self) -> None:
        pointer = self._pointer()
        try:
            pointer.parent.mkdir(parents=True, exist_ok=True)
            pointer.write_text(str(self.path.resolve()) + "\n")
        except OSError as exc:
            raise JournalError(f"cannot write state pointer {pointer}: {exc.strerror}", path=pointer) from exc

    def _unregister(self) -> None:
        self._pointer().unlink(missing_ok=True)


def read_records(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise JournalError(f"cannot read journal {path}: {exc.strerror}", path=path) from exc
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # a torn last line from a crash mid-write
    return records


def pending_faults(path: Path, records: list[dict[str, Any]] | None = None) -> list[PendingFault]:
    """Faults with an intent and no revert, in the order they were intended (``records``: already read)."""
    intents: dict[str, dict[str, Any]] = {}
    for rec in read_records(path) if records is None else records:
        if rec.get("op") == "intent":
            intents[rec["fault_id"]] = rec
        elif rec.get("op") == "reverted":
            intents.pop(rec.get("fault_id", ""), None)
    return [
        PendingFault(
            journal=path,
            run_id=rec.get("run_id", path.parent.name),
            fault_id=fid,
            handle=FaultHandle.from_json(rec["handle"]),
            pid=rec.get("pid"),
            deadline_monotonic=rec.get("deadline_monotonic"),
        )
        for fid, rec in intents.items()
    ]


def find_journals(reports_dir: Path, state_dir: Path | None = None) -> list[Path]:
    """Every journal under the reports folder, and every one the state directory points at."""
    found = set(reports_dir.glob(f"*/{JOURNAL_NAME}")) if reports_dir.is_dir() else set()
    live = (state_dir or default_state_dir()) / "live"
    if live.is_dir():
        for pointer in live.iterdir():
            try:
                target = Path(pointer.read_text().strip())
            except OSError:
                continue
            if target.is_file() and pending_faults(target):
                found.add(target)
            else:
                pointer.unlink(missing_ok=True)  # its run ended, or its journal is gone: the pointer is stale
    return sorted({p.resolve() for p in found})
