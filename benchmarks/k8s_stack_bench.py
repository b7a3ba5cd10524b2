"""The demo stack on Kubernetes: copying its images into the real node, stack up, a deleted PostgreSQL pod's
replacement (and checkout's recovery), stack down. Run on demand, as root:

    python benchmarks/k8s_stack_bench.py [--trials 3] [--deletes 5]

It starts its own local cluster with a real node (free ports, a temporary state folder, so its containerd
starts empty and the image copy is timed from nothing) and its own copy of the stack
(``GAMEDAY_DEMO_STACK=k8sbench``, ports below the ephemeral range), and takes both down at the end. Prints
Markdown tables for RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx

from gameday.cluster.config import ClusterConfig
from gameday.cluster.manager import LocalCluster
from gameday.platforms.docker import docker_client
from gameday.stack.config import StackConfig
from gameday.stack.images import base_tag, toxiproxy_tag
from gameday.stack.kubernetes_stack import KubernetesStack
from gameday.stack.node_images import ensure_node_images
from gameday.testing import free_ports

PORTS = ("checkout", "postgres", "redis", "toxiproxy", "postgres_proxy", "redis_proxy", "prometheus", "alertmanager",
         "webhook")


def low_ports(n: int) -> list[int]:
    """Free ports below 32768 (see tests/stack/test_kubernetes_stack.py: bind(0) ports can be taken meanwhile)."""
    found: list[int] = []
    for port in random.sample(range(20000, 32000), 500):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == n:
            return found
    raise SystemExit("no free ports below 32000")


def timed(call: Callable[[], object]) -> float:
    start = time.monotonic()
    call()
    return time.monotonic() - start


def ready_uid(stack: KubernetesStack) -> str | None:
    with contextlib.closing(stack.cluster.api()) as api:
        pod = api.get_or_none(f"/api/v1/namespaces/{stack.namespace}/pods/postgres-0")
    if pod is None or pod["metadata"].get("deletionTimestamp"):
        return None
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))
    return str(pod["metadata"]["uid"]) if ready else None


def delete_postgres(stack: KubernetesStack) -> tuple[float, float, float]:
    """(delete -> checkout /health red, delete -> the new pod Ready, delete -> /health green), polling every 20 ms."""
    c = stack.config
    url = c.url(c.checkout_port, "/health")
    old = ready_uid(stack)
    with httpx.Client(trust_env=False, timeout=5) as http, contextlib.closing(stack.cluster.api()) as api:
        while http.get(url).status_code != 200:  # the last trial's readiness settles first
            time.sleep(0.05)
        start = time.monotonic()
        api.delete(f"/api/v1/namespaces/{stack.namespace}/pods/postgres-0")
        red = ready = green = None
        while green is None or ready is None:
            now = time.monotonic() - start
            ok = http.get(url).status_code == 200
            if red is None and not ok:
                red = now
            if red is not None and green is None and ok:
                green = now
            uid = ready_uid(stack)
            if ready is None and uid is not None and uid != old:
                ready = now
            if now > 180:
                raise SystemExit("postgres not back within 180 s")
            time.sleep(0.02)
    return red or 0.0, ready, green


def real_node_cluster(state: Path) -> LocalCluster:
    """A cluster with one kwok node and the real node, on free ports, in ``state``/cluster (not started)."""
    base = ClusterConfig.from_env(os.environ)
    etcd, peer, api, kcm, sched, kwok, kubelet, healthz, stream = free_ports(9)
    return LocalCluster(replace(base, state_dir=state / "cluster", nodes=1, real_node=True, etcd_port=etcd,
                                etcd_peer_port=peer, apiserver_port=api, controller_manager_port=kcm,
                                scheduler_port=sched, kwok_port=kwok, kubelet_port=kubelet,
                                kubelet_healthz_port=healthz, containerd_stream_port=stream))


def row(name: str, values: list[float]) -> str:
    return (f"| {name} | {statistics.median(values):.2f} | {min(values):.2f}-{max(values):.2f} | {len(values)} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=3, help="stack up/down from nothing (default 3)")
    parser.add_argument("--deletes", type=int, default=5, help="PostgreSQL pod deletions (default 5)")
    args = parser.parse_args()
    state = tempfile.mkdtemp(prefix="k8sbench-", dir="/tmp")
    cluster = real_node_cluster(Path(state))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GAMEDAY_DEMO_")}
    environ |= {"GAMEDAY_DEMO_STACK": "k8sbench", "GAMEDAY_STATE_DIR": state}
    environ |= {f"GAMEDAY_DEMO_{name.upper()}_PORT": str(p) for name, p in zip(PORTS, low_ports(len(PORTS)), strict=True)}
    config = StackConfig.from_env(environ)
    stack = KubernetesStack(config, cluster)
    client = docker_client(None)
    results: dict[str, list[float]] = {}
    try:
        results["cluster up with a real node (empty state folder)"] = [timed(lambda: cluster.up(timeout=300))]
        copies = ensure_node_images(client, cluster.node, [base_tag(), toxiproxy_tag(config)])
        for copy in copies:
            results[f"copy {copy.tag} ({copy.bytes / 1e6:.0f} MB) into the node"] = [copy.seconds]
        results["copy again (the node has both image ids)"] = [
            timed(lambda: ensure_node_images(client, cluster.node, [base_tag(), toxiproxy_tag(config)]))]
        for _ in range(args.trials):
            results.setdefault("stack up from nothing (images there) until every pod Ready", []).append(
                timed(lambda: stack.up(timeout=300)))
            results.setdefault("stack up again (nothing to do)", []).append(timed(lambda: stack.up(timeout=60)))
            if not results.get("postgres pod deleted -> checkout /health red"):
                for _ in range(args.deletes):
                    red, ready, green = delete_postgres(stack)
                    results.setdefault("postgres pod deleted -> checkout /health red", []).append(red)
                    results.setdefault("postgres pod deleted -> replacement Ready", []).append(ready)
                    results.setdefault("postgres pod deleted -> checkout /health green", []).append(green)
            results.setdefault("stack down (namespace gone)", []).append(timed(stack.down))
    finally:
        with contextlib.suppress(Exception):
            stack.down()
        cluster.down()
    print("| step | median s | min-max s | trials |")
    print("|---|---|---|---|")
    for name, values in results.items():
        print(row(name, values))


if __name__ == "__main__":
    main()
