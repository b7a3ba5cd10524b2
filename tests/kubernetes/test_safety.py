"""The Kubernetes allowlist and production refusal, judged on a handle's facts (what prepare read)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gameday.errors import TargetError
from gameday.handle import FaultHandle
from gameday.kubernetes.objects import Cluster, allow_names, handle_fields
from gameday.kubernetes.platform import KubernetesPlatform, KubernetesTarget
from gameday.platforms.base import SafetyPolicy

ALLOWED = {"gameday.allowed": "true"}
CLUSTER = Cluster(Path("/k/config"), "staging", ("prod-*",))


def handle(*, labels: dict[str, str] | None = None, namespace_labels: dict[str, str] | None = None,
           cluster: Cluster = CLUSTER, kind: str = "Deployment", namespace: str = "shop", name: str = "web",
           approve: list[list[str]] | None = None) -> FaultHandle:
    fields = handle_fields(cluster, kind=kind, namespace=namespace, name=name, labels=labels,
                           namespace_labels=namespace_labels or {},
                           approve=approve if approve is not None else [allow_names(namespace, name)])
    return FaultHandle(kind="pod_delete", target="web", description="x", **fields)


def check(h: FaultHandle, **policy: Any) -> None:
    declared = policy.pop("declared", KubernetesTarget(namespace="shop", kind="Deployment", name="web"))
    KubernetesPlatform().check_allowed(h, SafetyPolicy(stack="shop", declared=declared, **policy))


def test_an_object_carrying_the_label_is_allowed_in_an_inline_stack() -> None:
    check(handle(labels=ALLOWED))


def test_an_object_in_a_labelled_namespace_is_allowed() -> None:
    check(handle(labels={}, namespace_labels=ALLOWED))


def test_an_unlabelled_object_in_an_unlabelled_namespace_is_refused_saying_what_to_add() -> None:
    with pytest.raises(TargetError, match=r"Deployment shop/web \(target 'web'\) is not allowed as a fault target: "
                                          r"neither it nor its namespace carries the label gameday.allowed=true.*"
                                          r"kubectl label namespace shop gameday.allowed=true"):
        check(handle(labels={"app": "web"}))


def test_a_node_is_allowed_only_by_its_own_label() -> None:
    node = handle(labels={}, namespace="", kind="Node", name="n1", approve=[["n1"]])
    with pytest.raises(TargetError, match="Node n1"):
        check(node, declared=KubernetesTarget(kind="Node", name="n1"))


def test_with_a_stack_file_the_allowlist_must_list_the_object_too() -> None:
    labelled = handle(labels=ALLOWED)
    check(labelled, allow={"kubernetes": ("shop/*",)})
    with pytest.raises(TargetError, match=r"shop/web \(target 'web'\) is not in stack 'shop''s allowlist: add it .*"
                                          r"under allow.kubernetes in its stack file \(stacks/shop.yaml\)"):
        check(labelled, allow={"kubernetes": ("other/*",)}, stack_file="stacks/shop.yaml")
    with pytest.raises(TargetError, match="carries the label"):  # listed, but not labelled: both are needed
        check(handle(labels={}), allow={"kubernetes": ("shop/web",)})


def test_pods_selected_by_labels_are_approved_each_by_its_name_or_its_workloads() -> None:
    pods = handle(labels=ALLOWED, kind="Pod", approve=[["shop/web-1", "shop/web"], ["shop/other-1"]])
    by_labels = KubernetesTarget(namespace="shop", kind="Pod", match_labels={"app": "web"})
    with pytest.raises(TargetError, match="shop/other-1"):
        check(pods, allow={"kubernetes": ("shop/web",)}, declared=by_labels)
    check(pods, allow={"kubernetes": ("shop/web", "shop/other-*")}, declared=by_labels)


@pytest.mark.parametrize(("cluster", "namespace_labels", "why"), [
    (Cluster(Path("/k"), "prod-eu", ("prod-*",)), {}, r"context 'prod-eu' is production \(production_contexts: prod-\*\)"),
    (CLUSTER, {"gameday.environment": "production", **ALLOWED},
     r"namespace 'shop' is production \(labelled gameday.environment=production\)"),
])
def test_a_production_context_or_namespace_is_refused_unless_the_run_allows_it(
        cluster: Cluster, namespace_labels: dict[str, str], why: str) -> None:
    h = handle(labels=ALLOWED, cluster=cluster, namespace_labels=namespace_labels)
    with pytest.raises(TargetError, match=why + ".*unless the run passes --allow-production"):
        check(h)
    check(h, allow_production=True)


def test_a_production_stack_is_refused() -> None:
    with pytest.raises(TargetError, match="environment: production"):
        check(handle(labels=ALLOWED), environment="production")


def test_a_handle_without_the_production_facts_is_refused() -> None:
    bare = FaultHandle(kind="x", target="web", description="x", platform="kubernetes", labels=ALLOWED,
                       address={"kind": "Deployment", "namespace": "shop", "name": "web"})
    with pytest.raises(TargetError, match="does not say whether its context and namespace are production"):
        check(bare)


def test_the_lock_key_is_one_object_of_one_context() -> None:
    assert handle(labels=ALLOWED).resource == "kubernetes:staging/shop/Deployment/web"
    assert KubernetesPlatform().lock_key(handle(labels=ALLOWED)) == "kubernetes:staging/shop/Deployment/web"
