"""``rollout_break``: a bad deploy of a workload, rolled back to exactly the revision it replaced.

    how: image       the container's image becomes ``gameday.invalid/broken:<token>``: the ``.invalid`` domain
                     never resolves (RFC 6761), so no node can pull it (ErrImagePull, then ImagePullBackOff)
    how: readiness   the container gets a readiness probe that execs ``/gameday.invalid/never-ready``, a command
                     no image has, so its pods run but never become Ready

A Deployment, StatefulSet or DaemonSet: its controller starts a rollout of the bad template and, with the
default rolling update, keeps the old pods serving while the new ones never become available. The bad
template carries the annotation ``gameday.fault-token: <token>``, so ``kubectl describe`` says who did it.

prepare records the pod template as the API server holds it and the revision it is (a Deployment: the current
ReplicaSet and its ``deployment.kubernetes.io/revision``; a StatefulSet or DaemonSet: its ControllerRevision);
revert puts that template back, as ``kubectl rollout undo --to-revision`` does, but through a JSON Patch that
tests the object's resourceVersion and touches only what the fault changed. The controller then scales the
recorded ReplicaSet (or revision) back up. If the live template is neither the recorded one nor the recorded
one with gameday's change, someone else rolled out since: revert refuses (RevertError, exit 3) naming what
differs, and changes nothing. Everything revert needs (the template, the container, the token) is in the
handle, so the watchdog and ``gameday cleanup`` revert from another process.

``check`` reads the live rollout: the bad template is the workload's and its rollout has started and not
completed (``kubectl rollout status`` would still wait, or has given up: ProgressDeadlineExceeded). Through the
engine's observation hook the run records ``kubernetes.rollout`` right after inject and after revert (once the
rollback has rolled out, waited up to a minute).
"""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from lightkube import ApiError, Client
from lightkube.resources.apps_v1 import ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet
from lightkube.resources.core_v1 import Pod
from pydantic import Field

from gameday import events as ev
from gameday.errors import FaultError, RevertError, TargetError
from gameday.faults.base import FaultArgs
from gameday.handle import FaultHandle
from gameday.kubernetes.client import connect
from gameday.kubernetes.faults.patches import (
    TOKEN_ANNOTATION,
    api_call,
    is_not_found,
    listed,
    patch_unless_moved,
    pointer,
    read,
)
from gameday.kubernetes.objects import (
    allow_names,
    cluster_of,
    get_object,
    handle_fields,
    labels_of,
    namespace_labels,
    require_kubernetes_target,
)
from gameday.kubernetes.platform import KubernetesPlatform, KubernetesTarget
from gameday.scenario.model import FaultSpec, StackSpec

BROKEN_IMAGE = "gameday.invalid/broken"
NEVER_READY = "/gameday.invalid/never-ready"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
RECOVERY_TIMEOUT_S = 60.0
"""How long the after-revert observation waits for the rollback to roll out."""
WORKLOADS: Mapping[str, Any] = {"Deployment": Deployment, "StatefulSet": StatefulSet, "DaemonSet": DaemonSet}


class RolloutBreakArgs(FaultArgs):
    how: Literal["image", "readiness"] = Field(
        "image", description="image: an image no node can pull; readiness: a readiness probe that always fails")
    container: str | None = Field(
        None, description="the container to break (default: the target's container, else the only one)")


def broken_parts(how: str, token: str) -> dict[str, Any]:
    """What the fault writes into the container: an unpullable image, or a readiness probe that always fails."""
    if how == "image":
        return {"image": f"{BROKEN_IMAGE}:{token}"}
    return {"readinessProbe": {"exec": {"command": [NEVER_READY, token]}, "periodSeconds": 5,
                               "failureThreshold": 1}}


def template_of(obj: Any) -> dict[str, Any]:
    """The pod template as the API server holds it (defaults filled in), as JSON."""
    template: dict[str, Any] = obj.spec.template.to_dict()
    return template


def _annotations(template: Mapping[str, Any]) -> dict[str, str]:
    return dict((template.get("metadata") or {}).get("annotations") or {})


def _container(template: Mapping[str, Any], index: int) -> dict[str, Any]:
    containers = template["spec"]["containers"]
    return dict(containers[index]) if index < len(containers) else {}


def is_ours(live: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    """Is the live template exactly the recorded one with this fault's change (and nothing else)?"""
    return bool(_annotations(live).get(TOKEN_ANNOTATION) == data["token"]
                and without_fault(live, data) == data["template"])


def without_fault(live: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """The live template with this fault's change taken out where it is still there (as gameday wrote it)."""
    template = copy.deepcopy(dict(live))
    recorded = data["template"]
    annotations = _annotations(template)
    if annotations.get(TOKEN_ANNOTATION) == data["token"]:
        annotations.pop(TOKEN_ANNOTATION)
        metadata = template.setdefault("metadata", {})
        if annotations:
            metadata["annotations"] = annotations
        else:  # the API server leaves an empty map out, so the recorded template has none
            metadata.pop("annotations", None)
    index = data["container_index"]
    containers = template["spec"]["containers"]
    if index < len(containers) and containers[index].get("name") == data["container"]:
        container = containers[index]
        before = _container(recorded, index)
        if data["how"] == "image" and container.get("image") == broken_parts("image", data["token"])["image"]:
            container["image"] = before.get("image")
        probe = (container.get("readinessProbe") or {}).get("exec", {}).get("command")
        if data["how"] == "readiness" and probe == [NEVER_READY, data["token"]]:
            if before.get("readinessProbe") is None:
                container.pop("readinessProbe", None)
            else:
                container["readinessProbe"] = before["readinessProbe"]
    return template


def differences(a: Any, b: Any, path: str = "", limit: int = 4) -> list[str]:
    """Where two JSON values differ, as paths (``spec.containers[app].image``), at most ``limit`` of them."""
    if isinstance(a, dict) and isinstance(b, dict):
        found: list[str] = []
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                found.extend(differences(a.get(key), b.get(key), f"{path}.{key}" if path else key, limit))
            if len(found) >= limit:
                break
        return found[:limit]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        found = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                name = x.get("name") if isinstance(x, dict) and x.get("name") == (y or {}).get("name") else i
                found.extend(differences(x, y, f"{path}[{name}]", limit))
        return found[:limit]
    return [path or "(the whole template)"]


def rollout_state(kind: str, obj: Any) -> tuple[bool, str]:
    """(complete, what ``kubectl rollout status`` would say), from the workload's spec and status."""
    status, spec, generation = obj.status, obj.spec, obj.metadata.generation or 0
    if status is None or (status.observedGeneration or 0) < generation:
        return False, "the controller has not seen the new template yet"
    if kind == "Deployment":
        for cond in status.conditions or []:
            if cond.type == "Progressing" and cond.reason == "ProgressDeadlineExceeded":
                return False, f"rollout failed: progress deadline exceeded ({cond.message})"
        want = spec.replicas if spec.replicas is not None else 1
        updated, total, available = status.updatedReplicas or 0, status.replicas or 0, status.availableReplicas or 0
        if updated < want:
            return False, f"{updated} of {want} new replicas updated"
        if total > updated:
            return False, f"{total - updated} old replicas pending termination"
        if available < updated:
            return False, f"{available} of {updated} updated replicas available"
        return True, f"rolled out: {available} of {want} available"
    if kind == "StatefulSet":
        want = spec.replicas if spec.replicas is not None else 1
        ready, updated = status.readyReplicas or 0, status.updatedReplicas or 0
        if ready < want:
            return False, f"{ready} of {want} pods ready"
        if status.updateRevision != status.currentRevision or updated < want:
            return False, f"{updated} of {want} pods updated to {status.updateRevision}"
        return True, f"rolled out: {ready} of {want} ready at {status.currentRevision}"
    desired = status.desiredNumberScheduled or 0
    updated, available = status.updatedNumberScheduled or 0, status.numberAvailable or 0
    if updated < desired:
        return False, f"{updated} of {desired} pods updated"
    if available < desired:
        return False, f"{available} of {desired} updated pods available"
    return True, f"rolled out: {available} of {desired} available"


def current_revision(client: Client, kind: str, obj: Any) -> dict[str, Any]:
    """Which revision the live template is: a Deployment's ReplicaSet, a StatefulSet's or DaemonSet's
    ControllerRevision (by name), with its revision number."""
    namespace, uid = obj.metadata.namespace, obj.metadata.uid
    if kind == "Deployment":
        revision = (obj.metadata.annotations or {}).get(REVISION_ANNOTATION)
        for rs in listed(client, ReplicaSet, namespace):
            owners = rs.metadata.ownerReferences or []
            if any(o.uid == uid for o in owners) and (rs.metadata.annotations or {}).get(REVISION_ANNOTATION) == revision:
                return {"revision": revision, "replica_set": rs.metadata.name}
        return {"revision": revision, "replica_set": None}
    if kind == "StatefulSet":
        name = obj.status.updateRevision if obj.status else None
        number = next((cr.revision for cr in listed(client, ControllerRevision, namespace)
                       if cr.metadata.name == name), None)
        return {"revision": str(number) if number is not None else None, "controller_revision": name}
    owned = [cr for cr in listed(client, ControllerRevision, namespace)
             if any(o.uid == uid for o in cr.metadata.ownerReferences or [])]
    latest = max(owned, key=lambda cr: cr.revision, default=None)
    return {"revision": str(latest.revision) if latest else None,
            "controller_revision": latest.metadata.name if latest else None}


class RolloutBreak:
    """A bad deploy of a Deployment, StatefulSet or DaemonSet: an unpullable image or a failing readiness probe."""

    kind: ClassVar[str] = "rollout_break"
    args_model: ClassVar[type[FaultArgs]] = RolloutBreakArgs
    target_fields: ClassVar[tuple[str, ...]] = ("kind", "name")
    target_platforms: ClassVar[tuple[type, ...]] = (KubernetesPlatform,)

    def target_problems(self, target: Any, target_name: str, args: FaultArgs) -> list[tuple[str, str]]:
        """Mistakes seen without touching anything (validate reports them at their line; prepare refuses the first)."""
        if not isinstance(target, KubernetesTarget) or target.kind not in WORKLOADS:
            return [("target", (f"rollout_break acts on a Kubernetes Deployment, StatefulSet or DaemonSet; "
                                f"'{target_name}' is {getattr(target, 'selector', target)}"))]
        if target.name is None:
            return [("target", (f"rollout_break acts on one workload: give target '{target_name}' a name, "
                               "not match_labels"))]
        wanted = getattr(args, "container", None)
        if wanted and target.container and wanted != target.container:
            return [("args", f"container '{wanted}' is not the target's container '{target.container}'")]
        return []

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        target = require_kubernetes_target(stack.targets[fault.target], fault.target, self.kind)
        args = RolloutBreakArgs.model_validate(fault.args)
        for _, problem in self.target_problems(target, fault.target, args)[:1]:
            raise TargetError(problem, target=fault.target)
        cluster = cluster_of(stack)
        client, kind, name, namespace = cluster.client, target.kind, str(target.name), target.namespace
        obj = get_object(client, kind, name, namespace, target=fault.target)
        template = template_of(obj)
        with api_call(fault.target, f"read the revisions of {kind} {namespace}/{name}"):
            revision = current_revision(client, kind, obj)
        fields = handle_fields(cluster, kind=kind, namespace=namespace, name=name, labels=labels_of(obj),
                               namespace_labels=namespace_labels(client, namespace, target=fault.target),
                               approve=[allow_names(namespace, name)])
        if (getattr(obj.spec, "paused", None)) is True:
            raise TargetError(f"{kind} {namespace}/{name} is paused: a bad deploy would not roll out "
                              "(kubectl rollout resume it first)", target=fault.target)
        stale = _annotations(template).get(TOKEN_ANNOTATION)
        if stale:
            raise TargetError(f"{kind} {namespace}/{name} still carries the bad deploy of gameday fault {stale} "
                              "(annotation gameday.fault-token): run gameday cleanup before breaking it again",
                              target=fault.target)
        names = [c["name"] for c in template["spec"]["containers"]]
        wanted = args.container or getattr(target, "container", None)
        if wanted is None and len(names) > 1:
            raise TargetError(f"{kind} {namespace}/{name} has containers {', '.join(names)}: say which one with "
                              "args.container or the target's container", target=fault.target)
        container = wanted or names[0]
        if container not in names:
            raise TargetError(f"{kind} {namespace}/{name} has no container '{container}' "
                              f"(it has {', '.join(names)})", target=fault.target)
        token = secrets.token_hex(6)
        index = names.index(container)
        breaks = "image " + broken_parts("image", token)["image"] if args.how == "image" \
            else f"a readiness probe that always fails ({NEVER_READY})"
        data = {"how": args.how, "token": token, "container": container, "container_index": index,
                "template": template, "generation": obj.metadata.generation, **revision}
        return FaultHandle(kind=self.kind, target=fault.target,
                           description=f"bad deploy of {kind} {namespace}/{name}: container {container} gets {breaks}",
                           data=data, **fields)

    def describe_revert(self, handle: FaultHandle) -> str:
        data, where = handle.data, _where(handle)
        revision = f"revision {data['revision']}" if data.get("revision") else "the recorded template"
        of = f" (ReplicaSet {data['replica_set']})" if data.get("replica_set") else \
            f" (ControllerRevision {data['controller_revision']})" if data.get("controller_revision") else ""
        before = _container(data["template"], data["container_index"])
        what = f"image {before.get('image')}" if data["how"] == "image" else \
            ("its readiness probe as it was" if before.get("readinessProbe") else "no readiness probe")
        return (f"roll {where} back to {revision}{of}: container {data['container']} with {what}, as kubectl "
                "rollout undo would; refused (exit 3, nothing changed) if someone rolled out another template since")

    def inject(self, handle: FaultHandle) -> None:
        data, client, resource, name, namespace = self._reach(handle)
        where = _where(handle)

        def plan(obj: Any) -> list[dict[str, Any]] | None:
            live = template_of(obj)
            if is_ours(live, data):
                return None  # a retried inject: the bad template is already there
            if live != data["template"]:
                raise FaultError(f"{where}'s pod template changed after gameday read it ("
                                 f"{', '.join(differences(live, data['template']))}); nothing done",
                                 target=handle.target)
            base = pointer("spec", "template", "spec", "containers", data["container_index"])
            operations: list[dict[str, Any]] = [{"op": "test", "path": base + "/name", "value": data["container"]}]
            operations += [{"op": "add", "path": f"{base}/{field}", "value": value}
                           for field, value in broken_parts(data["how"], data["token"]).items()]
            operations.append({"op": "add", "path": pointer("spec", "template", "metadata", "annotations"),
                               "value": {**_annotations(live), TOKEN_ANNOTATION: data["token"]}})
            return operations

        patch_unless_moved(client, resource, name, namespace, plan, what=where, target=handle.target)

    def check(self, handle: FaultHandle) -> bool:
        """True while the bad template is the workload's and its rollout has started and not completed."""
        data, client, resource, name, namespace = self._reach(handle)
        with api_call(handle.target, f"read {_where(handle)}"):
            obj = read(client, resource, name, namespace)
        if _annotations(template_of(obj)).get(TOKEN_ANNOTATION) != data["token"]:
            return False
        if obj.status is None or (obj.status.observedGeneration or 0) < (obj.metadata.generation or 0):
            return False  # not started yet
        complete, _ = rollout_state(handle.address["kind"], obj)
        return not complete

    def observations(self, handle: FaultHandle, phase: str) -> list[tuple[str, dict[str, Any]]]:
        """``kubernetes.rollout`` right after inject (during) and after revert, once the rollback has rolled out
        (or after RECOVERY_TIMEOUT_S); nothing before."""
        if phase == "before":
            return []
        data, client, resource, name, namespace = self._reach(handle)
        kind, where = handle.address["kind"], _where(handle)
        start = time.monotonic()
        while True:
            with api_call(handle.target, f"read {where}"):
                obj = read(client, resource, name, namespace)
            complete, state = rollout_state(kind, obj)
            if phase == "during" or complete or time.monotonic() - start > RECOVERY_TIMEOUT_S:
                break
            time.sleep(0.5)
        live = template_of(obj)
        template = "recorded" if live == data["template"] else "bad deploy" if is_ours(live, data) else "another"
        waited = {"waited_s": round(time.monotonic() - start, 2)} if phase == "after" else {}
        return [(ev.KUBERNETES_ROLLOUT, {"target": handle.target, "phase": phase, "workload": where,
                                         "template": template, "revision": _revision_now(kind, obj),
                                         "complete": complete, "state": state, **waited})]

    def revert(self, handle: FaultHandle) -> None:
        """Put the recorded template back; harmless when it is back already; refuses if someone rolled out since."""
        self._restore_template(handle)
        if handle.address["kind"] == "StatefulSet":
            self._delete_broken_pods(handle)

    def _restore_template(self, handle: FaultHandle) -> None:
        data, client, resource, name, namespace = self._reach(handle)
        where = _where(handle)

        def plan(obj: Any) -> list[dict[str, Any]] | None:
            live = template_of(obj)
            if live == data["template"]:
                return None  # back already
            if not is_ours(live, data):
                raise RevertError(
                    f"{where} was rolled out by someone else after gameday's bad deploy: its pod template differs "
                    f"from revision {data.get('revision') or '(recorded)'} at {', '.join(_shown(live, data))}; "
                    "nothing changed (roll it back by hand if that deploy is wrong)", target=handle.target)
            return _undo(live, data)

        patch_unless_moved(client, resource, name, namespace, plan, what=where, target=handle.target, reverting=True)
        with api_call(handle.target, f"read {where}", reverting=True):
            after = template_of(read(client, resource, name, namespace))
        if after != data["template"]:
            raise RevertError(f"{where}'s pod template is not the recorded one after the rollback (differs at "
                              f"{', '.join(differences(after, data['template']))})", target=handle.target)

    def _delete_broken_pods(self, handle: FaultHandle) -> None:
        """A StatefulSet does not replace a pod stuck on a bad template once the template is reverted (it waits for
        it to be Ready first); Kubernetes' documented step is to delete such pods. Only those made from this
        fault's template go: they carry its token, copied from the template's annotations."""
        data, client, _, name, namespace = self._reach(handle)
        with api_call(handle.target, f"list the pods of {_where(handle)}", reverting=True):
            for pod in listed(client, Pod, namespace):
                if (pod.metadata.annotations or {}).get(TOKEN_ANNOTATION) == data["token"] and \
                        any(o.kind == "StatefulSet" and o.name == name for o in pod.metadata.ownerReferences or []):
                    try:
                        client.delete(Pod, pod.metadata.name, namespace=namespace)
                    except ApiError as exc:
                        if not is_not_found(exc):
                            raise

    def _reach(self, handle: FaultHandle) -> tuple[dict[str, Any], Client, Any, str, str]:
        address = handle.address
        return (handle.data, connect(address), WORKLOADS[address["kind"]], str(address["name"]),
                str(address["namespace"]))


def _revision_now(kind: str, obj: Any) -> str | None:
    if kind == "Deployment":
        revision = (obj.metadata.annotations or {}).get(REVISION_ANNOTATION)
        return str(revision) if revision is not None else None
    if kind == "StatefulSet" and obj.status is not None:
        return str(obj.status.updateRevision) if obj.status.updateRevision else None
    return None


def _where(handle: FaultHandle) -> str:
    return f"{handle.address['kind']} {handle.address['namespace']}/{handle.address['name']}"


def _undo(live: Mapping[str, Any], data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The JSON Patch taking the fault's change out of the live template: only the fields it wrote."""
    index = data["container_index"]
    base = pointer("spec", "template", "spec", "containers", index)
    before = _container(data["template"], index)
    operations: list[dict[str, Any]] = [{"op": "test", "path": base + "/name", "value": data["container"]}]
    if data["how"] == "image":
        operations.append({"op": "replace", "path": base + "/image", "value": before["image"]})
    elif before.get("readinessProbe") is None:
        operations.append({"op": "remove", "path": base + "/readinessProbe"})
    else:
        operations.append({"op": "replace", "path": base + "/readinessProbe", "value": before["readinessProbe"]})
    recorded = (data["template"].get("metadata") or {}).get("annotations")
    path = pointer("spec", "template", "metadata", "annotations")
    operations.append({"op": "replace", "path": path, "value": recorded} if recorded
                      else {"op": "remove", "path": path})
    return operations


def _shown(live: Mapping[str, Any], data: Mapping[str, Any]) -> list[str]:
    """Where the live template differs from the recorded one, with the image values (never env or others)."""
    shown = []
    for path in differences(without_fault(live, data), data["template"]):
        if path.endswith(".image"):
            name = path.split("[", 1)[1].split("]", 1)[0] if "[" in path else ""
            now = next((c.get("image") for c in live["spec"]["containers"] if c.get("name") == name), "?")
            was = next((c.get("image") for c in data["template"]["spec"]["containers"] if c.get("name") == name), "?")
            shown.append(f"{path} (now {now}, recorded {was})")
        else:
            shown.append(path)
    return shown
