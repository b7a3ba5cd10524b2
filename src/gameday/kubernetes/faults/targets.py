"""A fault's Kubernetes target as the node and network faults read it, and the handle fields it gives.

Until the platform (``gameday.kubernetes.platform``) lands, the target is read field by field and the
kubeconfig and context come from the stack's ``platforms.kubernetes`` settings here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from lightkube.resources.core_v1 import Node

from gameday.errors import TargetError
from gameday.scenario.model import StackSpec


@dataclass(frozen=True)
class ResolvedTarget:
    name: str | None
    match_labels: dict[str, str] | None
    namespace: str
    kind: str
    address: dict[str, Any] = field(default_factory=dict)


def describe_selector(match_labels: Mapping[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((match_labels or {}).items())) or "(everything)"


def resolved(target_name: str, stack: StackSpec, *, kinds: Sequence[str], fault_kind: str) -> ResolvedTarget:
    target = stack.targets.get(target_name)
    if target is None:
        raise TargetError(f"target '{target_name}' is not in the stack", target=target_name)
    kind = str(getattr(target, "kind", ""))
    if target.platform != "kubernetes" or kind not in kinds:
        raise TargetError(f"{fault_kind} acts on a Kubernetes {' or '.join(kinds)}; target '{target_name}' is "
                          f"{target.platform} {kind}".rstrip(), target=target_name)
    settings = stack.platform_settings("kubernetes")
    kubeconfig = Path(str(settings.get("kubeconfig") or os.environ.get("KUBECONFIG")
                          or Path.home() / ".kube" / "config")).resolve()
    context = settings.get("context") or _current_context(kubeconfig)
    namespace = "" if kind == "Node" else str(getattr(target, "namespace", None) or "default")
    name = getattr(target, "name", None)
    labels = getattr(target, "match_labels", None)
    return ResolvedTarget(name, dict(labels) if labels else None, namespace, kind,
                          {"kubeconfig": str(kubeconfig), "context": context, "namespace": namespace, "kind": kind,
                           "name": name or describe_selector(labels)})


def _current_context(kubeconfig: Path) -> str:
    try:
        return str(yaml.safe_load(kubeconfig.read_text()).get("current-context") or "")
    except (OSError, yaml.YAMLError, AttributeError):
        return ""


def lock_key(address: Mapping[str, Any]) -> str:
    return (f"kubernetes:{address['context']}/{address['namespace']}/{address['kind']}/{address['name']}")


def node_handle_fields(target: ResolvedTarget, nodes: Sequence[Node]) -> dict[str, Any]:
    """The handle's explicit fields for a fault on nodes: the labels every node carries (so the allowlist's
    label must be on each), the node names in the address."""
    label_sets = [dict(n.metadata.labels or {}) if n.metadata else {} for n in nodes]
    common = {k: v for k, v in label_sets[0].items() if all(s.get(k) == v for s in label_sets[1:])}
    address = {**target.address, "nodes": [n.metadata.name for n in nodes if n.metadata]}
    return {"platform": "kubernetes", "resource": lock_key(address), "labels": common, "address": address}
