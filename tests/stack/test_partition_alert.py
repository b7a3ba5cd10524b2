"""checkout-db-partitioned, as shipped, on the test copy of the demo stack: the partition pages with
DatabaseUnreachable, its runbook restores service, and no rule is left.

The copy has other ports and names; the shipped scenario and runbooks run unchanged beside a stack file written
for it (the runbook reaches the copy through GAMEDAY_DEMO_STACK and GAMEDAY_DEMO_*_PORT).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gameday.stack.manager import DemoStack
from gameday.stack.quiet import wait_until_quiet
from gameday.stack.stackfile import demo_stack_file
from gameday.stack.state import read_env_file
from gameday.timeline import read_timeline

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_the_partition_pages_with_database_unreachable_and_its_runbook_restores_service(
    test_stack: DemoStack, stack_environ: dict[str, str], tmp_path: Path
) -> None:
    config = test_stack.config
    test_stack.up(timeout=300)
    # A fresh stack pages for its own start (checkout counted errors before PostgreSQL answered): the drill's
    # alerts must be the drill's, as in `gameday demo`.
    wait_until_quiet(config, timeout=300)
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "demo.yaml").write_text(demo_stack_file(config))
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    shutil.copytree(ROOT / "runbooks", tmp_path / "runbooks")
    env = {**stack_environ, **read_env_file(config.env_file), "COLUMNS": "200"}
    reports = tmp_path / "reports"
    done = subprocess.run([sys.executable, "-m", "gameday", "run", "scenarios/checkout-db-partitioned.yaml",
                           "--reports", str(reports)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=420, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    (run_dir,) = [p for p in reports.iterdir() if p.is_dir()]
    events = read_timeline(run_dir / "timeline.jsonl")
    effective = next(e.offset for e in events if e.kind == "fault.effective")
    fired = [e.offset for e in events if e.kind == "alert.firing" and e.details["alertname"] == "DatabaseUnreachable"]
    assert fired and effective < fired[0] <= effective + 45, (effective, fired)
    judged = next(e for e in events if e.kind == "runbook.judged").details
    assert judged["restored"] is True and judged["restored_by"] == "runbook", judged
    rules = subprocess.run(["iptables", "-w", "10", "-S"], check=True, capture_output=True, text=True).stdout
    assert f"port {config.postgres_proxy_port} " not in rules
    assert all(s.healthy for s in test_stack.wait_healthy(timeout=30))

