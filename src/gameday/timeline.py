"""The timeline: the single record of a run, one JSON event per line.

Every event has the UTC wall time (``at``), the monotonic offset from the start of the run in seconds
(``offset``), a ``kind`` named in the past tense, the ``actor`` (harness, a role, a probe, an alert
source) and ``details``. The report and the score are computed from this file alone, so a run's
folder can be re-rendered offline.

Event kinds written by the engine (details in brackets):
    run.started         [run_id, scenario, scenario_file, drill]  always the first event
    phase.changed       [phase]  preflight, steady_state, fault, recovery, evaluation, done
    steady_state.met    [rounds]
    steady_state.failed [reason]
    probe.checked       [probe, ok, status, latency_ms, error]
    fault.intended      [fault, kind, target, description]  journalled, not yet applied
    fault.injected      [fault, kind, target, description]
    fault.effective     [fault]  the harness saw the fault take effect
    fault.failed        [fault, error]
    fault.reverted      [fault, duration_s]
    revert.failed       [fault, error]
    observation.failed  [fault, phase, error]  a driver's optional observations(handle, phase) failed
    (drivers' own observation events, e.g. disk.usage, are documented in their modules)
    recovery.met        [after_s]
    recovery.failed     [after_s, waited_s]
    expectation.met / expectation.failed  [name, detail]
    run.aborted         [reason]
    run.finished        [outcome, exit_code]  always the last event
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gameday.clock import Clock, iso, parse_iso
from gameday.errors import JournalError


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
        raw = json.loads(line)
        return cls(at=raw["at"], offset=float(raw["offset"]), kind=raw["kind"], actor=raw.get("actor", "harness"),
                   details=raw.get("details") or {})

    @property
    def wall(self):  # type: ignore[no-untyped-def]
        return parse_iso(self.at)


Listener = Callable[[Event], None]


class Timeline:
    """Appends events to ``timeline.jsonl``, flushing each line, and tells listeners (the console view)."""

    def __init__(self, path: Path, clock: Clock, *, origin: float | None = None) -> None:
        self.path = path
        self.clock = clock
        self.origin = clock.monotonic() if origin is None else origin
        self.events: list[Event] = []
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._file = path.open("a", encoding="utf-8")
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


def read_timeline(path: Path) -> list[Event]:
    """Events of a saved timeline; a torn last line (a crash mid-write) is skipped."""
    events: list[Event] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise JournalError(f"no timeline at {path}", path=path) from None
    for line in lines:
        if not line.strip():
            continue
        try:
            events.append(Event.from_json(line))
        except (ValueError, KeyError):
            continue
    return events


def iter_kind(events: list[Event], *kinds: str) -> Iterator[Event]:
    return (e for e in events if e.kind in kinds)
