"""Run several scenarios as a suite: one after another, or in parallel where their targets are disjoint.

Each scenario runs in its own `gameday run` process (its own signal handling, journal and watchdog),
so a Ctrl-C of the suite reaches every run and each reverts its own faults.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from gameday.clock import Clock, SystemClock
from gameday.engine.run import new_run_id
from gameday.scenario.loader import load_scenario
from gameday.scenario.model import Scenario
from gameday.timeline import Event, read_timeline


@dataclass
class SuiteEntry:
    path: Path
    scenario: Scenario
    run_id: str
    run_dir: Path
    exit_code: int | None = None
    wall_s: float = 0.0
    events: list[Event] = field(default_factory=list)
    stderr: str = ""

    @property
    def outcome(self) -> str:
        finished = next((e for e in reversed(self.events) if e.kind == "run.finished"), None)
        return str(finished.details.get("outcome")) if finished else "unfinished"

    @property
    def failed_expectations(self) -> list[Event]:
        return [e for e in self.events if e.kind == "expectation.failed"]

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


def target_keys(scenario: Scenario) -> set[str]:
    """What a scenario touches, so two scenarios that share anything never run at once."""
    keys = set()
    for fault in scenario.faults:
        target = scenario.stack.targets.get(fault.target)
        keys.add(f"{scenario.stack.name}/{target.selector if target else fault.target}")
    return keys


def run_suite(paths: list[Path], *, reports_dir: Path, jobs: int = 1, clock: Clock | None = None,
              extra_args: list[str] | None = None) -> SuiteResult:
    clock = clock or SystemClock()
    entries = []
    for path in paths:
        scenario = load_scenario(path)
        run_id = new_run_id(scenario, clock)
        entries.append(SuiteEntry(path, scenario, run_id, reports_dir / run_id))
    waiting = list(entries)
    running: list[tuple[SuiteEntry, subprocess.Popen[str], float]] = []
    start = time.monotonic()
    while waiting or running:
        busy = set().union(*(target_keys(e.scenario) for e, _, _ in running)) if running else set()
        for entry in list(waiting):
            if len(running) >= max(1, jobs):
                break
            if target_keys(entry.scenario) & busy:
                continue
            proc = subprocess.Popen(
                [sys.executable, "-m", "gameday", "run", str(entry.path), "--reports", str(reports_dir),
                 "--run-id", entry.run_id, "--quiet", *(extra_args or [])],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )
            running.append((entry, proc, time.monotonic()))
            busy |= target_keys(entry.scenario)
            waiting.remove(entry)
        for item in list(running):
            entry, proc, began = item
            if proc.poll() is None:
                continue
            entry.stderr = proc.stderr.read() if proc.stderr else ""
            if proc.stderr:
                proc.stderr.close()
            entry.exit_code = proc.returncode
            entry.wall_s = time.monotonic() - began
            timeline = entry.run_dir / "timeline.jsonl"
            entry.events = read_timeline(timeline) if timeline.is_file() else []
            running.remove(item)
        time.sleep(0.1)
    return SuiteResult(entries, time.monotonic() - start, jobs)
