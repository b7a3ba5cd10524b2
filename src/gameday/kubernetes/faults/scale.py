"""``scale``: set a Deployment's or StatefulSet's replicas to N; revert sets back exactly the count it had.

    - kind: scale
      target: web                      # {platform: kubernetes, kind: Deployment, name: web}
      args: {replicas: 0}

prepare   reads the workload's replicas (through its scale subresource, what RBAC can grant alone) and
          whether a HorizontalPodAutoscaler targets it: then the autoscaler owns the field, and plan and the
          revert say so (it may set another count as soon as it acts; gameday does not pause it).
inject    sets spec.replicas to N.
check     True once the workload wants N and has N pods: ``fault.effective``.
revert    sets spec.replicas back to the recorded count (harmless to repeat); a workload deleted meanwhile
          is a RevertError: there is nothing left to scale back.
observations  ``kubernetes.workload`` during and after the fault window (after: once as many replicas are
          ready as it wants again, or after RECOVERY_TIMEOUT_S).
"""

from __future__ import annotations

from typing import Any, ClassVar

from lightkube import ApiError, Client
from lightkube.resources.apps_v1 import DeploymentScale, StatefulSetScale
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler
from pydantic import Field

from gameday import events as ev
from gameday.errors import RevertError, TargetError
from gameday.faults.base import FaultArgs
from gameday.handle import FaultHandle
from gameday.kubernetes.client import api_errors, connect
from gameday.kubernetes.objects import (
    Owner,
    allow_names,
    cluster_of,
    find_object,
    get_object,
    handle_fields,
    namespace_labels,
    require_kubernetes_target,
)
from gameday.kubernetes.platform import KubernetesPlatform
from gameday.kubernetes.recovery import snapshot, wait_recovered
from gameday.platforms.base import Target
from gameday.scenario.model import FaultSpec, StackSpec

SCALES: dict[str, Any] = {"Deployment": DeploymentScale, "StatefulSet": StatefulSetScale}


class ScaleArgs(FaultArgs):
    replicas: int = Field(ge=0, le=100_000, description="the replica count the workload is set to")


class Scale:
    """Set a workload's replicas to N; revert restores the recorded count."""

    kind: ClassVar[str] = "scale"
    args_model: ClassVar[type[FaultArgs]] = ScaleArgs
    target_fields: ClassVar[tuple[str, ...]] = ("kind",)
    target_platforms: ClassVar[tuple[type, ...]] = (KubernetesPlatform,)

    def target_problems(self, target: Target, target_name: str, args: Any) -> list[tuple[str, str]]:
        kind = getattr(target, "kind", None)
        if kind not in SCALES:
            return [("target", (f"scale sets replicas; target '{target_name}' is a {kind}: name a Deployment or "
                               "StatefulSet"))]
        if getattr(target, "name", None) is None:
            return [("target", (f"scale acts on one workload; target '{target_name}' selects by match_labels: "
                               "name it"))]
        return []

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        target = require_kubernetes_target(stack.targets[fault.target], fault.target, self.kind)
        problems = self.target_problems(target, fault.target, None)
        if problems:
            raise TargetError(problems[0][1], target=fault.target)
        args = ScaleArgs.model_validate(fault.args)
        cluster = cluster_of(stack)
        client = cluster.client
        namespace, name = target.namespace, str(target.name)
        workload = get_object(client, target.kind, name, namespace, target=fault.target)
        prior = _replicas(client, target.kind, name, namespace, target=fault.target)
        autoscaler, unknown = _autoscaler(client, target.kind, name, namespace)
        where = f"{target.kind} {namespace}/{name}"
        notes = [f"{where} has {prior} replica{'s' if prior != 1 else ''} now; revert sets back exactly that"]
        if autoscaler:
            notes.append(f"HorizontalPodAutoscaler {namespace}/{autoscaler} owns its replicas: it may set another "
                         "count during the fault and after the revert; gameday does not pause it")
        elif unknown:
            notes.append(f"could not tell whether an autoscaler owns its replicas ({unknown})")
        return FaultHandle(
            kind=self.kind, target=fault.target,
            description=f"scale {where} from {prior} to {args.replicas} replicas",
            data={"workload": {"kind": target.kind, "name": name, "uid": str(workload.metadata.uid)},
                  "prior": prior, "args": args.model_dump(), "autoscaler": autoscaler},
            **handle_fields(cluster, kind=target.kind, namespace=namespace, name=name,
                            labels=dict(workload.metadata.labels or {}),
                            namespace_labels=namespace_labels(client, namespace, target=fault.target),
                            approve=[allow_names(namespace, name)], notes=notes),
        )

    def describe_revert(self, handle: FaultHandle) -> str:
        workload = handle.data["workload"]
        said = f"scale {workload['kind']} {handle.address['namespace']}/{workload['name']} back to {handle.data['prior']}"
        if handle.data.get("autoscaler"):
            said += (f" (HorizontalPodAutoscaler {handle.data['autoscaler']} owns this field: it may change it "
                     "again)")
        return said

    def inject(self, handle: FaultHandle) -> None:
        self._set(handle, int(handle.data["args"]["replicas"]), reverting=False)

    def check(self, handle: FaultHandle) -> bool:
        """True once the workload wants the fault's count and has that many pods."""
        workload = handle.data["workload"]
        found = find_object(connect(handle.address), workload["kind"], workload["name"],
                            str(handle.address["namespace"]), target=handle.target)
        wanted = int(handle.data["args"]["replicas"])
        return found is not None and found.spec.replicas == wanted and int(found.status.replicas or 0) == wanted

    def revert(self, handle: FaultHandle) -> None:
        """Set the recorded count back, and read it back."""
        workload = handle.data["workload"]
        namespace = str(handle.address["namespace"])
        where = f"{workload['kind']} {namespace}/{workload['name']}"
        client = connect(handle.address)
        found = find_object(client, workload["kind"], workload["name"], namespace, target=handle.target,
                            reverting=True)
        if found is None or found.metadata.uid != workload["uid"]:
            raise RevertError(f"{where} was deleted{' and made again' if found else ''} since the fault: its "
                              f"{handle.data['prior']} replicas cannot be restored by gameday", target=handle.target)
        prior = int(handle.data["prior"])
        now = _replicas(client, workload["kind"], workload["name"], namespace, target=handle.target, reverting=True)
        if now != prior:  # at the prior count already (an inject refused, a repeat): nothing to write
            self._set(handle, prior, reverting=True)
            now = _replicas(client, workload["kind"], workload["name"], namespace, target=handle.target,
                            reverting=True)
        if now != prior and not handle.data.get("autoscaler"):
            raise RevertError(f"{where} has {now} replicas after revert set {prior}", target=handle.target)

    def observations(self, handle: FaultHandle, phase: str) -> list[tuple[str, dict[str, Any]]]:
        """``kubernetes.workload`` during (right after inject) and after the fault window."""
        if phase == "before":
            return []
        workload = handle.data["workload"]
        owner = Owner(workload["kind"], workload["name"], workload["uid"])
        client = connect(handle.address)
        namespace = str(handle.address["namespace"])
        state = (wait_recovered(client, owner, namespace, (), target=handle.target) if phase == "after"
                 else snapshot(client, owner, namespace, (), target=handle.target))
        return [(ev.KUBERNETES_WORKLOAD, {"target": handle.target, "phase": phase,
                                          "replicas": handle.data["args"]["replicas"], **state})]

    def _set(self, handle: FaultHandle, replicas: int, *, reverting: bool) -> None:
        workload = handle.data["workload"]
        namespace = str(handle.address["namespace"])
        with api_errors(handle.target, f"scale {workload['kind']} {namespace}/{workload['name']} to {replicas}",
                        reverting=reverting):
            connect(handle.address).patch(SCALES[workload["kind"]], workload["name"], {"spec": {"replicas": replicas}},
                                          namespace=namespace)


def _replicas(client: Client, kind: str, name: str, namespace: str, *, target: str, reverting: bool = False) -> int:
    with api_errors(target, f"read the scale of {kind} {namespace}/{name}", reverting=reverting):
        scale = client.get(SCALES[kind], name, namespace=namespace)
    return int(scale.spec.replicas or 0) if scale.spec else 0


def _autoscaler(client: Client, kind: str, name: str, namespace: str) -> tuple[str | None, str]:
    """(the HorizontalPodAutoscaler targeting the workload, or None; why it could not be told, or "")."""
    try:
        autoscalers: list[Any] = list(client.list(HorizontalPodAutoscaler, namespace=namespace))
    except ApiError as exc:
        return None, f"listing HorizontalPodAutoscalers was refused: {exc.status.code} {exc.status.reason}"
    for hpa in autoscalers:
        ref = hpa.spec.scaleTargetRef
        if ref.kind == kind and ref.name == name:
            return str(hpa.metadata.name), ""
    return None, ""
