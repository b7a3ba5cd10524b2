"""network_isolate on the real local cluster: a deny-all NetworkPolicy over the workload's pods, labelled with the
run and fault, deleted exactly on revert (from a fresh process too), and an honest word on enforcement."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from lightkube import ApiError, Client
from lightkube.models.core_v1 import Container, NodeSpec, PodSpec, Taint
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.models.networking_v1 import NetworkPolicySpec
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Node, Pod
from lightkube.resources.networking_v1 import NetworkPolicy

from gameday.errors import FaultError, TargetError
from gameday.handle import FaultHandle
from gameday.kubernetes.faults.network import NetworkIsolate, enforcement
from tests.kubernetes.kit import TAINT_KEY, deployment, fault, running_pods, stack_for, wait_until
from tests.kubernetes.test_node_faults import revert_in_a_fresh_process

pytestmark = [pytest.mark.kubernetes, pytest.mark.slow]

RUN = "20261203T140000Z-isolate-checkout-with-a-very-long-scenario-name-indeed-cd34"


def stamped(handle: FaultHandle) -> FaultHandle:
    return replace(handle, run_id=RUN, fault_id="f1")


def policies(client: Client, namespace: str) -> dict[str, NetworkPolicy]:
    return {p.metadata.name: p for p in client.list(NetworkPolicy, namespace=namespace) if p.metadata and p.metadata.name}


@pytest.fixture
def web(kube, node_pool, namespace) -> str:
    """A Deployment 'web' of two pods, running on kwok nodes of the test's own."""
    node_pool.add(1)
    deployment(kube, namespace, "web", replicas=2, pool=node_pool)
    wait_until("2 web pods running", lambda: len(running_pods(kube, namespace, {"app": "web"})) == 2)
    return namespace


def test_isolate_puts_a_labelled_deny_all_policy_over_the_pods_and_a_fresh_process_deletes_only_it(
        local_cluster, kube, web) -> None:
    namespace = web
    kube.create(NetworkPolicy(metadata=ObjectMeta(name="teams-own", namespace=namespace),
                              spec=NetworkPolicySpec(podSelector=LabelSelector(matchLabels={"app": "web"}),
                                                     policyTypes=["Ingress"])))
    stack = stack_for(local_cluster, web={"kind": "Deployment", "namespace": namespace, "name": "web"})
    driver = NetworkIsolate()
    handle = stamped(driver.prepare(fault("network_isolate", "web"), stack))
    assert handle.data["selector"] == {"matchLabels": {"app": "web"}} and len(handle.data["pods"]) == 2
    assert handle.labels == {"gameday.allowed": "true"}
    assert "deny all ingress and egress of the pods app=web" in handle.description
    assert ("not enforced here: the policy is created but traffic is not blocked, since the pods run on the local "
            "cluster's nodes (kwok's have no pod network, the real node's CNI is loopback only)") in handle.description
    assert driver.describe_revert(handle) == (f"delete NetworkPolicy {namespace}/{handle.data['policy']} (only that "
                                              "one, and only while it carries this fault's gameday.io/token label)")
    assert not driver.check(handle)

    driver.inject(handle)
    assert driver.check(handle)
    live = policies(kube, namespace)[handle.data["policy"]]
    assert live.spec is not None and live.metadata is not None
    assert live.spec.podSelector is not None and live.spec.podSelector.matchLabels == {"app": "web"}
    assert live.spec.policyTypes == ["Ingress", "Egress"]
    assert not live.spec.ingress and not live.spec.egress  # no rule: nothing allowed either way
    labels = live.metadata.labels or {}
    assert labels["gameday.io/fault"] == "f1" and labels["gameday.io/token"] == handle.data["token"]
    assert len(labels["gameday.io/run"]) <= 63 and labels["gameday.io/run"].startswith("20261203T140000Z-isolate")
    assert (live.metadata.annotations or {})["gameday.io/run-id"] == RUN
    driver.inject(handle)  # repeated (a retry): its own policy is there already, nothing else happens

    revert_in_a_fresh_process(handle)
    assert set(policies(kube, namespace)) == {"teams-own"}
    assert not driver.check(handle)
    revert_in_a_fresh_process(handle)  # cleanup may run it again


def test_isolate_can_deny_only_ingress(local_cluster, kube, web) -> None:
    stack = stack_for(local_cluster, web={"kind": "Deployment", "namespace": web, "name": "web"})
    driver = NetworkIsolate()
    handle = stamped(driver.prepare(fault("network_isolate", "web", direction="ingress"), stack))
    driver.inject(handle)
    live = policies(kube, web)[handle.data["policy"]]
    assert live.spec is not None and live.spec.policyTypes == ["Ingress"]
    assert "deny all ingress of the pods" in handle.description
    driver.revert(handle)
    assert handle.data["policy"] not in policies(kube, web)


def test_pods_by_labels_are_isolated_by_those_labels_and_a_pod_by_name_is_refused(local_cluster, kube, web) -> None:
    stack = stack_for(local_cluster, pods={"kind": "Pod", "namespace": web, "match_labels": {"app": "web"}},
                      one={"kind": "Pod", "namespace": web, "name": "web-0"})
    handle = NetworkIsolate().prepare(fault("network_isolate", "pods"), stack)
    assert handle.data["selector"] == {"matchLabels": {"app": "web"}} and len(handle.data["pods"]) == 2
    with pytest.raises(TargetError, match="selects pods by label, not by name"):
        NetworkIsolate().prepare(fault("network_isolate", "one"), stack)


def test_the_stacks_word_on_enforcement_comes_first(local_cluster, web) -> None:
    def described(setting: object) -> str:
        stack = stack_for(local_cluster, web={"kind": "Deployment", "namespace": web, "name": "web"})
        stack.platforms["kubernetes"]["network_policy_enforced"] = setting
        return NetworkIsolate().prepare(fault("network_isolate", "web"), stack).description

    assert "NetworkPolicy enforced: the stack says network_policy_enforced: true" in described(True)
    assert ("NetworkPolicy not enforced here: the policy is created but traffic is not blocked, since the stack "
            "says network_policy_enforced: false") in described(False)


def test_without_kwok_nodes_a_known_network_plugin_in_kube_system_is_named_and_none_is_unknown(kube) -> None:
    """A node object with no kwok behind it stands for a real node: the answer then comes from kube-system."""
    suffix = uuid.uuid4().hex[:8]
    node, plugin = f"plain-{suffix}", f"calico-node-{suffix}"
    kube.create(Node(metadata=ObjectMeta(name=node),
                     spec=NodeSpec(taints=[Taint(key=TAINT_KEY, value=suffix, effect="NoSchedule")])))
    try:
        unknown = enforcement(kube, "unknown", [node], "web")
        assert unknown.enforced == "unknown"
        assert unknown.sentence().startswith("enforcement unknown: no known enforcing network plugin (Antrea, Calico")
        assert unknown.sentence().endswith("without an enforcing network plugin the policy is created but traffic is "
                                           "not blocked")
        kube.create(Pod(metadata=ObjectMeta(name=plugin, namespace="kube-system"),
                        spec=PodSpec(containers=[Container(name="calico", image="fake")], nodeName=node)))
        try:
            found = enforcement(kube, "unknown", [node], "web")
            assert found.enforced == "yes"
            assert found.why == f"Calico ({plugin}) runs in kube-system (set network_policy_enforced to be sure)"
        finally:
            kube.delete(Pod, plugin, namespace="kube-system", grace_period=0)
    finally:
        kube.delete(Node, node)


def test_a_strangers_policy_of_the_same_name_is_never_taken_nor_deleted(local_cluster, kube, web) -> None:
    stack = stack_for(local_cluster, web={"kind": "Deployment", "namespace": web, "name": "web"})
    driver = NetworkIsolate()
    handle = stamped(driver.prepare(fault("network_isolate", "web"), stack))
    kube.create(NetworkPolicy(metadata=ObjectMeta(name=handle.data["policy"], namespace=web),
                              spec=NetworkPolicySpec(podSelector=LabelSelector(), policyTypes=["Ingress"])))
    with pytest.raises(FaultError, match="exists and is not this fault's"):
        driver.inject(handle)
    assert not driver.check(handle)
    driver.revert(handle)
    assert handle.data["policy"] in policies(kube, web)


def test_a_workload_that_does_not_exist_is_a_target_error(local_cluster, namespace) -> None:
    stack = stack_for(local_cluster, web={"kind": "Deployment", "namespace": namespace, "name": "nope"})
    with pytest.raises(TargetError, match=f"Deployment {namespace}/nope: not found"):
        NetworkIsolate().prepare(fault("network_isolate", "web"), stack)


def test_revert_of_a_policy_someone_deleted_already_is_done(local_cluster, kube, web) -> None:
    stack = stack_for(local_cluster, web={"kind": "Deployment", "namespace": web, "name": "web"})
    driver = NetworkIsolate()
    handle = stamped(driver.prepare(fault("network_isolate", "web"), stack))
    driver.inject(handle)
    kube.delete(NetworkPolicy, handle.data["policy"], namespace=web)
    driver.revert(handle)
    with pytest.raises(ApiError):
        kube.get(NetworkPolicy, handle.data["policy"], namespace=web)


def test_pods_on_the_hosts_network_are_said_to_be_outside_any_policy(local_cluster, kube, node_pool,
                                                                    namespace) -> None:
    """Even where the stack says NetworkPolicy is enforced: a policy does not cover hostNetwork pods (the demo
    stack's pods on the local cluster's real node are such)."""
    node_pool.add(1)
    deployment(kube, namespace, "web", replicas=1, pool=node_pool)
    kube.patch(Deployment, "web", {"spec": {"template": {"spec": {"hostNetwork": True}}}}, namespace=namespace)
    wait_until("a hostNetwork pod running", lambda: [p for p in running_pods(kube, namespace, {"app": "web"})
                                                     if p.spec and p.spec.hostNetwork])
    wait_until("only hostNetwork pods", lambda: all(p.spec and p.spec.hostNetwork
                                                    for p in kube.list(Pod, namespace=namespace)))
    stack = stack_for(local_cluster, web={"kind": "Deployment", "namespace": namespace, "name": "web"})
    stack.platforms["kubernetes"]["network_policy_enforced"] = True
    handle = NetworkIsolate().prepare(fault("network_isolate", "web"), stack)
    assert ("NetworkPolicy not enforced here: the policy is created but traffic is not blocked, since the pods use "
            "the host's network (hostNetwork: true), which NetworkPolicy does not cover") in handle.description
