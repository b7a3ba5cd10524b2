"""The ``kubernetes`` probe: what the cluster says about a workload, wherever probes are (steady state,
expectations, guards).

    steady_state:
      probes:
        - name: web-ready
          kubernetes: {target: web, available_replicas: {at_least: 2}}
        - name: web-rolled-out
          kubernetes: {target: web, rollout: complete}
        - name: web-pods
          kubernetes: {target: web-pods, ready_pods: {at_least: 3}}

``target`` names a kubernetes target of the stack: a Deployment, StatefulSet or DaemonSet (by name, or every
one its ``match_labels`` select: their counts add up, and each must have rolled out), or Pods. Each condition
given must hold for the probe to be green:

    available_replicas   the workload's available replicas (a DaemonSet's available pods)
    ready_pods           pods Ready and not being deleted: the workload's own, or the Pod target's
    rollout: complete    the rollout is done, as ``kubectl rollout status`` judges it (workloads only)

A red check says what it saw (``Deployment shop/web: 1 available replicas, want at least 2``). The cluster
is the stack's (``platforms.kubernetes``), reached through ``gameday.kubernetes.client.connect``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from gameday.kubernetes.objects import Cluster, cluster_of, get_object, list_objects
from gameday.kubernetes.platform import KubernetesTarget
from gameday.kubernetes.status import (
    WORKLOAD_KINDS,
    available_replicas,
    controlled_pods,
    is_ready,
    rollout_problem,
)
from gameday.scenario.model import StackSpec


class AtLeast(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    at_least: int = Field(ge=0, le=1_000_000, description="green when the count is this or more")


class KubernetesCheck(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    target: str = Field(min_length=1, max_length=100, description="a kubernetes target of the stack: a workload, or Pods")
    available_replicas: AtLeast | None = Field(None, description="the workload's available replicas")
    ready_pods: AtLeast | None = Field(None, description="pods Ready and not being deleted")
    rollout: Literal["complete"] | None = Field(None, description="complete: the workload's rollout is done")

    @model_validator(mode="after")
    def _fits_its_target(self, info: ValidationInfo) -> KubernetesCheck:
        conditions = [c for c in ("available_replicas", "ready_pods", "rollout") if getattr(self, c) is not None]
        if not conditions:
            raise ValueError("a kubernetes probe checks at least one of available_replicas, ready_pods, rollout")
        context = info.context if isinstance(info.context, dict) else {}
        stack = context.get("stack")
        if not isinstance(stack, StackSpec) or context.get("stack_failed"):
            return self  # no stack to look in (a Python caller): the check says so at run time
        target = stack.targets.get(self.target)
        if target is None:
            known = ", ".join(sorted(n for n, t in stack.targets.items() if t.platform == "kubernetes")) or "none"
            raise _located("target", f"unknown target '{self.target}' (kubernetes targets of the stack: {known})")
        if not isinstance(target, KubernetesTarget):
            raise _located("target", f"'{self.target}' is on platform {target.platform}; a kubernetes probe reads "
                                     "a kubernetes target")
        if target.kind not in (*WORKLOAD_KINDS, "Pod"):
            raise _located("target", f"'{self.target}' is a {target.kind}; a kubernetes probe reads a Deployment, "
                                     "StatefulSet, DaemonSet or Pods")
        if target.kind == "Pod":
            for condition in ("available_replicas", "rollout"):
                if getattr(self, condition) is not None:
                    raise _located(condition, f"reads a workload's status; '{self.target}' is a Pod target: "
                                              "use ready_pods")
        return self


def _located(field: str, message: str) -> ValidationError:
    """An error at ``kubernetes.<field>`` (a ValueError would point at the whole check)."""
    error = PydanticCustomError("kubernetes_probe", "{error}", {"error": message})
    return ValidationError.from_exception_data("KubernetesCheck", [InitErrorDetails(type=error, loc=(field,), input=None)])


class KubernetesProbe:
    """The ``kubernetes`` probe kind (entry point group gameday.probes)."""

    name = "kubernetes"
    check_model: ClassVar[type[BaseModel]] = KubernetesCheck

    def __init__(self) -> None:
        self._clusters: dict[tuple[str | None, str], Cluster] = {}

    def check(self, check: Any, stack: StackSpec) -> str | None:
        assert isinstance(check, KubernetesCheck)
        target = stack.targets.get(check.target)
        if not isinstance(target, KubernetesTarget):
            return f"no kubernetes target '{check.target}' in the stack"
        client = self._cluster(stack).client
        name = check.target
        if target.kind == "Pod":
            pods = ([get_object(client, "Pod", target.name, target.namespace, target=name)] if target.name
                    else list_objects(client, "Pod", target.namespace, target.match_labels or {}, target=name))
            return _at_least("ready pods", sum(map(is_ready, pods)), check.ready_pods, target.selector)
        workloads = ([get_object(client, target.kind, target.name, target.namespace, target=name)] if target.name
                     else list_objects(client, target.kind, target.namespace, target.match_labels or {}, target=name))
        if not workloads:
            return f"no {target.selector}"
        problems = []
        if check.available_replicas is not None:
            available = sum(available_replicas(w, target.kind) for w in workloads)
            problems.append(_at_least("available replicas", available, check.available_replicas, target.selector))
        if check.ready_pods is not None:
            ready = sum(is_ready(p) for w in workloads for p in controlled_pods(client, w, target.kind, target=name))
            problems.append(_at_least("ready pods", ready, check.ready_pods, target.selector))
        if check.rollout is not None:
            for workload in workloads:
                why = rollout_problem(workload, target.kind)
                if why is not None:
                    problems.append(f"rollout of {target.kind} {workload.metadata.namespace}/{workload.metadata.name} "
                                    f"not complete: {why}")
        return "; ".join(p for p in problems if p) or None

    def _cluster(self, stack: StackSpec) -> Cluster:
        """The stack's cluster, read once per prober (it reads the kubeconfig)."""
        key = (stack.source, repr(sorted(stack.platform_settings("kubernetes").items())))
        if key not in self._clusters:
            self._clusters[key] = cluster_of(stack)
        return self._clusters[key]


def _at_least(what: str, count: int, want: AtLeast | None, selector: str) -> str | None:
    if want is None or count >= want.at_least:
        return None
    return f"{selector}: {count} {what}, want at least {want.at_least}"

