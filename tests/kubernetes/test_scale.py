"""scale against the real local cluster: the workload goes to N, revert restores exactly the recorded count
(from the handle alone), and an autoscaler that owns the field is named in plan and revert."""

from __future__ import annotations

from typing import Any

import pytest
from lightkube import Client
from lightkube.models.autoscaling_v2 import CrossVersionObjectReference, HorizontalPodAutoscalerSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.autoscaling_v2 import HorizontalPodAutoscaler

from gameday.cluster.manager import LocalCluster
from gameday.errors import RevertError, TargetError
from gameday.handle import FaultHandle
from gameday.kubernetes.faults.scale import Scale
from gameday.scenario.model import FaultSpec, StackSpec
from tests.kubernetes.helpers import ALLOWED, make_deployment, make_statefulset, replicas_of, wait_for

pytestmark = pytest.mark.kubernetes


def stack(cluster: LocalCluster, namespace: str, **target: Any) -> StackSpec:
    return StackSpec.model_validate({
        "name": "shop", "platforms": {"kubernetes": {"kubeconfig": str(cluster.config.kubeconfig)}},
        "targets": {"web": {"platform": "kubernetes", "namespace": namespace, **target}}})


def spec(replicas: int) -> FaultSpec:
    return FaultSpec.model_validate({"kind": "scale", "target": "web", "args": {"replicas": replicas},
                                     "duration": "1s"})


def test_scale_sets_the_count_and_revert_restores_exactly_the_recorded_one(
        kube: Client, local_cluster: LocalCluster, namespace: str) -> None:
    make_deployment(kube, namespace, "web", replicas=3, labels=ALLOWED)
    driver = Scale()
    handle = driver.prepare(spec(1), stack(local_cluster, namespace, kind="Deployment", name="web"))
    assert handle.description == f"scale Deployment {namespace}/web from 3 to 1 replicas"
    assert driver.describe_revert(handle) == f"scale Deployment {namespace}/web back to 3"
    assert handle.data["prior"] == 3 and handle.data["autoscaler"] is None
    assert not driver.check(handle)
    driver.inject(handle)
    assert replicas_of(kube, namespace, "web") == 1
    wait_for("the scale to take effect", lambda: driver.check(handle))
    during = dict(driver.observations(handle, "during"))["kubernetes.workload"]
    assert during["desired"] == 1 and during["replicas"] == 1
    revived = FaultHandle.from_json(handle.to_json())  # the handle alone, as gameday cleanup has it
    driver.revert(revived)
    driver.revert(revived)  # harmless to repeat
    assert replicas_of(kube, namespace, "web") == 3
    after = dict(driver.observations(revived, "after"))["kubernetes.workload"]
    assert after["recovered"] is True and after["ready"] == 3, after


def test_a_statefulset_scales_to_zero_and_back(kube: Client, local_cluster: LocalCluster, namespace: str) -> None:
    make_statefulset(kube, namespace, "db", replicas=2, labels=ALLOWED)
    driver = Scale()
    handle = driver.prepare(spec(0), stack(local_cluster, namespace, kind="StatefulSet", name="db"))
    driver.inject(handle)
    wait_for("no db pods", lambda: driver.check(handle))
    driver.revert(handle)
    assert dict(driver.observations(handle, "after"))["kubernetes.workload"]["ready"] == 2


def test_an_autoscaler_that_owns_the_field_is_named_in_plan_and_revert(
        kube: Client, local_cluster: LocalCluster, namespace: str) -> None:
    make_deployment(kube, namespace, "web", replicas=2, labels=ALLOWED)
    kube.create(HorizontalPodAutoscaler(
        metadata=ObjectMeta(name="web-hpa", namespace=namespace),
        spec=HorizontalPodAutoscalerSpec(maxReplicas=5, minReplicas=2, scaleTargetRef=CrossVersionObjectReference(
            apiVersion="apps/v1", kind="Deployment", name="web"))))
    handle = Scale().prepare(spec(1), stack(local_cluster, namespace, kind="Deployment", name="web"))
    assert handle.data["autoscaler"] == "web-hpa"
    assert "HorizontalPodAutoscaler web-hpa owns this field" in Scale().describe_revert(handle)
    assert any(f"HorizontalPodAutoscaler {namespace}/web-hpa owns its replicas" in n for n in handle.address["notes"])


def test_revert_of_a_workload_deleted_meanwhile_is_a_revert_error(
        kube: Client, local_cluster: LocalCluster, namespace: str) -> None:
    make_deployment(kube, namespace, "web", replicas=2, labels=ALLOWED)
    handle = Scale().prepare(spec(1), stack(local_cluster, namespace, kind="Deployment", name="web"))
    Scale().inject(handle)
    kube.delete(Deployment, "web", namespace=namespace)
    wait_for("the deployment to go", lambda: not list(kube.list(Deployment, namespace=namespace)))
    with pytest.raises(RevertError, match=f"Deployment {namespace}/web was deleted since the fault: its 2 replicas "
                                          "cannot be restored"):
        Scale().revert(handle)


@pytest.mark.parametrize(("target", "message"), [
    ({"kind": "DaemonSet", "name": "agent"}, "scale sets replicas; target 'web' is a DaemonSet"),
    ({"kind": "Deployment", "match_labels": {"app": "web"}}, "scale acts on one workload"),
])
def test_scale_refuses_what_has_no_replicas_to_set(local_cluster: LocalCluster, target: dict[str, Any],
                                                   message: str) -> None:
    with pytest.raises(TargetError, match=message):
        Scale().prepare(spec(1), stack(local_cluster, "default", **target))
