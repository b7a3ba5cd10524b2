"""The Role and ClusterRole docs/kubernetes.md gives for pod_delete and scale are enough, and what they leave out
is refused in one line: run as a ServiceAccount bound to exactly them, against the local cluster's RBAC."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import ApiError, Client, codecs
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ServiceAccountToken
from lightkube.resources.rbac_authorization_v1 import ClusterRole, ClusterRoleBinding

from gameday.cluster.manager import LocalCluster
from gameday.errors import FaultError
from gameday.kubernetes.faults.pods import PodDelete
from gameday.kubernetes.faults.scale import Scale
from gameday.scenario.model import FaultSpec, StackSpec
from tests.kubernetes.helpers import ALLOWED, make_deployment, pod_names, replicas_of, wait_for

pytestmark = pytest.mark.kubernetes

DOC = Path(__file__).resolve().parents[2] / "docs" / "kubernetes.md"


def documented_rbac() -> list[dict[str, Any]]:
    """The YAML block under **RBAC.** in docs/kubernetes.md: a Role and a ClusterRole."""
    text = DOC.read_text()
    block = re.search(r"\*\*RBAC\.\*\*.*?```yaml\n(.*?)```", text, re.S)
    assert block, "docs/kubernetes.md has no RBAC block"
    return [doc for doc in yaml.safe_load_all(block.group(1)) if doc]


@pytest.fixture
def gameday_user(kube: Client, local_cluster: LocalCluster, namespace: str, tmp_path: Path) -> Iterator[Path]:
    """A kubeconfig for a ServiceAccount holding exactly the documented Role (in the test's namespace) and ClusterRole."""
    role, cluster_role = documented_rbac()
    suffix = uuid.uuid4().hex[:8]
    role["metadata"]["namespace"] = namespace
    cluster_role["metadata"]["name"] = f"gameday-namespaces-{suffix}"
    kube.create(codecs.from_dict(role))
    kube.create(codecs.from_dict(cluster_role))
    kube.create(codecs.from_dict({"apiVersion": "v1", "kind": "ServiceAccount",
                                  "metadata": {"name": "gameday", "namespace": namespace}}))
    subject = [{"kind": "ServiceAccount", "name": "gameday", "namespace": namespace}]
    kube.create(codecs.from_dict({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "gameday", "namespace": namespace}, "subjects": subject,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]}}))
    binding = f"gameday-{suffix}"
    kube.create(codecs.from_dict({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": binding},
        "subjects": subject,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": cluster_role["metadata"]["name"]}}))
    token: Any = kube.create(ServiceAccountToken(metadata=ObjectMeta(name="gameday", namespace=namespace),
                                                 spec=TokenRequestSpec(audiences=[], expirationSeconds=3600)),
                             "gameday", namespace=namespace)
    admin = yaml.safe_load(local_cluster.config.kubeconfig.read_text())
    server = admin["clusters"][0]["cluster"]
    path = tmp_path / "gameday-user.yaml"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gameday",
        "clusters": [{"name": "local", "cluster": server}],
        "users": [{"name": "gameday", "user": {"token": token.status.token}}],
        "contexts": [{"name": "gameday", "context": {"cluster": "local", "user": "gameday"}}]}))
    try:
        yield path
    finally:
        with contextlib.suppress(ApiError):  # a test may have taken it away already
            kube.delete(ClusterRoleBinding, binding)
        kube.delete(ClusterRole, cluster_role["metadata"]["name"])


def stack(kubeconfig: Path, namespace: str) -> StackSpec:
    return StackSpec.model_validate({
        "platforms": {"kubernetes": {"kubeconfig": str(kubeconfig)}},
        "targets": {"web": {"platform": "kubernetes", "namespace": namespace, "kind": "Deployment", "name": "web"}}})


def fault(kind: str, **args: Any) -> FaultSpec:
    return FaultSpec.model_validate({"kind": kind, "target": "web", "args": args, "duration": "1s"})


def test_the_documented_role_is_enough_for_pod_delete_and_scale(
        kube: Client, namespace: str, gameday_user: Path) -> None:
    make_deployment(kube, namespace, "web", replicas=3, labels=ALLOWED)
    target = stack(gameday_user, namespace)
    delete = PodDelete()
    handle = delete.prepare(fault("pod_delete", count=1), target)
    delete.inject(handle)
    wait_for("the pod to go", lambda: delete.check(handle))
    delete.revert(handle)
    assert dict(delete.observations(handle, "after"))["kubernetes.workload"]["recovered"] is True

    scale = Scale()
    handle = scale.prepare(fault("scale", replicas=1), target)
    assert not any("could not tell" in note for note in handle.address["notes"])  # it may list autoscalers
    scale.inject(handle)
    wait_for("one replica", lambda: scale.check(handle))
    scale.revert(handle)
    assert replicas_of(kube, namespace, "web") == 3
    wait_for("three pods", lambda: len(pod_names(kube, namespace, {"app": "web"})) == 3)


def test_without_the_clusterrole_a_fault_is_refused_in_one_line_naming_rbac(
        kube: Client, namespace: str, gameday_user: Path) -> None:
    make_deployment(kube, namespace, "web", replicas=1, labels=ALLOWED)
    for binding in kube.list(ClusterRoleBinding):
        if binding.metadata and str(binding.metadata.name).startswith("gameday-") and any(
                s.namespace == namespace for s in binding.subjects or []):
            kube.delete(ClusterRoleBinding, str(binding.metadata.name))

    def refused() -> str | None:
        try:
            PodDelete().prepare(fault("pod_delete"), stack(gameday_user, namespace))
        except FaultError as exc:
            return str(exc)
        return None  # the authorizer's cache has not seen the binding go yet

    message = wait_for("the namespace read to be refused", refused)
    assert f"read Namespace {namespace}" in message or f"Namespace {namespace}" in message, message
    assert "refused (403)" in message and "lacks the RBAC permission" in message, message
