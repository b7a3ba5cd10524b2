"""The RBAC docs/kubernetes.md gives for node_cordon, node_drain and network_isolate is enough, and what it leaves
out is said, not failed on: run as a ServiceAccount bound to exactly those objects, against the local cluster."""

from __future__ import annotations

import contextlib
import functools
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import ApiError, Client, codecs
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.authorization_v1 import ResourceAttributes, SubjectAccessReviewSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.authorization_v1 import SubjectAccessReview
from lightkube.resources.core_v1 import Node, ServiceAccountToken
from lightkube.resources.networking_v1 import NetworkPolicy
from lightkube.resources.rbac_authorization_v1 import ClusterRole, ClusterRoleBinding

from gameday.cluster.manager import LocalCluster
from gameday.errors import FaultError
from gameday.kubernetes.faults.network import NetworkIsolate
from gameday.kubernetes.faults.nodes import NodeCordon, NodeDrain
from gameday.scenario.model import FaultSpec, StackSpec
from tests.kubernetes.kit import NodePool, deployment, running_pods, wait_until
from tests.kubernetes.test_rbac import documented_rbac

pytestmark = [pytest.mark.kubernetes, pytest.mark.slow]

DOC = Path(__file__).resolve().parents[2] / "docs" / "kubernetes.md"


def node_network_rbac() -> tuple[dict[str, Any], dict[str, Any]]:
    """The YAML block under **RBAC of the node and network faults.**: a ClusterRole and a Role."""
    block = re.search(r"\*\*RBAC of the node and network faults\.\*\*.*?```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert block, "docs/kubernetes.md has no RBAC block for the node and network faults"
    nodes, network = [doc for doc in yaml.safe_load_all(block.group(1)) if doc]
    return nodes, network


Bind = Callable[..., Path]


@pytest.fixture
def service_account(kube: Client, local_cluster: LocalCluster, namespace: str, tmp_path: Path) -> Iterator[Bind]:
    """``bind(nodes=..., network=...)``: a kubeconfig of a ServiceAccount bound to the documented namespaces
    ClusterRole and, as asked, the node ClusterRole and the network Role (in the test's namespace)."""
    suffix = uuid.uuid4().hex[:8]
    cluster_scoped: list[tuple[Any, str]] = []

    def bind(*, nodes: bool, network: bool) -> Path:
        node_role, network_role = node_network_rbac()
        namespaces_role = documented_rbac()[1]
        subject = [{"kind": "ServiceAccount", "name": "gameday", "namespace": namespace}]
        kube.create(codecs.from_dict({"apiVersion": "v1", "kind": "ServiceAccount",
                                      "metadata": {"name": "gameday", "namespace": namespace}}))
        for wanted, role in ((True, namespaces_role), (nodes, node_role)):
            if not wanted:
                continue
            name = f"{role['metadata']['name']}-{suffix}"
            role["metadata"]["name"] = name
            kube.create(codecs.from_dict(role))
            kube.create(codecs.from_dict({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": name}, "subjects": subject,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}}))
            cluster_scoped.extend([(ClusterRoleBinding, name), (ClusterRole, name)])
        if network:
            network_role["metadata"]["namespace"] = namespace
            kube.create(codecs.from_dict(network_role))
            kube.create(codecs.from_dict({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "gameday-network", "namespace": namespace}, "subjects": subject,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                            "name": network_role["metadata"]["name"]}}))
        # The authorizer learns of new bindings through a watch: wait until it allows what each one grants.
        user = f"system:serviceaccount:{namespace}:gameday"
        grants = [("", "namespaces", "get", "")]
        grants += [("", "nodes", "patch", "")] if nodes else []
        grants += [("networking.k8s.io", "networkpolicies", "create", namespace)] if network else []
        for group, resource, verb, where in grants:
            wait_until(f"{user} allowed to {verb} {resource}", functools.partial(allowed, kube, user, group, resource,
                                                                                 verb, where))
        token: Any = kube.create(ServiceAccountToken(metadata=ObjectMeta(name="gameday", namespace=namespace),
                                                     spec=TokenRequestSpec(audiences=[], expirationSeconds=3600)),
                                 "gameday", namespace=namespace)
        server = yaml.safe_load(local_cluster.config.kubeconfig.read_text())["clusters"][0]["cluster"]
        path = tmp_path / "gameday-user.yaml"
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "gameday",
            "clusters": [{"name": "local", "cluster": server}],
            "users": [{"name": "gameday", "user": {"token": token.status.token}}],
            "contexts": [{"name": "gameday", "context": {"cluster": "local", "user": "gameday"}}]}))
        return path

    try:
        yield bind
    finally:
        for resource, name in cluster_scoped:
            with contextlib.suppress(ApiError):
                kube.delete(resource, name)


def allowed(kube: Client, user: str, group: str, resource: str, verb: str, namespace: str) -> bool:
    review = kube.create(SubjectAccessReview(spec=SubjectAccessReviewSpec(user=user, groups=[
        "system:serviceaccounts", "system:authenticated"], resourceAttributes=ResourceAttributes(
            group=group, resource=resource, verb=verb, namespace=namespace or None))))
    return bool(review.status and review.status.allowed)


def stack(kubeconfig: Path, **targets: dict[str, Any]) -> StackSpec:
    return StackSpec.model_validate({
        "platforms": {"kubernetes": {"kubeconfig": str(kubeconfig)}},
        "targets": {name: {"platform": "kubernetes", **fields} for name, fields in targets.items()}})


def fault(kind: str, target: str, **args: Any) -> FaultSpec:
    return FaultSpec.model_validate({"kind": kind, "target": target, "args": args, "duration": "30s"})


def unschedulable(kube: Client, name: str) -> bool:
    node = kube.get(Node, name)
    return bool(node.spec and node.spec.unschedulable)


def test_the_documented_rbac_is_enough_for_the_node_and_network_faults(
        kube: Client, namespace: str, node_pool: NodePool, service_account: Bind) -> None:
    drained, spare = node_pool.add(2)
    deployment(kube, namespace, "web", replicas=2, pool=node_pool)
    wait_until("2 web pods running", lambda: len(running_pods(kube, namespace, {"app": "web"})) == 2)
    kubeconfig = service_account(nodes=True, network=True)
    target = stack(kubeconfig, node={"kind": "Node", "name": drained},
                   web={"kind": "Deployment", "namespace": namespace, "name": "web"})

    for driver in (NodeCordon(), NodeDrain()):
        handle = driver.prepare(fault(driver.kind, "node", **({"timeout": "20s"} if driver.kind == "node_drain"
                                                                 else {})), target)
        driver.inject(handle)
        assert wait_until(f"{driver.kind} in effect", functools.partial(driver.check, handle))
        driver.revert(handle)
        assert not unschedulable(kube, drained)
    wait_until("the web pods on the spare node",
               lambda: {p.spec.nodeName for p in running_pods(kube, namespace, {"app": "web"}) if p.spec} == {spare})

    isolate = NetworkIsolate()
    handle = isolate.prepare(fault("network_isolate", "web"), target)
    assert "NetworkPolicy not enforced here" in handle.description  # it could read the nodes
    isolate.inject(handle)
    assert isolate.check(handle)
    isolate.revert(handle)
    assert not list(kube.list(NetworkPolicy, namespace=namespace))


def test_with_the_network_role_alone_isolate_works_saying_it_could_not_tell_and_a_cordon_is_refused(
        kube: Client, namespace: str, node_pool: NodePool, service_account: Bind) -> None:
    (node,) = node_pool.add(1)
    deployment(kube, namespace, "web", replicas=1, pool=node_pool)
    kubeconfig = service_account(nodes=False, network=True)
    target = stack(kubeconfig, node={"kind": "Node", "name": node},
                   web={"kind": "Deployment", "namespace": namespace, "name": "web"})

    isolate = NetworkIsolate()
    handle = isolate.prepare(fault("network_isolate", "web"), target)
    assert "enforcement unknown: gameday could not look (" in handle.description
    assert "refused (403)" in handle.description
    isolate.inject(handle)
    isolate.revert(handle)
    assert not list(kube.list(NetworkPolicy, namespace=namespace))

    with pytest.raises(FaultError, match=r"refused \(403\).*lacks the RBAC permission"):
        NodeCordon().prepare(fault("node_cordon", "node"), target)
    assert not unschedulable(kube, node)
