"""What a workload's status says, read the way kubectl reads it: available replicas, ready pods, a finished
rollout. Reads only; shared by the ``kubernetes`` probe and the cluster events recorder.

A workload's pods are found by its selector and kept only if the workload controls them (through its
ReplicaSets for a Deployment), in two list calls whatever the number of pods: a probe checks every second.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightkube import Client
from lightkube.resources.apps_v1 import ReplicaSet
from lightkube.resources.core_v1 import Pod

from gameday.kubernetes.client import api_errors

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


def selector_matches(selector: Any, labels: Mapping[str, str]) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against an object's labels; an empty one matches all."""
    if selector is None:
        return True
    if any(labels.get(k) != v for k, v in (selector.matchLabels or {}).items()):
        return False
    for expr in selector.matchExpressions or []:
        present, value, values = expr.key in labels, labels.get(expr.key), set(expr.values or [])
        if ((expr.operator == "In" and (not present or value not in values))
                or (expr.operator == "NotIn" and present and value in values)
                or (expr.operator == "Exists" and not present)
                or (expr.operator == "DoesNotExist" and present)):
            return False
    return True


def is_ready(pod: Any) -> bool:
    """Running, not being deleted, and its Ready condition True."""
    if pod.metadata.deletionTimestamp is not None or pod.status is None:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def controlled_pods(client: Client, workload: Any, kind: str, *, target: str) -> list[Any]:
    """The pods the workload controls now: those its selector matches whose controller is the workload (or, for
    a Deployment, one of its ReplicaSets)."""
    namespace = str(workload.metadata.namespace)
    selector = workload.spec.selector
    match = dict(selector.matchLabels or {}) if selector is not None else {}
    owners = {workload.metadata.uid}
    api: Any = client  # objects read as Any: every field of lightkube's models is Optional
    with api_errors(target, f"list the pods of {kind} {namespace}/{workload.metadata.name}"):
        if kind == "Deployment":
            owners = {rs.metadata.uid for rs in api.list(ReplicaSet, namespace=namespace, labels=match)
                      if _controller_uid(rs) == workload.metadata.uid}
        pods = list(api.list(Pod, namespace=namespace, labels=match))
    return [p for p in pods if _controller_uid(p) in owners and selector_matches(selector, p.metadata.labels or {})]


def _controller_uid(obj: Any) -> str | None:
    return next((ref.uid for ref in obj.metadata.ownerReferences or [] if ref.controller), None)


def available_replicas(workload: Any, kind: str) -> int:
    status = workload.status
    if status is None:
        return 0
    return int((status.numberAvailable if kind == "DaemonSet" else status.availableReplicas) or 0)


def rollout_problem(workload: Any, kind: str) -> str | None:
    """Why the workload's rollout is not complete (as ``kubectl rollout status`` judges it), or None."""
    spec, status, generation = workload.spec, workload.status, workload.metadata.generation
    if status is None or (status.observedGeneration or 0) < (generation or 0):
        return "the controller has not yet seen the latest spec"
    if kind == "Deployment":
        for condition in status.conditions or []:
            if condition.type == "Progressing" and condition.reason == "ProgressDeadlineExceeded":
                return f"the rollout exceeded its progress deadline ({condition.message or 'no message'})"
        wanted = spec.replicas if spec.replicas is not None else 1
        updated, total, available = status.updatedReplicas or 0, status.replicas or 0, status.availableReplicas or 0
        if updated < wanted:
            return f"{updated} of {wanted} replicas updated"
        if total > updated:
            return f"{total - updated} old replicas still running"
        if available < updated:
            return f"{available} of {updated} updated replicas available"
        return None
    if kind == "StatefulSet":
        wanted = spec.replicas if spec.replicas is not None else 1
        ready = status.readyReplicas or 0
        strategy = spec.updateStrategy.type if spec.updateStrategy is not None else "RollingUpdate"
        if strategy == "RollingUpdate" and status.updateRevision and status.currentRevision != status.updateRevision:
            return f"{status.updatedReplicas or 0} of {wanted} replicas updated"
        if ready < wanted:
            return f"{ready} of {wanted} replicas ready"
        return None
    desired = status.desiredNumberScheduled or 0
    if (status.updatedNumberScheduled or 0) < desired:
        return f"{status.updatedNumberScheduled or 0} of {desired} pods updated"
    if (status.numberAvailable or 0) < desired:
        return f"{status.numberAvailable or 0} of {desired} updated pods available"
    return None
