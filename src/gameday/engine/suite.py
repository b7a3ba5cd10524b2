"""Run several scenarios as a suite: one after another, or in parallel where their targets are disjoint.

Each scenario runs in its own `gameday run` process (its own signal handling, journal and watchdog),
so a Ctrl-C of the suite reaches every run and each reverts its own faults.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from gameday import events as ev
from gameday.clock import Clock, SystemClock
from gameday.engine.run import new_run_id
from gameday.errors import GamedayError, ScenarioErrors
from gameday.scenario.loader import load_scenario
from gameday.scenario.model import Scenario
from gameday.timeline import Event, read_timeline


@dataclass
class SuiteEntry:
    path: Path
    scenario: Scenario | None
    """None: the file is not a valid scenario; it is reported (exit 2, the problems in stderr), never run."""
    run_id: str
    run_dir: Path
    exit_code: int | None = None
    wall_s: float = 0.0
    events: list[Event] = field(default_factory=list)
    stderr: str = ""

    @property
    def name(self) -> str:
        return self.scenario.name if self.scenario is not None else self.path.stem

    @property
    def stack_name(self) -> str:
        return self.scenario.stack.name if self.scenario is not None else "invalid"

    @property
    def outcome(self) -> str:
        if self.scenario is None:
            return "invalid"
        finished = ev.last(self.events, ev.RUN_FINISHED)
        return str(finished.details.get("outcome")) if finished else "unfinished"

    @property
    def failed_expectations(self) -> list[Event]:
        return [e for e in self.events if e.kind == ev.EXPECTATION_FAILED]

    @property
    def passed(self) -> bool:
        return self.exit_code == 0


@dataclass
class SuiteResult:
    entries: list[SuiteEntry]
    wall_s: float
    jobs: int

    @property
    def serial_s(self) -> float:
        """What the suite would have taken one run after another (the sum of run times)."""
        return sum(e.wall_s for e in self.entries)

    @property
    def passed(self) -> bool:
        return all(e.passed for e in self.entries)


def target_keys(scenario: Scenario | None) -> set[str]:
    """What a scenario touches, so two scenarios that share anything never run at once."""
    keys: set[str] = set()
    if scenario is None:
        return keys
    for fault in scenario.faults:
        target = scenario.stack.targets.get(fault.target)
        keys.add(f"{scenario.stack.name}/{target.selector if target else fault.target}")
    return keys


def run_suite(paths: list[Path], *, reports_dir: Path, jobs: int = 1, clock: Clock | None = None,
              extra_args: list[str] | None = None) -> SuiteResult:
    """Run every valid scenario; an invalid file is an entry that failed to load (the others still run)."""
    clock = clock or SystemClock()
    entries = []
    for path in paths:
        try:
            scenario = load_scenario(path)
        except ScenarioErrors as exc:
            entries.append(_invalid(path, "\n".join(f"gameday: error: {line}" for line in exc.lines())))
            continue
        except GamedayError as exc:
            entries.append(_invalid(path, f"gameday: error: {exc}"))
            continue
        run_id = new_run_id(scenario, clock)
        entries.append(SuiteEntry(path, scenario, run_id, reports_dir / run_id))
    waiting = [e for e in entries if e.scenario is not None]
    running: list[tuple[SuiteEntry, subprocess.Popen[str], IO[str], float]] = []
    start = time.monotonic()
    while waiting or running:
        busy = set().union(*(target_keys(e.scenario) for e, _, _, _ in running)) if running else set()
        for entry in list(waiting):
            if len(running) >= max(1, jobs):
                break
            if target_keys(entry.scenario) & busy:
                continue
            # stderr goes to a file, not a pipe: a run that says a lot must not block on a pipe nobody reads yet.
            err: IO[str] = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")  # noqa: SIM115
            proc = subprocess.Popen(
                [sys.executable, "-m", "gameday", "run", str(entry.path), "--reports", str(reports_dir),
                 "--run-id", entry.run_id, "--quiet", *(extra_args or [])],
                stdout=subprocess.DEVNULL, stderr=err, text=True,
            )
            running.append((entry, proc, err, time.monotonic()))
            busy |= target_keys(entry.scenario)
            waiting.remove(entry)
        for item in list(running):
            entry, proc, output, began = item
            if proc.poll() is None:
                continue
            output.seek(0)  # the run's stderr file, closed (and so removed) once read
            entry.stderr = output.read()
            output.close()
            entry.exit_code = proc.returncode
            entry.wall_s = time.monotonic() - began
            timeline = entry.run_dir / "timeline.jsonl"
            entry.events = read_timeline(timeline) if timeline.is_file() else []
            running.remove(item)
        time.sleep(0.1)
    return SuiteResult(entries, time.monotonic() - start, jobs)


def _invalid(path: Path, stderr: str) -> SuiteEntry:
    return SuiteEntry(path, None, f"invalid-{path.stem}", path, exit_code=2, stderr=stderr)
