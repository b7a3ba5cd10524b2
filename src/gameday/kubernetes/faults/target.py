"""From a scenario's target to the one Kubernetes object a fault acts on, and back from a handle's address.

A stand-in until the platform core (gameday.kubernetes.platform and .client) provides these; the handle's
shape is the shared one: ``address = {kubeconfig (absolute), context, namespace, kind, name}``, ``resource`` =
``kubernetes:<context>/<namespace>/<kind>/<name>``.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightkube import Client, KubeConfig

from gameday.errors import EnvironmentProblem
from gameday.scenario.model import StackSpec


@dataclass(frozen=True)
class KubernetesObject:
    client: Client
    kind: str
    name: str
    namespace: str
    handle_fields: dict[str, Any]
    """platform, resource, labels and address for the FaultHandle."""


@functools.lru_cache(maxsize=8)
def _client(kubeconfig: str, context: str | None) -> Client:
    try:
        config = KubeConfig.from_file(kubeconfig).get(context)
    except Exception as exc:  # lightkube raises several types for a bad file: all one line for people
        raise EnvironmentProblem(f"kubeconfig {kubeconfig}: {exc}") from exc
    return Client(config, trust_env=False)


def connect(address: dict[str, Any]) -> Client:
    return _client(str(address["kubeconfig"]), address.get("context"))


def resolve(target: Any, target_name: str, stack: StackSpec) -> KubernetesObject:
    settings = stack.platform_settings("kubernetes") if hasattr(stack, "platform_settings") else {}
    kubeconfig = settings.get("kubeconfig") or os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
    context = settings.get("context")
    if context is None:
        context = KubeConfig.from_file(kubeconfig).current_context
    namespace = getattr(target, "namespace", None) or "default"
    kind, name = str(target.kind), str(target.name)
    address = {"kubeconfig": str(Path(kubeconfig).resolve()), "context": context, "namespace": namespace,
               "kind": kind, "name": name}
    return KubernetesObject(connect(address), kind, name, namespace,
                            {"platform": "kubernetes", "resource": f"kubernetes:{context}/{namespace}/{kind}/{name}",
                             "labels": None, "address": address})
