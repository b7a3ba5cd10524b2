"""pod_delete and scale through the whole harness, against the local cluster: validate, plan (the exact pods
and what revert does), run (journalled, effective, observed, reverted), and a harness killed mid-fault whose
fault `gameday cleanup` reverts from the journal alone."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client

from gameday.cluster.manager import LocalCluster
from gameday.kubernetes.selection import SelectionArgs, select
from tests.helpers import events, first_run_dir, harness_process, run_harness, wait_for_event
from tests.kubernetes.helpers import (
    ALLOWED,
    kubernetes_stack,
    make_deployment,
    pod_names,
    replicas_of,
    wait_for,
)

pytestmark = [pytest.mark.kubernetes, pytest.mark.slow]


def scenario(tmp_path: Path, cluster: LocalCluster, namespace: str, fault: dict[str, Any]) -> Path:
    kubernetes_stack(tmp_path / "stacks" / "shop.yaml", cluster, allow=f"[{namespace}/web]",
                     targets=f"  web: {{platform: kubernetes, namespace: {namespace}, kind: Deployment, name: web}}")
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "name": "web-pods", "stack": "shop",
                                    "faults": [{"target": "web", **fault}]}, sort_keys=False))
    return path


def test_validate_and_plan_list_the_exact_pods_and_what_revert_does(
        kube: Client, local_cluster: LocalCluster, namespace: str, tmp_path: Path) -> None:
    make_deployment(kube, namespace, "web", replicas=5, labels=ALLOWED)
    path = scenario(tmp_path, local_cluster, namespace,
                    {"kind": "pod_delete", "duration": "5s", "args": {"count": 2, "seed": 11}})
    out = run_harness("validate", str(path), cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    out = run_harness("plan", str(path), cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    expected = select(pod_names(kube, namespace, {"app": "web"}), SelectionArgs(count=2, seed=11))
    said = f"delete pods {', '.join(expected)} of Deployment {namespace}/web (chosen: 2 of 5 pods, seed 11; grace period"
    assert said + ": each pod's own)" in out.stdout, out.stdout
    assert f"Deployment {namespace}/web replaces the deleted pods" in out.stdout
    assert set(expected) <= set(pod_names(kube, namespace, {"app": "web"}))  # plan changed nothing


def test_a_run_deletes_the_pods_records_them_replaced_and_passes(
        kube: Client, local_cluster: LocalCluster, namespace: str, tmp_path: Path) -> None:
    make_deployment(kube, namespace, "web", replicas=3, labels=ALLOWED)
    before = pod_names(kube, namespace, {"app": "web"})
    path = scenario(tmp_path, local_cluster, namespace,
                    {"kind": "pod_delete", "duration": "1s", "args": {"percent": 50, "grace_period": 0}})
    out = run_harness("run", str(path), "--reports", str(tmp_path / "reports"), cwd=tmp_path, timeout=180)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    run = events(first_run_dir(tmp_path / "reports"))
    kinds = [e["kind"] for e in run]
    for kind in ("fault.intended", "fault.injected", "fault.effective", "fault.reverted"):
        assert kind in kinds, kinds
    workload = {e["details"]["phase"]: e["details"] for e in run if e["kind"] == "kubernetes.workload"}
    assert set(workload) == {"during", "after"}
    deleted = workload["during"]["deleted"]
    assert len(deleted) == 2 and set(deleted) <= set(before)
    assert workload["after"]["recovered"] is True and workload["after"]["ready"] == 3
    assert not set(deleted) & set(pod_names(kube, namespace, {"app": "web"}))


def test_a_run_outside_the_allowlist_is_refused_before_anything_is_touched(
        kube: Client, local_cluster: LocalCluster, namespace: str, tmp_path: Path) -> None:
    make_deployment(kube, namespace, "web", replicas=2)  # no label: refused at run time
    before = pod_names(kube, namespace, {"app": "web"})
    path = scenario(tmp_path, local_cluster, namespace, {"kind": "pod_delete", "duration": "1s"})
    out = run_harness("run", str(path), "--reports", str(tmp_path / "reports"), cwd=tmp_path, timeout=120)
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"Deployment {namespace}/web (target 'web') is not allowed as a fault target" in out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    assert pod_names(kube, namespace, {"app": "web"}) == before


def test_a_harness_killed_mid_scale_is_reverted_by_cleanup_from_the_journal(
        kube: Client, local_cluster: LocalCluster, namespace: str, tmp_path: Path) -> None:
    make_deployment(kube, namespace, "web", replicas=3, labels=ALLOWED)
    path = scenario(tmp_path, local_cluster, namespace, {"kind": "scale", "duration": "120s", "args": {"replicas": 0}})
    reports = tmp_path / "reports"
    proc = harness_process("run", str(path), "--reports", str(reports), cwd=tmp_path)
    try:
        wait_for_event(reports, "fault.injected", timeout=120)
        for event in events(first_run_dir(reports)):  # the watchdog too: only `gameday cleanup` is left
            if event["kind"] == "watchdog.started":
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(event["details"]["pid"]), signal.SIGKILL)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
    assert replicas_of(kube, namespace, "web") == 0
    out = run_harness("cleanup", "--reports", str(reports), cwd=tmp_path, timeout=120)
    assert out.returncode == 0 and "reverted" in out.stdout, out.stdout + out.stderr
    assert replicas_of(kube, namespace, "web") == 3
    wait_for("three pods again", lambda: len(pod_names(kube, namespace, {"app": "web"})) == 3)
    again = run_harness("cleanup", "--reports", str(reports), cwd=tmp_path, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
