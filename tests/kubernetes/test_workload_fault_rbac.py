"""The RBAC docs/kubernetes.md gives for rollout_break and secret_revoke is enough, and a missing verb is refused in
one line before anything is changed: run as a ServiceAccount bound to exactly those rules, on the local cluster."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client, codecs
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace, Secret, ServiceAccountToken
from lightkube.resources.rbac_authorization_v1 import ClusterRole, ClusterRoleBinding

from gameday.cluster.manager import LocalCluster
from gameday.errors import FaultError
from gameday.handle import FaultHandle
from gameday.kubernetes.faults.rollout import RolloutBreak
from gameday.kubernetes.faults.secrets import SecretRevoke
from gameday.scenario.model import FaultSpec, StackSpec
from tests.kubernetes.workloads import deployment, get, listed

pytestmark = pytest.mark.kubernetes

DOC = Path(__file__).resolve().parents[2] / "docs" / "kubernetes.md"

RULES = {
    "rollout_break": [
        {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets", "daemonsets"], "verbs": ["get", "patch"]},
        {"apiGroups": ["apps"], "resources": ["replicasets", "controllerrevisions"], "verbs": ["list"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "delete"]}],
    "secret_revoke": [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "patch", "create", "delete"]}],
}
"""What the table in docs/kubernetes.md says, as Role rules (the first test holds the two together)."""


def documented_row(kind: str) -> str:
    row = re.search(rf"^\| `{kind}` \| (`apps`|`secrets`).*$", DOC.read_text(), re.M)
    assert row, f"docs/kubernetes.md has no RBAC row for {kind}"
    return row.group(0)


def test_the_rules_here_are_the_ones_the_page_documents() -> None:
    for kind, rules in RULES.items():
        row = documented_row(kind)
        for rule in rules:
            for resource in rule["resources"]:
                assert f"`{resource}`" in row or f"{resource}`" in row, (kind, resource)
            for verb in rule["verbs"]:
                assert f"`{verb}`" in row, (kind, verb)


@pytest.fixture
def user_with(kube: Client, local_cluster: LocalCluster, namespace: str,
              tmp_path: Path) -> Iterator[Callable[[list[dict[str, Any]]], Path]]:
    """A kubeconfig for a ServiceAccount holding exactly ``rules`` in the test's namespace, and ``get`` on
    namespaces (the platform reads their labels)."""
    suffix = uuid.uuid4().hex[:8]
    made: list[str] = []

    def make(rules: list[dict[str, Any]]) -> Path:
        name = f"gameday-{suffix}-{len(made)}"
        made.append(name)
        kube.create(codecs.from_dict({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                                      "metadata": {"name": name, "namespace": namespace}, "rules": rules}))
        kube.create(codecs.from_dict({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                      "metadata": {"name": name}, "rules": [
                                          {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}]}))
        kube.create(codecs.from_dict({"apiVersion": "v1", "kind": "ServiceAccount",
                                      "metadata": {"name": name, "namespace": namespace}}))
        subject = [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]
        for kind, binding in (("Role", "RoleBinding"), ("ClusterRole", "ClusterRoleBinding")):
            meta = {"name": name, "namespace": namespace} if kind == "Role" else {"name": name}
            kube.create(codecs.from_dict({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": binding,
                                          "metadata": meta, "subjects": subject,
                                          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind,
                                                      "name": name}}))
        token: Any = kube.create(ServiceAccountToken(metadata=ObjectMeta(name=name, namespace=namespace),
                                                     spec=TokenRequestSpec(audiences=[], expirationSeconds=3600)),
                                 name, namespace=namespace)
        server = yaml.safe_load(local_cluster.config.kubeconfig.read_text())["clusters"][0]["cluster"]
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "gameday",
            "clusters": [{"name": "local", "cluster": server}],
            "users": [{"name": "gameday", "user": {"token": token.status.token}}],
            "contexts": [{"name": "gameday", "context": {"cluster": "local", "user": "gameday"}}]}))
        return path

    yield make
    for name in made:
        kube.delete(ClusterRoleBinding, name)
        kube.delete(ClusterRole, name)


def as_user(driver: Any, kubeconfig: Path, *, kind: str, name: str, namespace: str,
            args: dict[str, Any]) -> FaultHandle:
    stack = StackSpec.model_validate({
        "platforms": {"kubernetes": {"kubeconfig": str(kubeconfig)}},
        "targets": {"it": {"platform": "kubernetes", "namespace": namespace, "kind": kind, "name": name}}})
    fault = FaultSpec.model_validate({"kind": driver.kind, "target": "it", "args": args, "duration": "10s"})
    handle: FaultHandle = driver.prepare(fault, stack)
    return handle


def test_the_documented_rules_are_enough_for_both_kinds(
        kube: Client, namespace: str, user_with: Callable[[list[dict[str, Any]]], Path]) -> None:
    kube.patch(Namespace, namespace, {"metadata": {"labels": {"gameday.allowed": "true"}}})
    kube.create(deployment("web", namespace))
    kube.create(Secret(metadata=ObjectMeta(name="db", namespace=namespace), data={"password": "cHJpb3I="}))
    kubeconfig = user_with(RULES["rollout_break"] + RULES["secret_revoke"])

    for driver, kind, name, args in ((RolloutBreak(), "Deployment", "web", {"how": "image"}),
                                     (SecretRevoke(), "Secret", "db", {"key": "password"})):
        handle = as_user(driver, kubeconfig, kind=kind, name=name, namespace=namespace, args=args)
        driver.inject(handle)
        driver.check(handle)  # its reads are allowed (whether the controller saw the change yet does not matter)
        driver.revert(handle)
    assert get(kube, Deployment, "web", namespace).spec.template.spec.containers[0].image == "nginx:1.25"
    assert base64.b64decode(get(kube, Secret, "db", namespace).data["password"]) == b"prior"


def test_without_create_on_secrets_inject_is_refused_in_one_line_and_the_key_is_untouched(
        kube: Client, namespace: str, user_with: Callable[[list[dict[str, Any]]], Path]) -> None:
    kube.patch(Namespace, namespace, {"metadata": {"labels": {"gameday.allowed": "true"}}})
    kube.create(Secret(metadata=ObjectMeta(name="db", namespace=namespace), data={"password": "cHJpb3I="}))
    kubeconfig = user_with([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "patch", "delete"]}])
    handle = as_user(SecretRevoke(), kubeconfig, kind="Secret", name="db", namespace=namespace,
                     args={"key": "password"})
    with pytest.raises(FaultError, match=r"create the backup Secret .*\(403\).*lacks the RBAC permission"):
        SecretRevoke().inject(handle)
    assert base64.b64decode(get(kube, Secret, "db", namespace).data["password"]) == b"prior"
    assert [s.metadata.name for s in listed(kube, Secret, namespace)] == ["db"]
