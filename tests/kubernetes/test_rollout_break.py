"""rollout_break against the real API server and controllers: a bad deploy starts a rollout that does not complete,
and revert rolls back to exactly the recorded revision, from the handle alone, in another process.

What kwok shows (docs/kubernetes.md): pods run nothing, so the local cluster's kwok stages play the kubelet for
gameday's two failures: a pod whose image is in the .invalid domain stays Pending with ErrImagePull, a pod whose
readiness probe execs /gameday.invalid/never-ready runs but is never Ready. Everything else asserted here (the
Deployment's spec and status, its ReplicaSets and their revisions, the rollout's progress) is the real
controllers' doing.
"""

from __future__ import annotations

from typing import Any

import pytest
from lightkube import Client, codecs
from lightkube.models.core_v1 import HTTPGetAction, Probe
from lightkube.resources.apps_v1 import DaemonSet, Deployment, ReplicaSet, StatefulSet
from lightkube.resources.core_v1 import Pod

from gameday.cluster.manager import LocalCluster
from gameday.errors import RevertError, TargetError
from gameday.kubernetes.faults.rollout import REVISION_ANNOTATION, RolloutBreak, rollout_state, template_of
from tests.kubernetes.workloads import (
    deployment,
    get,
    listed,
    prepared,
    revert_in_fresh_process,
    wait_for,
)

pytestmark = pytest.mark.kubernetes


def rolled_out(kube: Client, resource: Any, kind: str, name: str, namespace: str) -> Any:
    def complete() -> Any:
        obj = get(kube, resource, name, namespace)
        return obj if rollout_state(kind, obj)[0] else None
    return wait_for(f"{kind} {namespace}/{name} to be rolled out", complete)


def new_pods(kube: Client, namespace: str, token: str) -> list[Any]:
    """The pods made from the fault's template (they carry its token, copied from the template's annotations)."""
    return [p for p in listed(kube, Pod, namespace)
            if (p.metadata.annotations or {}).get("gameday.fault-token") == token and p.status is not None]


def current_replica_set(kube: Client, namespace: str, name: str) -> str:
    revision = (get(kube, Deployment, name, namespace).metadata.annotations or {})[REVISION_ANNOTATION]
    return next(str(rs.metadata.name) for rs in listed(kube, ReplicaSet, namespace)
                if (rs.metadata.annotations or {}).get(REVISION_ANNOTATION) == revision)


def test_an_unpullable_image_starts_a_rollout_that_never_completes_and_revert_in_another_process_rolls_back(
        kube: Client, namespace: str, local_cluster: LocalCluster) -> None:
    kube.create(deployment("web", namespace))
    before = rolled_out(kube, Deployment, "Deployment", "web", namespace)
    recorded_rs = current_replica_set(kube, namespace, "web")
    driver = RolloutBreak()
    handle = prepared(driver, local_cluster, kind="Deployment", name="web", namespace=namespace, args={"how": "image"})
    assert handle.data["revision"] == "1" and handle.data["replica_set"] == recorded_rs
    assert handle.data["template"] == template_of(before)
    assert handle.resource == f"kubernetes:{handle.address['context']}/{namespace}/Deployment/web"

    driver.inject(handle)
    wait_for("the bad rollout to be under way", lambda: driver.check(handle))
    token = handle.data["token"]
    pulling = wait_for("a pod of the bad template to fail its image pull", lambda: [
        p for p in new_pods(kube, namespace, token)
        if p.status.containerStatuses and p.status.containerStatuses[0].state.waiting is not None])
    assert pulling[0].spec.containers[0].image == f"gameday.invalid/broken:{token}"
    assert pulling[0].status.containerStatuses[0].state.waiting.reason == "ErrImagePull"
    during = get(kube, Deployment, "web", namespace)
    assert not rollout_state("Deployment", during)[0]
    assert during.status.availableReplicas == 3, "the rolling update keeps the old pods serving"
    assert (during.metadata.annotations or {})[REVISION_ANNOTATION] == "2"
    assert driver.check(handle)

    done = revert_in_fresh_process(handle)
    assert done.returncode == 0, done.stdout + done.stderr

    after = rolled_out(kube, Deployment, "Deployment", "web", namespace)
    assert template_of(after) == handle.data["template"]
    assert current_replica_set(kube, namespace, "web") == recorded_rs, "rolled back to the recorded ReplicaSet"
    recorded = get(kube, ReplicaSet, recorded_rs, namespace)
    assert recorded.metadata.annotations["deployment.kubernetes.io/revision-history"] == "1"
    broken = [rs for rs in listed(kube, ReplicaSet, namespace) if rs.metadata.name != recorded_rs]
    wait_for("the bad ReplicaSet to be scaled to 0",
             lambda: get(kube, ReplicaSet, broken[0].metadata.name, namespace).spec.replicas == 0)
    assert not driver.check(handle)
    driver.revert(handle)  # harmless to repeat (gameday cleanup may)
    assert template_of(get(kube, Deployment, "web", namespace)) == handle.data["template"]


def test_a_readiness_probe_that_always_fails_leaves_the_new_pods_running_but_never_ready(
        kube: Client, namespace: str, local_cluster: LocalCluster) -> None:
    kube.create(deployment("api", namespace, replicas=2))
    rolled_out(kube, Deployment, "Deployment", "api", namespace)
    driver = RolloutBreak()
    handle = prepared(driver, local_cluster, kind="Deployment", name="api", namespace=namespace,
                      args={"how": "readiness"})
    driver.inject(handle)
    live = get(kube, Deployment, "api", namespace).spec.template.spec.containers[0]
    assert live.readinessProbe.exec.command == ["/gameday.invalid/never-ready", handle.data["token"]]
    assert live.image == "nginx:1.25", "only the probe changes"
    running = wait_for("a pod of the bad template to run", lambda: [
        p for p in new_pods(kube, namespace, handle.data["token"]) if p.status.phase == "Running"])
    ready = {c.type: c.status for c in running[0].status.conditions}
    assert ready["Ready"] == "False" and ready["ContainersReady"] == "False"
    wait_for("the bad rollout to be under way", lambda: driver.check(handle))  # its status lags the pods
    assert not rollout_state("Deployment", get(kube, Deployment, "api", namespace))[0]

    driver.revert(handle)
    after = rolled_out(kube, Deployment, "Deployment", "api", namespace)
    assert after.spec.template.spec.containers[0].readinessProbe is None
    assert "gameday.fault-token" not in (after.spec.template.metadata.annotations or {})
    assert template_of(after) == handle.data["template"]


def test_revert_refuses_with_exit_3_when_someone_else_rolled_out_another_template_and_changes_nothing(
        kube: Client, namespace: str, local_cluster: LocalCluster) -> None:
    kube.create(deployment("web", namespace))
    driver = RolloutBreak()
    handle = prepared(driver, local_cluster, kind="Deployment", name="web", namespace=namespace)
    driver.inject(handle)
    # A person ships a fix of their own on top of the bad deploy.
    kube.patch(Deployment, "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "nginx:1.26"}]}}}}, namespace=namespace)

    done = revert_in_fresh_process(handle)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "rolled out by someone else" in done.stdout
    assert "spec.containers[app].image (now nginx:1.26, recorded nginx:1.25)" in done.stdout
    assert get(kube, Deployment, "web", namespace).spec.template.spec.containers[0].image == "nginx:1.26"
    with pytest.raises(RevertError, match="nothing changed"):
        driver.revert(handle)


def test_inject_changes_nothing_when_the_template_moved_after_prepare(
        kube: Client, namespace: str, local_cluster: LocalCluster) -> None:
    kube.create(deployment("web", namespace))
    driver = RolloutBreak()
    handle = prepared(driver, local_cluster, kind="Deployment", name="web", namespace=namespace)
    kube.patch(Deployment, "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "nginx:1.27"}]}}}}, namespace=namespace)
    with pytest.raises(Exception, match="changed after gameday read it"):
        driver.inject(handle)
    assert get(kube, Deployment, "web", namespace).spec.template.spec.containers[0].image == "nginx:1.27"


def test_prepare_refuses_a_paused_deployment_a_missing_container_and_one_still_carrying_a_bad_deploy(
        kube: Client, namespace: str, local_cluster: LocalCluster) -> None:
    kube.create(deployment("paused", namespace, paused=True))
    with pytest.raises(TargetError, match="is paused: a bad deploy would not roll out"):
        prepared(RolloutBreak(), local_cluster, kind="Deployment", name="paused", namespace=namespace)
    kube.create(deployment("web", namespace))
    with pytest.raises(TargetError, match="has no container 'sidecar' \\(it has app\\)"):
        prepared(RolloutBreak(), local_cluster, kind="Deployment", name="web", namespace=namespace,
                 args={"container": "sidecar"})
    first = prepared(RolloutBreak(), local_cluster, kind="Deployment", name="web", namespace=namespace)
    RolloutBreak().inject(first)
    with pytest.raises(TargetError, match=f"still carries the bad deploy of gameday fault {first.data['token']}"):
        prepared(RolloutBreak(), local_cluster, kind="Deployment", name="web", namespace=namespace)


@pytest.mark.parametrize("kind", ["StatefulSet", "DaemonSet"])
def test_a_statefulset_or_daemonset_is_rolled_back_to_its_recorded_controller_revision(
        kind: str, kube: Client, namespace: str, local_cluster: LocalCluster) -> None:
    resource = {"StatefulSet": StatefulSet, "DaemonSet": DaemonSet}[kind]
    spec: dict[str, Any] = {"selector": {"matchLabels": {"app": "w"}}, "template": {
        "metadata": {"labels": {"app": "w"}}, "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}}}
    if kind == "StatefulSet":
        spec.update(replicas=2, serviceName="w")
    kube.create(codecs.from_dict({"apiVersion": "apps/v1", "kind": kind,
                                  "metadata": {"name": "w", "namespace": namespace}, "spec": spec}))
    rolled_out(kube, resource, kind, "w", namespace)
    driver = RolloutBreak()
    handle = prepared(driver, local_cluster, kind=kind, name="w", namespace=namespace)
    assert handle.data["controller_revision"] and handle.data["revision"] == "1"
    driver.inject(handle)
    wait_for("a pod of the bad template to fail its image pull", lambda: [
        p for p in new_pods(kube, namespace, handle.data["token"])
        if p.status.containerStatuses and p.status.containerStatuses[0].state.waiting is not None])
    wait_for("the bad rollout to be under way", lambda: driver.check(handle))  # its status lags the pods

    driver.revert(handle)
    # A StatefulSet keeps a pod stuck on a bad template until it is deleted; revert deletes exactly those.
    after = rolled_out(kube, resource, kind, "w", namespace)
    assert template_of(after) == handle.data["template"]
    if kind == "StatefulSet":
        assert after.status.currentRevision == handle.data["controller_revision"]
    images = {p.spec.containers[0].image for p in listed(kube, Pod, namespace)
              if p.metadata.deletionTimestamp is None}
    assert images == {"nginx:1.25"}


def test_a_probe_and_annotations_of_the_teams_own_come_back_exactly(
        kube: Client, namespace: str, local_cluster: LocalCluster) -> None:
    dep = deployment("api", namespace, replicas=1)
    dep.spec.template.metadata.annotations = {"team": "shop"}
    dep.spec.template.spec.containers[0].readinessProbe = Probe(httpGet=HTTPGetAction(path="/ready", port=8080))
    kube.create(dep)
    driver = RolloutBreak()
    handle = prepared(driver, local_cluster, kind="Deployment", name="api", namespace=namespace,
                      args={"how": "readiness"})
    driver.inject(handle)
    live = get(kube, Deployment, "api", namespace).spec.template
    assert live.metadata.annotations == {"team": "shop", "gameday.fault-token": handle.data["token"]}
    assert live.spec.containers[0].readinessProbe.exec.command[0] == "/gameday.invalid/never-ready"
    assert "readiness probe as it was" in driver.describe_revert(handle)

    driver.revert(handle)
    after = get(kube, Deployment, "api", namespace).spec.template
    assert template_of(get(kube, Deployment, "api", namespace)) == handle.data["template"]
    assert after.metadata.annotations == {"team": "shop"}
    assert after.spec.containers[0].readinessProbe.httpGet.path == "/ready"
    assert after.spec.containers[0].readinessProbe.exec is None
