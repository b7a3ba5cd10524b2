"""``pod_delete``: delete pods of a workload (or pods a target names), chosen deterministically.

    - kind: pod_delete
      target: web                      # {platform: kubernetes, kind: Deployment, name: web}
      args: {percent: 50, max: 3, seed: 7, grace_period: 0}

prepare   picks the pods (``gameday.kubernetes.selection``) and records each one's name and uid, and the
          controller that owns it; a bare pod (no controller: nothing recreates it, so nothing can revert its
          deletion) is refused unless ``allow_bare_pods: true``.
inject    deletes exactly those pods, 8 at a time (by uid: a StatefulSet's replacement of the same name is never touched).
check     True once every recorded pod is gone or terminating (read 8 at a time): ``fault.effective``.
revert    nothing to restore: the controller replaces deleted pods; so revert is a no-op, harmless to repeat.
observations  ``kubernetes.workload`` during (the pods deleted, replicas desired and ready) and after the
          fault window: the workload replaced the pods and is ready again (``recovered``), waited for up to
          ``RECOVERY_TIMEOUT_S``; whether it recovered in time is then a judgement the scenario's
          expectations and probes make, not a revert's failure.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from pydantic import Field

from gameday import events as ev
from gameday.errors import TargetError
from gameday.faults.base import FaultArgs
from gameday.handle import FaultHandle
from gameday.kubernetes.client import connect
from gameday.kubernetes.objects import (
    Owner,
    allow_names,
    cluster_of,
    common_labels,
    delete_object,
    find_object,
    handle_fields,
    namespace_labels,
    require_kubernetes_target,
)
from gameday.kubernetes.platform import KubernetesPlatform
from gameday.kubernetes.pods import pods_of
from gameday.kubernetes.recovery import snapshot, wait_recovered
from gameday.kubernetes.selection import SelectionArgs, select
from gameday.platforms.base import Target
from gameday.scenario.model import FaultSpec, StackSpec

DELETE_CONCURRENCY = 8
"""Pods deleted at once. Each delete waits for an etcd write: 100 pods of a 1,000-pod Deployment one by one took
7.1 s on two busy cores, 8 at a time 2.8 s (benchmarks/RESULTS.md, Kubernetes at scale)."""


class PodDeleteArgs(SelectionArgs):
    grace_period: int | None = Field(None, ge=0, le=3600,
                                     description="seconds the pods get to stop (default: each pod's own)")
    allow_bare_pods: bool = Field(False, description="also delete pods no controller owns (nothing recreates "
                                                     "them: their deletion cannot be reverted)")


class PodDelete:
    """Delete pods of a workload; its controller replaces them."""

    kind: ClassVar[str] = "pod_delete"
    args_model: ClassVar[type[FaultArgs]] = PodDeleteArgs
    target_fields: ClassVar[tuple[str, ...]] = ("kind",)
    target_platforms: ClassVar[tuple[type, ...]] = (KubernetesPlatform,)

    def target_problems(self, target: Target, target_name: str, args: Any) -> list[tuple[str, str]]:
        """What validate can say before touching the cluster: the target has pods."""
        kind = getattr(target, "kind", None)
        if kind in ("Node", "Secret"):
            return [("target", (f"pod_delete deletes pods; target '{target_name}' is a {kind}: name a Deployment, "
                               "StatefulSet, DaemonSet or Pod"))]
        return []

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        target = require_kubernetes_target(stack.targets[fault.target], fault.target, self.kind)
        args = PodDeleteArgs.model_validate(fault.args)
        cluster = cluster_of(stack)
        found = pods_of(cluster, target, fault.target)
        if not found.pods:
            raise TargetError(f"{target.selector} (target '{fault.target}') has no running pods to delete",
                              target=fault.target)
        chosen = select(found.names, args)
        bare = [n for n in chosen if found.owners[n] is None]
        if bare and not args.allow_bare_pods:
            raise TargetError(f"pod {found.namespace}/{bare[0]} (target '{fault.target}') has no controller: nothing "
                              "would recreate it, so its deletion cannot be reverted; pass allow_bare_pods: true to "
                              "delete it anyway", target=fault.target)
        grace = "each pod's own" if args.grace_period is None else f"{args.grace_period}s"
        by_name = {str(p.metadata.name): p for p in found.pods}
        pods = [{"name": n, "uid": str(by_name[n].metadata.uid), "owner": _owner_json(found.owners[n])} for n in chosen]
        lock_kind, lock_name = found.lock(target, chosen)
        labels = (dict(found.workload.metadata.labels or {}) if found.workload is not None
                  else common_labels([by_name[n] for n in chosen]))
        approve = [allow_names(found.namespace, n, *([o.name] if (o := found.owners[n]) else [])) for n in chosen]
        if found.workload is not None:
            approve = [allow_names(found.namespace, str(target.name))]
        return FaultHandle(
            kind=self.kind, target=fault.target,
            description=f"delete {_pods_text(chosen)}{_of(found.namespace, found.owner_of(chosen))} (chosen: "
                        f"{args.describe(len(found.pods))}; grace period: {grace})",
            data={"pods": pods, "args": args.model_dump()},
            **handle_fields(cluster, kind=lock_kind, namespace=found.namespace, name=lock_name, labels=labels,
                            namespace_labels=namespace_labels(cluster.client, found.namespace, target=fault.target),
                            approve=approve, notes=_notes(found.namespace, pods)),
        )

    def describe_revert(self, handle: FaultHandle) -> str:
        owners = _owners(handle)
        bare = [p["name"] for p in handle.data["pods"] if not p.get("owner")]
        said = []
        if owners:
            said.append("nothing to restore: " + ", ".join(f"{o.kind} {handle.address['namespace']}/{o.name}"
                                                           for o in owners)
                        + " replaces the deleted pods; the report says when it is ready again")
        if bare:
            said.append(f"nothing can bring back {', '.join(bare)}: no controller owns it, it stays deleted")
        return "; ".join(said)

    def inject(self, handle: FaultHandle) -> None:
        """Delete the recorded pods, DELETE_CONCURRENCY at a time; every one is tried, then the first error raises."""
        client = connect(handle.address)
        namespace = str(handle.address["namespace"])
        grace = handle.data["args"].get("grace_period")

        def delete(pod: dict[str, Any]) -> None:
            live = find_object(client, "Pod", pod["name"], namespace, target=handle.target)
            if live is None or live.metadata.uid != pod["uid"]:
                return  # gone already, or a replacement of the same name (a StatefulSet's): not ours to delete
            delete_object(client, "Pod", pod["name"], namespace, target=handle.target, grace_period=grace)

        with ThreadPoolExecutor(max_workers=DELETE_CONCURRENCY, thread_name_prefix="pod-delete") as pool:
            pending = [pool.submit(delete, pod) for pod in handle.data["pods"]]
        for done in pending:
            done.result()

    def check(self, handle: FaultHandle) -> bool:
        """True once every recorded pod is gone (or being deleted); read DELETE_CONCURRENCY at a time (100 reads one
        by one took 4.7 s on a busy machine, which delayed fault.effective by as much)."""
        client = connect(handle.address)
        namespace = str(handle.address["namespace"])

        def still_there(pod: dict[str, Any]) -> bool:
            live = find_object(client, "Pod", pod["name"], namespace, target=handle.target)
            return live is not None and live.metadata.uid == pod["uid"] and live.metadata.deletionTimestamp is None

        with ThreadPoolExecutor(max_workers=DELETE_CONCURRENCY, thread_name_prefix="pod-check") as pool:
            return not any(pool.map(still_there, handle.data["pods"]))

    def revert(self, handle: FaultHandle) -> None:
        """Nothing to restore: a controller replaces deleted pods, and a bare pod cannot be brought back."""

    def observations(self, handle: FaultHandle, phase: str) -> list[tuple[str, dict[str, Any]]]:
        """``kubernetes.workload`` during (right after the pods were deleted) and after the fault window (once the
        workload is ready again, or after RECOVERY_TIMEOUT_S); nothing before."""
        if phase == "before":
            return []
        client = connect(handle.address)
        namespace = str(handle.address["namespace"])
        removed = {p["uid"] for p in handle.data["pods"]}
        deleted = [p["name"] for p in handle.data["pods"]]
        found = []
        for owner in _owners(handle):
            state = (wait_recovered(client, owner, namespace, removed, target=handle.target) if phase == "after"
                     else snapshot(client, owner, namespace, removed, target=handle.target))
            found.append((ev.KUBERNETES_WORKLOAD, {"target": handle.target, "phase": phase, "deleted": deleted,
                                                    **state}))
        return found


def _owner_json(owner: Owner | None) -> dict[str, str] | None:
    return {"kind": owner.kind, "name": owner.name, "uid": owner.uid} if owner else None


def _owners(handle: FaultHandle) -> list[Owner]:
    """The distinct controllers of the deleted pods, in order."""
    seen: dict[str, Owner] = {}
    for pod in handle.data["pods"]:
        raw = pod.get("owner")
        if raw:
            seen.setdefault(raw["uid"], Owner(raw["kind"], raw["name"], raw["uid"]))
    return list(seen.values())


def _pods_text(names: list[str]) -> str:
    return f"pod{'s' if len(names) != 1 else ''} {', '.join(names)}"


def _of(namespace: str, owner: Owner | None) -> str:
    return f" of {owner.kind} {namespace}/{owner.name}" if owner else f" in {namespace}"


def _notes(namespace: str, pods: list[dict[str, Any]]) -> list[str]:
    notes = []
    owners = {(p["owner"]["kind"], p["owner"]["name"]) for p in pods if p["owner"]}
    for kind, name in sorted(owners):
        notes.append(f"{kind} {namespace}/{name} recreates deleted pods (its controller, not gameday)")
    bare = [p["name"] for p in pods if not p["owner"]]
    if bare:
        notes.append(f"{', '.join(bare)}: no controller; deleted for good (allow_bare_pods: true)")
    return notes
