"""The fault journal: an intent is on disk (fsynced) before any fault is applied.

``reports/<run-id>/journal.jsonl`` holds one JSON record per line:
    {"op": "intent",   "fault_id": ..., "handle": {...}, "run_id": ..., "pid": ..., "at": ...}
    {"op": "injected", "fault_id": ...}
    {"op": "reverted", "fault_id": ..., "by": "run" | "watchdog" | "cleanup" | "abort" | "resume" | "hand ..."}
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
from gameday.errors import JournalError, UnreadableFile
from gameday.folders import default_state_dir, fsync_dir
from gameday.handle import FaultHandle
from gameday.timeline_shapes import MAX_DEPTH, is_number, too_deep
from gameday.userfiles import read_regular_file

JOURNAL_NAME = "journal.jsonl"
MAX_JOURNAL_BYTES = 64_000_000
"""Far more than any run writes (a few hundred bytes per fault); a bigger file is read up to this bound."""


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
        self.state_dir = state_dir or default_state_dir(os.environ)
        path.parent.mkdir(parents=True, exist_ok=True)

    def _append(self, record: dict[str, Any]) -> None:
        record = {**record, "run_id": self.run_id, "at": iso(self.clock.wall())}
        line = json.dumps(record, sort_keys=True) + "\n"
        try:
            created = not self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)  # never via a link
            try:
                if created:
                    fsync_dir(self.path.parent)  # else a power cut could lose the new file, and its intent with it
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    # A torn last line (a crash mid-write): start a new line, or this record is glued to it and lost.
                    line = "\n" + line
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


@dataclass(frozen=True)
class JournalScan:
    """What a journal says, read tolerantly: a corrupt line never hides the well-formed ones around it."""

    path: Path
    records: list[dict[str, Any]]
    pending: list[PendingFault]
    problems: list[str]
    """One ``file:line: what is wrong`` per line that was skipped (a torn last line is not one)."""


def _parse(path: Path, data: bytes) -> tuple[list[tuple[int, dict[str, Any]]], list[tuple[int, str]]]:
    """Records with their line numbers, and the lines that are not records."""
    records: list[tuple[int, dict[str, Any]]] = []
    problems: list[tuple[int, str]] = []
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            problem = "not UTF-8 text"
        except ValueError:
            problem = "not valid JSON"
        except RecursionError:  # 100,000 nested brackets: never raise (cleanup depends on this scan)
            problem = f"not valid JSON (nested more than {MAX_DEPTH} deep)"
        else:
            if isinstance(record, dict) and not too_deep(record):
                records.append((number, record))
                continue
            problem = "not a JSON object" if not isinstance(record, dict) else f"nested more than {MAX_DEPTH} deep"
        if number < len(lines):  # a last line with no newline is a crash mid-write: expected, not a problem
            problems.append((number, f"{path}:{number}: {problem}; line skipped"))
    return records, problems


def _handle(raw: Any) -> FaultHandle | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("kind"), str) or not isinstance(raw.get("target"), str):
        return None
    try:
        return FaultHandle.from_json(raw)  # written by this version or an older one
    except (TypeError, ValueError):
        return None


def _number(value: Any) -> float | None:
    """A finite number, else None (NaN compares false with every deadline, so it would never come due)."""
    return float(value) if is_number(value) else None


def _pending(path: Path, records: list[tuple[int, dict[str, Any]]]) -> tuple[list[PendingFault], list[tuple[int, str]]]:
    intents: dict[str, PendingFault] = {}
    problems: list[tuple[int, str]] = []
    for number, rec in records:
        op, fault_id = rec.get("op"), rec.get("fault_id")
        if op == "intent":
            handle = _handle(rec.get("handle"))
            if not isinstance(fault_id, str) or not fault_id or handle is None:
                problem = (f"{path}:{number}: an intent without a fault_id or a usable handle; "
                           "whatever it was for cannot be reverted from this journal")
                problems.append((number, problem))
                continue
            run_id, pid = rec.get("run_id"), rec.get("pid")
            intents[fault_id] = PendingFault(
                journal=path,
                run_id=run_id if isinstance(run_id, str) and run_id else path.parent.name,
                fault_id=fault_id,
                handle=handle,
                pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
                deadline_monotonic=_number(rec.get("deadline_monotonic")),
            )
        elif op == "reverted" and isinstance(fault_id, str):
            intents.pop(fault_id, None)
    return list(intents.values()), problems


def scan_journal(path: Path) -> JournalScan:
    """Read a journal without ever raising: what cannot be read is in ``problems``, the rest is used."""
    try:
        data, too_long = _read(path)
    except UnreadableFile as exc:
        return JournalScan(path, [], [], [f"{path}: cannot read: {exc.reason}"])
    numbered, problems = _parse(path, data)
    pending, bad_intents = _pending(path, numbered)
    found = [p for _, p in sorted(problems + bad_intents)]
    if too_long:
        found.append(f"{path}: over {MAX_JOURNAL_BYTES // 1_000_000} MB; only the lines before that were read")
    return JournalScan(path, [rec for _, rec in numbered], pending, found)


def _read(path: Path) -> tuple[bytes, bool]:
    """The journal's bytes (none when it is missing), at most MAX_JOURNAL_BYTES of whole lines, and whether
    there was more. Only a regular file is read: a FIFO or /dev/zero put in its place never blocks cleanup."""
    if not os.path.lexists(path):
        return b"", False
    data = read_regular_file(path, limit=MAX_JOURNAL_BYTES)
    if len(data) <= MAX_JOURNAL_BYTES:
        return data, False
    return data[:data.rfind(b"\n", 0, MAX_JOURNAL_BYTES) + 1], True


def read_records(path: Path) -> list[dict[str, Any]]:
    """The journal's records; lines that are not JSON objects are skipped (``scan_journal`` names them)."""
    try:
        data, _ = _read(path)
    except UnreadableFile as exc:
        raise JournalError(f"cannot read journal {path}: {exc.reason}", path=path) from None
    return [rec for _, rec in _parse(path, data)[0]]


def pending_faults(path: Path, records: list[dict[str, Any]] | None = None) -> list[PendingFault]:
    """Faults with an intent and no revert, in the order they were intended (``records``: already read).

    Corrupt records are skipped; every well-formed intent still counts, so its fault is still reverted.
    """
    rows = read_records(path) if records is None else records
    return _pending(path, [(0, rec) for rec in rows if isinstance(rec, dict)])[0]


def find_journals(reports_dir: Path, state_dir: Path | None = None) -> list[Path]:
    """Every journal under the reports folder, and every one the state directory points at."""
    found = set(reports_dir.glob(f"*/{JOURNAL_NAME}")) if reports_dir.is_dir() else set()
    live = (state_dir or default_state_dir(os.environ)) / "live"
    if live.is_dir():
        for pointer in live.iterdir():
            try:
                target = Path(pointer.read_text(encoding="utf-8").strip())
                is_file = target.is_file()
            except (OSError, ValueError):  # unreadable, not text, a NUL in the path: not ours to judge, leave it
                continue
            scan = scan_journal(target) if is_file else None
            if scan is not None and (scan.pending or scan.problems):
                found.add(target)  # a journal with problems too: cleanup names them rather than forgetting it
            else:
                pointer.unlink(missing_ok=True)  # its run ended, or its journal is gone: the pointer is stale
    return sorted({p.resolve() for p in found})
