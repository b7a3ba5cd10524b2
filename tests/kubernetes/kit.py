"""Helpers for the node and network fault tests on the session's local cluster (tests/local_cluster.py).

Node faults change nodes, so these tests never touch the shared ``kwok-node-*``: each makes kwok nodes of its
own (the ``node_pool`` fixture), tainted so no other test's pod is scheduled there (its own pods tolerate the
taint), and deletes them after; each works in a namespace of its own (``namespace``). Waits are on API state,
with generous deadlines.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from lightkube import ApiError, Client
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, NodeSpec, PodSpec, PodTemplateSpec, Taint, Toleration
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Node, Pod

from gameday.cluster.api import NODE_ANNOTATION
from gameday.cluster.manager import LocalCluster
from gameday.scenario.model import FaultSpec, StackSpec

DEADLINE = 90.0
TAINT_KEY = "gameday.test/pool"


def wait_until(what: str, condition: Callable[[], Any], timeout: float = DEADLINE) -> Any:
    """Poll ``condition`` until it returns something true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout:.0f}s for {what}")
        time.sleep(0.2)


@dataclass
class NodePool:
    """Kwok nodes of one test: label ``pool=<id>``, tainted for this pool's pods only."""

    client: Client
    pool: str
    names: list[str] = field(default_factory=list)

    def add(self, count: int = 1, *, allowed: bool = True) -> list[str]:
        new = [f"kn-{self.pool}-{len(self.names) + i}" for i in range(count)]
        for name in new:
            labels = {"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "pool": self.pool}
            if allowed:
                labels["gameday.allowed"] = "true"
            self.client.create(Node(
                metadata=ObjectMeta(name=name, labels=labels,
                                    annotations={NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"}),
                spec=NodeSpec(taints=[Taint(key=TAINT_KEY, value=self.pool, effect="NoSchedule")])))
            self.names.append(name)
        for name in new:
            wait_until(f"node {name} Ready", functools.partial(self.ready, name))
        return new

    def ready(self, name: str) -> bool:
        return node_ready(self.client.get(Node, name))

    @property
    def toleration(self) -> Toleration:
        return Toleration(key=TAINT_KEY, operator="Equal", value=self.pool, effect="NoSchedule")

    def delete(self) -> None:
        for name in self.names:
            try:
                self.client.delete(Node, name)
            except ApiError as exc:
                if exc.status.code != 404:
                    raise


def node_ready(node: Node) -> bool:
    conditions = (node.status.conditions if node.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def deployment(client: Client, namespace: str, name: str, *, replicas: int, pool: NodePool,
               labels: dict[str, str] | None = None) -> Deployment:
    """A Deployment whose pods run only on ``pool``'s nodes."""
    pod_labels = labels or {"app": name}
    return client.create(Deployment(
        metadata=ObjectMeta(name=name, namespace=namespace, labels={"gameday.allowed": "true"}),
        spec=DeploymentSpec(
            replicas=replicas, selector=LabelSelector(matchLabels=pod_labels),
            template=PodTemplateSpec(
                metadata=ObjectMeta(labels=pod_labels),
                spec=PodSpec(containers=[Container(name="app", image="fake")], nodeSelector={"pool": pool.pool},
                             tolerations=[pool.toleration])))))


def running_pods(client: Client, namespace: str, labels: dict[str, Any]) -> list[Pod]:
    """Pods that are Running and not being deleted."""
    return [p for p in client.list(Pod, namespace=namespace, labels=labels)
            if p.status and p.status.phase == "Running" and not (p.metadata and p.metadata.deletionTimestamp)]


def pods_by_node(client: Client, namespace: str, labels: dict[str, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pod in running_pods(client, namespace, labels):
        node = (pod.spec.nodeName if pod.spec else None) or ""
        counts[node] = counts.get(node, 0) + 1
    return counts


def stack_for(cluster: LocalCluster, **targets: dict[str, Any]) -> StackSpec:
    """A stack of Kubernetes targets on the local cluster."""
    return StackSpec.model_validate({
        "targets": {name: {"platform": "kubernetes", **fields} for name, fields in targets.items()},
        "platforms": {"kubernetes": {"kubeconfig": str(cluster.config.kubeconfig)}}})


def fault(kind: str, target: str, duration: str = "60s", **args: Any) -> FaultSpec:
    return FaultSpec.model_validate({"kind": kind, "target": target, "duration": duration, "args": args})
