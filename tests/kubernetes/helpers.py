"""Helpers for tests against the session's local cluster: a client, a namespace of the test's own, workloads
to break, and waiting on API state with a generous deadline (never a fixed sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from lightkube import Client, KubeConfig
from lightkube.models.apps_v1 import DeploymentSpec, StatefulSetSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.core_v1 import Pod

from gameday.cluster.manager import LocalCluster

T = TypeVar("T")
ALLOWED = {"gameday.allowed": "true"}
WAIT_S = 120.0  # two busy cores shared by a room of engineers


def client_of(cluster: LocalCluster) -> Client:
    return Client(config=KubeConfig.from_file(cluster.config.kubeconfig).get(), trust_env=False)


def wait_for(what: str, check: Callable[[], T | None], *, timeout: float = WAIT_S) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what}"
        time.sleep(0.1)


def _template(app: str, labels: dict[str, str] | None) -> PodTemplateSpec:
    # kwok runs no container: the image is never pulled, the pod is Running and Ready once scheduled.
    return PodTemplateSpec(metadata=ObjectMeta(labels={"app": app, **(labels or {})}),
                           spec=PodSpec(containers=[Container(name="app", image="gameday/none:1")]))


def make_deployment(client: Client, namespace: str, name: str, *, replicas: int = 3,
                    labels: dict[str, str] | None = None, pod_labels: dict[str, str] | None = None) -> Deployment:
    """A Deployment of ``replicas`` pods (app=<name>), waited on until every replica is ready."""
    client.create(Deployment(
        metadata=ObjectMeta(name=name, namespace=namespace, labels=labels or {}),
        spec=DeploymentSpec(replicas=replicas, selector=LabelSelector(matchLabels={"app": name}),
                            template=_template(name, pod_labels))))
    return wait_ready(client, Deployment, namespace, name, replicas)


def make_statefulset(client: Client, namespace: str, name: str, *, replicas: int = 2,
                     labels: dict[str, str] | None = None) -> StatefulSet:
    client.create(StatefulSet(
        metadata=ObjectMeta(name=name, namespace=namespace, labels=labels or {}),
        spec=StatefulSetSpec(replicas=replicas, serviceName=name, selector=LabelSelector(matchLabels={"app": name}),
                             template=_template(name, None))))
    return wait_ready(client, StatefulSet, namespace, name, replicas)


def wait_ready(client: Client, kind: Any, namespace: str, name: str, replicas: int) -> Any:
    def ready() -> Any:
        obj = client.get(kind, name, namespace=namespace)
        return obj if (obj.status and (obj.status.readyReplicas or 0) == replicas) else None
    return wait_for(f"{kind.__name__} {namespace}/{name} to have {replicas} ready replicas", ready)


def replicas_of(client: Client, namespace: str, name: str) -> int | None:
    """A Deployment's spec.replicas now."""
    deployment: Any = client.get(Deployment, name, namespace=namespace)
    replicas: int | None = deployment.spec.replicas
    return replicas


def make_pod(client: Client, namespace: str, name: str, *, labels: dict[str, str] | None = None) -> Pod:
    """A bare Pod (no controller), waited on until it is Running."""
    client.create(Pod(metadata=ObjectMeta(name=name, namespace=namespace, labels=labels or {}),
                      spec=PodSpec(containers=[Container(name="app", image="gameday/none:1")])))

    def running() -> Pod | None:
        pod = client.get(Pod, name, namespace=namespace)
        return pod if pod.status and pod.status.phase == "Running" else None
    return wait_for(f"pod {namespace}/{name} to run", running)


def pod_names(client: Client, namespace: str, labels: dict[str, str]) -> list[str]:
    """The pods the labels select, not being deleted, by name."""
    pods: list[Any] = list(client.list(Pod, namespace=namespace, labels=dict(labels.items())))
    return sorted(str(p.metadata.name) for p in pods if p.metadata.deletionTimestamp is None)


def kubernetes_stack(path: Path, cluster: LocalCluster, *, targets: str, allow: str = "[]", extra: str = "") -> Path:
    """A stack file at ``path`` for the local cluster, with ``targets`` (YAML lines indented by 2) and
    ``allow.kubernetes``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""\
version: 1
name: {path.stem}
platform: kubernetes
platforms:
  kubernetes: {{kubeconfig: {cluster.config.kubeconfig}{extra}}}
targets:
{targets}
allow:
  kubernetes: {allow}
""")
    return path
