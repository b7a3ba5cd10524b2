"""``network_isolate``: a deny-all NetworkPolicy over a workload's pods (ingress, egress or both).

The policy is named ``gameday-isolate-<token>`` and labelled with the run, the fault and the token
(``marks.labels``); revert deletes exactly that policy, and only while it still carries this fault's token,
so no other policy is ever touched. check() reads the live policy.

A NetworkPolicy is only an API object: the cluster's network plugin enforces it, or nothing does (a cluster
without one accepts the policy and blocks nothing). ``enforcement`` says which, honestly: the stack's
``network_policy_enforced`` setting when given, else what the cluster shows (kwok nodes have no pod network;
a known enforcing plugin's pods in kube-system), else "unknown". ``plan`` and the report show it in the
fault's description.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, cast

from lightkube import ApiError, Client
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.models.networking_v1 import NetworkPolicySpec
from lightkube.resources.core_v1 import Node, Pod
from lightkube.resources.networking_v1 import NetworkPolicy
from pydantic import Field

from gameday.cluster.api import NODE_ANNOTATION
from gameday.errors import FaultError, TargetError
from gameday.faults.base import FaultArgs, reverting
from gameday.handle import FaultHandle
from gameday.kubernetes.client import api_errors, connect
from gameday.kubernetes.faults import marks
from gameday.kubernetes.faults.api import status_code
from gameday.kubernetes.objects import (
    allow_names,
    cluster_of,
    common_labels,
    get_object,
    handle_fields,
    labels_of,
    namespace_labels,
    require_kubernetes_target,
    top_owner,
)
from gameday.kubernetes.platform import WORKLOAD_KINDS, KubernetesPlatform, KubernetesTarget
from gameday.platforms.base import Target
from gameday.scenario.model import FaultSpec, StackSpec

SETTING = "network_policy_enforced"
ENFORCERS = {"calico-node": "Calico", "cilium": "Cilium", "antrea-agent": "Antrea", "weave-net": "Weave Net",
             "kube-router": "kube-router", "canal": "Canal", "kube-ovn-cni": "Kube-OVN"}
"""Pods (by name prefix, in kube-system) of network plugins that enforce NetworkPolicy."""
REAL_NODE_LABEL = "gameday.dev/node"
"""The label of the local cluster's real node (gameday.cluster.node), whose CNI config is loopback only."""
NOT_BLOCKED = "the policy is created but traffic is not blocked"

Direction = Literal["ingress", "egress", "both"]


class IsolateArgs(FaultArgs):
    direction: Direction = Field("both", description="deny traffic into the pods (ingress), out of them (egress), or both")


@dataclass(frozen=True)
class Enforcement:
    enforced: Literal["yes", "no", "unknown"]
    why: str

    def sentence(self) -> str:
        if self.enforced == "yes":
            return f"enforced: {self.why}"
        if self.enforced == "no":
            return f"not enforced here: {NOT_BLOCKED}, since {self.why}"
        return f"enforcement unknown: {self.why}; without an enforcing network plugin {NOT_BLOCKED}"


def enforcement(client: Client, setting: object, nodes: Sequence[str], target: str, *,
                host_network: bool = False) -> Enforcement:
    """Whether the cluster enforces NetworkPolicy on these pods, and how we know: pods on the host's network are
    outside any policy; then the stack's word; then what the cluster shows."""
    if host_network:
        return Enforcement("no", "the pods use the host's network (hostNetwork: true), which NetworkPolicy does "
                                 "not cover")
    if setting is True:
        return Enforcement("yes", f"the stack says {SETTING}: true")
    if setting is False:
        return Enforcement("no", f"the stack says {SETTING}: false")
    try:
        with api_errors(target, "look for a network plugin"):
            names = nodes or [n.metadata.name for n in client.list(Node) if n.metadata and n.metadata.name]
            local = [n for n in names if _local(client.get(Node, n))]
            if names and len(local) == len(names):
                where = "the pods run on" if nodes else "every node is one of"
                return Enforcement("no", f"{where} the local cluster's nodes (kwok's have no pod network, the real "
                                         "node's CNI is loopback only)")
            plugins = sorted({f"{ENFORCERS[prefix]} ({pod})" for pod in _pod_names(client, "kube-system")
                              for prefix in ENFORCERS if pod.startswith(prefix + "-")})
    except TargetError as exc:  # FaultError too: a user without nodes or kube-system's pods (RBAC) still isolates
        return Enforcement("unknown", f"gameday could not look ({exc}); set {SETTING}: true or false in the "
                                      "stack's platforms.kubernetes")
    if plugins:
        return Enforcement("yes", f"{', '.join(plugins)} runs in kube-system (set {SETTING} to be sure)")
    return Enforcement("unknown", f"no known enforcing network plugin ({', '.join(sorted(set(ENFORCERS.values())))}) "
                                  f"runs in kube-system; set {SETTING}: true or false in the stack's platforms.kubernetes")


def _local(node: Node) -> bool:
    """A node of ``gameday cluster up``: kwok's (no pod network at all) or its real node (a loopback-only CNI)."""
    meta = node.metadata
    return bool(meta and ((meta.annotations or {}).get(NODE_ANNOTATION) == "fake"
                          or (meta.labels or {}).get(REAL_NODE_LABEL) == "real"))


def _pod_names(client: Client, namespace: str) -> list[str]:
    return [p.metadata.name for p in client.list(Pod, namespace=namespace) if p.metadata and p.metadata.name]


def pod_selector(workload: Any, target: KubernetesTarget, target_name: str) -> dict[str, Any]:
    """The target's pods as a label selector: a workload's own ``spec.selector``, or a Pod target's labels."""
    if workload is None:
        if not target.match_labels:
            raise TargetError(f"a NetworkPolicy selects pods by label, not by name: give target '{target_name}' "
                              "match_labels, or name its workload (Deployment, StatefulSet, DaemonSet)",
                              target=target_name)
        return {"matchLabels": dict(target.match_labels)}
    selector = workload.spec.selector.to_dict() if workload.spec and workload.spec.selector else {}
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        raise TargetError(f"{target.kind} {target.namespace}/{target.name} has an empty pod selector: isolating "
                          "it would isolate every pod of the namespace", target=target_name)
    return dict(selector)


def selector_text(selector: Mapping[str, Any]) -> str:
    labels = selector.get("matchLabels") or {}
    parts = [",".join(f"{k}={v}" for k, v in sorted(labels.items()))] if labels else []
    parts += [f"{e['key']} {e['operator']} {e.get('values') or ''}".strip() for e in selector.get("matchExpressions") or []]
    return ", ".join(parts)


class NetworkIsolate:
    """Cut a workload's pods off the network with a deny-all NetworkPolicy."""

    kind: ClassVar[str] = "network_isolate"
    args_model: ClassVar[type[FaultArgs]] = IsolateArgs
    target_fields: ClassVar[tuple[str, ...]] = ("kind", "name", "match_labels", "namespace")
    target_platforms: ClassVar[tuple[type, ...]] = (KubernetesPlatform,)

    def target_problems(self, target: Target, target_name: str, args: FaultArgs) -> list[tuple[str, str]]:
        """What validate can tell without the cluster: a workload, or pods by labels."""
        if not isinstance(target, KubernetesTarget):
            return []
        if target.kind not in (*WORKLOAD_KINDS, "Pod"):
            return [("target", (f"{self.kind} acts on a workload's pods (kind: Deployment, StatefulSet, DaemonSet, "
                               f"or Pod with match_labels); '{target_name}' is a {target.kind}"))]
        if target.kind == "Pod" and target.match_labels is None:
            return [("target", ("a NetworkPolicy selects pods by label, not by name: give match_labels, or name "
                               "the pods' workload"))]
        if target.kind != "Pod" and target.name is None:
            return [("target", f"{self.kind} needs the {target.kind}'s name (its own selector picks the pods)")]
        return []

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        args = IsolateArgs.model_validate(fault.args)
        target = require_kubernetes_target(stack.targets.get(fault.target), fault.target, self.kind)
        if target.kind not in (*WORKLOAD_KINDS, "Pod"):
            raise TargetError(f"{self.kind} acts on a workload's pods; target '{fault.target}' is a {target.kind}",
                              target=fault.target)
        cluster = cluster_of(stack)
        client = cluster.client
        workload = None
        if target.kind != "Pod":
            if target.name is None:
                raise TargetError(f"{self.kind} needs target '{fault.target}' to name its {target.kind}",
                                  target=fault.target)
            workload = get_object(client, target.kind, target.name, target.namespace, target=fault.target)
        selector = pod_selector(workload, target, fault.target)
        with api_errors(fault.target, f"list the pods {selector_text(selector)} in {target.namespace}"):
            pods = sorted((p for p in client.list(Pod, namespace=target.namespace, labels=_label_filter(selector))
                           if p.metadata and p.metadata.name and _matches(p.metadata.labels or {}, selector)),
                          key=lambda p: str(p.metadata.name if p.metadata else ""))
        nodes = sorted({p.spec.nodeName for p in pods if p.spec and p.spec.nodeName})
        verdict = enforcement(client, stack.platform_settings("kubernetes").get(SETTING, "unknown"), nodes,
                              fault.target, host_network=bool(pods) and all(p.spec and p.spec.hostNetwork
                                                                            for p in pods))
        token = marks.new_token()
        data = {"token": token, "policy": f"gameday-isolate-{token}", "namespace": target.namespace,
                "selector": selector, "direction": args.model_dump()["direction"],
                "pods": [str(p.metadata.name) for p in pods if p.metadata],
                "enforced": verdict.enforced, "enforcement": verdict.sentence()}
        if workload is not None:
            labels, approve = labels_of(workload), [allow_names(target.namespace, str(target.name))]
        else:
            # Pods by labels: each must carry the allow label (or its namespace), and be listed as itself or
            # as the workload that owns it.
            labels = common_labels(pods)
            approve = [allow_names(target.namespace, str(p.metadata.name),
                                   *([owner.name] if (owner := top_owner(client, p, target=fault.target)) else []))
                       for p in pods if p.metadata]
        fields = handle_fields(cluster, kind=target.kind, namespace=target.namespace,
                               name=target.name or selector_text(selector), labels=labels,
                               namespace_labels=namespace_labels(client, target.namespace, target=fault.target),
                               approve=approve)
        return FaultHandle(kind=self.kind, target=fault.target, description=self.describe(data), data=data, **fields)

    def describe(self, data: dict[str, Any]) -> str:
        what = {"ingress": "ingress", "egress": "egress", "both": "ingress and egress"}[data["direction"]]
        pods = data["pods"]
        shown = ", ".join(pods[:5]) + (f" and {len(pods) - 5} more" if len(pods) > 5 else "")
        return (f"deny all {what} of the pods {selector_text(data['selector'])} in namespace {data['namespace']} "
                f"({len(pods)} now{': ' + shown if pods else ''}) with NetworkPolicy {data['policy']}; "
                f"NetworkPolicy {data['enforcement']}")

    def describe_revert(self, handle: FaultHandle) -> str:
        return (f"delete NetworkPolicy {handle.data['namespace']}/{handle.data['policy']} (only that one, and only "
                f"while it carries this fault's {marks.TOKEN_LABEL} label)")

    def _policy(self, handle: FaultHandle) -> NetworkPolicy:
        direction = handle.data["direction"]
        types = {"ingress": ["Ingress"], "egress": ["Egress"], "both": ["Ingress", "Egress"]}[direction]
        return NetworkPolicy(
            metadata=ObjectMeta(name=handle.data["policy"], namespace=handle.data["namespace"],
                                labels=marks.labels(handle), annotations=marks.describing(handle)),
            # No rule under a listed policy type: nothing is allowed that way.
            spec=NetworkPolicySpec(podSelector=cast(LabelSelector, LabelSelector.from_dict(handle.data["selector"])),
                                  policyTypes=types))

    def _live(self, client: Client, handle: FaultHandle, *, reverting: bool = False) -> NetworkPolicy | None:
        """This fault's policy as it is now; None if there is none (or the name is another's)."""
        with api_errors(handle.target, f"read NetworkPolicy {handle.data['policy']}", reverting=reverting):
            try:
                policy = client.get(NetworkPolicy, handle.data["policy"], namespace=handle.data["namespace"])
            except ApiError as exc:
                if status_code(exc) == 404:
                    return None
                raise
        labels = (policy.metadata.labels or {}) if policy.metadata else {}
        return policy if labels.get(marks.TOKEN_LABEL) == handle.data["token"] else None

    def inject(self, handle: FaultHandle) -> None:
        client = connect(handle.address)
        with api_errors(handle.target, f"create NetworkPolicy {handle.data['policy']}"):
            try:
                client.create(self._policy(handle), namespace=handle.data["namespace"])
            except ApiError as exc:
                if status_code(exc) != 409:
                    raise
                if self._live(client, handle) is None:  # 409 for our own: inject repeated; else a stranger's
                    raise FaultError(f"NetworkPolicy {handle.data['policy']} exists and is not this fault's",
                                     target=handle.target) from exc

    def check(self, handle: FaultHandle) -> bool:
        """True while this fault's policy exists (whether traffic is blocked is the network plugin's part)."""
        return self._live(connect(handle.address), handle) is not None

    def revert(self, handle: FaultHandle) -> None:
        """Delete this fault's policy, if it is still there; harmless to repeat, and after a crash."""
        client = connect(handle.address)
        if self._live(client, handle, reverting=True) is None:
            return
        with reverting(), api_errors(handle.target, f"delete NetworkPolicy {handle.data['policy']}", reverting=True):
            try:
                client.delete(NetworkPolicy, handle.data["policy"], namespace=handle.data["namespace"])
            except ApiError as exc:
                if status_code(exc) != 404:
                    raise


def _label_filter(selector: Mapping[str, Any]) -> dict[str, Any]:
    """The matchLabels part, for the list call's label filter (matchExpressions are checked after)."""
    return dict(selector.get("matchLabels") or {})


def _matches(labels: Mapping[str, str], selector: Mapping[str, Any]) -> bool:
    """A LabelSelector's matchExpressions (In, NotIn, Exists, DoesNotExist) against a pod's labels."""
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True
