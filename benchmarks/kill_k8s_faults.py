"""SIGKILL the harness during each Kubernetes fault kind on a local cluster, then check on the cluster that nothing
is left broken (issue 15 item 7, issue 16 item 3). One runner; what each kind breaks is a row of ``KINDS``.

A cluster of its own (``benchmarks.k8s_scale.bench_cluster``: free ports, a temporary state folder), with the
real node when a chosen kind needs it. Each trial gets what its kind breaks, fresh, in its own namespace
labelled ``gameday.allowed=true``:

    rollout_break      a Deployment of 2 replicas, rolled out (``how`` alternating image and readiness)
    secret_revoke      a Secret with a random key value
    pod_delete, scale  a Deployment of 3 replicas, ready (``pod_delete`` of 2 pods, ``scale`` to 1)
    pod_delete@real-node  the same on the real node: busybox pods the kubelet runs (host network, nothing
                       listening), so the deleted pods' containers really stop and their replacements really start
    node_cordon        two kwok nodes of its own (the first is the target)
    node_drain         the same, and a Deployment of 2 replicas on the pair (pods to evict, somewhere to go)
    network_isolate    a Deployment of 1 replica
    container_kill     real node: a busybox httpd Deployment (readiness probe), its container killed through
                       the node's containerd (the kubelet restarts it)
    latency            real node: a toxiproxy-server Deployment on the host network with one proxy (a Toxiproxy
                       pod, as the demo stack runs it on Kubernetes), 800 ms downstream
    disk_fill          real node, the demo stack on it (one copy for the whole run): checkout's spool (an emptyDir
                       of 64 MB in memory) filled to 0 free, through the API server's exec
    revoke_credentials the same stack: role checkout NOLOGIN by psql inside postgres-0 (terminate_sessions)

It starts ``python -m gameday run`` on a 2 s fault (stack file, heartbeat_timeout 3 s) and SIGKILLs it, aimed
in turn at the inject call (after ``fault.intended`` appears in the run's timeline) and at the revert call (after
``revert.started``), with a random delay of up to ``--window`` (100 ms). Then only the watchdog acts (no
``gameday cleanup``).

Judged on the cluster, never on the journal: the Deployment's pod template as it was before the run and its
rollout complete, no pod template carrying a ``gameday.fault-token``; the Secret's key holding exactly its prior
bytes and no backup Secret left; the Deployment of ``pod_delete`` and ``scale`` back at 3 replicas, all ready
(``pod_delete``'s revert has nothing to do: its controller replaces the pods); the node schedulable and without
gameday's cordoned-by mark; no NetworkPolicy left; the killed container's pod running with its container ready
(the kubelet's new one); no toxic on the proxy and the proxy enabled. A trial fails if that is not so 60 s after
the kill (90 s for ``container_kill``: the kubelet's restart), if a journal still holds a pending fault, or if a
watchdog is still running then. Where the run was at the kill is read from its timeline
(``benchmarks.kill_harness.phase_at``).

    python -m benchmarks.kill_k8s_faults --trials 28 --kinds rollout_break,secret_revoke   # 14 per kind, half at
                                                                                            # inject, half at revert
    python -m benchmarks.kill_k8s_faults --trials 24 --kinds pod_delete,scale
    python -m benchmarks.kill_k8s_faults --trials 36 --kinds node_cordon,node_drain,network_isolate
    python -m benchmarks.kill_k8s_faults --trials 24 --kinds container_kill,latency          # root: the real node
    python -m benchmarks.kill_k8s_faults --trials 12 --kinds pod_delete@real-node
    python -m benchmarks.kill_k8s_faults --trials 24 --kinds disk_fill,revoke_credentials    # and the demo images
    python -m benchmarks.kill_k8s_faults --trials 12 --kinds secret_revoke --aims inject --window 0.4
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
import yaml
from lightkube import Client, KubeConfig, codecs
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace, Node, Pod, Secret
from lightkube.resources.networking_v1 import NetworkPolicy

from benchmarks.k8s_scale import bench_cluster
from benchmarks.k8s_stack_bench import low_ports
from benchmarks.kill_harness import _events, ms, phase_at, wait_for_trigger, watchdogs_of
from gameday.cluster.api import NODE_ANNOTATION
from gameday.cluster.images import oci_archive
from gameday.cluster.manager import LocalCluster
from gameday.cluster.node import NODE_TAINT
from gameday.engine.journal import pending_faults
from gameday.kubernetes.faults.nodes import CORDONED_BY
from gameday.kubernetes.faults.rollout import rollout_state
from gameday.kubernetes.runtime import NodeRuntime, container_id
from gameday.stack.config import StackConfig
from gameday.stack.images import toxiproxy_binary
from gameday.stack.kubernetes_stack import KubernetesStack

REPLICAS = 3
"""pod_delete's and scale's Deployment: scale takes it to 1, pod_delete deletes 2 of its pods."""
RESTORE_DEADLINE = 60.0
WATCHDOG_EXIT_DEADLINE = 60.0
BUSYBOX_IMAGE = "gameday.local/busybox-kill:1"
TOXIPROXY_IMAGE = "gameday.local/toxiproxy-kill:1"


@dataclass
class Trial:
    kind: str
    aim: str
    delay: float = 0.0
    phase: str = "?"
    live: bool = False
    restore_s: float | None = None
    ok: bool = False
    note: str = ""


class Target(Protocol):
    """One trial's objects: made fresh, judged by reading them back, deleted after."""

    namespace: str

    def fault(self) -> dict[str, Any]: ...

    def stack(self) -> dict[str, Any]:
        """The stack file's ``targets`` (one, ``it``), ``allow`` and anything else it needs."""
        ...

    def broken(self) -> str:
        """What is still broken, in words; "" when all is as before."""
        ...

    def close(self) -> None: ...


def wait(predicate: Callable[[], bool], limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _namespace(kube: Client) -> str:
    name = f"gdkill-{uuid.uuid4().hex[:8]}"
    kube.create(Namespace(metadata=ObjectMeta(name=name, labels={"gameday.allowed": "true"})))
    return name


def _deployment(namespace: str, replicas: int, spec: dict[str, Any], name: str = "web") -> Any:
    return codecs.from_dict({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": {
            "metadata": {"labels": {"app": name}}, "spec": spec}}})


def _kubernetes_stack(namespace: str, target: dict[str, Any], allow: list[str]) -> dict[str, Any]:
    return {"targets": {"it": {"platform": "kubernetes", "namespace": namespace, **target}},
            "allow": {"kubernetes": allow}}


class WorkloadTarget:
    """rollout_break, secret_revoke, pod_delete, scale: a Deployment or a Secret in a namespace of its own."""

    def __init__(self, kube: Client, kind: str, how: str, *, real_node: bool = False) -> None:
        self.kube, self.kind, self.how = kube, kind, how
        self.namespace = _namespace(kube)
        pod_spec = {"containers": [{"name": "app", "image": "nginx:1.25"}]}
        if real_node:  # real containers the kubelet runs and kills (nothing listens: three share the host network)
            pod_spec = _on_real_node([{"name": "app", "image": BUSYBOX_IMAGE, "imagePullPolicy": "Never",
                                    "command": ["/bin/busybox", "sleep", "3600"],
                                    "readinessProbe": {"exec": {"command": ["/bin/busybox", "true"]},
                                                       "periodSeconds": 1}}])
        if kind == "rollout_break":
            kube.create(_deployment(self.namespace, 2, pod_spec))
            if not wait(lambda: rollout_state("Deployment", self._deployment())[0], 120):
                raise SystemExit(f"Deployment {self.namespace}/web did not roll out in 120 s")
            self.template = self._deployment().spec.template.to_dict()
        elif kind in ("pod_delete", "scale"):
            kube.create(_deployment(self.namespace, REPLICAS, pod_spec))
            if not wait(lambda: not self.broken(), 120):
                raise SystemExit(f"Deployment {self.namespace}/web not ready in 120 s: {self.broken()}")
        else:
            self.prior = os.urandom(24)
            kube.create(Secret(metadata=ObjectMeta(name="db", namespace=self.namespace),
                               data={"password": base64.b64encode(self.prior).decode()}))

    def _deployment(self) -> Any:
        return self.kube.get(Deployment, "web", namespace=self.namespace)

    def fault(self) -> dict[str, Any]:
        args = {"pod_delete": {"count": 2, "grace_period": 0}, "scale": {"replicas": 1},
                "rollout_break": {"how": self.how}, "secret_revoke": {"key": "password"}}[self.kind]
        return {"kind": self.kind, "target": "it", "duration": "2s", "args": args}

    def stack(self) -> dict[str, Any]:
        kind, name = ("Secret", "db") if self.kind == "secret_revoke" else ("Deployment", "web")
        return _kubernetes_stack(self.namespace, {"kind": kind, "name": name}, [f"{self.namespace}/*"])

    def broken(self) -> str:
        if self.kind in ("pod_delete", "scale"):
            dep = self._deployment()
            ready = (dep.status.readyReplicas or 0) if dep.status else 0
            if dep.spec.replicas != REPLICAS:
                return f"{dep.spec.replicas} replicas, not {REPLICAS}"
            return "" if ready == REPLICAS else f"{ready} of {REPLICAS} ready"
        if self.kind == "rollout_break":
            dep = self._deployment()
            if dep.spec.template.to_dict() != self.template:
                return f"template differs (image {dep.spec.template.spec.containers[0].image})"
            complete, state = rollout_state("Deployment", dep)
            return "" if complete else f"rollout not complete: {state}"
        data = self.kube.get(Secret, "db", namespace=self.namespace).data or {}
        if base64.b64decode(data.get("password", "")) != self.prior:
            return "key password is not its prior value"
        left = [s.metadata.name for s in self.kube.list(Secret, namespace=self.namespace) if s.metadata.name != "db"]
        return f"backup left: {', '.join(str(n) for n in left)}" if left else ""

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.kube.delete(Namespace, self.namespace)


class NodeTarget:
    """node_cordon, node_drain: two kwok nodes of its own; network_isolate: a Deployment in a namespace."""

    def __init__(self, kube: Client, kind: str) -> None:
        self.kube, self.kind = kube, kind
        self.namespace = _namespace(kube)
        suffix = self.namespace.removeprefix("gdkill-")
        self.nodes = [f"gdkill-{suffix}-a", f"gdkill-{suffix}-b"] if kind != "network_isolate" else []
        for name in self.nodes:
            kube.create(Node(metadata=ObjectMeta(
                name=name, labels={"gameday.allowed": "true", "pool": suffix, "kubernetes.io/hostname": name},
                annotations={NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"})))
        if kind == "node_cordon":
            return
        replicas = 2 if kind == "node_drain" else 1
        kube.create(_deployment(self.namespace, replicas, {
            "containers": [{"name": "app", "image": "nginx:1.25"}],
            **({"nodeSelector": {"pool": suffix}} if self.nodes else {})}))
        if not wait(lambda: self._running() == replicas, 120):
            raise SystemExit(f"Deployment {self.namespace}/web did not run {replicas} pods in 120 s")

    def _running(self) -> int:
        return sum(1 for p in self.kube.list(Pod, namespace=self.namespace)
                   if p.status and p.status.phase == "Running" and not p.metadata.deletionTimestamp)

    def fault(self) -> dict[str, Any]:
        fault: dict[str, Any] = {"kind": self.kind, "target": "it", "duration": "2s"}
        if self.kind == "node_drain":
            fault["args"] = {"timeout": "1s"}
        return fault

    def stack(self) -> dict[str, Any]:
        if self.nodes:
            return {"targets": {"it": {"platform": "kubernetes", "kind": "Node", "name": self.nodes[0]}},
                    "allow": {"kubernetes": [self.nodes[0]]}}
        return _kubernetes_stack(self.namespace, {"kind": "Deployment", "name": "web"}, [f"{self.namespace}/*"])

    def broken(self) -> str:
        if self.nodes:
            node = self.kube.get(Node, self.nodes[0])
            marked = CORDONED_BY in (node.metadata.annotations or {})
            cordoned = bool(node.spec and node.spec.unschedulable)
            return ", ".join(w for w in ["cordoned" if cordoned else "", "mark left" if marked else ""] if w)
        left = [p.metadata.name for p in self.kube.list(NetworkPolicy, namespace=self.namespace)]
        return f"NetworkPolicy left: {', '.join(str(n) for n in left)}" if left else ""

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.kube.delete(Namespace, self.namespace)
        for name in self.nodes:
            with contextlib.suppress(Exception):
                self.kube.delete(Node, name)


def low_port() -> int:
    """A free port below the ephemeral range, for a pod on the host network (``k8s_stack_bench.low_ports``)."""
    return low_ports(1)[0]


def _on_real_node(containers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"hostNetwork": True, "terminationGracePeriodSeconds": 1, "containers": containers,
            "nodeSelector": {"gameday.dev/node": "real"},
            "tolerations": [{"key": NODE_TAINT, "operator": "Exists", "effect": "NoSchedule"}]}


class ContainerTarget:
    """container_kill: a busybox httpd Deployment on the real node, ready by its probe; judged by its pod's
    container running and ready (the kubelet's new one after a kill)."""

    def __init__(self, kube: Client, cluster: LocalCluster) -> None:
        self.kube = kube
        self.runtime = NodeRuntime(cluster.node.socket, target="it")
        self.namespace = _namespace(kube)
        self.first: str | None = None
        port = low_port()
        kube.create(_deployment(self.namespace, 1, _on_real_node([{
            "name": "httpd", "image": BUSYBOX_IMAGE, "imagePullPolicy": "Never",
            "command": ["/bin/busybox", "httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", "/www"],
            "readinessProbe": {"httpGet": {"host": "127.0.0.1", "port": port, "path": "/"}, "periodSeconds": 1}}])))
        if not wait(lambda: not self.broken(), 120):
            raise SystemExit(f"Deployment {self.namespace}/web not ready in 120 s: {self.broken()}")
        self.first = container_id(self._status())

    def fault(self) -> dict[str, Any]:
        return {"kind": "container_kill", "target": "it", "duration": "2s"}

    def _status(self) -> Any | None:
        pods = [p for p in self.kube.list(Pod, namespace=self.namespace) if not p.metadata.deletionTimestamp]
        statuses = [s for p in pods for s in (p.status.containerStatuses if p.status else None) or []]
        return statuses[0] if len(pods) == 1 and statuses else None

    def restarts(self) -> int:
        status = self._status()
        return int(status.restartCount or 0) if status is not None else 0

    def stack(self) -> dict[str, Any]:
        return _kubernetes_stack(self.namespace, {"kind": "Deployment", "name": "web", "container": "httpd"},
                                 [f"{self.namespace}/*"])

    def broken(self) -> str:
        status = self._status()
        if status is None:
            return "no single pod with a container status"
        if not (status.state and status.state.running and status.ready):
            return f"container not running and ready (restarts {status.restartCount})"
        current = container_id(status)
        if current == self.first and self.first and self.runtime.status(self.first) != "RUNNING":
            return "container killed; the pod's status does not show it yet"  # the kubelet notices within ~1 s
        return ""

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.kube.delete(Namespace, self.namespace)


class ToxiproxyTarget:
    """latency: a toxiproxy-server Deployment on the real node (the host network, its own port) with one proxy
    in front of a port nobody serves (the toxic is what is judged); judged by the proxy's toxics and state."""

    def __init__(self, kube: Client) -> None:
        self.kube = kube
        self.namespace = _namespace(kube)
        self.port, listen, upstream = low_port(), low_port(), low_port()
        self.url = f"http://127.0.0.1:{self.port}"
        kube.create(_deployment(self.namespace, 1, _on_real_node([{
            "name": "toxiproxy", "image": TOXIPROXY_IMAGE, "imagePullPolicy": "Never",
            "command": ["/toxiproxy-server", "-host", "127.0.0.1", "-port", str(self.port)],
            "readinessProbe": {"httpGet": {"host": "127.0.0.1", "port": self.port, "path": "/version"},
                               "periodSeconds": 1}}]), name="toxiproxy"))
        if not wait(self._answers, 120):
            raise SystemExit(f"Toxiproxy pod of {self.namespace} did not answer in 120 s")
        httpx.post(f"{self.url}/proxies", json={"name": "pg", "listen": f"127.0.0.1:{listen}",
                                                "upstream": f"127.0.0.1:{upstream}", "enabled": True},
                   timeout=10, trust_env=False).raise_for_status()

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/version", timeout=2, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    def fault(self) -> dict[str, Any]:
        return {"kind": "latency", "target": "it", "duration": "2s",
                "args": {"latency": "800ms", "direction": "downstream"}}

    def stack(self) -> dict[str, Any]:
        return {"toxiproxy": {"url": self.url}, "targets": {"it": {"proxy": "pg"}}, "allow": {"toxiproxy": ["pg"]}}

    def broken(self) -> str:
        proxy = httpx.get(f"{self.url}/proxies/pg", timeout=5, trust_env=False).json()
        toxics = [t["name"] for t in proxy.get("toxics", [])]
        return ", ".join(w for w in [f"toxics left: {', '.join(toxics)}" if toxics else "",
                                     "" if proxy.get("enabled") else "proxy disabled"] if w)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.kube.delete(Namespace, self.namespace)


SPOOL = "/var/lib/checkout/spool"
DEMO_STACKS: dict[str, KubernetesStack] = {}
"""The demo stack of each cluster (by state folder) for the kinds that act inside its pods: brought up once by
``main`` (a minute), shared by their trials; a ``make`` row finds it from the cluster it is given."""


class PodExecTarget:
    """disk_fill and revoke_credentials inside the demo stack's pods; judged by kubectl exec of our own: no fill file
    in checkout's spool and its free space back, role checkout able to log in."""

    def __init__(self, kube: Client, cluster: LocalCluster, kind: str) -> None:
        self.kube, self.kind = kube, kind
        self.demo = DEMO_STACKS[str(cluster.config.state_dir)]
        self.namespace = self.demo.namespace
        self._kubectl = [str(cluster.config.binary("kubectl")), f"--kubeconfig={cluster.config.kubeconfig}",
                         "-n", self.namespace]
        if not wait(lambda: not self.broken() and self._healthy(), 120):
            raise SystemExit(f"the demo stack in {self.namespace} is not healthy and unbroken: {self.broken()}")
        self.free = self._spool_free() if kind == "disk_fill" else 0

    def _exec(self, pod: str, container: str, *argv: str) -> str:
        done = subprocess.run([*self._kubectl, "exec", pod, "-c", container, "--", *argv], capture_output=True,
                              text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"kubectl exec {argv[0]}: {done.stderr.strip()[-200:]}")
        return done.stdout

    def _healthy(self) -> bool:
        config = self.demo.config
        try:
            return httpx.get(config.url(config.checkout_port, "/health"), timeout=3, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    def _checkout(self) -> str:
        pods = [p for p in self.kube.list(Pod, namespace=self.namespace, labels={"gameday.part": "checkout"})
                if not p.metadata.deletionTimestamp and p.status and p.status.phase == "Running"]
        if len(pods) != 1:
            raise RuntimeError(f"{len(pods)} running checkout pods")
        return str(pods[0].metadata.name)

    def _spool_free(self) -> int:
        blocks, size = self._exec(self._checkout(), "checkout", "stat", "-f", "-c", "%a %S", SPOOL).split()
        return int(blocks) * int(size)

    def fault(self) -> dict[str, Any]:
        if self.kind == "disk_fill":
            return {"kind": "disk_fill", "target": "it", "duration": "2s",
                    "args": {"path": SPOOL, "free_left": "0B", "floor_bytes": "0B", "floor_percent": 0}}
        return {"kind": "revoke_credentials", "target": "it", "duration": "2s",
                "args": {"role": "checkout", "terminate_sessions": True, "socket_dir": "/tmp/pgsock"}}

    def stack(self) -> dict[str, Any]:
        name, container = ("checkout", "checkout") if self.kind == "disk_fill" else ("postgres", "postgres")
        kind = "Deployment" if name == "checkout" else "StatefulSet"
        return {"targets": {"it": {"platform": "kubernetes", "namespace": self.namespace, "kind": kind, "name": name,
                                   "container": container}},
                "allow": {"kubernetes": [f"{self.namespace}/{name}"]}}

    def _psql(self, sql: str) -> str:
        port = self.demo.config.postgres_port
        return self._exec("postgres-0", "postgres", "setpriv", "--reuid=postgres", "--regid=postgres",
                          "--init-groups", "psql", "-X", "-At", "-h", "/tmp/pgsock", "-p", str(port), "-U", "postgres",
                          "-d", "postgres", "-c", sql).strip()

    def broken(self) -> str:
        try:
            if self.kind == "disk_fill":
                listed = self._exec(self._checkout(), "checkout", "ls", "-a", SPOOL).split()
                fills = [f for f in listed if f.startswith(".gameday-fill-")]
                free = self._spool_free()
                low = getattr(self, "free", 0) and free < self.free - 1024 * 1024
                return ", ".join(w for w in [f"fill files left: {', '.join(fills)}" if fills else "",
                                             f"spool {free} bytes free, {self.free} before" if low else ""] if w)
            can = self._psql("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'checkout'")
            return "" if can == "t" else f"role checkout rolcanlogin = {can!r}"
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            return f"cannot tell: {exc}"

    def close(self) -> None:
        """Put right what a failed trial left (after it was judged), so the next trial starts from a sound stack."""
        if not self.broken():
            return
        with contextlib.suppress(Exception):
            if self.kind == "disk_fill":
                self._exec(self._checkout(), "checkout", "sh", "-c", f"rm -f {SPOOL}/.gameday-fill-*")
            else:
                self._psql("ALTER ROLE checkout LOGIN")


@dataclass(frozen=True)
class Kind:
    """A row of the kind table: how a trial's target is made, and whether it needs the real node."""

    make: Callable[[Client, LocalCluster, str], Target]
    real_node: bool = False
    restore_deadline: float = RESTORE_DEADLINE
    demo_stack: bool = False
    """The demo stack on the real node (DEMO_STACKS), brought up once before the trials."""
    variants: tuple[str, ...] = ("",)
    """Alternated per trial (rollout_break's ``how``), passed to ``make``."""


KINDS: dict[str, Kind] = {
    "rollout_break": Kind(lambda kube, _, how: WorkloadTarget(kube, "rollout_break", how),
                          variants=("image", "readiness")),
    "secret_revoke": Kind(lambda kube, _, __: WorkloadTarget(kube, "secret_revoke", "")),
    "pod_delete": Kind(lambda kube, _, __: WorkloadTarget(kube, "pod_delete", "")),
    "pod_delete@real-node": Kind(lambda kube, _, __: WorkloadTarget(kube, "pod_delete", "", real_node=True),
                                 real_node=True),
    "scale": Kind(lambda kube, _, __: WorkloadTarget(kube, "scale", "")),
    "node_cordon": Kind(lambda kube, _, __: NodeTarget(kube, "node_cordon")),
    "node_drain": Kind(lambda kube, _, __: NodeTarget(kube, "node_drain")),
    "network_isolate": Kind(lambda kube, _, __: NodeTarget(kube, "network_isolate")),
    "container_kill": Kind(lambda kube, cluster, _: ContainerTarget(kube, cluster), real_node=True,
                           restore_deadline=90.0),
    "latency": Kind(lambda kube, _, __: ToxiproxyTarget(kube), real_node=True),
    "disk_fill": Kind(lambda kube, cluster, _: PodExecTarget(kube, cluster, "disk_fill"), real_node=True,
                      demo_stack=True),
    "revoke_credentials": Kind(lambda kube, cluster, _: PodExecTarget(kube, cluster, "revoke_credentials"),
                               real_node=True, demo_stack=True),
}


@contextlib.contextmanager
def demo_stack(cluster: LocalCluster, state: Path) -> Iterator[None]:
    """The demo stack (its own name and ports below the ephemeral range) on the cluster's real node, its images
    copied from Docker (``gameday stack build`` first); down at the end."""
    from gameday.platforms.docker import docker_client
    from gameday.stack.images import base_tag, toxiproxy_tag
    from gameday.stack.node_images import ensure_node_images

    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GAMEDAY_DEMO_", "GAMEDAY_CLUSTER_"))}
    environ |= {"GAMEDAY_DEMO_STACK": "killpods", "GAMEDAY_STATE_DIR": str(state)}
    names = ("CHECKOUT", "POSTGRES", "REDIS", "TOXIPROXY", "POSTGRES_PROXY", "REDIS_PROXY", "PROMETHEUS",
             "ALERTMANAGER", "WEBHOOK")
    environ |= {f"GAMEDAY_DEMO_{n}_PORT": str(port) for n, port in zip(names, low_ports(len(names)), strict=True)}
    stack = KubernetesStack(StackConfig.from_env(environ), cluster)
    ensure_node_images(docker_client(None), cluster.node, [base_tag(), toxiproxy_tag(stack.config)], log=print)
    started = time.monotonic()
    stack.up(timeout=300)
    print(f"demo stack up in {stack.namespace} in {time.monotonic() - started:.1f} s", flush=True)
    DEMO_STACKS[str(cluster.config.state_dir)] = stack
    try:
        yield
    finally:
        DEMO_STACKS.pop(str(cluster.config.state_dir), None)
        with contextlib.suppress(Exception):
            stack.down()


def import_images(cluster: LocalCluster) -> None:
    """The real-node kinds' two small images, made here (no registry): busybox, and the toxiproxy-server binary
    the demo stack's Toxiproxy image is built from (static)."""
    busybox = Path(shutil.which("busybox") or "/bin/busybox").read_bytes()
    cluster.node.import_image(oci_archive(BUSYBOX_IMAGE, {"/bin/busybox": (busybox, 0o755),
                                                          "/www/index.html": (b"up\n", 0o644)},
                                          entrypoint=["/bin/busybox"]), BUSYBOX_IMAGE)
    server = toxiproxy_binary(StackConfig.from_env(os.environ), os.environ, log=print).read_bytes()
    cluster.node.import_image(oci_archive(TOXIPROXY_IMAGE, {"/toxiproxy-server": (server, 0o755)},
                                          entrypoint=["/toxiproxy-server"]), TOXIPROXY_IMAGE)


def start_run(cluster: LocalCluster, target: Target, work: Path, reports: Path) -> subprocess.Popen[bytes]:
    name = f"kill-{target.namespace}"
    (work / "stacks").mkdir(exist_ok=True)
    (work / "stacks" / f"{name}.yaml").write_text(yaml.safe_dump({
        "version": 1, "name": name, "platforms": {"kubernetes": {"kubeconfig": str(cluster.config.kubeconfig)}},
        **target.stack()}))
    scenario = work / f"{name}.yaml"
    scenario.write_text(yaml.safe_dump({"version": 1, "name": name, "stack": name, "faults": [target.fault()],
                                        "safety": {"heartbeat_timeout": "3s"}}))
    return subprocess.Popen([sys.executable, "-m", "gameday", "run", str(scenario), "--reports", str(reports)],
                            cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "GAMEDAY_STATE_DIR": str(work / "state")})


def trial(cluster: LocalCluster, kube: Client, kind: str, aim: str, variant: str, rng: random.Random,
          work: Path, window: float) -> Trial:
    spec = KINDS[kind]
    result = Trial(f"{kind} ({variant})" if variant else kind, aim)
    target = spec.make(kube, cluster, variant)
    reports = work / f"reports-{uuid.uuid4().hex[:6]}"
    try:
        spawned = time.monotonic()
        proc = start_run(cluster, target, work, reports)
        trigger = "fault.intended" if aim == "inject" else "revert.started"
        if not wait_for_trigger(reports, trigger, proc, 60.0):
            result.note = f"the run never reached {trigger}"
        time.sleep(rng.uniform(0.0, window))
        result.delay = time.monotonic() - spawned
        broken_before = target.broken()
        killed_wall = datetime.now().astimezone()
        killed = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        result.live = bool(broken_before or target.broken())
        if wait(lambda: not target.broken(), spec.restore_deadline):
            result.restore_s = time.monotonic() - killed
        wait(lambda: not watchdogs_of(reports), WATCHDOG_EXIT_DEADLINE)
        lingering = watchdogs_of(reports)
        run_dirs = sorted(p for p in reports.glob("*") if p.is_dir())
        result.phase = phase_at(_events(run_dirs[0] if run_dirs else None), killed_wall)
        pending = [f for j in reports.glob("*/journal.jsonl") for f in pending_faults(j)]
        still = target.broken()
        result.ok = result.restore_s is not None and not still and not pending and not lingering
        if not result.ok:
            result.note = "; ".join(n for n in [
                result.note, "" if result.restore_s is not None else
                f"not restored within {spec.restore_deadline:.0f}s",
                still, f"{len(pending)} pending in the journal" if pending else "",
                f"watchdog still running (pid {lingering})" if lingering else ""] if n)
        if not result.live:
            result.restore_s = None
        if isinstance(target, ContainerTarget):  # did the kill land at all (the harness may die before it)?
            result.note = "; ".join(n for n in [result.note, f"restarts {target.restarts()}"] if n)
        return result
    finally:
        target.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=24, help="in rotation over the kinds and both aims")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--kinds", default="rollout_break,secret_revoke,pod_delete,scale",
                        help=f"comma-separated, in rotation; of {', '.join(KINDS)}")
    parser.add_argument("--aims", default="inject,revert", help="comma-separated, in rotation")
    parser.add_argument("--window", type=float, default=0.1,
                        help="kill at a random moment up to this many seconds after the aimed-at event")
    parser.add_argument("--json", type=Path, help="also write every trial here")
    args = parser.parse_args()
    kinds, aims = args.kinds.split(","), args.aims.split(",")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown kind {', '.join(unknown)} (known: {', '.join(KINDS)})")
    real_node = any(KINDS[k].real_node for k in kinds)
    demo = any(KINDS[k].demo_stack for k in kinds)
    rng = random.Random(args.seed)
    trials: list[Trial] = []
    with tempfile.TemporaryDirectory(prefix="gdkill-k8s-") as tmp, \
            bench_cluster(Path(tmp) / "cluster", 2, real_node=real_node) as (cluster, _), \
            contextlib.ExitStack() as extra:
        if real_node:
            import_images(cluster)
        if demo:
            extra.enter_context(demo_stack(cluster, Path(tmp) / "demo-state"))
        kube = Client(KubeConfig.from_file(cluster.config.kubeconfig).get(), trust_env=False)
        work = Path(tmp)
        for i in range(args.trials):
            kind = kinds[i % len(kinds)]
            aim = aims[(i // len(kinds)) % len(aims)]
            variants = KINDS[kind].variants
            variant = variants[(i // (len(kinds) * len(aims))) % len(variants)]
            result = trial(cluster, kube, kind, aim, variant, rng, work, args.window)
            trials.append(result)
            print(f"trial {i + 1:3d} {result.kind:27s} {aim:6s} kill at {result.delay:5.2f}s ({result.phase}): "
                  f"{'ok' if result.ok else 'LEFT BROKEN'}"
                  + (f", restored {result.restore_s * 1000:.0f} ms after the kill" if result.restore_s is not None
                     else "") + (f"  [{result.note}]" if result.note else ""), flush=True)
    print(f"\n{len(trials)} trials, {sum(not t.ok for t in trials)} left broken\n")
    print("| kind | aimed at | trials | left broken | fault live at the kill | kill -> restored (median / p95 / max) |")
    print("|---|---|---|---|---|---|")
    for kind in sorted({t.kind for t in trials}):
        for aim in ("inject", "revert"):
            chosen = [t for t in trials if t.kind == kind and t.aim == aim]
            if chosen:
                times = [t.restore_s for t in chosen if t.restore_s is not None]
                print(f"| `{kind}` | {aim} | {len(chosen)} | {sum(not t.ok for t in chosen)} | "
                      f"{sum(t.live for t in chosen)} | {ms(times)} |")
    print("\n| killed during | trials | fault live at the kill | left broken |\n|---|---|---|---|")
    for phase in sorted({t.phase for t in trials}):
        chosen = [t for t in trials if t.phase == phase]
        print(f"| {phase} | {len(chosen)} | {sum(t.live for t in chosen)} | {sum(not t.ok for t in chosen)} |")
    if args.json:
        args.json.write_text(json.dumps([t.__dict__ for t in trials], indent=1))


if __name__ == "__main__":
    main()
