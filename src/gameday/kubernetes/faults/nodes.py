"""Node faults: ``node_cordon`` (no new pods scheduled on a node) and ``node_drain`` (cordon, then evict its pods
through the Eviction API, as ``kubectl drain`` does, so PodDisruptionBudgets are honoured).

Revert uncordons only what this fault cordoned. How it knows, from the handle alone:

- prepare records which nodes were already unschedulable; those are never touched.
- inject cordons the others with one patch that sets ``spec.unschedulable`` and the annotation
  ``gameday.io/cordoned-by: <run id>/<fault id>/<token>`` (``marks.mark``), as field manager ``gameday``,
  guarded by the node's resourceVersion (a node somebody cordons between prepare and inject is left alone).
- revert uncordons a node only if it still carries this fault's mark and ``spec.unschedulable`` is still
  owned by field manager ``gameday`` (the API server's managedFields): a node somebody uncordoned and cordoned
  again during the fault (``kubectl cordon``) keeps their cordon; only the mark is removed.

Evicted pods are not moved back: their controllers recreate them on other nodes at once, and after the
uncordon the scheduler may place new pods on the node again.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from lightkube import ApiError, Client
from lightkube.models.meta_v1 import DeleteOptions, ObjectMeta
from lightkube.resources.core_v1 import Node, Pod
from lightkube.types import PatchType
from pydantic import Field, model_validator

from gameday.errors import FaultError, TargetError
from gameday.faults.base import FaultArgs, reverting
from gameday.handle import FaultHandle
from gameday.kubernetes.client import FIELD_MANAGER, api_errors, connect
from gameday.kubernetes.faults import marks
from gameday.kubernetes.faults.api import reason, status_code
from gameday.kubernetes.objects import cluster_of, common_labels, handle_fields, require_kubernetes_target
from gameday.kubernetes.platform import KubernetesPlatform, KubernetesTarget
from gameday.kubernetes.selection import SelectionArgs, select
from gameday.platforms.base import Target
from gameday.scenario.model import Duration, FaultSpec, StackSpec

CORDONED_BY = marks.PREFIX + "cordoned-by"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
EVICTION_RETRY_S = 1.0
"""Between rounds of evictions a PodDisruptionBudget refused (kubectl drain waits 5 s)."""
_CONFLICT_TRIES = 10


class CordonArgs(FaultArgs):
    """Which of the target's nodes: all of them, unless count, percent or max say fewer (chosen by seed)."""

    count: int | None = Field(None, ge=1, le=10_000, description="how many of the matching nodes (default: all)")
    percent: float | None = Field(None, gt=0, le=100, description="what share of the matching nodes, rounded up")
    max: int | None = Field(None, ge=1, le=10_000, description="at most this many nodes")
    seed: int = Field(0, description="the same seed picks the same nodes from the same candidates")

    @model_validator(mode="after")
    def _one_amount(self) -> CordonArgs:
        if self.count is not None and self.percent is not None:
            raise ValueError("give count or percent, not both")
        return self

    def chosen(self, names: Sequence[str]) -> list[str]:
        """The nodes picked, sorted (the platform's deterministic selection; all when nothing narrows it)."""
        if self.count is None and self.percent is None and self.max is None:
            return sorted(names)
        rule = SelectionArgs(count=self.count, percent=self.percent if self.count is not None or
                             self.percent is not None else 100.0, max=self.max, seed=self.seed)
        return select(names, rule)


class DrainArgs(CordonArgs):
    timeout: Duration = Field(60.0, gt=0.0, le=3600.0,
                              description="how long evictions a PodDisruptionBudget refuses are retried, e.g. 2m; "
                                          "must end before the fault's duration does")
    grace_period: int | None = Field(None, ge=0, le=3600,
                                     description="seconds each evicted pod gets to stop (default: the pod's own)")
    force: bool = Field(False, description="also evict pods no controller manages (they are deleted for good)")


# --- the cordon itself (shared by both kinds) ---------------------------------------------------


def _annotations(node: Node) -> Mapping[str, str]:
    return (node.metadata.annotations if node.metadata and node.metadata.annotations else {})


def _unschedulable(node: Node) -> bool:
    return bool(node.spec and node.spec.unschedulable)


def _resource_version(node: Node) -> str | None:
    return node.metadata.resourceVersion if node.metadata else None


def _owner_of(node: Node, *path: str) -> str | None:
    """Which field manager last set the field at ``path`` (``f:spec``, ``f:unschedulable``), from managedFields."""
    for entry in (node.metadata.managedFields if node.metadata else None) or []:
        fields: Any = entry.fieldsV1 or {}
        for step in path:
            fields = fields.get(step) if isinstance(fields, dict) else None
        if fields is not None:
            return entry.manager
    return None


def cordoned_by_us(node: Node, mark: str) -> bool:
    """The node is unschedulable because this fault made it so, and nobody has cordoned it again since."""
    return (_annotations(node).get(CORDONED_BY) == mark and _unschedulable(node)
            and _owner_of(node, "f:spec", "f:unschedulable") == FIELD_MANAGER)


def _patch_node(client: Client, name: str, body: dict[str, Any]) -> bool:
    """Patch guarded by the resourceVersion in ``body``; False on a conflict (somebody wrote the node first)."""
    try:
        client.patch(Node, name, body, patch_type=PatchType.MERGE, field_manager=FIELD_MANAGER)
    except ApiError as exc:
        if status_code(exc) == 409:
            return False
        raise
    return True


def cordon(client: Client, name: str, mark: str, *, target: str) -> bool:
    """Cordon ``name`` and mark it as this fault's; False (nothing done) if it is unschedulable already."""
    with api_errors(target, f"cordon node {name}"):
        for _ in range(_CONFLICT_TRIES):
            node = client.get(Node, name)
            if _unschedulable(node):
                return _annotations(node).get(CORDONED_BY) == mark  # ours already (inject repeated), or another's
            body = {"metadata": {"resourceVersion": _resource_version(node), "annotations": {CORDONED_BY: mark}},
                    "spec": {"unschedulable": True}}
            if _patch_node(client, name, body):
                return True
    raise FaultError(f"cordon node {name}: the node kept changing under us ({_CONFLICT_TRIES} conflicts)",
                     target=target)


def uncordon(client: Client, name: str, mark: str, *, target: str) -> str:
    """Undo :func:`cordon` if it is still ours; returns what was done, for messages. Idempotent."""
    with reverting(), api_errors(target, f"uncordon node {name}", reverting=True):
        for _ in range(_CONFLICT_TRIES):
            try:
                node = client.get(Node, name)
            except ApiError as exc:
                if status_code(exc) == 404:
                    return "gone"
                raise
            if _annotations(node).get(CORDONED_BY) != mark:
                return "not marked by this fault"
            ours = cordoned_by_us(node, mark)
            body: dict[str, Any] = {"metadata": {"resourceVersion": _resource_version(node),
                                                 "annotations": {CORDONED_BY: None}}}
            if ours:
                body["spec"] = {"unschedulable": None}
            if _patch_node(client, name, body):
                return "uncordoned" if ours else "left cordoned by somebody else; mark removed"
        raise FaultError(f"uncordon node {name}: the node kept changing under us ({_CONFLICT_TRIES} conflicts)",
                         target=target)


def find_nodes(client: Client, target: KubernetesTarget, target_name: str) -> list[Node]:
    """The nodes a target names, sorted by name; TargetError if there are none."""
    if target.name is not None:
        with api_errors(target_name, f"Node {target.name}"):
            return [client.get(Node, target.name)]
    with api_errors(target_name, f"list the nodes {_labels_text(target.match_labels)}"):
        nodes = sorted(client.list(Node, labels=dict(target.match_labels or {})),
                       key=lambda n: (n.metadata.name if n.metadata else "") or "")
    if not nodes:
        raise TargetError(f"no node matches {_labels_text(target.match_labels)}", target=target_name)
    return nodes


def _labels_text(labels: Mapping[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))


# --- which pods a drain evicts ------------------------------------------------------------------


@dataclass(frozen=True)
class PodOnNode:
    namespace: str
    name: str
    skip: str = ""
    """Why a drain leaves it (DaemonSet, mirror pod, already terminating); "" if it is evicted."""
    unmanaged: bool = False
    """No controller recreates it: evicting it deletes it for good."""

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


def classify(pod: Pod) -> PodOnNode:
    """What ``kubectl drain --ignore-daemonsets`` does with a pod: mirror and DaemonSet pods stay (the kubelet
    and the DaemonSet controller would only put them back), pods already terminating are left to finish."""
    meta = pod.metadata or ObjectMeta()
    owners = [ref for ref in (meta.ownerReferences or []) if ref.controller]
    skip = ""
    if MIRROR_ANNOTATION in (meta.annotations or {}):
        skip = "mirror pod"
    elif any(ref.kind == "DaemonSet" for ref in owners):
        skip = "DaemonSet"
    elif meta.deletionTimestamp is not None:
        skip = "already terminating"
    return PodOnNode(meta.namespace or "", meta.name or "", skip, unmanaged=not owners)


def pods_on(client: Client, nodes: Sequence[str], target: str) -> list[PodOnNode]:
    found: list[PodOnNode] = []
    for node in nodes:
        with api_errors(target, f"list the pods on node {node}"):
            found.extend(classify(p) for p in client.list(Pod, namespace="*", fields={"spec.nodeName": node}))
    return sorted(found, key=lambda p: (p.namespace, p.name))


def evict_all(client: Client, pods: Sequence[PodOnNode], *, timeout: float, grace_period: int | None,
              target: str) -> dict[str, str]:
    """Evict each pod, retrying those a PodDisruptionBudget protects (429) until ``timeout``; returns the pods
    still not evicted then, with the API server's last word on each."""
    pending = {p.ref: p for p in pods}
    refused: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while True:
        for ref, pod in list(pending.items()):
            eviction = Pod.Eviction(metadata=ObjectMeta(name=pod.name, namespace=pod.namespace),
                                    deleteOptions=DeleteOptions(gracePeriodSeconds=grace_period))
            with api_errors(target, f"evict pod {ref}"):
                try:
                    client.create(eviction, name=pod.name, namespace=pod.namespace)
                except ApiError as exc:
                    # 429: a budget allows no disruption now; 500: several budgets select the pod (kubectl
                    # retries both); 404: gone already, which is what eviction wanted; anything else is final.
                    if status_code(exc) == 429 or status_code(exc) >= 500:
                        refused[ref] = reason(exc)
                        continue
                    if status_code(exc) != 404:
                        raise
            del pending[ref]
        left = deadline - time.monotonic()
        if not pending or left <= 0:
            return {ref: refused.get(ref, "not evicted") for ref in pending}
        time.sleep(min(EVICTION_RETRY_S, left))


# --- the fault kinds ---------------------------------------------------------------------------


class NodeCordon:
    """Mark nodes unschedulable: pods running there stay, new ones go elsewhere (or stay Pending)."""

    kind: ClassVar[str] = "node_cordon"
    args_model: ClassVar[type[FaultArgs]] = CordonArgs
    target_fields: ClassVar[tuple[str, ...]] = ("kind", "name", "match_labels")
    target_platforms: ClassVar[tuple[type, ...]] = (KubernetesPlatform,)

    def target_problems(self, target: Target, target_name: str, args: FaultArgs) -> list[tuple[str, str]]:
        """What validate can tell without the cluster: the target must be nodes."""
        if isinstance(target, KubernetesTarget) and target.kind != "Node":
            return [("target", f"{self.kind} acts on nodes (kind: Node); '{target_name}' is a {target.kind}")]
        return []

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        args = cast(CordonArgs, self.args_model.model_validate(fault.args))
        target = require_kubernetes_target(stack.targets.get(fault.target), fault.target, self.kind)
        if target.kind != "Node":
            raise TargetError(f"{self.kind} acts on nodes; target '{fault.target}' is a {target.kind}",
                              target=fault.target)
        cluster = cluster_of(stack)
        client = cluster.client
        found = {str(n.metadata.name): n for n in find_nodes(client, target, fault.target) if n.metadata}
        nodes = [found[name] for name in args.chosen(list(found))]
        before = [{"name": str(n.metadata.name), "unschedulable": _unschedulable(n)} for n in nodes if n.metadata]
        to_cordon = [str(n["name"]) for n in before if not n["unschedulable"]]
        if not to_cordon:
            raise TargetError(f"every node of target '{fault.target}' is cordoned already "
                              f"({', '.join(str(n['name']) for n in before)}); nothing to break",
                              target=fault.target)
        data: dict[str, Any] = {"token": marks.new_token(), "nodes": before, "cordon": to_cordon,
                                "args": args.model_dump()}
        self._prepare_more(fault, client, data, args)
        names = [str(n["name"]) for n in before]
        # Every node touched must be approved by name (allow.kubernetes) and carry the allow label itself.
        fields = handle_fields(cluster, kind="Node", namespace="", name=target.name or _labels_text(target.match_labels),
                               labels=common_labels(nodes), namespace_labels={}, approve=[[n] for n in names],
                               nodes=names)
        return FaultHandle(kind=self.kind, target=fault.target, description=self.describe(data), data=data, **fields)

    def _prepare_more(self, fault: FaultSpec, client: Client, data: dict[str, Any], args: Any) -> None:
        """What a subclass adds to the handle at prepare."""

    def describe(self, data: dict[str, Any]) -> str:
        already = [str(n["name"]) for n in data["nodes"] if n["unschedulable"]]
        return f"cordon node {', '.join(data['cordon'])}" + (
            f" ({', '.join(already)} cordoned already: left as it is)" if already else "")

    def describe_revert(self, handle: FaultHandle) -> str:
        return (f"uncordon {', '.join(handle.data['cordon'])}, each only if it still carries this fault's "
                f"{CORDONED_BY} mark and nobody cordoned it again since")

    def inject(self, handle: FaultHandle) -> None:
        client = connect(handle.address)
        for name in handle.data["cordon"]:
            cordon(client, name, marks.mark(handle), target=handle.target)

    def check(self, handle: FaultHandle) -> bool:
        """True while every node the fault cordons is unschedulable."""
        client = connect(handle.address)
        with api_errors(handle.target, "read the cordoned nodes"):
            return all(_unschedulable(client.get(Node, name)) for name in handle.data["cordon"])

    def revert(self, handle: FaultHandle) -> None:
        """Uncordon what this fault cordoned and is still its own; harmless to repeat, and after a crash."""
        client = connect(handle.address)
        for name in handle.data["cordon"]:
            uncordon(client, name, marks.mark(handle), target=handle.target)


class NodeDrain(NodeCordon):
    """Cordon nodes, then evict their pods through the Eviction API (policy/v1), as ``kubectl drain
    --ignore-daemonsets`` does: PodDisruptionBudgets are honoured, DaemonSet and mirror pods stay."""

    kind: ClassVar[str] = "node_drain"
    args_model: ClassVar[type[FaultArgs]] = DrainArgs

    def window_problems(self, args: FaultArgs, duration: float) -> list[tuple[str, str]]:
        """What validate can tell from the fault alone: evictions are retried only while the fault lasts."""
        timeout = cast(DrainArgs, args).timeout
        if timeout >= duration:
            return [("timeout", (f"node_drain's timeout ({timeout:g}s) must be shorter than the fault's duration "
                                 f"({duration:g}s): evictions still retried after it would outlive the fault"))]
        return []

    def _prepare_more(self, fault: FaultSpec, client: Client, data: dict[str, Any], args: Any) -> None:
        for _, message in self.window_problems(args, fault.duration):
            raise TargetError(message, target=fault.target)
        pods = pods_on(client, [str(n["name"]) for n in data["nodes"]], fault.target)
        unmanaged = [p.ref for p in pods if p.unmanaged and not p.skip]
        if unmanaged and not args.force:
            raise TargetError(f"node_drain would delete for good {len(unmanaged)} pod(s) no controller manages "
                              f"({', '.join(unmanaged[:5])}{', ...' if len(unmanaged) > 5 else ''}); set force: true "
                              "to evict them anyway", target=fault.target)
        data["evict"] = [p.ref for p in pods if not p.skip]
        data["skip"] = {p.ref: p.skip for p in pods if p.skip}

    def describe(self, data: dict[str, Any]) -> str:
        evict = data.get("evict", [])
        shown = ", ".join(evict[:10]) + (f" and {len(evict) - 10} more" if len(evict) > 10 else "")
        skipped = data.get("skip", {})
        return (f"drain node {', '.join(str(n['name']) for n in data['nodes'])}: "
                + super().describe(data)
                + (f", then evict {len(evict)} pod(s) ({shown})" if evict else ", no pod to evict")
                + (f"; {len(skipped)} left in place (DaemonSet, mirror or terminating pods)" if skipped else ""))

    def describe_revert(self, handle: FaultHandle) -> str:
        return (super().describe_revert(handle) + "; evicted pods are not moved back: their controllers "
                "recreate them on other nodes at once, and new pods may land on the node again once it is uncordoned")

    def inject(self, handle: FaultHandle) -> None:
        super().inject(handle)
        client = connect(handle.address)
        args = handle.data["args"]  # as DrainArgs dumped it at prepare
        timeout = float(args["timeout"])
        pods = pods_on(client, [str(n["name"]) for n in handle.data["nodes"]], handle.target)
        blocked = {p.ref: "no controller manages it (force: true evicts it)"
                   for p in pods if p.unmanaged and not p.skip and not args["force"]}
        evictable = [p for p in pods if not p.skip and p.ref not in blocked]
        blocked.update(evict_all(client, evictable, timeout=timeout, grace_period=args["grace_period"],
                                 target=handle.target))
        if blocked:
            listed = "; ".join(f"{ref}: {why}" for ref, why in sorted(blocked.items()))
            raise FaultError(f"node_drain could not evict {len(blocked)} pod(s) within {timeout:g}s: {listed}",
                             target=handle.target)

    def check(self, handle: FaultHandle) -> bool:
        """True while the nodes are cordoned and no pod a drain evicts is left on them."""
        if not super().check(handle):
            return False
        client = connect(handle.address)
        return not [p for p in pods_on(client, [str(n["name"]) for n in handle.data["nodes"]], handle.target)
                    if not p.skip]
