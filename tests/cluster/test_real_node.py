"""The local cluster's real node: containerd (its own instance) and a kubelet run a pod whose process really
serves on 127.0.0.1, a deleted pod is really replaced, and ``down`` leaves no container, shim or mount behind."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from gameday.cluster.images import oci_archive
from gameday.cluster.manager import LocalCluster
from gameday.cluster.node import NODE_NAME, NODE_TAINT, PAUSE_IMAGE
from gameday.errors import EnvironmentProblem
from gameday.testing import free_port, free_ports
from tests.local_cluster import cluster_config, require_real_node

pytestmark = [pytest.mark.kubernetes, pytest.mark.slow]

IMAGE = "gameday.local/busybox-test:1"
BUSYBOX = shutil.which("busybox") or "/bin/busybox"


@pytest.fixture(scope="module")
def real_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    require_real_node()
    config = cluster_config(tmp_path_factory.mktemp("real"), nodes=1)
    kubelet, healthz, stream = free_ports(3)
    cluster = LocalCluster(replace(config, real_node=True, kubelet_port=kubelet, kubelet_healthz_port=healthz,
                                   containerd_stream_port=stream))
    try:
        cluster.up(timeout=300)
        server = Path(BUSYBOX).read_bytes()
        cluster.node.import_image(oci_archive(IMAGE, {"/bin/busybox": (server, 0o755),
                                                      "/www/index.html": (b"served by a real pod\n", 0o644)},
                                              entrypoint=["/bin/busybox"]), IMAGE)
        yield cluster
    finally:
        cluster.down()


def _kubectl(cluster: LocalCluster, *argv: str, stdin: str | None = None) -> str:
    kubectl = cluster.config.binary("kubectl")
    result = subprocess.run([str(kubectl), f"--kubeconfig={cluster.config.kubeconfig}", *argv], input=stdin,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _until(predicate: Callable[[], Any], what: str, timeout: float = 180.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, AssertionError, EnvironmentProblem):
            value = predicate()
            if value:
                return value
        time.sleep(0.3)
    raise AssertionError(f"not within {timeout:g} s: {what}")


def _deployment(name: str, port: int) -> str:
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {
                "nodeSelector": {"gameday.dev/node": "real"},
                "tolerations": [{"key": NODE_TAINT, "operator": "Exists", "effect": "NoSchedule"}],
                "hostNetwork": True, "terminationGracePeriodSeconds": 1,
                "containers": [{
                    "name": "httpd", "image": IMAGE, "imagePullPolicy": "Never",
                    "command": ["/bin/busybox", "httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", "/www"],
                    "readinessProbe": {"httpGet": {"host": "127.0.0.1", "port": port, "path": "/"}, "periodSeconds": 1},
                }]}}}})


def _ready_pods(cluster: LocalCluster, app: str) -> list[str]:
    pods = json.loads(_kubectl(cluster, "get", "pods", "-l", f"app={app}", "-o", "json"))["items"]
    return [p["metadata"]["name"] for p in pods if p["metadata"].get("deletionTimestamp") is None
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))]


def test_the_real_node_is_ready_tainted_and_runs_its_own_containerd(real_cluster: LocalCluster) -> None:
    status = real_cluster.status()
    assert status.healthy, status
    assert {p.part for p in status.parts} >= {"containerd", "kubelet"}
    node = json.loads(_kubectl(real_cluster, "get", "node", NODE_NAME, "-o", "json"))
    assert {"key": NODE_TAINT, "value": "true", "effect": "NoSchedule"} in node["spec"]["taints"]
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.34.4"
    socket = real_cluster.node.socket
    assert socket.is_socket() and socket.is_relative_to(real_cluster.config.state_dir), "never Docker's containerd"
    assert PAUSE_IMAGE in real_cluster.node.images()


def test_a_pod_really_serves_on_loopback_and_a_deleted_pod_is_really_replaced(real_cluster: LocalCluster) -> None:
    port = free_port()
    _kubectl(real_cluster, "apply", "-f", "-", stdin=_deployment("web", port))
    first = _until(lambda: _ready_pods(real_cluster, "web"), "the pod is Ready")
    assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text == "served by a real pod\n"

    _kubectl(real_cluster, "delete", "pod", first[0], "--wait=false")
    replaced = _until(lambda: [p for p in _ready_pods(real_cluster, "web") if p not in first], "a new pod is Ready")
    assert replaced and replaced[0] != first[0]
    # The new pod's own process answers (the old one is gone: it held the port until it was killed).
    assert _until(lambda: httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200, "the new pod serves")


def test_exec_and_logs_reach_a_pod_through_the_api_server(real_cluster: LocalCluster) -> None:
    """kubectl exec and logs: the API server reaches the kubelet at the node's InternalIP (127.0.0.1, which `up`
    sets), shows it the CA-signed client certificate and checks its serving certificate."""
    port = free_port()
    _kubectl(real_cluster, "apply", "-f", "-", stdin=_deployment("talk", port))
    pod = _until(lambda: _ready_pods(real_cluster, "talk"), "the pod is Ready")[0]
    node = json.loads(_kubectl(real_cluster, "get", "node", NODE_NAME, "-o", "json"))
    assert {"type": "InternalIP", "address": "127.0.0.1"} in node["status"]["addresses"]

    out = _kubectl(real_cluster, "exec", pod, "--", "/bin/busybox", "sh", "-c", "echo $((6 * 7)); cat /www/index.html")
    assert out == "42\nserved by a real pod\n"
    httpx.get(f"http://127.0.0.1:{port}/", timeout=5)  # one request: busybox httpd logs nothing, but answers
    kubectl = real_cluster.config.binary("kubectl")
    failed = subprocess.run([str(kubectl), f"--kubeconfig={real_cluster.config.kubeconfig}", "exec", pod, "--",
                             "/bin/busybox", "sh", "-c", "exit 3"], capture_output=True, text=True, timeout=60,
                            check=False)
    assert failed.returncode == 3, failed.stderr  # the command's own exit code comes back
    logs = subprocess.run([str(kubectl), f"--kubeconfig={real_cluster.config.kubeconfig}", "logs", pod],
                          capture_output=True, text=True, timeout=60, check=False)
    assert logs.returncode == 0, logs.stderr


def test_down_leaves_no_container_shim_or_mount_of_the_node(tmp_path_factory: pytest.TempPathFactory,
                                                           real_cluster: LocalCluster) -> None:
    port = free_port()
    _kubectl(real_cluster, "apply", "-f", "-", stdin=_deployment("doomed", port))
    _until(lambda: _ready_pods(real_cluster, "doomed"), "the pod is Ready")
    node_dir = str(real_cluster.node.dir.resolve())

    stopped = real_cluster.down()

    assert stopped[:2] == ["kubelet", "containerd"]
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
    mounts = Path("/proc/self/mountinfo").read_text()
    assert node_dir not in mounts
    shims = subprocess.run(["pgrep", "-f", f"containerd-shim.*{real_cluster.node.socket}"], capture_output=True,
                           text=True, check=False).stdout.split()
    assert shims == []
    # Up again (the other tests of the module share it): the node comes back Ready.
    assert real_cluster.up(timeout=300).healthy
