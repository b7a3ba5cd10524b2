"""The demo stack on Kubernetes, for real: a local cluster with a real node of the module's own, the demo images
copied into its containerd, six pods serving on 127.0.0.1, a deleted PostgreSQL pod brought back by its
StatefulSet, Prometheus scraping, and ``down`` leaving no object, process, port or data behind.

One cluster and one copy of the stack (its own name, ports and state folder) for the module; the last test
takes the stack down and checks what is left.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from gameday.cluster.manager import LocalCluster
from gameday.cluster.node import NODE_NAME
from gameday.errors import EnvironmentProblem
from gameday.stack.config import StackConfig
from gameday.stack.kubernetes import namespace, pgdata_dir
from gameday.stack.kubernetes_stack import KubernetesStack
from gameday.stack.node_images import ensure_node_images, node_name
from gameday.stack.parts import part_names, parts
from gameday.testing import free_ports
from tests.stack.conftest import PORT_VARS

pytestmark = [pytest.mark.kubernetes, pytest.mark.slow, pytest.mark.docker]


@dataclass
class Up:
    stack: KubernetesStack
    environ: dict[str, str]
    seconds: float
    """``up`` from nothing (images already copied): what the stack-up time measures."""


@pytest.fixture(scope="module")
def kube(real_node_cluster: LocalCluster, docker_client: Any, demo_images: list[str]) -> Iterator[Up]:
    cluster = real_node_cluster
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GAMEDAY_DEMO_", "GAMEDAY_CLUSTER_"))}
    environ |= {"GAMEDAY_DEMO_STACK": f"k8stest-{secrets.token_hex(3)}",
                "GAMEDAY_STATE_DIR": str(cluster.config.state_dir.parent)}
    for var, port in zip(PORT_VARS, free_ports(len(PORT_VARS)), strict=True):
        environ[f"GAMEDAY_DEMO_{var}_PORT"] = str(port)
    stack_config = StackConfig.from_env(environ)
    stack = KubernetesStack(stack_config, cluster,
                            prepare=lambda: ensure_node_images(docker_client, cluster.node, demo_images, log=print))
    try:
        started = time.monotonic()
        ensure_node_images(docker_client, cluster.node, demo_images, log=print)
        print(f"images copied into the node in {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        stack.up(timeout=300)
        seconds = time.monotonic() - started
        print(f"stack up (images there) in {seconds:.1f} s")
        yield Up(stack, environ, seconds)
    finally:
        with contextlib.suppress(Exception):
            stack.down()


def api_get(up: Up, path: str) -> Any:
    with contextlib.closing(up.stack.cluster.api()) as api:
        return api.get(path)


def pods(up: Up, part: str) -> list[dict[str, Any]]:
    found = api_get(up, f"/api/v1/namespaces/{up.stack.namespace}/pods?labelSelector=gameday.part%3D{part}")
    return list(found["items"])


def ready_uids(up: Up, part: str) -> list[str]:
    return [p["metadata"]["uid"] for p in pods(up, part) if not p["metadata"].get("deletionTimestamp")
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))]


def until(predicate: Callable[[], Any], what: str, timeout: float = 180.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, EnvironmentProblem, KeyError, ValueError):
            value = predicate()
            if value:
                return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout:g} s: {what}")


def checkout(up: Up, path: str = "/health", **kwargs: Any) -> httpx.Response:
    method = "POST" if "json" in kwargs else "GET"
    return httpx.request(method, up.stack.config.url(up.stack.config.checkout_port, path), timeout=5,
                         trust_env=False, **kwargs)


def cli(up: Up, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gameday", *args], env={**up.environ, "COLUMNS": "200"},
                          capture_output=True, text=True, timeout=300, check=False, cwd=cwd)


def test_the_stack_comes_up_on_the_real_node_and_checkout_answers_through_toxiproxy(kube: Up) -> None:
    assert all(s.healthy for s in kube.stack.status())
    for name in part_names():
        (pod,) = pods(kube, name)
        assert pod["spec"]["nodeName"] == NODE_NAME and pod["spec"]["hostNetwork"] is True, name
    config = kube.stack.config
    health = checkout(kube)
    assert health.status_code == 200 and health.json()["checks"] == {"postgres": "ok", "redis": "ok", "spool": "ok"}
    proxies = httpx.get(config.url(config.toxiproxy_port, "/proxies"), timeout=5, trust_env=False).json()
    assert {p: proxies[p]["listen"] for p in ("postgres", "redis")} == {
        "postgres": f"127.0.0.1:{config.postgres_proxy_port}", "redis": f"127.0.0.1:{config.redis_proxy_port}"}
    order = checkout(kube, "/orders", json={"product_id": 1, "quantity": 2})
    assert order.status_code == 201, order.text


def test_the_images_are_copied_once_per_docker_image_id(kube: Up, docker_client: Any, demo_images: list[str]) -> None:
    again = ensure_node_images(docker_client, kube.stack.cluster.node, demo_images)
    assert [r.copied for r in again] == [False] * len(demo_images)
    labels = kube.stack.cluster.node.image_labels()
    for tag in demo_images:
        assert labels[node_name(tag)]["gameday.docker-id"] == docker_client.images.get(tag).id


def test_prometheus_scrapes_every_target_and_sends_to_the_stacks_alertmanager(kube: Up) -> None:
    config = kube.stack.config

    def targets() -> list[tuple[str, str]] | None:
        data = httpx.get(config.url(config.prometheus_port, "/api/v1/targets"), timeout=5, trust_env=False).json()
        found = sorted((t["labels"]["job"], t["health"]) for t in data["data"]["activeTargets"])
        return found if found and all(health == "up" for _, health in found) else None

    assert [job for job, _ in until(targets, "every target up")] == ["alertmanager", "checkout", "prometheus",
                                                                      "toxiproxy"]
    managers = httpx.get(config.url(config.prometheus_port, "/api/v1/alertmanagers"), timeout=5,
                         trust_env=False).json()["data"]["activeAlertmanagers"]
    assert [m["url"] for m in managers] == [f"http://127.0.0.1:{config.alertmanager_port}/api/v2/alerts"]


def test_a_deleted_postgres_pod_is_brought_back_by_its_statefulset_with_its_data_and_checkout_recovers(kube: Up) -> None:
    before = checkout(kube, "/orders", json={"product_id": 2, "quantity": 1}).json()["id"]
    (old,) = ready_uids(kube, "postgres")
    started = time.monotonic()
    with contextlib.closing(kube.stack.cluster.api()) as api:
        api.delete(f"/api/v1/namespaces/{kube.stack.namespace}/pods/postgres-0")
    until(lambda: old not in ready_uids(kube, "postgres"), "the old pod is no longer Ready", timeout=60)
    (new,) = until(lambda: ready_uids(kube, "postgres"), "a new PostgreSQL pod is Ready")
    replaced = time.monotonic() - started
    assert new != old
    until(lambda: checkout(kube).status_code == 200, "checkout is healthy again", timeout=60)
    recovered = time.monotonic() - started
    print(f"postgres pod replaced and Ready in {replaced:.1f} s; checkout healthy again after {recovered:.1f} s")
    after = checkout(kube, "/orders", json={"product_id": 2, "quantity": 1})
    assert after.status_code == 201 and after.json()["id"] > before, "the database kept its data"


def test_up_again_changes_nothing_and_status_says_every_part_is_healthy(kube: Up) -> None:
    until(lambda: all(s.healthy for s in kube.stack.status()), "every part is Ready (after the last test)")
    uids = {name: [p["metadata"]["uid"] for p in pods(kube, name)] for name in part_names()}
    statuses = kube.stack.up(timeout=120)
    assert all(s.healthy for s in statuses)
    assert {name: ready_uids(kube, name) for name in part_names()} == uids, "no pod was replaced"
    result = cli(kube, "stack", "status", "--platform", "kubernetes")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in part_names():
        assert name in result.stdout
    env_text = kube.stack.config.env_file.read_text()
    password = next(line.split("=", 1)[1] for line in env_text.splitlines() if "PG_ADMIN_PASSWORD=" in line)
    assert password not in result.stdout + result.stderr


def test_up_refuses_a_port_in_use_before_it_makes_anything(kube: Up, tmp_path) -> None:
    """Another copy of the stack whose checkout port the running one holds (as the same stack on Docker would)."""
    p = free_ports(8)
    other = replace(kube.stack.config, stack=f"{kube.stack.config.stack}-b", state_dir=tmp_path / "b",
                    checkout_port=kube.stack.config.checkout_port, postgres_port=p[0], redis_port=p[1],
                    toxiproxy_port=p[2], postgres_proxy_port=p[3], redis_proxy_port=p[4], prometheus_port=p[5],
                    alertmanager_port=p[6], webhook_port=p[7])
    prepared: list[bool] = []
    stack = KubernetesStack(other, kube.stack.cluster, prepare=lambda: prepared.append(True))
    with pytest.raises(EnvironmentProblem, match=f"port 127.0.0.1:{other.checkout_port} for checkout"):
        stack.up(timeout=30)
    assert prepared == [], "the port was checked before any image was built or copied"
    with contextlib.closing(kube.stack.cluster.api()) as api:
        assert api.get_or_none(f"/api/v1/namespaces/{namespace(other)}") is None


SCENARIO = """\
version: 1
name: k8s-postgres-pod-delete
stack: demo-kubernetes
steady_state:
  probes:
    - name: checkout-health
      http: {endpoint: checkout, path: /health, timeout: 3s}
      interval: 500ms
  healthy_checks: 2
  timeout: 60s
faults:
  - name: delete-postgres
    kind: pod_delete
    target: postgres
    duration: 5s
expect:
  recovers_within: 60s
"""


def test_a_scenario_deletes_the_postgres_pod_through_the_stack_file_and_checkout_recovers(kube: Up, tmp_path) -> None:
    """``stack file --platform kubernetes`` names the stack's workloads so that a scenario's pod_delete reaches the
    real pod (the allowlist and the gameday.allowed label both let it) and the run sees checkout recover."""
    (tmp_path / "stacks").mkdir()
    (tmp_path / "scenarios").mkdir()
    written = cli(kube, "stack", "file", "--platform", "kubernetes", "-o", "stacks/demo-kubernetes.yaml", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert str(kube.stack.cluster.config.kubeconfig) in (tmp_path / "stacks" / "demo-kubernetes.yaml").read_text()
    (tmp_path / "scenarios" / "pg.yaml").write_text(SCENARIO)
    (old,) = ready_uids(kube, "postgres")
    run = cli(kube, "run", "scenarios/pg.yaml", "--reports", "reports", cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert old not in [p["metadata"]["uid"] for p in pods(kube, "postgres")], "the run deleted the real pod"
    until(lambda: ready_uids(kube, "postgres"), "the replacement is Ready")


def stack_tasks(up: Up) -> list[str]:
    """The running containers of this stack's pods on the node, which the session's other stacks share (the CRI
    labels each container with its pod's namespace)."""
    node = up.stack.cluster.node
    found = []
    for task in node.ctr("tasks", "list", "--quiet").stdout.decode().split():
        info = node.ctr("containers", "info", task)
        if info.returncode == 0 and json.loads(info.stdout).get("Labels", {}).get(
                "io.kubernetes.pod.namespace") == up.stack.namespace:
            found.append(task)
    return found


KILL_SCENARIO = SCENARIO.replace("name: k8s-postgres-pod-delete", "name: pg-container-kill").replace(
    "name: delete-postgres\n    kind: pod_delete", "name: kill-postgres\n    kind: container_kill")


def shipped_tree(kube: Up, folder: Path) -> Path:
    """The demo stack file written for this stack, beside copies of the shipped Kubernetes scenario, its runbook
    (its URLs and namespace moved to this stack's) and the load test."""
    root = Path(__file__).resolve().parents[2]
    for sub in ("stacks", "scenarios", "runbooks"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    shutil.copytree(root / "loadtests", folder / "loadtests", dirs_exist_ok=True)
    written = cli(kube, "stack", "file", "--platform", "kubernetes", "-o", "stacks/demo-kubernetes.yaml", cwd=folder)
    assert written.returncode == 0, written.stderr
    config = kube.stack.config
    name = "checkout-db-latency-kubernetes"
    shutil.copy(root / "scenarios" / f"{name}.yaml", folder / "scenarios")
    text = (root / "runbooks" / f"{name}.md").read_text()
    for old, new in (("127.0.0.1:18080", f"127.0.0.1:{config.checkout_port}"),
                     ("127.0.0.1:18474", f"127.0.0.1:{config.toxiproxy_port}"),
                     ("-n gameday-demo ", f"-n {kube.stack.namespace} ")):
        assert old in text, old
        text = text.replace(old, new)
    (folder / "runbooks" / f"{name}.md").write_text(text)
    return folder


def test_the_shipped_latency_scenario_slows_checkout_through_the_toxiproxy_pod_and_its_runbook_restores_it(
        kube: Up, tmp_path: Path) -> None:
    """checkout-db-latency-kubernetes end to end on the real node: the latency toxic on the Toxiproxy pod's
    postgres proxy makes checkout slow, CheckoutLatencyHigh fires through the stack's Prometheus and Alertmanager
    pods, the runbook (kubectl built by the project, curl) removes the toxic and the run passes."""
    tree = shipped_tree(kube, tmp_path / "tree")
    # A 60 s fault on the test's copy: the runbook starts when CheckoutLatencyHigh pages (about 18 s in) and must
    # remove the toxic while the fault is live; on a busy machine its kubectl steps outlasted the shipped 30 s and
    # the harness's revert took the credit (seen twice in parallel runs).
    scenario = tree / "scenarios" / "checkout-db-latency-kubernetes.yaml"
    text = scenario.read_text()
    assert "    duration: 30s\n" in text
    scenario.write_text(text.replace("    duration: 30s\n", "    duration: 60s\n"))
    cluster = kube.stack.cluster
    env = {**kube.environ, "COLUMNS": "200", "KUBECONFIG": str(cluster.config.kubeconfig),
           "PATH": f"{cluster.config.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run([sys.executable, "-m", "gameday", "run", "scenarios/checkout-db-latency-kubernetes.yaml",
                          "--reports", "reports"], env=env, capture_output=True, text=True, timeout=600, check=False,
                         cwd=tree)
    reports = sorted(p for p in (tree / "reports").iterdir() if p.is_dir())
    report = (reports[-1] / "report.md").read_text() if reports else ""
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:] + report[-3000:]
    assert "CheckoutLatencyHigh" in report
    assert "| runbook restores service | met |" in report, report[-3000:]
    config = kube.stack.config
    toxics = httpx.get(config.url(config.toxiproxy_port, "/proxies/postgres/toxics"), timeout=5, trust_env=False)
    assert toxics.json() == []


def test_container_kill_of_postgres_is_a_crash_the_kubelet_restarts_and_checkout_recovers(
        kube: Up, tmp_path: Path) -> None:
    """container_kill through the stack file's postgres target: the same pod (uid) restarts its container
    (restartCount + 1, lastState terminated with 137); the run passes once checkout is healthy again."""
    until(lambda: ready_uids(kube, "postgres"), "PostgreSQL is Ready (after the last test)")
    (before,) = pods(kube, "postgres")
    restarts = before["status"]["containerStatuses"][0]["restartCount"]
    tree = shipped_tree(kube, tmp_path / "tree")
    (tree / "scenarios" / "kill.yaml").write_text(KILL_SCENARIO)
    run = cli(kube, "run", "scenarios/kill.yaml", "--reports", "reports", cwd=tree)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    (after,) = pods(kube, "postgres")
    status = after["status"]["containerStatuses"][0]
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert status["restartCount"] == restarts + 1 and status["ready"] is True
    assert status["lastState"]["terminated"]["exitCode"] == 137
    assert checkout(kube).status_code == 200


def test_down_removes_the_namespace_and_leaves_no_process_port_or_data(kube: Up) -> None:
    config = kube.stack.config
    assert len(stack_tasks(kube)) >= 12, "each of the six pods has its sandbox and its container running"
    assert pgdata_dir(config).is_dir()
    started = time.monotonic()
    result = cli(kube, "stack", "down", "--platform", "kubernetes")
    print(f"stack down in {time.monotonic() - started:.1f} s")
    assert result.returncode == 0, result.stderr
    assert "removed 6 workloads" in result.stdout
    with contextlib.closing(kube.stack.cluster.api()) as api:
        assert api.get_or_none(f"/api/v1/namespaces/{kube.stack.namespace}") is None
    for part in parts(config):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", part.port)) != 0, f"{part.name} still listens"
    assert stack_tasks(kube) == [], "every container of the stack has exited"
    assert not pgdata_dir(config).exists()
    status = cli(kube, "stack", "status", "--platform", "kubernetes")
    assert status.returncode == 1 and "missing" in status.stdout
