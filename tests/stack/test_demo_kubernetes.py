"""``gameday demo --platform kubernetes``: the README's Kubernetes command, end to end on the session's cluster with
a real node: the stack comes up as pods, PostgreSQL's StatefulSet is scaled to 0 (its pod deleted on the node),
the alerts fire through Alertmanager, the scripted team's runbook (the built kubectl) scales it back, and the
report and scorecard are written.

The demo runs in a copy of the shipped scenario and runbook whose stack file is written by ``gameday stack file
--platform kubernetes`` for this stack (the session cluster's kubeconfig, ports of its own), so it never touches
a demo stack on the default ports (Docker's may be up). The stack is named ``demo``, as the runbook's namespace
says; the namespace is the session cluster's own."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gameday.cluster.manager import LocalCluster
from gameday.stack.config import StackConfig
from gameday.stack.kubernetes_stack import KubernetesStack
from gameday.testing import free_ports
from gameday.timeline import read_timeline
from tests.stack.conftest import PORT_VARS

pytestmark = [pytest.mark.kubernetes, pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = "checkout-db-down-drill-kubernetes"


def gameday(environ: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gameday", *args], env={**environ, "COLUMNS": "200"}, cwd=cwd,
                          capture_output=True, text=True, timeout=600, check=False)


def test_demo_on_kubernetes_brings_the_stack_up_runs_the_drill_and_writes_the_report(
        real_node_cluster: LocalCluster, demo_images: list[str], tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GAMEDAY_DEMO_", "GAMEDAY_CLUSTER_"))}
    environ["GAMEDAY_STATE_DIR"] = str(real_node_cluster.config.state_dir.parent)
    environ |= {f"GAMEDAY_DEMO_{var}_PORT": str(port)
                for var, port in zip(PORT_VARS, free_ports(len(PORT_VARS)), strict=True)}
    for sub, name in (("scenarios", f"{SCENARIO}.yaml"), ("runbooks", "checkout-db-down-kubernetes.md"),
                      ("runbooks", "database-unreachable.md"), ("loadtests", "checkout.py")):
        (tmp_path / sub).mkdir(exist_ok=True)
        shutil.copy(ROOT / sub / name, tmp_path / sub / name)
    (tmp_path / "stacks").mkdir()
    written = gameday(environ, "stack", "file", "--platform", "kubernetes", "-o", "stacks/demo-kubernetes.yaml",
                      cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    stack = KubernetesStack(StackConfig.from_env(environ), real_node_cluster)
    try:
        result = gameday(environ, "demo", "--platform", "kubernetes", "--scenario", f"scenarios/{SCENARIO}.yaml",
                         "--reports", "reports", cwd=tmp_path)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        assert all(s.healthy for s in stack.status())
        (run_dir,) = [p for p in (tmp_path / "reports").iterdir() if p.is_dir()]
        report = (run_dir / "report.md").read_text(encoding="utf-8")
        assert "**passed**" in report
        events = read_timeline(run_dir / "timeline.jsonl")
        kinds = [e.kind for e in events]
        assert kinds.count("fault.injected") == kinds.count("fault.reverted") == 1
        assert "fault.effective" in kinds  # the scale's check read the StatefulSet with no pod left
        assert [e for e in events if e.kind == "probe.checked" and e.details.get("phase") == "fault"
                and not e.details["ok"]], "the probe never saw the database outage"
        # Real alerts fired through Alertmanager; the runbook's kubectl brought PostgreSQL back before the
        # harness reverted; the all-clear ended the fault window.
        fired = {e.details["alertname"] for e in events if e.kind == "alert.firing"}
        assert {"DatabaseUnreachable", "CheckoutErrorRateHigh"} <= fired, fired
        assert kinds.index("incident.acknowledged") < kinds.index("runbook.judged")
        steps = [(e.details["step"], e.details["outcome"]) for e in events
                 if e.kind == "runbook.step" and e.details.get("section") == "steps"]
        assert steps == [(1, "done"), (2, "done"), (3, "done"), (4, "done")], steps
        judged = next(e for e in events if e.kind == "runbook.judged").details
        assert judged["restored"] is True and judged["restored_by"] == "runbook", judged
        assert kinds.index("incident.resolved") < kinds.index("fault.reverted")
        assert "review.recorded" in kinds
        assert [e for e in events if e.kind == "load.stats" and e.details.get("phase") == "fault"
                and e.details.get("failures", 0) > 0], "the load saw no failed request while PostgreSQL was down"
        assert re.search(r"Under load, \d+ of \d+ requests failed while the fault was live", report), report
        assert "oncall declared SEV2" in result.stdout and "runbook checkout-db-down-kubernetes restored service" \
            in result.stdout
        assert f"Scorecard: {SCENARIO}" in result.stdout and "Overall:" in result.stdout
        assert (run_dir / "scorecard.json").is_file() and (run_dir / "report.html").is_file()
    finally:
        with contextlib.suppress(Exception):
            stack.down()
