"""`gameday cluster up | status | down` against the real control plane: nothing of the API is mocked."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from gameday.cluster import processes
from gameday.cluster.manager import PARTS, LocalCluster
from tests.local_cluster import cluster_config

pytestmark = [pytest.mark.kubernetes, pytest.mark.slow]


def wait_for(what: str, check: Any, *, timeout: float = 120.0) -> Any:
    """Poll ``check`` until it returns something truthy (generous deadline: two busy cores)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_up_leaves_every_part_running_the_api_ready_and_the_kwok_nodes_ready(local_cluster: LocalCluster) -> None:
    status = local_cluster.status()
    assert [(p.part, p.state) for p in status.parts] == [(part, "running") for part in PARTS]
    assert status.ready, status.readiness
    # Tests of the session may have added nodes of their own (node faults, the shop's pool): up's are these two.
    assert [n for n in status.nodes if n[0].startswith("kwok-node-")] == [("kwok-node-0", True), ("kwok-node-1", True)]
    assert status.healthy


def test_every_part_listens_on_loopback_only(local_cluster: LocalCluster) -> None:
    listening = _listening_addresses({p.pid for p in local_cluster.status().parts if p.pid})
    assert listening, "no listening sockets found for the cluster's processes"
    assert {address for address, _ in listening} == {"127.0.0.1"}, listening
    ports = {port for _, port in listening}
    assert local_cluster.config.apiserver_port in ports and local_cluster.config.etcd_port in ports


def test_the_kubeconfig_reaches_the_api_server_with_the_admin_certificate(local_cluster: LocalCluster) -> None:
    import yaml

    doc = yaml.safe_load(local_cluster.config.kubeconfig.read_text())
    assert doc["clusters"][0]["cluster"]["server"] == f"https://127.0.0.1:{local_cluster.config.apiserver_port}"
    key = local_cluster.certs / "admin.key"
    assert key.stat().st_mode & 0o077 == 0, "private keys are for the owner only"
    with contextlib.closing(local_cluster.api()) as api:
        assert api.get("/version")["gitVersion"] == "v1.34.4"


def test_a_deployments_pods_are_scheduled_to_kwok_nodes_and_run(local_cluster: LocalCluster) -> None:
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "example.test/web:1"}]}}},
    }
    with contextlib.closing(local_cluster.api()) as api:
        api.create("/apis/apps/v1/namespaces/default/deployments", deployment)

        def running() -> list[Any]:
            pods = api.get("/api/v1/namespaces/default/pods?labelSelector=app%3Dweb")["items"]
            done = [p for p in pods if p["status"].get("phase") == "Running"
                    and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))]
            return done if len(done) == 3 else []

        pods = wait_for("3 running pods", running)
        assert {p["spec"]["nodeName"] for p in pods} <= {"kwok-node-0", "kwok-node-1"}
        available = wait_for("the deployment available",
                             lambda: api.get("/apis/apps/v1/namespaces/default/deployments/web")["status"]
                             .get("availableReplicas") == 3)
        assert available


def test_a_watch_from_resource_version_0_streams_the_objects_instead_of_an_error(local_cluster: LocalCluster) -> None:
    """kwok's informers watch from resourceVersion 0 with bookmarks. With the API server's WatchList feature on,
    that is defaulted to a watch-list stream, which etcd 3.4 cannot serve: the watch ends at once with an error,
    kwok relists after a growing back-off (up to 30 s) and pods wait that long to be Ready or to go."""
    import json
    import ssl

    import httpx

    certs = local_cluster.certs
    context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    context.load_cert_chain(str(certs / "admin.crt"), str(certs / "admin.key"))
    with httpx.Client(base_url=local_cluster.config.apiserver_url, verify=context, trust_env=False,
                      timeout=60.0) as http, \
            http.stream("GET", "/api/v1/nodes?watch=1&resourceVersion=0&allowWatchBookmarks=true"
                               "&timeoutSeconds=30") as response:
        first = json.loads(next(line for line in response.iter_lines() if line))
    assert first["type"] == "ADDED", first
    assert first["object"]["metadata"]["name"].startswith("kwok-node-")


def test_up_again_keeps_what_runs_and_restarts_a_part_that_died(local_cluster: LocalCluster) -> None:
    before = {p.part: p.pid for p in local_cluster.status().parts}
    scheduler = processes.read_pid_file(local_cluster.pid_file("kube-scheduler"))
    assert scheduler is not None
    os.kill(scheduler.pid, signal.SIGKILL)
    wait_for("the scheduler to die", lambda: not processes.alive(scheduler), timeout=30)
    assert {p.part: p.state for p in local_cluster.status().parts}["kube-scheduler"] == "dead"

    after = {p.part: p.pid for p in local_cluster.up(timeout=300).parts}
    assert after["kube-scheduler"] != before["kube-scheduler"]
    assert {k: v for k, v in after.items() if k != "kube-scheduler"} == \
        {k: v for k, v in before.items() if k != "kube-scheduler"}
    assert local_cluster.status().healthy


def test_down_stops_every_process_and_is_harmless_to_repeat(tmp_path: Path) -> None:
    cluster = LocalCluster(cluster_config(tmp_path, nodes=1))  # its own: the session's cluster stays up
    try:
        assert cluster.up(timeout=300).healthy
        recorded = [processes.read_pid_file(cluster.pid_file(part)) for part in PARTS]
        ports = [p.port for p in cluster.status().parts]
    finally:
        stopped = cluster.down()

    assert stopped == list(reversed(PARTS))
    assert all(r is not None and not processes.alive(r) for r in recorded)
    assert not any(port for _, port in _listening_addresses_on(ports)), "a port is still listened on"
    assert [p.state for p in cluster.status().parts] == ["stopped"] * len(PARTS)
    assert cluster.down() == []
    assert not cluster.status().ready


def _listening_addresses_on(ports: list[int]) -> set[tuple[str, int]]:
    """Listening sockets on these ports, whoever holds them."""
    return {(a, p) for a, p in _listening(None) if p in ports}


def _listening_addresses(pids: set[int]) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state owned by one of ``pids`` (from /proc)."""
    return _listening(pids)


def _listening(pids: set[int] | None) -> set[tuple[str, int]]:
    """(address, port) of TCP sockets in LISTEN state: those of ``pids``, or all of them (None)."""
    inodes: set[str] = set()
    for pid in pids or ():
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    found = set()
    for table, family in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 6)):
        with open(table, encoding="ascii") as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and (pids is None or cols[9] in inodes):  # 0A: LISTEN
                    address, port = cols[1].split(":")
                    found.add((_address(address, family), int(port, 16)))
    return found


def _address(hex_address: str, family: int) -> str:
    import ipaddress

    raw = bytes.fromhex(hex_address)
    if family == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    mapped = ipaddress.IPv6Address(words)
    return str(mapped.ipv4_mapped or mapped)
