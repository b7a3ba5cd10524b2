"""container_kill on Kubernetes, for real: a container of a pod on the local cluster's real node is killed through
the node's containerd, the kubelet sees a crash and restarts it (restartCount rises, lastState terminated with
137), and revert returns once the new container is running and ready. A pod on a node gameday does not run (a
kwok node) is refused at plan in one line, and a container fault Kubernetes has no driver for at validate.

On the session's real-node cluster (tests/local_cluster.py), with a busybox httpd image imported into its node.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from lightkube import Client, codecs
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, Node, Pod

from gameday.cluster.images import oci_archive
from gameday.cluster.manager import LocalCluster
from gameday.cluster.node import NODE_NAME, NODE_TAINT, RUNTIME_ANNOTATION
from gameday.faults.base import FaultRegistry
from gameday.kubernetes.runtime import NodeRuntime, container_id
from gameday.scenario.loader import load_scenario
from gameday.testing import free_port
from tests.helpers import events, first_run_dir, run_harness
from tests.kubernetes.helpers import client_of, kubernetes_stack, wait_for

pytestmark = [pytest.mark.kubernetes, pytest.mark.slow]

IMAGE = "gameday.local/busybox-kill:1"
BUSYBOX = shutil.which("busybox") or "/bin/busybox"


@pytest.fixture(scope="module")
def real(real_node_cluster: LocalCluster) -> LocalCluster:
    """The session's real-node cluster, with a busybox httpd image of this module's own in its node."""
    if IMAGE not in real_node_cluster.node.images():
        real_node_cluster.node.import_image(oci_archive(IMAGE, {"/bin/busybox": (Path(BUSYBOX).read_bytes(), 0o755),
                                                                "/www/index.html": (b"up\n", 0o644)},
                                                        entrypoint=["/bin/busybox"]), IMAGE)
    return real_node_cluster


@pytest.fixture(scope="module")
def kube(real: LocalCluster) -> Iterator[Client]:
    with client_of(real) as client:
        yield client


@pytest.fixture
def web(kube: Client) -> Iterator[tuple[str, int]]:
    """A namespace (gameday.allowed=true) with Deployment web: busybox httpd on the real node, ready by probe."""
    namespace, port = f"k-{uuid.uuid4().hex[:8]}", free_port()
    kube.create(Namespace(metadata=ObjectMeta(name=namespace, labels={"gameday.allowed": "true"})))
    kube.create(codecs.from_dict(deployment(namespace, "web", port, real_node=True)))
    wait_for("web ready", lambda: ready(kube, namespace, "web"))
    yield namespace, port
    kube.delete(Namespace, namespace)


def deployment(namespace: str, name: str, port: int, *, real_node: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "hostNetwork": True, "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "httpd", "image": IMAGE, "imagePullPolicy": "Never",
                        "command": ["/bin/busybox", "httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", "/www"],
                        "readinessProbe": {"httpGet": {"host": "127.0.0.1", "port": port, "path": "/"},
                                           "periodSeconds": 1}}]}
    if real_node:
        spec |= {"nodeSelector": {"gameday.dev/node": "real"},
                 "tolerations": [{"key": NODE_TAINT, "operator": "Exists", "effect": "NoSchedule"}]}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def live_pods(kube: Client, namespace: str, app: str) -> list[Any]:
    pods: list[Any] = list(kube.list(Pod, namespace=namespace, labels={"app": app}))
    return [p for p in pods if p.metadata.deletionTimestamp is None]


def the_pod(kube: Client, namespace: str, app: str) -> Any:
    pods = live_pods(kube, namespace, app)
    assert len(pods) == 1, [p.metadata.name for p in pods]
    return pods[0]


def ready(kube: Client, namespace: str, app: str) -> bool:
    pods = live_pods(kube, namespace, app)
    return len(pods) == 1 and bool(pods[0].status.containerStatuses) and all(
        s.ready for s in pods[0].status.containerStatuses)


def scenario(tmp_path: Path, cluster: LocalCluster, namespace: str, fault: dict[str, Any], name: str = "web") -> Path:
    kubernetes_stack(tmp_path / "stacks" / "shop.yaml", cluster, allow=f"[{namespace}/{name}]",
                     targets=f"  web: {{platform: kubernetes, namespace: {namespace}, kind: Deployment, name: {name}, "
                             "container: httpd}")
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "name": "kill-web", "stack": "shop",
                                    "faults": [{"target": "web", **fault}]}, sort_keys=False))
    return path


def test_cluster_up_annotates_the_real_node_with_its_containerd_socket(kube: Client, real: LocalCluster) -> None:
    node: Any = kube.get(Node, NODE_NAME)
    assert node.metadata.annotations[RUNTIME_ANNOTATION] == str(real.node.socket.resolve())


def test_plan_names_the_pod_and_container_and_says_the_kubelet_restarts_it(
        kube: Client, real: LocalCluster, web: tuple[str, int], tmp_path: Path) -> None:
    namespace, _ = web
    pod = the_pod(kube, namespace, "web")
    path = scenario(tmp_path, real, namespace, {"kind": "container_kill", "duration": "1s"})
    out = run_harness("plan", str(path), cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert (f"kill container httpd of pod {namespace}/{pod.metadata.name} of Deployment {namespace}/web with SIGKILL "
            f"through node {NODE_NAME}'s containerd") in out.stdout, out.stdout
    assert "nothing to start: the kubelet restarts container httpd" in out.stdout
    assert the_pod(kube, namespace, "web").status.containerStatuses[0].restartCount == 0  # plan touched nothing


def test_a_run_kills_the_container_the_kubelet_restarts_it_and_revert_waits_until_it_is_ready(
        kube: Client, real: LocalCluster, web: tuple[str, int], tmp_path: Path) -> None:
    namespace, port = web
    before = the_pod(kube, namespace, "web")
    killed = container_id(before.status.containerStatuses[0])
    assert killed is not None, "a running container has a runtime id"
    path = scenario(tmp_path, real, namespace, {"kind": "container_kill", "duration": "1s"})
    out = run_harness("run", str(path), "--reports", str(tmp_path / "reports"), cwd=tmp_path, timeout=240)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]

    after = the_pod(kube, namespace, "web")
    status = after.status.containerStatuses[0]
    assert after.metadata.uid == before.metadata.uid, "the same pod: a crash, not a replacement"
    assert status.restartCount == 1
    assert status.lastState.terminated.exitCode == 137  # SIGKILL, as the kubelet saw it
    assert container_id(status) != killed
    assert status.ready, "revert returned only once the new container was ready"
    assert NodeRuntime(real.node.socket, target="web").status(killed) != "RUNNING"
    assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5, trust_env=False).text == "up\n"
    run = events(first_run_dir(tmp_path / "reports"))
    kinds = [e["kind"] for e in run]
    for kind in ("fault.intended", "fault.injected", "fault.effective", "fault.reverted"):
        assert kind in kinds, kinds
    seen = {e["details"]["phase"]: e["details"] for e in run if e["kind"] == "kubernetes.container"}
    assert set(seen) == {"before", "during", "after"}
    assert (seen["before"]["restarts"], seen["before"]["container_id"]) == (0, killed[:12])
    assert seen["after"]["restarts"] == 1 and seen["after"]["ready"] is True
    assert seen["after"]["last_state"] == "terminated (Error, exit 137)"
    assert seen["after"]["container_id"] != killed[:12] and seen["after"]["killed_id"] == killed[:12]


def test_check_is_true_from_the_kill_until_the_new_container_is_ready_and_revert_is_harmless_to_repeat(
        kube: Client, real: LocalCluster, web: tuple[str, int], tmp_path: Path) -> None:
    namespace, _ = web
    path = scenario(tmp_path, real, namespace, {"kind": "container_kill", "duration": "1s"})
    loaded = load_scenario(path)
    driver = FaultRegistry().create("container_kill")
    handle = driver.prepare(loaded.faults[0], loaded.stack)
    assert handle.platform == "kubernetes" and handle.address["socket"] == str(real.node.socket.resolve())
    assert driver.check(handle) is False
    driver.inject(handle)
    assert driver.check(handle) is True  # at once: containerd says the task ended
    driver.revert(handle)
    assert driver.check(handle) is False and ready(kube, namespace, "web")
    driver.revert(handle)  # cleanup may run it again
    driver.inject(handle)  # an inject replayed after the revert kills nothing: its container is gone already
    assert the_pod(kube, namespace, "web").status.containerStatuses[0].restartCount == 1


def test_a_pod_on_a_node_gameday_does_not_run_is_refused_at_plan_in_one_line(
        kube: Client, real: LocalCluster, web: tuple[str, int], tmp_path: Path) -> None:
    namespace, _ = web
    sim = deployment(namespace, "sim", free_port(), real_node=False)  # lands on a kwok node
    kube.create(codecs.from_dict(sim))
    wait_for("sim ready", lambda: ready(kube, namespace, "sim"))
    path = scenario(tmp_path, real, namespace, {"kind": "container_kill", "duration": "1s"}, name="sim")
    out = run_harness("plan", str(path), cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    said = [line for line in (out.stdout + out.stderr).splitlines() if RUNTIME_ANNOTATION in line]
    assert len(said) == 1 and "gameday cluster up --real-node" in said[0], out.stdout + out.stderr
    assert "Traceback" not in out.stdout + out.stderr


def test_validate_refuses_a_container_fault_kubernetes_has_no_driver_for(real: LocalCluster, tmp_path: Path) -> None:
    path = scenario(tmp_path, real, "shop", {"kind": "container_pause", "duration": "1s"})
    out = run_harness("validate", str(path), cwd=tmp_path)
    assert out.returncode != 0
    assert "container_pause is not available on platform 'kubernetes'" in out.stdout + out.stderr, out.stdout
