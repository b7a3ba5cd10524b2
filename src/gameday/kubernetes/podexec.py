"""Commands inside a pod's container, through the API server's ``exec`` (the platform's ExecPlatform side).

    find_exec_container(stack, target, ...)   the running pod and container a target names, and the handle's fields
    KubectlExec(address).exec(id, argv)       run ``argv`` in it: ``kubectl exec`` with the handle's kubeconfig
                                              and context, the command's own exit code back
    container_exists(address)                 the recorded pod (its uid) is still there

Why kubectl: lightkube has no exec (the subresource needs a WebSocket or SPDY stream), and kubectl speaks
every kind of credential a kubeconfig may hold (client certificates, tokens, exec plugins), as the team's
own runbook commands do. It is the build's kubectl (``scripts/build-kubernetes.sh``; Debian's 1.20 is too
old) when built here, else the first on PATH; its absolute path goes into the handle, so a revert in
another process runs the same one. The container's own user runs the command (exec cannot choose one).

The handle's address is ``handle_fields``' (kubeconfig, context, namespace, the lock's kind and name, what the
safety check reads) plus ``pod``, ``pod_uid``, ``container``, ``id`` (``<pod>/<container>``) and ``kubectl``.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gameday.errors import EnvironmentProblem, FaultError, TargetError
from gameday.kubernetes.client import connect
from gameday.kubernetes.objects import (
    allow_names,
    cluster_of,
    get_object,
    handle_fields,
    labels_of,
    namespace_labels,
    require_kubernetes_target,
)
from gameday.kubernetes.pods import pods_of
from gameday.platforms.base import ContainerState, ExecResult, FoundContainer, Mount

if TYPE_CHECKING:
    from gameday.scenario.model import StackSpec

KUBECTL_ERRORS = ("Error from server", "error: ", "Unable to connect to the server")
"""How kubectl's own failures start on stderr (a command that ran and failed prints its own words)."""
GONE = ("NotFound", "container not found", "BadRequest", "unable to upgrade connection")
"""kubectl's words for a pod or container that is not there to exec into (gone, replaced, not started yet)."""


def kubectl_binary(environ: Mapping[str, str]) -> Path:
    """The build's kubectl (``GAMEDAY_KUBERNETES_BIN`` or the cache), else the first on PATH."""
    from gameday.cluster.config import ClusterConfig

    try:
        return ClusterConfig.from_env(environ).binary("kubectl")
    except EnvironmentProblem:
        found = shutil.which("kubectl", path=environ.get("PATH"))
        if found is None:
            raise EnvironmentProblem("a fault inside a pod runs kubectl exec, and there is no kubectl: build it with "
                                     "scripts/build-kubernetes.sh or put one on PATH") from None
        return Path(found).absolute()


class KubectlExec:
    """Runs commands in containers of the pods of one handle's namespace, as ``kubectl exec`` does."""

    def __init__(self, address: Mapping[str, Any]) -> None:
        self.address = address
        self.target = str(address.get("target") or address.get("name") or "")

    def exec(self, container_id: str, argv: Sequence[str], *, timeout: float, user: str = "0") -> ExecResult:
        pod, _, container = container_id.partition("/")
        a = self.address
        command = [str(a["kubectl"]), f"--kubeconfig={a['kubeconfig']}", f"--context={a['context']}",
                   "-n", str(a["namespace"]), "exec", pod, "-c", container, "--", *argv]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise FaultError(f"`{' '.join(argv)[:80]}` in pod {a['namespace']}/{pod} did not finish within "
                             f"{timeout:g} s", target=self.target) from exc
        except OSError as exc:
            raise EnvironmentProblem(f"cannot run {a['kubectl']}: {exc.strerror or exc}") from exc
        err = done.stderr.strip()
        if done.returncode != 0 and "exec failed" in err:  # the runtime could not start the command: as Docker says it
            line = " ".join(err.split())
            return ExecResult(127 if "not found" in line else 126, line[line.find("exec failed"):][:300])
        if done.returncode != 0 and err.startswith(KUBECTL_ERRORS):
            line = " ".join(err.splitlines()[-1].split())[:300]
            if any(word in err for word in GONE):
                raise TargetError(f"pod {a['namespace']}/{pod} container {container}: {line}", target=self.target)
            raise FaultError(f"kubectl exec in pod {a['namespace']}/{pod}: {line}", target=self.target)
        output = done.stdout if done.returncode == 0 else f"{done.stdout}\n{done.stderr}"
        return ExecResult(done.returncode, output.strip())


def container_exists(address: Mapping[str, Any]) -> bool:
    """The pod the handle recorded (same name and uid) is still there and not being deleted."""
    try:
        pod = get_object(connect(address), "Pod", str(address["pod"]), str(address["namespace"]),
                         target=str(address.get("target") or ""))
    except TargetError:
        return False
    return str(pod.metadata.uid) == str(address.get("pod_uid")) and pod.metadata.deletionTimestamp is None


def _running(pod: Any, container: str) -> bool:
    statuses = pod.status.containerStatuses if pod.status is not None else None
    return any(s.name == container and s.state is not None and s.state.running is not None for s in statuses or [])


def _mounts(pod: Any, container: Any) -> tuple[tuple[Mount, ...], list[str]]:
    """The container's mounts as the disk fault judges them (a hostPath is a bind of a node path; an emptyDir in
    memory a tmpfs; on disk, a volume on the node's disk), and the destinations that die with the pod."""
    volumes = {v.name: v for v in pod.spec.volumes or []}
    mounts: list[Mount] = []
    ephemeral: list[str] = []
    for m in container.volumeMounts or []:
        volume = volumes.get(m.name)
        if volume is None:
            continue
        if volume.emptyDir is not None:
            memory = (volume.emptyDir.medium or "") == "Memory"
            mounts.append(Mount(m.mountPath, "tmpfs" if memory else "volume", ""))
            ephemeral.append(m.mountPath)
        elif volume.hostPath is not None:
            mounts.append(Mount(m.mountPath, "bind", str(volume.hostPath.path)))
        elif volume.persistentVolumeClaim is not None:
            mounts.append(Mount(m.mountPath, "claim", str(volume.persistentVolumeClaim.claimName)))
        else:  # a Secret, ConfigMap, projected volume: read-only files kept in memory
            mounts.append(Mount(m.mountPath, "tmpfs", ""))
            ephemeral.append(m.mountPath)
    return tuple(mounts), ephemeral


def _covering(mounts: Sequence[Mount], path: str) -> Mount | None:
    covering = [m for m in mounts if path == m.destination or path.startswith(m.destination.rstrip("/") + "/")]
    return max(covering, key=lambda m: len(m.destination)) if covering else None


def find_exec_container(stack: StackSpec, target: object, target_name: str, *, path: str | None = None,
                        environ: Mapping[str, str] | None = None) -> FoundContainer:
    """The first running pod (by name) of a workload or Pod target, its container (the target's ``container``,
    else the pod's only one), and the fields of a handle that reaches it again. Reads only."""
    target = require_kubernetes_target(target, target_name, "a fault inside a container")
    cluster = cluster_of(stack)
    found = pods_of(cluster, target, target_name)
    pods = [p for p in found.pods if p.status is not None and p.status.phase == "Running"]
    if not pods:
        raise TargetError(f"{target.selector} (target '{target_name}') has no running pod", target=target_name)
    names = [str(c.name) for c in pods[0].spec.containers]
    container_name = target.container or (names[0] if len(names) == 1 else None)
    if container_name is None:
        raise TargetError(f"pods of {target.selector} have containers {', '.join(names)}: name one with container: "
                          f"in target '{target_name}'", target=target_name)
    if container_name not in names:
        raise TargetError(f"pods of {target.selector} have no container '{container_name}' (they have "
                          f"{', '.join(names)})", target=target_name)
    running = [p for p in pods if _running(p, container_name)]
    pod = running[0] if running else pods[0]
    pod_name = str(pod.metadata.name)
    container = next(c for c in pod.spec.containers if c.name == container_name)
    mounts, ephemeral_paths = _mounts(pod, container)
    ephemeral = False
    if path is not None:
        normal = posixpath.normpath(path)
        mount = _covering(mounts, normal)
        ephemeral = mount is None or mount.destination in ephemeral_paths  # the writable layer, or a pod's volume
    owner = found.owners.get(pod_name)
    if found.workload is not None:
        lock_kind, lock_name = str(target.kind), str(target.name)
        labels = labels_of(found.workload)
        approve = [allow_names(found.namespace, lock_name)]
    else:
        lock_kind, lock_name = (owner.kind, owner.name) if owner is not None else ("Pod", pod_name)
        labels = labels_of(pod)
        approve = [allow_names(found.namespace, pod_name, *([owner.name] if owner else []))]
    kubectl = kubectl_binary(os.environ if environ is None else environ)
    where = f"pod {found.namespace}/{pod_name}" + (f" ({owner.kind} {owner.name})" if owner else "")
    fields = handle_fields(
        cluster, kind=lock_kind, namespace=found.namespace, name=lock_name, labels=labels,
        namespace_labels=namespace_labels(cluster.client, found.namespace, target=target_name), approve=approve,
        notes=[f"acts inside {where}, container {container_name}, through the API server's exec (kubectl)"],
        pod=pod_name, pod_uid=str(pod.metadata.uid), container=container_name, id=f"{pod_name}/{container_name}",
        kubectl=str(kubectl), target=target_name,
    )
    state = ContainerState(id=f"{pod_name}/{container_name}", name=f"{pod_name}/{container_name}",
                           status="running" if _running(pod, container_name) else "not running",
                           labels=labels_of(pod), mounts=mounts)
    return FoundContainer(state=state, fields=fields, ephemeral=ephemeral)
