"""The demo game day's fault on Kubernetes beside Docker's, on this machine in one run (issue 16, item 5).

    python -m benchmarks.k8s_demo_bench [--rounds 6] [--ups 3]

Starts a local cluster with a real node (its own ports and state folder) and two copies of the demo stack at once,
each on its own ports: ``k8sdemobench`` as pods on the node, ``dkdemobench`` as Docker containers. Then, in rounds
whose order rotates, it drives gameday's own fault drivers against PostgreSQL, as the demo scenarios do:

- docker ``container_kill`` (checkout-db-down-drill): inject -> container not running; revert (``docker start``)
  -> container healthy, and -> checkout's /health 200;
- kubernetes ``pod_delete``: inject -> the old pod gone from the API (its containers have exited); inject -> the
  StatefulSet's replacement Ready, and -> /health 200 (no revert: the controller brings it back);
- kubernetes ``scale`` to 0 (checkout-db-down-drill-kubernetes): inject -> pod gone; revert -> replacement Ready,
  and -> /health 200.

Besides: inject -> PostgreSQL's port refuses connections and -> /health 503 for each (what users see); stack up
from nothing on each platform, alternating (images there); and the memory of the whole cluster with the stack
up and idle: RSS of each control-plane and node process (with the containerd shims of the node) and the node's
cgroup (every pod) from ``memory.stat``, beside the Docker stack's containers' cgroups and shims. Everything is polled
every 20 ms. Prints Markdown for RESULTS.md; takes both stacks and the cluster down at the end. Needs root,
dockerd, containerd and the demo images (``gameday stack build``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from benchmarks.k8s_stack_bench import PORTS, low_ports, real_node_cluster
from gameday.cluster import processes
from gameday.cluster.manager import LocalCluster
from gameday.cluster.node import CGROUP_FS
from gameday.faults.docker import ContainerKill
from gameday.kubernetes.faults.pods import PodDelete
from gameday.kubernetes.faults.scale import Scale
from gameday.platforms.docker import docker_client
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.stack.config import StackConfig
from gameday.stack.images import base_tag, toxiproxy_tag
from gameday.stack.kubernetes_stack import KubernetesStack
from gameday.stack.manager import DemoStack
from gameday.stack.node_images import ensure_node_images

POLL_S = 0.02
DEADLINE_S = 180.0


def environ_for(name: str, state: str, ports: list[int]) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GAMEDAY_DEMO_", "GAMEDAY_CLUSTER_"))}
    environ |= {"GAMEDAY_DEMO_STACK": name, "GAMEDAY_STATE_DIR": state}
    return environ | {f"GAMEDAY_DEMO_{p.upper()}_PORT": str(n) for p, n in zip(PORTS, ports, strict=True)}


def until(what: str, predicate: Callable[[], bool], start: float) -> float:
    """Seconds from ``start`` until ``predicate`` holds, polled every 20 ms."""
    return first_times({what: predicate}, start)[what]


def first_times(conditions: dict[str, Callable[[], bool]], start: float) -> dict[str, float]:
    """Seconds from ``start`` until each condition first held, all polled in each round (every 20 ms), so one
    that holds before another is seen so."""
    seen: dict[str, float] = {}
    while len(seen) < len(conditions):
        for what, holds in conditions.items():
            if what not in seen and holds():
                seen[what] = time.monotonic() - start
        if time.monotonic() - start > DEADLINE_S:
            raise SystemExit(f"not within {DEADLINE_S:g} s: {', '.join(sorted(set(conditions) - set(seen)))}")
        time.sleep(POLL_S)
    return seen


class Watch:
    """What users and operators see of one stack: checkout's /health and PostgreSQL's port."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.http = httpx.Client(trust_env=False, timeout=2)

    def health(self) -> int:
        try:
            return self.http.get(self.config.url(self.config.checkout_port, "/health")).status_code
        except httpx.HTTPError:
            return 0

    def pg_refuses(self) -> bool:
        with socket.socket() as s:
            s.settimeout(1)
            return s.connect_ex(("127.0.0.1", self.config.postgres_port)) != 0


def pod(stack: KubernetesStack) -> dict[str, Any] | None:
    with contextlib.closing(stack.cluster.api()) as api:
        found: dict[str, Any] | None = api.get_or_none(f"/api/v1/namespaces/{stack.namespace}/pods/postgres-0")
    return found


def ready_uid(stack: KubernetesStack) -> str | None:
    found = pod(stack)
    if found is None or found["metadata"].get("deletionTimestamp"):
        return None
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in found["status"].get("conditions", []))
    return str(found["metadata"]["uid"]) if ready else None


def uid_gone(stack: KubernetesStack, uid: str) -> Callable[[], bool]:
    def gone() -> bool:
        found = pod(stack)
        return found is None or found["metadata"]["uid"] != uid
    return gone


def settle(watch: Watch, ready: Callable[[], bool]) -> None:
    start = time.monotonic()
    until("the last trial settles", lambda: ready() and watch.health() == 200, start)


def docker_kill(stack: DemoStack, watch: Watch) -> dict[str, float]:
    name = stack.config.container_name("postgres")
    container_stack = StackSpec.model_validate({"targets": {"postgres": {"container": name}}}, strict=False)
    spec = FaultSpec.model_validate({"kind": "container_kill", "target": "postgres", "duration": "5m"})
    client = stack.client

    def healthy() -> bool:
        return str(client.api.inspect_container(name)["State"].get("Health", {}).get("Status")) == "healthy"

    settle(watch, healthy)
    driver = ContainerKill()
    handle = driver.prepare(spec, container_stack)
    start = time.monotonic()
    driver.inject(handle)
    out = first_times({"inject -> gone": lambda: driver.check(handle), "inject -> pg refuses": watch.pg_refuses,
                       "inject -> /health 503": lambda: watch.health() == 503}, start)
    start = time.monotonic()
    driver.revert(handle)
    return out | first_times({"revert -> ready": healthy, "revert -> /health 200": lambda: watch.health() == 200},
                             start)


def kubernetes_stack_spec(stack: KubernetesStack) -> StackSpec:
    return StackSpec.model_validate({
        "platforms": {"kubernetes": {"kubeconfig": str(stack.cluster.config.kubeconfig)}},
        "targets": {"postgres": {"platform": "kubernetes", "namespace": stack.namespace, "kind": "StatefulSet",
                                 "name": "postgres", "container": "postgres"}}}, strict=False)


def kubernetes_fault(stack: KubernetesStack, watch: Watch, kind: str) -> dict[str, float]:
    """``pod_delete`` (the controller replaces the pod) or ``scale`` to 0 (revert scales back)."""
    settle(watch, lambda: ready_uid(stack) is not None)
    old = ready_uid(stack)
    assert old is not None
    driver: Any = PodDelete() if kind == "pod_delete" else Scale()
    args = {"count": 1} if kind == "pod_delete" else {"replicas": 0}
    spec = FaultSpec.model_validate({"kind": kind, "target": "postgres", "duration": "5m", "args": args})
    handle = driver.prepare(spec, kubernetes_stack_spec(stack))
    start = time.monotonic()
    driver.inject(handle)
    out = first_times({"inject -> gone": uid_gone(stack, old), "inject -> pg refuses": watch.pg_refuses,
                       "inject -> /health 503": lambda: watch.health() == 503}, start)
    back = {"ready": lambda: ready_uid(stack) not in (None, old), "/health 200": lambda: watch.health() == 200}
    if kind == "pod_delete":  # the controller brings it back; revert has nothing to undo (the engine calls it)
        out |= {f"inject -> {k}": v for k, v in first_times(back, start).items()}
        driver.revert(handle)
    else:
        start = time.monotonic()
        driver.revert(handle)
        out |= {f"revert -> {k}": v for k, v in first_times(back, start).items()}
    return out


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def shims(names: set[bytes]) -> list[int]:
    """containerd-shim processes whose command line names one of ``names``: the node containerd's socket, or
    the ids of Docker's containers."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                argv = (proc / "cmdline").read_bytes().split(b"\0")
                if argv and b"containerd-shim" in argv[0] and names & set(argv):
                    found.append(int(proc.name))
    return found


def memory_stat(folder: Path) -> dict[str, int]:
    stat = {}
    with contextlib.suppress(OSError):
        for line in (folder / "memory.stat").read_text().splitlines():
            key, _, value = line.partition(" ")
            stat[key] = int(value)
    return stat


def cluster_memory(cluster: LocalCluster) -> list[tuple[str, float]]:
    """(part, MB): RSS of each process, the shims, then the node's cgroup (every pod's processes)."""
    rows: list[tuple[str, float]] = []
    for part in cluster.in_use():
        recorded = processes.read_pid_file(cluster.pid_file(part))
        rows.append((f"{part} (RSS)", rss_kb(recorded.pid) / 1024 if recorded else 0.0))
    node_shims = shims({str(cluster.node.socket).encode()})
    rows.append((f"{len(node_shims)} containerd-shim-runc-v2 of the node (RSS)", sum(map(rss_kb, node_shims)) / 1024))
    stat = memory_stat(CGROUP_FS / "memory" / cluster.node.cgroup_root.lstrip("/"))
    rows.append(("pods: the node's cgroup, total_rss", stat.get("total_rss", 0) / 2**20))
    rows.append(("pods: the node's cgroup, total_rss + total_cache (tmpfs, page cache)",
                 (stat.get("total_rss", 0) + stat.get("total_cache", 0)) / 2**20))
    return rows


def docker_memory(stack: DemoStack) -> list[tuple[str, float]]:
    """(part, MB) of the Docker stack: its containers' shims, its containers' cgroups; dockerd for scale (it serves
    every container on the machine, so it is not the stack's alone)."""
    ids = [str(stack.client.api.inspect_container(stack.config.container_name(part))["Id"])
           for part in ("checkout", "postgres", "redis", "toxiproxy", "prometheus", "alertmanager")]
    stats = [memory_stat(CGROUP_FS / "memory" / "docker" / cid) for cid in ids]
    rss = sum(stat.get("total_rss", 0) for stat in stats) / 2**20
    cache = sum(stat.get("total_cache", 0) for stat in stats) / 2**20
    docker_shims = shims({cid.encode() for cid in ids})
    dockerd = int(Path("/var/run/docker.pid").read_text().strip()) if Path("/var/run/docker.pid").exists() else 0
    return [(f"{len(docker_shims)} containerd-shim-runc-v2 of the stack's containers (RSS)",
             sum(map(rss_kb, docker_shims)) / 1024),
            ("the containers' cgroups, total_rss", rss), ("the containers' cgroups, total_rss + total_cache", rss + cache),
            ("dockerd (RSS; shared by every container on the machine)", rss_kb(dockerd) / 1024 if dockerd else 0.0)]


def row(name: str, values: list[float]) -> str:
    if len(values) == 1:
        return f"| {name} | {values[0]:.2f} | - | 1 |"
    return f"| {name} | {statistics.median(values):.2f} | {min(values):.2f}-{max(values):.2f} | {len(values)} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=6, help="rounds of the three faults, order rotating (default 6)")
    parser.add_argument("--ups", type=int, default=3, help="stack up from nothing on each platform (default 3)")
    args = parser.parse_args()
    state = tempfile.mkdtemp(prefix="k8sdemobench-", dir="/tmp")
    cluster = real_node_cluster(Path(state))
    client = docker_client(None)
    ports = low_ports(2 * len(PORTS))  # one draw: two draws could overlap
    k8s_env = environ_for("k8sdemobench", state, ports[:len(PORTS)])
    docker_env = environ_for("dkdemobench", state, ports[len(PORTS):])
    k8s = KubernetesStack(StackConfig.from_env(k8s_env), cluster)
    dk = DemoStack(StackConfig.from_env(docker_env), environ=docker_env, client=client)
    results: dict[str, list[float]] = {}
    load = os.getloadavg()
    try:
        cluster.up(timeout=300)
        ensure_node_images(client, cluster.node, [base_tag(), toxiproxy_tag(k8s.config)])
        for i in range(args.ups):
            for name, stack in (("kubernetes", k8s), ("docker", dk))[:: 1 if i % 2 == 0 else -1]:
                stack.down()
                start = time.monotonic()
                stack.up(timeout=300)
                results.setdefault(f"{name}: stack up from nothing (images there) until every part healthy",
                                   []).append(time.monotonic() - start)
        time.sleep(10)  # the idle stacks, not their start-up, in the memory figures
        memory = cluster_memory(cluster)
        docker_mb = docker_memory(dk)
        k8s_watch, dk_watch = Watch(k8s.config), Watch(dk.config)
        trials: list[tuple[str, Callable[[], dict[str, float]]]] = [
            ("docker container_kill", lambda: docker_kill(dk, dk_watch)),
            ("kubernetes pod_delete", lambda: kubernetes_fault(k8s, k8s_watch, "pod_delete")),
            ("kubernetes scale to 0", lambda: kubernetes_fault(k8s, k8s_watch, "scale"))]
        for i in range(args.rounds):
            for name, trial in trials[i % 3:] + trials[:i % 3]:
                for step, seconds in trial().items():
                    results.setdefault(f"{name}: {step}", []).append(seconds)
    finally:
        with contextlib.suppress(Exception):
            k8s.down()
        with contextlib.suppress(Exception):
            dk.down()
        cluster.down()
    print(f"load average at the start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; at the end: "
          + " ".join(f"{v:.1f}" for v in os.getloadavg()))
    print("| step | median s | min-max s | trials |")
    print("|---|---|---|---|")
    for name, values in results.items():  # stack ups, then each fault's steps in the order they happen
        print(row(name, values))
    print("\n| part | MB |")
    print("|---|---|")
    for part, mb in memory:
        print(f"| {part} | {mb:.0f} |")
    processes_mb = sum(mb for part, mb in memory if "RSS" in part)
    print(f"| **the cluster's processes, summed RSS** | **{processes_mb:.0f}** |")
    print(f"| **with the pods (total_rss)** | **{processes_mb + memory[-2][1]:.0f}** |")
    print("\n| Docker stack | MB |")
    print("|---|---|")
    for part, mb in docker_mb:
        print(f"| {part} | {mb:.0f} |")


if __name__ == "__main__":
    main()
