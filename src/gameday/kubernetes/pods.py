"""The pods a target means, and the workload that replaces them: what pod faults select from.

    {kind: Deployment | StatefulSet | DaemonSet, name: web}   the pods the workload controls now
    {kind: Pod, name: web-0}                                   that pod
    {kind: Pod, match_labels: {app: web}}                      the pods the labels select

Pods being deleted already are not candidates. The lock of a fault on pods is their workload when they have
one (two runs never delete pods of one workload at once), else the pod, else the label selection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gameday.errors import TargetError
from gameday.kubernetes.objects import (
    Cluster,
    Owner,
    Owners,
    get_object,
    list_objects,
    pods_of_workload,
)
from gameday.kubernetes.platform import WORKLOAD_KINDS, KubernetesTarget


@dataclass(frozen=True)
class Pods:
    """A target's candidate pods (sorted by name, none terminating), the workload object when the target is one,
    and each pod's controller at the top of its owner chain (None: a bare pod)."""

    namespace: str
    pods: tuple[Any, ...]
    owners: dict[str, Owner | None]
    workload: Any | None = None

    @property
    def names(self) -> list[str]:
        return [str(p.metadata.name) for p in self.pods]

    def owner_of(self, names: list[str]) -> Owner | None:
        """The one controller of all these pods; None if they have none or several."""
        owners = {self.owners.get(n) for n in names}
        if len(owners) == 1:
            return owners.pop()
        return None

    def lock(self, target: KubernetesTarget, chosen: list[str]) -> tuple[str, str]:
        """(kind, name) of the object a fault on ``chosen`` locks."""
        if target.kind in WORKLOAD_KINDS:
            return target.kind, str(target.name)
        owner = self.owner_of(chosen)
        if owner is not None:
            return owner.kind, owner.name
        if target.name is not None:
            return "Pod", target.name
        return "Pod", ",".join(f"{k}={v}" for k, v in sorted((target.match_labels or {}).items()))


def pods_of(cluster: Cluster, target: KubernetesTarget, target_name: str) -> Pods:
    """The candidate pods of a workload or Pod target; TargetError for another kind."""
    client = cluster.client
    namespace = target.namespace
    workload = None
    owners = Owners(client, target=target_name)
    if target.kind in WORKLOAD_KINDS:
        workload = get_object(client, target.kind, str(target.name), namespace, target=target_name)
        found = pods_of_workload(client, workload, target.kind, target=target_name, owners=owners)
    elif target.kind == "Pod" and target.name is not None:
        found = [get_object(client, "Pod", target.name, namespace, target=target_name)]
    elif target.kind == "Pod":
        found = list_objects(client, "Pod", namespace, target.match_labels or {}, target=target_name)
    else:
        raise TargetError(f"target '{target_name}' is a {target.kind}, which has no pods: name a Deployment, "
                          "StatefulSet, DaemonSet or Pod", target=target_name)
    live = tuple(p for p in found if p.metadata.deletionTimestamp is None)
    return Pods(namespace, live, {str(p.metadata.name): owners.of(p) for p in live}, workload)
