"""``container_kill`` on Kubernetes: one container of one pod killed through the node's runtime, a crash the
kubelet sees and restarts (its restartCount rises, its lastState says terminated).

    - kind: container_kill
      target: postgres                 # {platform: kubernetes, kind: StatefulSet, name: postgres, container: postgres}
      args: {signal: SIGKILL}

The container faults (``gameday.faults.docker``) hand Kubernetes targets to this driver
(``KubernetesPlatform.container_fault``), since what revert means differs: Docker's killed container stays
dead until revert starts it; here the kubelet restarts it, with a new runtime id, and revert only waits.

prepare   the target's pods (``gameday.kubernetes.pods``), sorted by name: the first whose container is running
          and ready; the container is ``container:`` of the target, or the pod's only one. Records the pod's
          uid, the runtime's id of the container running now, its restartCount, and the node's containerd
          socket (``gameday.kubernetes.runtime``: only nodes gameday runs; any other is refused in one line).
          A pod with ``restartPolicy: Never`` is refused (nothing would restart the container).
inject    sends the signal to exactly that container (by runtime id): a restarted container, a later one, is
          never touched; one already dead is left alone.
check     True from the kill until the kubelet's new container is running and ready: the recorded container
          is no longer running (containerd's word, at once) and the pod shows no other one ready yet.
revert    nothing to start: waits (up to REVERT_TIMEOUT_S) until the container runs and is ready again, or the
          recorded one still runs (the kill never happened); a pod deleted or replaced meanwhile is its
          controller's business. RevertError when the kubelet has not brought it back in time.
observations  ``kubernetes.container`` before inject, right after it and after revert: the container's state,
          readiness, restartCount and how the previous one ended, as the pod's status says.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from gameday import events as ev
from gameday.errors import FaultError, RevertError, TargetError
from gameday.faults.base import FaultArgs, reverting
from gameday.faults.docker import KillArgs
from gameday.handle import FaultHandle
from gameday.kubernetes.client import connect
from gameday.kubernetes.objects import (
    allow_names,
    cluster_of,
    find_object,
    get_object,
    handle_fields,
    namespace_labels,
    require_kubernetes_target,
)
from gameday.kubernetes.pods import pods_of
from gameday.kubernetes.runtime import NodeRuntime, container_id, runtime_socket
from gameday.platforms.base import Target
from gameday.scenario.model import FaultSpec, StackSpec

REVERT_TIMEOUT_S = 90.0
"""The kubelet restarts a container that crashed once at once, but a second crash within ten minutes waits
10 s, a third 20 s (its back-off); 90 s covers the third."""
POLL_S = 0.2


class KubernetesContainerKill:
    """Kill one container of a pod through the node's containerd; the kubelet restarts it."""

    kind: ClassVar[str] = "container_kill"
    args_model: ClassVar[type[FaultArgs]] = KillArgs
    target_fields: ClassVar[tuple[str, ...]] = ("kind",)

    def target_problems(self, target: Target, target_name: str, args: Any) -> list[tuple[str, str]]:
        kind = getattr(target, "kind", None)
        if kind in ("Node", "Secret"):
            return [("target", (f"container_kill kills a container of a pod; target '{target_name}' is a {kind}: "
                                "name a Deployment, StatefulSet, DaemonSet or Pod"))]
        return []

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        target = require_kubernetes_target(stack.targets[fault.target], fault.target, self.kind)
        args = KillArgs.model_validate(fault.args)
        cluster = cluster_of(stack)
        found = pods_of(cluster, target, fault.target)
        if not found.pods:
            raise TargetError(f"{target.selector} (target '{fault.target}') has no running pods", target=fault.target)
        pod, name, status = _pick(found.pods, target.container, fault.target)
        pod_name, namespace = str(pod.metadata.name), found.namespace
        if (pod.spec.restartPolicy or "Always") == "Never":
            raise TargetError(f"pod {namespace}/{pod_name} has restartPolicy Never: nothing would restart a killed "
                              "container, so the kill could not be reverted", target=fault.target)
        node = get_object(cluster.client, "Node", str(pod.spec.nodeName), "", target=fault.target)
        socket = runtime_socket(node, what=f"{self.kind} of pod {namespace}/{pod_name}", target=fault.target)
        cid = container_id(status)
        if cid is None:
            raise TargetError(f"container {name} of pod {namespace}/{pod_name} does not run on containerd "
                              f"({status.containerID}); gameday kills through containerd only", target=fault.target)
        owner = found.owners[pod_name]
        lock_kind, lock_name = found.lock(target, [pod_name])
        labels = (dict(found.workload.metadata.labels or {}) if found.workload is not None
                  else dict(pod.metadata.labels or {}))
        approve = [allow_names(namespace, str(target.name))] if found.workload is not None else \
            [allow_names(namespace, pod_name, *([owner.name] if owner else []))]
        restarts = int(status.restartCount or 0)
        by = f" of {owner.kind} {namespace}/{owner.name}" if owner else ""
        return FaultHandle(
            kind=self.kind, target=fault.target,
            description=f"kill container {name} of pod {namespace}/{pod_name}{by} with {args.signal} through node "
                        f"{pod.spec.nodeName}'s containerd; the kubelet restarts it",
            data={"pod": pod_name, "uid": str(pod.metadata.uid), "container": name, "container_id": cid,
                  "restarts": restarts, "node": str(pod.spec.nodeName), "args": args.model_dump()},
            **handle_fields(cluster, kind=lock_kind, namespace=namespace, name=lock_name, labels=labels,
                            namespace_labels=namespace_labels(cluster.client, namespace, target=fault.target),
                            approve=approve, socket=str(socket),
                            notes=[(f"the kubelet of node {pod.spec.nodeName} restarts container {name} (restartPolicy "
                                    f"{pod.spec.restartPolicy or 'Always'}; restarts so far: {restarts})")]),
        )

    def describe_revert(self, handle: FaultHandle) -> str:
        data = handle.data
        return (f"nothing to start: the kubelet restarts container {data['container']} of pod "
                f"{handle.address['namespace']}/{data['pod']}; wait until it is running and ready again "
                f"(up to {REVERT_TIMEOUT_S:.0f} s)")

    def inject(self, handle: FaultHandle) -> None:
        NodeRuntime(handle.address["socket"], target=handle.target).kill(handle.data["container_id"],
                                                                           handle.data["args"]["signal"])

    def check(self, handle: FaultHandle) -> bool:
        """True from the kill until the kubelet's new container is running and ready."""
        state = self._state(handle, reverting=False)
        return state == "killed"

    def revert(self, handle: FaultHandle) -> None:
        """Wait until the kubelet has the container running and ready again (nothing to start: it restarts it)."""
        data = handle.data
        deadline = time.monotonic() + REVERT_TIMEOUT_S
        with reverting():
            while True:
                state = self._state(handle, reverting=True)
                if state != "killed":
                    return
                if time.monotonic() >= deadline:
                    raise RevertError(
                        f"container {data['container']} of pod {handle.address['namespace']}/{data['pod']} is not "
                        f"running and ready again {REVERT_TIMEOUT_S:.0f} s after the kill ({self._last}); the kubelet "
                        "restarts it on its back-off", target=handle.target)
                time.sleep(POLL_S)

    def observations(self, handle: FaultHandle, phase: str) -> list[tuple[str, dict[str, Any]]]:
        """``kubernetes.container``: the container as its pod's status says, in each phase."""
        data = handle.data
        namespace = str(handle.address["namespace"])
        pod = find_object(connect(handle.address), "Pod", data["pod"], namespace, target=handle.target)
        found: dict[str, Any] = {"target": handle.target, "phase": phase, "pod": f"{namespace}/{data['pod']}",
                                 "container": data["container"], "killed_id": data["container_id"][:12]}
        status = _status(pod, data["container"]) if pod is not None and str(pod.metadata.uid) == data["uid"] else None
        if status is None:
            return [(ev.KUBERNETES_CONTAINER, {**found, "state": "pod gone or replaced"})]
        last = status.lastState.terminated if status.lastState else None
        return [(ev.KUBERNETES_CONTAINER, {
            **found, "state": _words(status), "ready": bool(status.ready), "restarts": int(status.restartCount or 0),
            "last_state": f"terminated ({last.reason or '-'}, exit {last.exitCode})" if last else "",
            "container_id": (container_id(status) or "")[:12]})]

    _last: str = "not read yet"

    def _state(self, handle: FaultHandle, *, reverting: bool) -> str:
        """``alive`` (the recorded container still runs: not killed yet), ``back`` (another container of that name
        runs and is ready), ``gone`` (the pod was deleted or replaced), or ``killed`` (none of those)."""
        data = handle.data
        runtime = NodeRuntime(handle.address["socket"], target=handle.target,
                              error=RevertError if reverting else FaultError)
        if runtime.status(data["container_id"]) == "RUNNING":
            return "alive"
        client = connect(handle.address)
        pod = find_object(client, "Pod", data["pod"], str(handle.address["namespace"]), target=handle.target,
                          reverting=reverting)
        if pod is None or str(pod.metadata.uid) != data["uid"]:
            return "gone"
        status = _status(pod, data["container"])
        if status is None:
            self._last = "no status yet"
            return "killed"
        self._last = f"{_words(status)}, restarts {status.restartCount}"
        current = container_id(status)
        if current and current != data["container_id"] and status.state and status.state.running and status.ready:
            return "back"
        return "killed"


def _status(pod: Any, name: str) -> Any | None:
    statuses = (pod.status.containerStatuses if pod.status else None) or []
    return next((s for s in statuses if s.name == name), None)


def _words(status: Any) -> str:
    """A container's state in a few words: running, waiting (CrashLoopBackOff), terminated (Error, exit 137)."""
    state = status.state
    if state is None:
        return "unknown"
    if state.running:
        return "running" + ("" if status.ready else ", not ready")
    if state.waiting:
        return f"waiting ({state.waiting.reason or '-'})"
    if state.terminated:
        return f"terminated ({state.terminated.reason or '-'}, exit {state.terminated.exitCode})"
    return "unknown"


def _pick(pods: tuple[Any, ...], container: str | None, target: str) -> tuple[Any, str, Any]:
    """The first pod (by name) whose container runs and is ready: (pod, container name, its status)."""
    first = pods[0]
    names = [c.name for c in first.spec.containers]
    if container is None:
        if len(names) != 1:
            raise TargetError(f"pod {first.metadata.namespace}/{first.metadata.name} has containers "
                              f"{', '.join(names)}: name one with container: in target '{target}'", target=target)
        container = str(names[0])
    elif container not in names:
        raise TargetError(f"pod {first.metadata.namespace}/{first.metadata.name} has no container {container} (it has "
                          f"{', '.join(names)})", target=target)
    seen = []
    for pod in pods:
        status = _status(pod, container)
        if status is not None and status.state and status.state.running and status.ready:
            return pod, container, status
        seen.append(f"{pod.metadata.name}: {_words(status) if status is not None else 'not started'}")
    raise TargetError(f"no pod of target '{target}' has container {container} running and ready ("
                      f"{'; '.join(seen[:3])}): nothing to kill", target=target)
