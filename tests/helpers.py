"""Helpers for tests that write scenarios and run the harness as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml


def write_scenario(path: Path, **overrides: Any) -> Path:
    path.write_text(yaml.safe_dump(overrides, sort_keys=False))
    return path


def stack_file(folder: Path, name: str, stack: dict[str, Any], allow: dict[str, list[str]]) -> str:
    """Writes ``folder/stacks/<name>.yaml`` with ``stack`` and its allowlist ``allow``; what a scenario's
    ``stack:`` says to use it. Proxies, paths, roles and users are approved only by a stack file (issue 14)."""
    (folder / "stacks").mkdir(parents=True, exist_ok=True)
    (folder / "stacks" / f"{name}.yaml").write_text(yaml.safe_dump({"version": 1, "name": name, **stack,
                                                                     "allow": allow}, sort_keys=False))
    return name


def web_scenario(
    tmp_path: Path,
    *,
    container: str,
    url: str,
    kind: str = "container_kill",
    duration: str = "2s",
    during_fault: str = "down",
    args: dict[str, Any] | None = None,
    name: str = "web-fault",
) -> Path:
    fault: dict[str, Any] = {"kind": kind, "target": "web", "duration": duration}
    if args:
        fault["args"] = args
    return write_scenario(
        tmp_path / f"{name}.yaml",
        version=1,
        name=name,
        stack={"targets": {"web": {"container": container}}},
        steady_state={"probes": [{"name": "web", "http": {"url": url, "timeout": "1s", "max_latency": "900ms"},
                                  "interval": "200ms"}]},
        faults=[fault],
        expect={"recovers_within": "20s", "probes": [{"probe": "web", "during_fault": during_fault}]},
    )


def harness_process(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gameday", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def run_harness(*args: str, cwd: Path, timeout: float = 120,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gameday", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, check=False)


def wait_for_event(reports: Path, kind: str, timeout: float = 120.0) -> dict[str, Any]:
    """Poll the newest run's timeline until an event of this kind appears. The deadline costs time only when the
    test fails: at load 140 a harness took over 30 s to reach fault.injected."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for timeline in reports.glob("*/timeline.jsonl"):
            for line in timeline.read_text().splitlines():
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event["kind"] == kind:
                    return event
        time.sleep(0.05)
    raise AssertionError(f"no {kind} event within {timeout}s")


def events(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "timeline.jsonl").read_text().splitlines() if line.strip()]


def only_run_dir(reports: Path) -> Path:
    """The one run folder in a reports folder (which also holds history.sqlite)."""
    runs = [p for p in reports.iterdir() if p.is_dir()]
    assert len(runs) == 1, runs
    return runs[0]


def first_run_dir(reports: Path) -> Path:
    """The first run folder in a reports folder (which also holds history.sqlite)."""
    return next(p for p in sorted(reports.iterdir()) if p.is_dir())
