"""``gameday demo``: the README's main command, end to end on the demo stack at its default ports.

The shipped scenario names the default ports and container names, so this test uses the default
stack (label ``gameday.stack=demo``). If the stack was not up before the session, ``gameday demo`` brings it up
from nothing (tests/demo_stack.py takes it down at the session's end).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gameday.stack.config import StackConfig
from gameday.stack.manager import DemoStack
from gameday.timeline import read_timeline
from tests.demo_stack import SessionDemoStack

# The demo stack at its default ports is one per machine: its tests take turns (tests/parallel.py).
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.xdist_group("demo-stack")]


def _wait_until_quiet(config: StackConfig, timeout: float = 120.0) -> None:
    """Alerts still firing from an earlier drill on the shared stack would not count for this one."""
    def quiet() -> bool:
        try:
            prometheus = httpx.get(config.url(config.prometheus_port, "/api/v1/alerts"), timeout=5, trust_env=False)
            alertmanager = httpx.get(config.url(config.alertmanager_port, "/api/v2/alerts"), timeout=5, trust_env=False)
            return not prometheus.json()["data"]["alerts"] and not alertmanager.json()
        except (httpx.HTTPError, ValueError, KeyError):
            return False

    deadline = time.monotonic() + timeout
    while not quiet():
        if time.monotonic() > deadline:
            pytest.fail(f"alerts from an earlier drill still fire on the demo stack after {timeout:.0f}s")
        time.sleep(1)


@pytest.fixture
def default_stack(default_demo_stack: SessionDemoStack) -> DemoStack:
    """The default stack, taken down first when the session brought it up: ``gameday demo`` brings it up from
    nothing, as on a first run, on a checkout no earlier module's faults ran against (on the shared one, checkout
    was slow for the first 30 s and DatabaseUnreachable fired before the drill's fault). A stack that was up before
    the session is someone's: it is used as it is, once its alerts are quiet."""
    if default_demo_stack.ours:
        default_demo_stack.stack.down()
    else:
        _wait_until_quiet(default_demo_stack.stack.config)
    return default_demo_stack.stack


def test_demo_brings_the_stack_up_runs_the_db_down_game_day_and_writes_the_report(
    default_stack: DemoStack, tmp_path: Path
) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GAMEDAY_DEMO_")}
    result = subprocess.run(
        [sys.executable, "-m", "gameday", "demo", "--reports", str(tmp_path)],
        env={**environ, "COLUMNS": "200"}, capture_output=True, text=True, timeout=480, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    # Docker's health checks lag checkout's own recovery by up to an interval (2 s).
    assert all(s.healthy for s in default_stack.wait_healthy(timeout=20))
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert "checkout-db-down" in run_dir.name
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    assert "**passed**" in report
    events = read_timeline(run_dir / "timeline.jsonl")
    kinds = [e.kind for e in events]
    assert kinds.count("fault.injected") == kinds.count("fault.reverted") == 1
    failed_during_fault = [e for e in events if e.kind == "probe.checked" and e.details.get("phase") == "fault"
                           and not e.details["ok"]]
    assert failed_during_fault, "the probe never saw the database outage"
    # The scripted team's game day: real alerts fired, the runbook's commands restored the database
    # before the harness reverted, and the all-clear ended the fault window.
    assert "alert.firing" in kinds and kinds.index("incident.acknowledged") < kinds.index("runbook.judged")
    judged = next(e for e in events if e.kind == "runbook.judged").details
    assert judged["restored"] is True and judged["restored_by"] == "runbook", judged
    assert kinds.index("incident.resolved") < kinds.index("fault.reverted")
    assert "review.recorded" in kinds
    # What customers felt: the drill runs load, so the report's impact counts failed requests in the window.
    assert kinds.count("load.started") == kinds.count("load.finished") == 1
    failed_under_load = [e for e in events if e.kind == "load.stats" and e.details.get("phase") == "fault"
                         and e.details.get("failures", 0) > 0]
    assert failed_under_load, "the load saw no failed request while PostgreSQL was down"
    assert re.search(r"Under load, \d+ of \d+ requests failed while the fault was live", report), report
    # The console shows the team's steps as they happen and ends with the scorecard.
    assert "oncall declared SEV2" in result.stdout and "runbook checkout-db-down restored service" in result.stdout
    assert "Scorecard: checkout-db-down-drill" in result.stdout and "Overall:" in result.stdout
    assert (run_dir / "scorecard.json").is_file() and (run_dir / "report.html").is_file()
    secrets = [line.split("=", 1)[1] for line in default_stack.config.env_file.read_text().splitlines()
               if "PASSWORD=" in line]
    written = result.stdout + result.stderr + "".join(p.read_text(errors="replace") for p in run_dir.iterdir()
                                                      if p.is_file())
    assert not [s for s in secrets if s in written], "a stack password leaked into the run's output"
