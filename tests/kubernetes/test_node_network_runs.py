"""node_drain and network_isolate through the harness, as a team runs them: plan says what revert puts back and
whether NetworkPolicy is enforced, a run journals, injects and reverts, and when the harness is SIGKILLed the
watchdog (or `gameday cleanup`) puts the cluster back from the journal alone."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.core_v1 import Node
from lightkube.resources.networking_v1 import NetworkPolicy

from tests.helpers import (
    harness_process,
    only_run_dir,
    run_harness,
    stack_file,
    wait_for_event,
    write_scenario,
)
from tests.kubernetes.kit import NodePool, deployment, running_pods, wait_until
from tests.kubernetes.test_node_faults import budget

pytestmark = [pytest.mark.kubernetes, pytest.mark.slow]


def unschedulable(client: Client, name: str) -> bool:
    node = client.get(Node, name)
    return bool(node.spec and node.spec.unschedulable)


def scenario(tmp_path: Path, cluster: Any, *, targets: dict[str, Any], allow: list[str], fault: dict[str, Any],
             settings: dict[str, Any] | None = None) -> Path:
    stack_file(tmp_path, "k", {"targets": targets, "platforms": {"kubernetes": {
        "kubeconfig": str(cluster.config.kubeconfig), **(settings or {})}}}, {"kubernetes": allow})
    return write_scenario(tmp_path / "drill.yaml", version=1, name="k8s-drill", stack="k", faults=[fault])


def env(tmp_path: Path) -> dict[str, str]:
    """A state folder of the test's own: `gameday cleanup` must see this run's journal only."""
    return {"GAMEDAY_STATE_DIR": str(tmp_path / "state")}


def test_a_drain_run_plans_injects_and_reverts_and_says_so(tmp_path: Path, local_cluster, kube: Client,
                                                           node_pool: NodePool, namespace: str) -> None:
    nodes = node_pool.add(2)
    deployment(kube, namespace, "web", replicas=2, pool=node_pool)
    wait_until("2 web pods running", lambda: len(running_pods(kube, namespace, {"app": "web"})) == 2)
    path = scenario(tmp_path, local_cluster, targets={"pool": {"platform": "kubernetes", "kind": "Node",
                                                               "match_labels": {"pool": node_pool.pool}}},
                    allow=[f"kn-{node_pool.pool}-*"],
                    fault={"kind": "node_drain", "target": "pool", "duration": "3s",
                           "args": {"count": 1, "timeout": "2s"}})

    plan = run_harness("plan", str(path), cwd=tmp_path, env=env(tmp_path))
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "their controllers recreate them" in plan.stdout

    done = run_harness("run", str(path), "--reports", "reports", cwd=tmp_path, env=env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = only_run_dir(tmp_path / "reports")
    intent = next(json.loads(line) for line in (run_dir / "journal.jsonl").read_text().splitlines()
                  if json.loads(line)["op"] == "intent")
    assert intent["handle"]["run_id"] == run_dir.name
    (drained,) = intent["handle"]["data"]["cordon"]  # count: 1 of the pool, chosen by seed as plan chose it
    (spare,) = set(nodes) - {drained}
    assert f"cordon node {drained}," in plan.stdout
    kinds = [json.loads(line)["kind"] for line in (run_dir / "timeline.jsonl").read_text().splitlines()]
    assert "fault.effective" in kinds and "fault.reverted" in kinds
    assert not unschedulable(kube, drained) and not unschedulable(kube, spare)
    wait_until("both web pods on the spare node",
               lambda: {p.spec.nodeName for p in running_pods(kube, namespace, {"app": "web"}) if p.spec} == {spare})


def test_every_node_a_label_selector_finds_must_be_in_the_allowlist(tmp_path: Path, local_cluster,
                                                                    node_pool: NodePool) -> None:
    listed, unlisted = node_pool.add(2)
    path = scenario(tmp_path, local_cluster, targets={"pool": {"platform": "kubernetes", "kind": "Node",
                                                               "match_labels": {"pool": node_pool.pool}}},
                    allow=[listed], fault={"kind": "node_cordon", "target": "pool", "duration": "3s"})
    plan = run_harness("plan", str(path), cwd=tmp_path, env=env(tmp_path))
    assert plan.returncode == 2
    assert f"{unlisted} (target 'pool') is not in stack 'k''s allowlist" in plan.stdout


def test_watchdog_uncordons_after_the_harness_is_sigkilled(tmp_path: Path, local_cluster, kube: Client,
                                                           node_pool: NodePool) -> None:
    (node,) = node_pool.add(1)
    path = scenario(tmp_path, local_cluster, targets={"one": {"platform": "kubernetes", "kind": "Node", "name": node}},
                    allow=[node], fault={"kind": "node_cordon", "target": "one", "duration": "120s"})
    proc = harness_process("run", str(path), "--reports", "reports", cwd=tmp_path, env=env(tmp_path))
    try:
        wait_for_event(tmp_path / "reports", "fault.injected", timeout=60)
        assert unschedulable(kube, node)
    finally:
        proc.kill()  # the harness only: its watchdog, in its own session, sees it gone and reverts
        proc.communicate(timeout=10)
    wait_until("the watchdog's uncordon", lambda: not unschedulable(kube, node))
    # The watchdog writes its journal line after the uncordon it records: wait for it rather than race it.
    wait_until("the journal's reverted-by-watchdog line",
               lambda: '"by": "watchdog"' in (only_run_dir(tmp_path / "reports") / "journal.jsonl").read_text())


def test_cleanup_deletes_the_policy_when_harness_and_watchdog_are_both_killed(tmp_path: Path, local_cluster,
                                                                              kube: Client, node_pool: NodePool,
                                                                              namespace: str) -> None:
    node_pool.add(1)
    deployment(kube, namespace, "web", replicas=1, pool=node_pool)
    path = scenario(tmp_path, local_cluster,
                    targets={"web": {"platform": "kubernetes", "namespace": namespace, "kind": "Deployment",
                                     "name": "web"}},
                    allow=[f"{namespace}/web"], fault={"kind": "network_isolate", "target": "web", "duration": "120s"})
    plan = run_harness("plan", str(path), cwd=tmp_path, env=env(tmp_path))
    assert "not enforced here: the policy is created but traffic is not blocked" in plan.stdout
    assert "delete NetworkPolicy" in plan.stdout

    proc = harness_process("run", str(path), "--reports", "reports", cwd=tmp_path, env=env(tmp_path))
    try:
        wait_for_event(tmp_path / "reports", "fault.injected", timeout=60)
        assert list(kube.list(NetworkPolicy, namespace=namespace))
        # The watchdog first (the run records its pid), then the harness: a crash of both.
        os.kill(wait_for_event(tmp_path / "reports", "watchdog.started")["details"]["pid"], signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=10)
    assert list(kube.list(NetworkPolicy, namespace=namespace)), "the fault outlived the harness, as after a crash"
    done = run_harness("cleanup", "--reports", "reports", cwd=tmp_path, env=env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    wait_until("no NetworkPolicy left", lambda: not list(kube.list(NetworkPolicy, namespace=namespace)))


def test_the_report_of_an_isolate_run_says_the_policy_was_not_enforced_here(tmp_path: Path, local_cluster,
                                                                           kube: Client, node_pool: NodePool,
                                                                           namespace: str) -> None:
    node_pool.add(1)
    deployment(kube, namespace, "web", replicas=1, pool=node_pool)
    path = scenario(tmp_path, local_cluster,
                    targets={"web": {"platform": "kubernetes", "namespace": namespace, "kind": "Deployment",
                                     "name": "web"}},
                    allow=[f"{namespace}/web"],
                    fault={"kind": "network_isolate", "target": "web", "duration": "2s", "args": {"direction": "egress"}})
    done = run_harness("run", str(path), "--reports", "reports", cwd=tmp_path, env=env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    report = (only_run_dir(tmp_path / "reports") / "report.md").read_text()
    assert "deny all egress of the pods app=web" in report
    assert "not enforced here: the policy is created but traffic is not blocked" in report
    assert not list(kube.list(NetworkPolicy, namespace=namespace))


def test_a_drain_a_budget_blocks_fails_the_run_naming_the_pods_and_the_node_is_uncordoned(
        tmp_path: Path, local_cluster, kube: Client, node_pool: NodePool, namespace: str) -> None:
    (node,) = node_pool.add(1)
    deployment(kube, namespace, "web", replicas=2, pool=node_pool)
    wait_until("2 web pods running", lambda: len(running_pods(kube, namespace, {"app": "web"})) == 2)
    budget(kube, namespace, {"app": "web"}, max_unavailable=0)
    path = scenario(tmp_path, local_cluster, targets={"one": {"platform": "kubernetes", "kind": "Node", "name": node}},
                    allow=[node], fault={"kind": "node_drain", "target": "one", "duration": "10s",
                                         "args": {"timeout": "2s"}})
    done = run_harness("run", str(path), "--reports", "reports", cwd=tmp_path, env=env(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "node_drain could not evict 2 pod(s) within 2s" in done.stdout + done.stderr
    assert "disruption budget" in done.stdout + done.stderr
    assert not unschedulable(kube, node)
    kinds = [json.loads(line)["kind"] for line in
             (only_run_dir(tmp_path / "reports") / "timeline.jsonl").read_text().splitlines()]
    assert "fault.failed" in kinds and "fault.reverted" in kinds
