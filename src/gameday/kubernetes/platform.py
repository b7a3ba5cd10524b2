"""The Kubernetes platform: workloads, pods, nodes and secrets of a cluster reached through a kubeconfig.

    targets:
      web:      {platform: kubernetes, namespace: shop, kind: Deployment, name: web, container: app}
      web-pods: {platform: kubernetes, namespace: shop, kind: Pod, match_labels: {app: web}}
      nodes:    {platform: kubernetes, kind: Node, match_labels: {pool: batch}}
    platforms:
      kubernetes: {kubeconfig: ~/.kube/staging, context: staging, production_contexts: ["prod-*"]}

A target is found by ``name`` or by ``match_labels`` (exactly one). The cluster is the stack's
``platforms.kubernetes``: ``kubeconfig`` (default ``$KUBECONFIG``, else ``~/.kube/config``; a relative path
starts at the stack file's folder) and ``context`` (default: the kubeconfig's current-context, resolved at
prepare and written into the handle, so a cleanup reaches the same cluster). What may be faulted, and what
is production, is ``gameday.kubernetes.safety``'s; the lock key of a fault is one object,
``kubernetes:<context>/<namespace>/<kind>/<name>`` (a fault on several pods locks their workload).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from gameday.handle import FaultHandle
from gameday.kubernetes import safety
from gameday.platforms.base import CommandRunner, FoundContainer, PlatformDefaults, SafetyPolicy, Target

Kind = Literal["Deployment", "StatefulSet", "DaemonSet", "Pod", "Node", "Secret"]
WORKLOAD_KINDS: tuple[str, ...] = ("Deployment", "StatefulSet", "DaemonSet")

# RFC 1123: what Kubernetes accepts as a namespace or container name (a label) and as an object name (a subdomain).
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.fullmatch(value):
        raise ValueError(f"{value[:80]!r} is not a Kubernetes name: lowercase letters, digits and '-', at most 63, "
                         "starting and ending with a letter or digit")
    return value


def _dns_subdomain(value: str) -> str:
    if not _DNS_SUBDOMAIN.fullmatch(value):
        raise ValueError(f"{value[:80]!r} is not a Kubernetes object name: lowercase letters, digits, '-' and '.', "
                         "at most 253, starting and ending with a letter or digit")
    return value


_ALLOW_PART = re.compile(r"[a-z0-9.*?!\[\]-]+")
"""One part of an allow.kubernetes entry: what a name has, plus fnmatch's glob characters."""

DnsLabel = Annotated[str, AfterValidator(_dns_label)]
DnsSubdomain = Annotated[str, AfterValidator(_dns_subdomain)]
LabelText = Annotated[str, Field(max_length=317)]


class KubernetesTarget(Target):
    """One object of a cluster (a workload, a Node, a Secret), or the pods that labels select."""

    platform: Literal["kubernetes"] = "kubernetes"
    namespace: DnsLabel = Field("default", description="the namespace (a Node has none)")
    kind: Kind = Field(description="Deployment, StatefulSet, DaemonSet, Pod, Node or Secret")
    name: DnsSubdomain | None = Field(None, description="the object's name (or match_labels)")
    match_labels: dict[LabelText, LabelText] | None = Field(
        None, min_length=1, description="labels that select the objects (or name), e.g. {app: web}")
    container: DnsLabel | None = Field(None, description="a container of the pods, when it matters")

    @model_validator(mode="after")
    def _found_one_way(self) -> KubernetesTarget:
        if (self.name is None) == (self.match_labels is None):
            raise ValueError("a kubernetes target has exactly one of name or match_labels")
        if self.container is not None and self.kind in ("Node", "Secret"):
            raise ValueError(f"container: a {self.kind} has no containers")
        if self.kind == "Node" and "namespace" in self.model_fields_set:
            # Nodes are cluster-scoped: a namespace written here would be silently ignored, and a reader would
            # think it narrows the nodes.
            raise ValueError("namespace: a Node is in no namespace; select nodes by name or match_labels")
        return self

    @property
    def scope(self) -> str:
        """Where it is, for people: ``shop/`` or nothing for a Node."""
        return "" if self.kind == "Node" else f"{self.namespace}/"

    @property
    def selector(self) -> str:
        found = self.name if self.name is not None else ",".join(f"{k}={v}" for k, v in (self.match_labels or {}).items())
        return f"{self.kind} {self.scope}{found}"


class KubernetesSettings(BaseModel):
    """The stack's ``platforms.kubernetes``: which cluster, and which of its contexts are production."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    kubeconfig: str | None = Field(None, min_length=1, description="path of the kubeconfig (default $KUBECONFIG, "
                                   "else ~/.kube/config); relative to the stack file")
    context: str | None = Field(None, min_length=1, description="the kubeconfig context (default: its current-context)")
    production_contexts: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list, description="contexts that are production (names or globs): refused without "
                                          "--allow-production")
    network_policy_enforced: bool | Literal["unknown"] = Field(
        "unknown", description="whether the cluster's network plugin enforces NetworkPolicy (network_isolate says "
                               "so in plan and the report); unknown: gameday looks at the nodes and kube-system")


def kubeconfig_path(settings: KubernetesSettings, *, stack_file: str | None, env: Mapping[str, str]) -> Path:
    """The kubeconfig the stack means, as an absolute path. ``$KUBECONFIG`` may list several files; the first
    is used (gameday reads one kubeconfig, it does not merge them)."""
    if settings.kubeconfig:
        path = Path(settings.kubeconfig).expanduser()
        if not path.is_absolute():
            path = (Path(stack_file).parent if stack_file else Path.cwd()) / path
        return path.absolute()
    listed = [p for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        return Path(listed[0]).expanduser().absolute()
    return Path(env.get("HOME") or Path.home()) / ".kube" / "config"


def read_settings(raw: Mapping[str, Any]) -> KubernetesSettings:
    """The stack's settings (already checked by validate at their line; checked again here for an inline caller)."""
    return KubernetesSettings.model_validate(dict(raw))


class KubernetesPlatform(PlatformDefaults):
    """Objects in a Kubernetes cluster, through its API server (lightkube)."""

    name: ClassVar[str] = "kubernetes"
    target_model: ClassVar[type[Target]] = KubernetesTarget
    settings_model: ClassVar[type[BaseModel]] = KubernetesSettings
    opt_in: ClassVar[str] = "the label gameday.allowed=true on the object or on its namespace"

    def allow_name(self, target: Target) -> str | None:
        """What ``allow.kubernetes`` entries match: ``<namespace>/<name>`` (a Node: ``<name>``); a target by
        labels is known only once found."""
        if not isinstance(target, KubernetesTarget) or target.name is None:
            return None
        return f"{target.scope}{target.name}"

    def allow_entry_problem(self, entry: str) -> str | None:
        """An ``allow.kubernetes`` entry is ``<namespace>/<name>`` or a Node's ``<name>``, each part a name or a glob."""
        parts = entry.split("/")
        if len(parts) > 2 or any(not part for part in parts):
            return (f"allow.kubernetes entry {entry[:100]!r} is not <namespace>/<name> (a Node: <name>); "
                    "names or globs such as shop/*")
        if any(not _ALLOW_PART.fullmatch(part) for part in parts):
            return (f"allow.kubernetes entry {entry[:100]!r} has characters no Kubernetes name or glob has "
                    "(lowercase letters, digits, '-', '.', and the glob's *, ?, [ ])")
        return None

    def check_allowed(self, handle: FaultHandle, policy: SafetyPolicy) -> None:
        safety.check_allowed(handle, policy, declared=self.allow_name(policy.declared) if policy.declared else None)

    def container_fault(self, kind: str) -> Any | None:
        """The container faults' driver for a pod's container (OwnContainerFaults): ``container_kill`` acts through
        the node's runtime and the kubelet restarts the container; the others have none here yet."""
        if kind == "container_kill":
            # Imported when used: it imports lightkube, which validate of a Docker scenario never needs.
            from gameday.kubernetes.faults.containers import KubernetesContainerKill

            return KubernetesContainerKill()
        return None

    # --- containers gameday runs commands in (ExecPlatform): disk_fill and revoke_credentials in a pod ---

    def find_exec_container(self, target: Target, target_name: str, stack: Any, *, path: str | None = None
                            ) -> FoundContainer:
        from gameday.kubernetes.podexec import find_exec_container

        return find_exec_container(stack, target, target_name, path=path)

    def exec_target_problem(self, target: Target, target_name: str) -> str | None:
        if isinstance(target, KubernetesTarget) and target.kind in ("Node", "Secret"):
            return (f"target '{target_name}' is a {target.kind}, which has no container to run a command in: name a "
                    "Deployment, StatefulSet, DaemonSet or Pod")
        return None

    def exec_runner(self, address: Mapping[str, Any]) -> CommandRunner:
        from gameday.kubernetes.podexec import KubectlExec

        return KubectlExec(address)

    def container_exists(self, address: Mapping[str, Any]) -> bool:
        from gameday.kubernetes.podexec import container_exists

        return container_exists(address)

    def target_notes(self, handle: FaultHandle) -> list[str]:
        """What prepare found that a person should know (the controller that replaces pods, an autoscaler...)."""
        notes = handle.address.get("notes") or []
        return [str(n) for n in notes]


def lock_key(context: str, namespace: str, kind: str, name: str) -> str:
    """One object of one cluster, as a lock key (namespace empty for a Node)."""
    return f"kubernetes:{context}/{namespace}/{kind}/{name}"
