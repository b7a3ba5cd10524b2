"""The timeline: the single record of a run, one JSON event per line.

Every event has the UTC wall time (``at``), the monotonic offset from the start of the run in seconds
(``offset``), a ``kind`` named in the past tense, the ``actor`` (harness, a role, a probe, an alert
source) and ``details``. The report and the score are computed from this file alone, so a run's
folder can be re-rendered offline.

Every kind gameday writes, its actor and its details are declared once in the event catalogue,
gameday/events.py.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from gameday.clock import Clock, iso, parse_iso
from gameday.errors import JournalError, UnreadableFile
from gameday.folders import make_folder
from gameday.runfiles import open_append
from gameday.timeline_shapes import MAX_DEPTH, details_problem, too_deep
from gameday.userfiles import read_regular_file


@dataclass(frozen=True)
class Event:
    at: str
    offset: float
    kind: str
    actor: str = "harness"
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(
            {"at": self.at, "offset": round(self.offset, 3), "kind": self.kind, "actor": self.actor, "details": self.details},
            sort_keys=False,
            default=str,
        )

    @classmethod
    def from_json(cls, line: str) -> Event:
        """One event from its JSON line; ``ValueError`` saying what is wrong when it is not one (its message is
        the whole problem: ``not valid JSON (...)``, ``not a timeline event: ...`` or ``kind details.key: ...``)."""
        raw = decode_json(line)
        problem = _event_problem(raw)
        if problem:
            raise ValueError(f"not a timeline event: {problem}")
        problem = details_problem(raw["kind"], raw.get("details") or {})
        if problem:
            raise ValueError(problem)
        return cls(at=raw["at"], offset=float(raw["offset"]), kind=raw["kind"], actor=raw.get("actor", "harness"),
                   details=raw.get("details") or {})

    @property
    def wall(self):  # type: ignore[no-untyped-def]
        return parse_iso(self.at)


def _event_problem(raw: Any) -> str | None:
    """What keeps a decoded JSON line from being an event (the report and the score read every field)."""
    if not isinstance(raw, dict):
        return "not a JSON object"
    missing = [k for k in ("at", "offset", "kind") if k not in raw]
    if missing:
        return f"no {', '.join(missing)}"
    if not all(isinstance(v, str) for v in (raw["at"], raw["kind"], raw.get("actor", "harness"))):
        return "at, kind and actor must be text"
    if not isinstance(raw.get("details") or {}, dict):
        return "details must be a JSON object"
    try:
        parse_iso(raw["at"])
    except ValueError:
        return f"at {raw['at']!r} is not a time"
    offset = raw["offset"]
    if isinstance(offset, str | bool):
        return f"offset {offset!r} is not a number"
    try:
        if not math.isfinite(float(offset)):
            return f"offset {offset!r} is not a finite number"
    except (TypeError, ValueError):
        return f"offset {offset!r} is not a number"
    return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"not valid JSON ({name} is not a number JSON allows)")


def decode_json(line: str) -> Any:
    """One JSON value, strictly: ``ValueError`` (with the whole problem as its message) for text that is not JSON,
    for NaN and Infinity (Python's json writes them; no other reader accepts them), and for nesting deeper than
    gameday ever writes (100,000 levels would exhaust the stack of every reader after this one)."""
    try:
        value = json.loads(line, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ValueError(f"not valid JSON (nested more than {MAX_DEPTH} deep)") from None
    if too_deep(value):
        raise ValueError(f"not valid JSON (nested more than {MAX_DEPTH} deep)")
    return value


Listener = Callable[[Event], None]

MAX_TIMELINE_BYTES = 64_000_000
"""Reading more would pass the 500 MB a reader may use (50 MB of events take about 400 MB once decoded)."""


class Timeline:
    """Appends events to ``timeline.jsonl``, flushing each line, and tells listeners (the console view)."""

    def __init__(self, path: Path, clock: Clock, *, origin: float | None = None) -> None:
        self.path = path
        self.clock = clock
        self.origin = clock.monotonic() if origin is None else origin
        self.events: list[Event] = []
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        problem = make_folder(path.parent)
        if problem:
            raise JournalError(f"cannot write timeline {path}: {problem}", path=path)
        try:
            _drop_torn_tail(path)
            self._file = os.fdopen(open_append(path), "a", encoding="utf-8")
        except OSError as exc:
            raise JournalError(f"cannot write timeline {path}: {exc.strerror}", path=path) from exc

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def now(self) -> float:
        """Seconds since the run started, from the monotonic clock."""
        return self.clock.monotonic() - self.origin

    def record(self, kind: str, /, actor: str = "harness", **details: Any) -> Event:
        with self._lock:
            event = Event(at=iso(self.clock.wall()), offset=self.now(), kind=kind, actor=actor, details=details)
            self.events.append(event)
            try:
                self._file.write(event.to_json() + "\n")
                self._file.flush()
            except OSError as exc:
                raise JournalError(f"cannot write timeline {self.path}: {exc.strerror}", path=self.path) from exc
        for listener in self._listeners:
            listener(event)
        return event

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()


def _drop_torn_tail(path: Path) -> None:
    """Cut a torn last line (a crash mid-write) before appending to a timeline again (a resumed drill).

    Left in place, the next event would be glued to it, and a corrupt line in the middle of a
    timeline is an error for every reader.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)  # a link is refused by open_append next
    except OSError:  # missing: nothing to cut
        return
    with os.fdopen(fd, "rb+") as f:
        data = f.read()
        if data and not data.endswith(b"\n"):
            f.truncate(data.rfind(b"\n") + 1)


def append_event(path: Path, kind: str, /, actor: str, at: datetime, **details: Any) -> Event | None:
    """Add one event to the saved timeline of a run from another process (the watchdog, `gameday cleanup`).

    Its offset is read off the run's own first event (wall time since it), since that process does not
    share the run's clock. The line goes out in one ``O_APPEND`` write, so it never interleaves with the
    run's own lines; a torn last line (a crash mid-write) is cut first, as a resumed run does. None when
    the run folder holds no timeline to add to, or it cannot be written.
    """
    try:
        with path.open("rb") as f:
            first = f.readline()
        started = Event.from_json(first.decode("utf-8"))
    except (OSError, ValueError):  # no timeline, or not one we can place an event in
        return None
    event = Event(at=iso(at), offset=started.offset + (at - parse_iso(started.at)).total_seconds(), kind=kind,
                  actor=actor, details=details)
    try:
        _drop_torn_tail(path)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, (event.to_json() + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:  # the revert is done and journalled; a timeline we cannot write must not undo that
        return None
    return event


def read_timeline(path: Path) -> list[Event]:
    """Events of a saved timeline; a torn last line (a crash mid-write, or the event being written) is skipped.

    Any other line that is not an event is a ``JournalError`` naming ``file:line`` and what is wrong; so is a
    file that is not a regular file (a FIFO, a device) or is larger than ``MAX_TIMELINE_BYTES``.
    """
    if not os.path.lexists(path):
        raise JournalError(f"no timeline at {path}", path=path)
    try:
        data = read_regular_file(path, limit=MAX_TIMELINE_BYTES)
    except UnreadableFile as exc:
        raise JournalError(f"cannot read timeline {path}: {exc.reason}", path=path) from None
    if len(data) > MAX_TIMELINE_BYTES:
        raise JournalError(f"{path}: over {MAX_TIMELINE_BYTES // 1_000_000} MB, more than any run writes "
                           "(an hour of a drill under load is a few MB); not read", path=path)
    lines = data.split(b"\n")
    events: list[Event] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            events.append(Event.from_json(raw.decode("utf-8")))
        except UnicodeDecodeError:
            problem = "not UTF-8 text"
        except ValueError as exc:
            problem = str(exc)
        else:
            continue
        if number == len(lines):  # no newline after it: written only in part
            continue
        raise JournalError(f"{path}:{number}: {problem}", path=path)
    return events
