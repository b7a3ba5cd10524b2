"""pod_delete against the real local cluster: exactly the chosen pods go, the workload replaces them, a bare
pod is refused, and the handle alone (a fresh process) is enough to revert."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client
from lightkube.resources.core_v1 import Namespace, Pod

from gameday.cluster.manager import LocalCluster
from gameday.engine.safety import check_allowed
from gameday.errors import TargetError
from gameday.kubernetes.faults.pods import DELETE_CONCURRENCY, PodDelete
from gameday.scenario.model import FaultSpec, StackSpec
from tests.kubernetes.helpers import ALLOWED, make_deployment, make_pod, make_statefulset, pod_names, wait_for

pytestmark = pytest.mark.kubernetes


def stack(cluster: LocalCluster, namespace: str, **target: Any) -> StackSpec:
    return StackSpec.model_validate({
        "name": "shop", "platforms": {"kubernetes": {"kubeconfig": str(cluster.config.kubeconfig)}},
        "targets": {"web": {"platform": "kubernetes", "namespace": namespace, **target}}})


def spec(**args: Any) -> FaultSpec:
    return FaultSpec.model_validate({"kind": "pod_delete", "target": "web", "args": args, "duration": "1s"})


def pod_uids(kube: Client, namespace: str) -> dict[str, str]:
    pods: list[Any] = list(kube.list(Pod, namespace=namespace))
    return {str(p.metadata.name): str(p.metadata.uid) for p in pods}


def label_namespace(kube: Client, namespace: str, labels: dict[str, str]) -> None:
    kube.patch(Namespace, namespace, {"metadata": {"labels": labels}})


def test_prepare_names_exactly_the_pods_the_seed_picks_and_inject_deletes_only_those(
        kube: Client, local_cluster: LocalCluster, namespace: str) -> None:
    make_deployment(kube, namespace, "web", replicas=4, labels=ALLOWED)
    before = pod_names(kube, namespace, {"app": "web"})
    driver = PodDelete()
    handle = driver.prepare(spec(count=2, seed=3), stack(local_cluster, namespace, kind="Deployment", name="web"))
    again = driver.prepare(spec(count=2, seed=3), stack(local_cluster, namespace, kind="Deployment", name="web"))
    chosen = [p["name"] for p in handle.data["pods"]]
    assert chosen == [p["name"] for p in again.data["pods"]]
    assert len(chosen) == 2 and set(chosen) <= set(before)
    assert all(name in handle.description for name in chosen)
    assert handle.resource == f"kubernetes:gameday-local/{namespace}/Deployment/web"
    assert f"Deployment {namespace}/web replaces the deleted pods" in driver.describe_revert(handle)
    check_allowed(handle, StackSpec(), allow_production=False)

    assert not driver.check(handle)
    driver.inject(handle)
    assert driver.check(handle)  # kwok deletes at once: gone
    left = set(pod_names(kube, namespace, {"app": "web"}))
    assert set(before) - set(chosen) <= left  # the others untouched
    during = dict(driver.observations(handle, "during"))["kubernetes.workload"]
    assert during["deleted"] == chosen and during["workload"] == f"Deployment {namespace}/web"
    driver.revert(handle)
    after = dict(driver.observations(handle, "after"))["kubernetes.workload"]
    assert after["recovered"] is True, after
    assert after["ready"] == after["desired"] == 4
    assert not set(chosen) & set(after["pods"])
    driver.inject(handle)  # again: the pods are gone already, nothing else is deleted
    assert set(pod_names(kube, namespace, {"app": "web"})) == set(after["pods"])


def test_more_pods_than_deletes_at_once_are_all_deleted_and_no_others(
        kube: Client, local_cluster: LocalCluster, namespace: str) -> None:
    make_deployment(kube, namespace, "web", replicas=12, labels=ALLOWED)
    before = pod_uids(kube, namespace)
    driver = PodDelete()
    handle = driver.prepare(spec(count=DELETE_CONCURRENCY + 2, seed=1),
                            stack(local_cluster, namespace, kind="Deployment", name="web"))
    chosen = {p["name"] for p in handle.data["pods"]}
    driver.inject(handle)
    assert driver.check(handle)

    def gone() -> dict[str, str] | None:
        now = pod_uids(kube, namespace)
        return None if chosen & set(now) else now

    left = wait_for("the chosen pods gone", gone)
    assert {name: uid for name, uid in before.items() if name not in chosen}.items() <= left.items()


def test_a_statefulsets_replacement_of_the_same_name_is_not_deleted_again(
        kube: Client, local_cluster: LocalCluster, namespace: str) -> None:
    make_statefulset(kube, namespace, "db", replicas=2, labels=ALLOWED)
    driver = PodDelete()
    handle = driver.prepare(spec(count=2), stack(local_cluster, namespace, kind="StatefulSet", name="db"))
    driver.inject(handle)
    assert driver.check(handle)
    after = dict(driver.observations(handle, "after"))["kubernetes.workload"]
    assert after["recovered"] is True and after["pods"] == ["db-0", "db-1"], after
    replacements = pod_uids(kube, namespace)
    assert set(replacements) == {"db-0", "db-1"}
    driver.inject(handle)  # db-0 and db-1 exist again under new uids: not the recorded pods, left alone
    assert pod_uids(kube, namespace) == replacements
    assert driver.check(handle)


def test_pods_by_labels_lock_their_workload_and_need_the_label_each(
        kube: Client, local_cluster: LocalCluster, namespace: str) -> None:
    make_deployment(kube, namespace, "web", replicas=2, pod_labels=ALLOWED)
    handle = PodDelete().prepare(spec(percent=100), stack(local_cluster, namespace, kind="Pod",
                                                          match_labels={"app": "web"}))
    assert handle.resource == f"kubernetes:gameday-local/{namespace}/Deployment/web"
    assert len(handle.data["pods"]) == 2
    check_allowed(handle, StackSpec(), allow_production=False)


def test_an_unlabelled_workload_is_refused_and_a_labelled_namespace_allows_it(
        kube: Client, local_cluster: LocalCluster, namespace: str) -> None:
    make_deployment(kube, namespace, "web", replicas=1)
    target = stack(local_cluster, namespace, kind="Deployment", name="web")
    with pytest.raises(TargetError, match=f"Deployment {namespace}/web \\(target 'web'\\) is not allowed"):
        check_allowed(PodDelete().prepare(spec(), target), target, allow_production=False)
    label_namespace(kube, namespace, ALLOWED)
    check_allowed(PodDelete().prepare(spec(), target), target, allow_production=False)
    label_namespace(kube, namespace, {**ALLOWED, "gameday.environment": "production"})
    with pytest.raises(TargetError, match=f"namespace '{namespace}' is production"):
        check_allowed(PodDelete().prepare(spec(), target), target, allow_production=False)


def test_a_bare_pod_is_refused_at_prepare_unless_the_args_allow_it(
        kube: Client, local_cluster: LocalCluster, namespace: str) -> None:
    make_pod(kube, namespace, "lonely", labels=ALLOWED)
    target = stack(local_cluster, namespace, kind="Pod", name="lonely")
    with pytest.raises(TargetError, match=f"pod {namespace}/lonely \\(target 'web'\\) has no controller: nothing "
                                          "would recreate it"):
        PodDelete().prepare(spec(), target)
    handle = PodDelete().prepare(spec(allow_bare_pods=True), target)
    assert "nothing can bring back lonely" in PodDelete().describe_revert(handle)
    assert handle.resource == f"kubernetes:gameday-local/{namespace}/Pod/lonely"
    PodDelete().inject(handle)
    assert PodDelete().check(handle)
    assert dict(PodDelete().observations(handle, "after")) == {}  # no workload to watch recover


def test_a_target_without_pods_is_a_clear_error(kube: Client, local_cluster: LocalCluster, namespace: str) -> None:
    with pytest.raises(TargetError, match=f"Deployment {namespace}/nope: not found"):
        PodDelete().prepare(spec(), stack(local_cluster, namespace, kind="Deployment", name="nope"))
    with pytest.raises(TargetError, match="has no running pods to delete"):
        PodDelete().prepare(spec(), stack(local_cluster, namespace, kind="Pod", match_labels={"app": "none"}))


def test_the_handle_alone_reverts_and_observes_in_a_fresh_process(
        kube: Client, local_cluster: LocalCluster, namespace: str, tmp_path: Path) -> None:
    make_deployment(kube, namespace, "web", replicas=2, labels=ALLOWED)
    driver = PodDelete()
    handle = driver.prepare(spec(), stack(local_cluster, namespace, kind="Deployment", name="web"))
    driver.inject(handle)
    saved = tmp_path / "handle.json"
    saved.write_text(json.dumps(handle.to_json()))
    code = ("import json, sys; from gameday.handle import FaultHandle; from gameday.kubernetes.faults.pods import "
            "PodDelete; h = FaultHandle.from_json(json.load(open(sys.argv[1]))); d = PodDelete(); d.revert(h); "
            "d.revert(h); print(json.dumps(dict(d.observations(h, 'after'))))")
    out = subprocess.run([sys.executable, "-c", code, str(saved)], capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["kubernetes.workload"]["recovered"] is True
    wait_for("two ready pods", lambda: len(pod_names(kube, namespace, {"app": "web"})) == 2)


def test_validate_refuses_pod_delete_on_a_node_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gameday.cli.main import main

    path = tmp_path / "drill.yaml"
    path.write_text("""\
version: 1
name: nodes
stack:
  targets:
    web: {platform: kubernetes, kind: Node, name: n1}
faults:
  - kind: pod_delete
    target: web
    duration: 10s
""")
    assert main(["validate", "-q", str(path)]) == 1
    assert ":8:13: faults[0].target: pod_delete deletes pods; target 'web' is a Node" in capsys.readouterr().out

