"""node_cordon and node_drain on the real local cluster: revert uncordons only what the fault cordoned, drains
honour PodDisruptionBudgets, and a fresh process reverts from the journalled handle alone."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from typing import Any

import pytest
from lightkube import Client
from lightkube.models.apps_v1 import DaemonSetSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.models.policy_v1 import PodDisruptionBudgetSpec
from lightkube.resources.apps_v1 import DaemonSet
from lightkube.resources.core_v1 import Node, Pod
from lightkube.resources.policy_v1 import PodDisruptionBudget
from lightkube.types import PatchType

from gameday.errors import FaultError, TargetError
from gameday.faults.base import FaultRegistry
from gameday.handle import FaultHandle
from gameday.kubernetes.faults.nodes import CORDONED_BY, NodeCordon, NodeDrain, classify
from tests.kubernetes.kit import (
    NodePool,
    deployment,
    fault,
    pods_by_node,
    running_pods,
    stack_for,
    wait_until,
)

pytestmark = [pytest.mark.kubernetes, pytest.mark.slow]


def stamped(handle: FaultHandle, run_id: str = "20261203T131500Z-nodes-ab12", fault_id: str = "f0") -> FaultHandle:
    """The handle as the engine journals it: with its run and fault."""
    return replace(handle, run_id=run_id, fault_id=fault_id)


def revert_in_a_fresh_process(handle: FaultHandle) -> None:
    """What the watchdog and `gameday cleanup` do after a crash: a new process, the journalled JSON, the registry."""
    code = ("import json, sys; from gameday.faults.base import FaultRegistry; from gameday.handle import FaultHandle; "
            "h = FaultHandle.from_json(json.load(sys.stdin)); FaultRegistry().create(h.kind).revert(h)")
    subprocess.run([sys.executable, "-c", code], input=json.dumps(handle.to_json()), text=True, check=True,
                   timeout=120)


def unschedulable(client: Client, name: str) -> bool:
    node = client.get(Node, name)
    return bool(node.spec and node.spec.unschedulable)


def mark_on(client: Client, name: str) -> str | None:
    node = client.get(Node, name)
    return ((node.metadata.annotations or {}) if node.metadata else {}).get(CORDONED_BY)


def cordon_as_somebody_else(client: Client, name: str, value: bool | None = True) -> None:
    """kubectl cordon / uncordon: a patch of spec.unschedulable by another field manager."""
    client.patch(Node, name, {"spec": {"unschedulable": value}}, patch_type=PatchType.MERGE, field_manager="kubectl")


def test_cordon_marks_the_nodes_and_a_fresh_process_uncordons_only_those(local_cluster, kube, node_pool) -> None:
    first, second, before = node_pool.add(3)
    cordon_as_somebody_else(kube, before)
    stack = stack_for(local_cluster, pool={"kind": "Node", "match_labels": {"pool": node_pool.pool}})
    driver = NodeCordon()
    handle = stamped(driver.prepare(fault("node_cordon", "pool"), stack))
    assert handle.data["cordon"] == [first, second]
    assert handle.address["nodes"] == [first, second, before]
    assert handle.labels is not None and handle.labels["gameday.allowed"] == "true"
    assert f"{before} cordoned already" in handle.description
    assert not driver.check(handle)

    driver.inject(handle)
    assert driver.check(handle)
    assert [unschedulable(kube, n) for n in (first, second, before)] == [True, True, True]
    assert mark_on(kube, first) == f"20261203T131500Z-nodes-ab12/f0/{handle.data['token']}"
    assert mark_on(kube, before) is None

    revert_in_a_fresh_process(handle)
    assert [unschedulable(kube, n) for n in (first, second, before)] == [False, False, True]
    assert mark_on(kube, first) is None and mark_on(kube, second) is None
    revert_in_a_fresh_process(handle)  # cleanup may run it again: nothing changes
    assert [unschedulable(kube, n) for n in (first, second, before)] == [False, False, True]


def test_a_node_somebody_cordons_again_during_the_fault_keeps_their_cordon(local_cluster, kube, node_pool) -> None:
    first, second = node_pool.add(2)
    stack = stack_for(local_cluster, pool={"kind": "Node", "match_labels": {"pool": node_pool.pool}})
    driver = NodeCordon()
    handle = stamped(driver.prepare(fault("node_cordon", "pool"), stack))
    driver.inject(handle)
    cordon_as_somebody_else(kube, first, None)  # kubectl uncordon, then kubectl cordon: now it is theirs
    cordon_as_somebody_else(kube, first, True)

    driver.revert(handle)
    assert unschedulable(kube, first) and mark_on(kube, first) is None
    assert not unschedulable(kube, second)


def test_a_node_cordoned_between_prepare_and_inject_is_left_to_whoever_cordoned_it(local_cluster, kube,
                                                                                   node_pool) -> None:
    (node,) = node_pool.add(1)
    driver = NodeCordon()
    handle = stamped(driver.prepare(fault("node_cordon", "one"), stack_for(local_cluster, one={"kind": "Node",
                                                                                               "name": node})))
    cordon_as_somebody_else(kube, node)
    driver.inject(handle)
    assert mark_on(kube, node) is None
    driver.revert(handle)
    assert unschedulable(kube, node)


def test_two_runs_on_one_node_each_revert_only_their_own_cordon(local_cluster, kube, node_pool) -> None:
    (node,) = node_pool.add(1)
    stack = stack_for(local_cluster, one={"kind": "Node", "name": node})
    driver = NodeCordon()
    first = stamped(driver.prepare(fault("node_cordon", "one"), stack), run_id="run-a")
    driver.inject(first)
    kube.patch(Node, node, {"spec": {"unschedulable": None}}, patch_type=PatchType.MERGE, field_manager="kubectl")
    second = stamped(driver.prepare(fault("node_cordon", "one"), stack), run_id="run-b")
    driver.inject(second)
    assert mark_on(kube, node) == f"run-b/f0/{second.data['token']}"
    driver.revert(first)  # not its mark any more: run b's cordon stays
    assert unschedulable(kube, node)
    driver.revert(second)
    assert not unschedulable(kube, node)


def test_a_target_whose_nodes_are_all_cordoned_already_is_refused_at_prepare(local_cluster, kube, node_pool) -> None:
    (node,) = node_pool.add(1)
    cordon_as_somebody_else(kube, node)
    with pytest.raises(TargetError, match=r"cordoned already .*nothing to break"):
        NodeCordon().prepare(fault("node_cordon", "one"), stack_for(local_cluster, one={"kind": "Node", "name": node}))


def test_a_selector_no_node_matches_is_refused_at_prepare(local_cluster) -> None:
    stack = stack_for(local_cluster, none={"kind": "Node", "match_labels": {"pool": "no-such-pool"}})
    with pytest.raises(TargetError, match="no node matches pool=no-such-pool"):
        NodeCordon().prepare(fault("node_cordon", "none"), stack)


# --- drain ----------------------------------------------------------------------------------------


def daemonset(client: Client, namespace: str, pool: NodePool) -> None:
    labels = {"app": "agent"}
    client.create(DaemonSet(
        metadata=ObjectMeta(name="agent", namespace=namespace),
        spec=DaemonSetSpec(selector=LabelSelector(matchLabels=labels), template=PodTemplateSpec(
            metadata=ObjectMeta(labels=labels),
            spec=PodSpec(containers=[Container(name="agent", image="fake")], nodeSelector={"pool": pool.pool},
                         tolerations=[pool.toleration])))))


def budget(client: Client, namespace: str, labels: dict[str, str], *, max_unavailable: int) -> None:
    client.create(PodDisruptionBudget(
        metadata=ObjectMeta(name="web", namespace=namespace),
        spec=PodDisruptionBudgetSpec(maxUnavailable=max_unavailable, selector=LabelSelector(matchLabels=labels))))


def test_drain_evicts_through_a_budget_one_at_a_time_and_leaves_daemonset_pods(local_cluster, kube, node_pool,
                                                                                namespace) -> None:
    """A budget allowing one pod down at a time: each eviction past the first is refused (429) until the
    replacement is ready on the other node, and retried until it passes."""
    (drained,) = node_pool.add(1)
    web = {"app": "web"}
    deployment(kube, namespace, "web", replicas=3, pool=node_pool)
    daemonset(kube, namespace, node_pool)
    wait_until("3 web pods running", lambda: len(running_pods(kube, namespace, web)) == 3)
    wait_until("the agent pod running", lambda: running_pods(kube, namespace, {"app": "agent"}))
    budget(kube, namespace, web, max_unavailable=1)
    (spare,) = node_pool.add(1)
    wait_until("the agent pod on the new node", lambda: len(running_pods(kube, namespace, {"app": "agent"})) == 2)

    driver = NodeDrain()
    stack = stack_for(local_cluster, node={"kind": "Node", "name": drained})
    handle = stamped(driver.prepare(fault("node_drain", "node", duration="120s", timeout="60s"), stack))
    assert len(handle.data["evict"]) == 3 and list(handle.data["skip"].values()) == ["DaemonSet"]
    assert "evict 3 pod(s)" in handle.description and "1 left in place" in handle.description
    assert "their controllers recreate them" in driver.describe_revert(handle)

    driver.inject(handle)
    assert wait_until("the drain in effect", lambda: driver.check(handle))
    wait_until("3 web pods on the spare node", lambda: pods_by_node(kube, namespace, web) == {spare: 3})
    agents = {p.spec.nodeName for p in running_pods(kube, namespace, {"app": "agent"}) if p.spec}
    assert agents == {drained, spare}  # the DaemonSet's pod stayed

    revert_in_a_fresh_process(handle)
    assert not unschedulable(kube, drained) and mark_on(kube, drained) is None


def test_a_budget_that_allows_no_eviction_fails_the_drain_naming_the_pods_and_revert_uncordons(
        local_cluster, kube, node_pool, namespace) -> None:
    (drained,) = node_pool.add(1)
    web = {"app": "web"}
    deployment(kube, namespace, "web", replicas=2, pool=node_pool)
    wait_until("2 web pods running", lambda: len(running_pods(kube, namespace, web)) == 2)
    budget(kube, namespace, web, max_unavailable=0)

    driver = NodeDrain()
    stack = stack_for(local_cluster, node={"kind": "Node", "name": drained})
    handle = stamped(driver.prepare(fault("node_drain", "node", duration="60s", timeout="3s"), stack))
    with pytest.raises(FaultError, match="could not evict 2 pod\\(s\\) within 3s") as caught:
        driver.inject(handle)
    for pod in running_pods(kube, namespace, web):
        assert f"{namespace}/{pod.metadata.name}: " in str(caught.value)  # type: ignore[union-attr]
    assert "disruption budget" in str(caught.value)
    assert len(running_pods(kube, namespace, web)) == 2 and unschedulable(kube, drained)

    driver.revert(handle)
    assert not unschedulable(kube, drained)


def test_drain_refuses_pods_no_controller_manages_unless_forced(local_cluster, kube, node_pool, namespace) -> None:
    (node,) = node_pool.add(1)
    kube.create(Pod(metadata=ObjectMeta(name="lonely", namespace=namespace),
                    spec=PodSpec(containers=[Container(name="app", image="fake")], nodeName=node,
                                 tolerations=[node_pool.toleration])))
    wait_until("the lonely pod running", lambda: running_pods(kube, namespace, {}))
    stack = stack_for(local_cluster, node={"kind": "Node", "name": node})
    with pytest.raises(TargetError, match=f"delete for good 1 pod\\(s\\) no controller manages \\({namespace}/lonely\\)"):
        NodeDrain().prepare(fault("node_drain", "node", timeout="10s"), stack)

    driver = NodeDrain()
    handle = stamped(driver.prepare(fault("node_drain", "node", timeout="10s", force=True), stack))
    driver.inject(handle)
    wait_until("the lonely pod gone", lambda: not running_pods(kube, namespace, {}))
    driver.revert(handle)


def test_a_drain_timeout_as_long_as_the_fault_is_refused(local_cluster, node_pool) -> None:
    (node,) = node_pool.add(1)
    stack = stack_for(local_cluster, node={"kind": "Node", "name": node})
    with pytest.raises(TargetError, match="timeout \\(60s\\) must be shorter than the fault's duration \\(30s\\)"):
        NodeDrain().prepare(fault("node_drain", "node", duration="30s", timeout="60s"), stack)


def test_mirror_and_daemonset_pods_are_left_as_kubectl_drain_leaves_them() -> None:
    def pod(**meta: object) -> Pod:
        return Pod(metadata=ObjectMeta(name="p", namespace="n", **meta))  # type: ignore[arg-type]

    from lightkube.models.meta_v1 import OwnerReference

    def owner(kind: str) -> OwnerReference:
        return OwnerReference(apiVersion="apps/v1", kind=kind, name="x", uid="u", controller=True)

    assert classify(pod(annotations={"kubernetes.io/config.mirror": "abc"})).skip == "mirror pod"
    assert classify(pod(ownerReferences=[owner("DaemonSet")])).skip == "DaemonSet"
    assert classify(pod(ownerReferences=[owner("ReplicaSet")])) .skip == ""
    assert classify(pod()).unmanaged


def test_the_node_kinds_are_registered_as_entry_points() -> None:
    registry = FaultRegistry()
    assert registry.driver_class("node_cordon") is NodeCordon and registry.driver_class("node_drain") is NodeDrain


def test_count_percent_and_max_pick_the_same_nodes_for_the_same_seed(local_cluster, node_pool) -> None:
    names = node_pool.add(4)
    stack = stack_for(local_cluster, pool={"kind": "Node", "match_labels": {"pool": node_pool.pool}})

    def chosen(**args: Any) -> list[str]:
        return NodeCordon().prepare(fault("node_cordon", "pool", **args), stack).data["cordon"]

    assert chosen() == names
    assert len(chosen(count=1)) == 1 and chosen(count=1, seed=3) == chosen(count=1, seed=3)
    assert len(chosen(percent=50)) == 2 and len(chosen(max=3)) == 3
    assert {tuple(chosen(count=2, seed=s)) for s in range(8)} != {tuple(chosen(count=2))}  # the seed matters
