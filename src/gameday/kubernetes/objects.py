"""Reading a Kubernetes target: which cluster, which objects, who owns a pod, is a workload ready; and the
fields of a fault's handle (``FaultHandle(..., **handle_fields(...))``), which carry what the safety check
and a later revert need. Reads only: nothing here changes the cluster.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightkube import ApiError, Client
from lightkube.core.resource import Resource
from lightkube.resources.apps_v1 import DaemonSet, Deployment, ReplicaSet, StatefulSet
from lightkube.resources.core_v1 import Namespace, Node, Pod, Secret
from pydantic import ValidationError

from gameday.errors import EnvironmentProblem, TargetError
from gameday.kubernetes.client import api_errors, connect, contexts, current_context
from gameday.kubernetes.platform import KubernetesTarget, kubeconfig_path, lock_key, read_settings
from gameday.kubernetes.safety import production_facts

if TYPE_CHECKING:
    from gameday.scenario.model import StackSpec

RESOURCES: Mapping[str, type[Resource]] = {
    "Deployment": Deployment, "StatefulSet": StatefulSet, "DaemonSet": DaemonSet, "ReplicaSet": ReplicaSet,
    "Pod": Pod, "Node": Node, "Secret": Secret, "Namespace": Namespace,
}


@dataclass(frozen=True)
class Cluster:
    """The cluster a stack names: its kubeconfig (absolute) and context (resolved), and its production contexts."""

    kubeconfig: Path
    context: str
    production_contexts: tuple[str, ...] = ()

    def address(self) -> dict[str, Any]:
        return {"kubeconfig": str(self.kubeconfig), "context": self.context}

    @property
    def client(self) -> Client:
        return connect(self.address())


def cluster_of(stack: StackSpec, env: Mapping[str, str] | None = None) -> Cluster:
    """The cluster of the stack's ``platforms.kubernetes``; EnvironmentProblem for a kubeconfig that is not there
    or a context it does not define."""
    try:
        settings = read_settings(stack.platform_settings("kubernetes"))
    except ValidationError as exc:
        raise EnvironmentProblem(f"platforms.kubernetes of stack '{stack.name}': {exc.errors()[0]['msg']}") from exc
    path = kubeconfig_path(settings, stack_file=stack.source, env=os.environ if env is None else env)
    if not path.is_file():
        raise EnvironmentProblem(f"no kubeconfig at {path}: set platforms.kubernetes.kubeconfig in the stack file "
                                 "(or KUBECONFIG)")
    context = settings.context or current_context(path)
    known = contexts(path)
    if context not in known:
        raise EnvironmentProblem(f"kubeconfig {path} has no context '{context}' (it has: {', '.join(known) or 'none'})")
    return Cluster(path, context, tuple(settings.production_contexts))


def get_object(client: Client, kind: str, name: str, namespace: str, *, target: str) -> Any:
    """One object by kind and name; TargetError naming it when it is not there."""
    resource: Any = RESOURCES[kind]
    where = name if kind in ("Node", "Namespace") else f"{namespace}/{name}"
    with api_errors(target, f"{kind} {where}"):
        if kind in ("Node", "Namespace"):
            return client.get(resource, name)
        return client.get(resource, name, namespace=namespace)


def find_object(client: Client, kind: str, name: str, namespace: str, *, target: str,
                reverting: bool = False) -> Any | None:
    """One object by kind and name, or None when it is not there (other refusals raise, as ``api_errors`` says)."""
    resource: Any = RESOURCES[kind]
    with api_errors(target, f"read {kind} {namespace}/{name}" if namespace else f"read {kind} {name}",
                    reverting=reverting):
        try:
            return client.get(resource, name, namespace=namespace) if namespace else client.get(resource, name)
        except ApiError as exc:
            if exc.status.code == 404:
                return None
            raise


def delete_object(client: Client, kind: str, name: str, namespace: str, *, target: str,
                  grace_period: int | None = None) -> bool:
    """Delete one object; False when it was not there (gone already is what a delete wants)."""
    resource: Any = RESOURCES[kind]
    with api_errors(target, f"delete {kind} {namespace}/{name}"):
        try:
            client.delete(resource, name, namespace=namespace, grace_period=grace_period)
        except ApiError as exc:
            if exc.status.code == 404:
                return False
            raise
    return True


def list_objects(client: Client, kind: str, namespace: str, labels: Mapping[str, str], *, target: str) -> list[Any]:
    """The objects of a kind whose labels match, sorted by name."""
    resource: Any = RESOURCES[kind]
    with api_errors(target, f"list {kind} in {namespace or 'the cluster'}"):
        if kind == "Node":
            found = list(client.list(resource, labels=dict(labels)))
        else:
            found = list(client.list(resource, namespace=namespace, labels=dict(labels)))
    return sorted(found, key=lambda obj: str(obj.metadata.name))


def namespace_labels(client: Client, namespace: str, *, target: str) -> dict[str, str]:
    """The namespace's labels ({} for a Node's empty namespace)."""
    if not namespace:
        return {}
    ns = get_object(client, "Namespace", namespace, "", target=target)
    return dict(ns.metadata.labels or {})


def labels_of(obj: Any) -> dict[str, str]:
    return dict(obj.metadata.labels or {})


def common_labels(objects: Sequence[Any]) -> dict[str, str]:
    """The labels every object carries with the same value: the allowlist label must be on each of them."""
    if not objects:
        return {}
    common = labels_of(objects[0])
    for obj in objects[1:]:
        labels = labels_of(obj)
        common = {k: v for k, v in common.items() if labels.get(k) == v}
    return common


@dataclass(frozen=True)
class Owner:
    """The controller at the top of a pod's owner chain (a ReplicaSet's Deployment, a StatefulSet...)."""

    kind: str
    name: str
    uid: str


def controller_ref(obj: Any) -> Any | None:
    return next((ref for ref in obj.metadata.ownerReferences or [] if ref.controller), None)


class Owners:
    """The controller at the top of pods' owner chains, reading each ReplicaSet once (a Deployment of a
    thousand pods has a few ReplicaSets, not a thousand)."""

    def __init__(self, client: Client, *, target: str) -> None:
        self._client = client
        self._target = target
        self._replica_sets: dict[tuple[str, str], Owner | None] = {}

    def of(self, pod: Any) -> Owner | None:
        """Who replaces this pod when it is deleted; None for a bare pod (nobody does)."""
        ref = controller_ref(pod)
        if ref is None:
            return None
        if ref.kind == "ReplicaSet":
            key = (str(pod.metadata.namespace), str(ref.name))
            if key not in self._replica_sets:
                replica_set = get_object(self._client, "ReplicaSet", key[1], key[0], target=self._target)
                up = controller_ref(replica_set)
                self._replica_sets[key] = Owner(up.kind, up.name, up.uid) if up is not None and \
                    up.kind == "Deployment" else None
            if self._replica_sets[key] is not None:
                return self._replica_sets[key]
        return Owner(ref.kind, ref.name, ref.uid)


def top_owner(client: Client, pod: Any, *, target: str) -> Owner | None:
    """Who replaces this pod when it is deleted; None for a bare pod (nobody does)."""
    return Owners(client, target=target).of(pod)


def pods_of_workload(client: Client, workload: Any, kind: str, *, target: str,
                     owners: Owners | None = None) -> list[Any]:
    """The pods a workload controls now (found by its selector's matchLabels, kept only if it owns them), by name."""
    selector = workload.spec.selector
    match = dict(selector.matchLabels or {}) if selector is not None else {}
    namespace = str(workload.metadata.namespace)
    uid = workload.metadata.uid
    owners = owners or Owners(client, target=target)
    owned = []
    for pod in list_objects(client, "Pod", namespace, match, target=target):
        owner = owners.of(pod)
        if owner is not None and owner.kind == kind and owner.uid == uid:
            owned.append(pod)
    return owned


def pod_ready(pod: Any) -> bool:
    if pod.metadata.deletionTimestamp is not None:
        return False
    conditions = (pod.status.conditions if pod.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def workload_replicas(workload: Any, kind: str) -> tuple[int, int]:
    """(desired, ready) replicas, as the workload's status says."""
    status = workload.status
    if kind == "DaemonSet":
        return (int(status.desiredNumberScheduled or 0), int(status.numberReady or 0)) if status else (0, 0)
    desired = int(workload.spec.replicas if workload.spec.replicas is not None else 1)
    return desired, int((status.readyReplicas or 0) if status else 0)


def handle_fields(cluster: Cluster, *, kind: str, namespace: str, name: str, labels: Mapping[str, str] | None,
                  namespace_labels: Mapping[str, str], approve: Sequence[Sequence[str]], notes: Sequence[str] = (),
                  **extra: Any) -> dict[str, Any]:
    """The explicit FaultHandle fields of a fault on one object (``kind namespace/name``, its lock), with what the
    safety check reads: the object's ``labels`` (several objects: those they all carry), its namespace's labels,
    ``approve`` (for each object touched, the names an ``allow.kubernetes`` entry may match) and the production facts.
    ``extra`` goes into the address too (revert reads it)."""
    facts = production_facts(context=cluster.context, production_contexts=cluster.production_contexts,
                             namespace=namespace, namespace_labels=namespace_labels)
    address = {**cluster.address(), "namespace": namespace, "kind": kind, "name": name,
               "namespace_labels": dict(namespace_labels), "approve": [list(group) for group in approve],
               "production": facts, "notes": list(notes), **extra}
    return {"platform": "kubernetes", "resource": lock_key(cluster.context, namespace, kind, name),
            "labels": dict(labels) if labels is not None else None, "address": address}


def allow_names(namespace: str, *names: str) -> list[str]:
    """How ``allow.kubernetes`` names objects: ``<namespace>/<name>``, a Node by ``<name>``."""
    return [f"{namespace}/{n}" if namespace else n for n in names]


def require_kubernetes_target(target: object, target_name: str, kind: str) -> KubernetesTarget:
    if not isinstance(target, KubernetesTarget):
        raise TargetError(f"{kind} acts on a Kubernetes object; target '{target_name}' is not on platform kubernetes",
                          target=target_name)
    return target
