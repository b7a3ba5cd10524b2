"""``gameday cluster up | status | down``: the local control plane as processes on 127.0.0.1.

    <state>/cluster/
      cluster.json        the ports and node count ``up`` used (``status`` and ``down`` read them back)
      certs/              CA, serving and admin certificates, the service-account key (certs.py)
      etcd/               etcd's data
      kubeconfig          admin access to https://127.0.0.1:<apiserver port>
      pids/<part>.pid     pid and start time of each process
      logs/<part>.log     each process's output
      node/               the real node's containerd and kubelet, with ``--real-node`` (node.py)

``up`` starts what is not running (so it is repeatable and heals a dead part), ``down`` stops what runs
(so it is harmless to repeat). Nothing here addresses a pod or cluster IP: only 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import httpx

from gameday.cluster import processes
from gameday.cluster.api import LocalAPI
from gameday.cluster.certs import ensure_certs
from gameday.cluster.config import HOST, ClusterConfig
from gameday.cluster.node import NODE_NAME, RUNTIME_ANNOTATION, RealNode
from gameday.errors import EnvironmentProblem, GamedayError

PARTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
NODE_PARTS = ("containerd", "kubelet")
"""The real node's processes, after the control plane's (``--real-node``)."""
PORT_OF = {"etcd": "etcd", "kube-apiserver": "apiserver", "kube-controller-manager": "controller_manager",
           "kube-scheduler": "scheduler", "kwok": "kwok", "containerd": "containerd_stream", "kubelet": "kubelet"}
MORE_PORTS = {"etcd": "etcd_peer", "kubelet": "kubelet_healthz"}
"""Ports a part listens on besides its own."""
UP_TIMEOUT = 300.0
"""A first start on two busy cores: the API server alone takes 5-60 s before /readyz says ok."""

Log = Callable[[str], None]


@dataclass(frozen=True)
class PartStatus:
    part: str
    state: str
    """``running``, ``stopped`` (no pid file) or ``dead`` (a pid file whose process is gone or is another's)."""
    pid: int | None
    port: int
    log: Path


@dataclass(frozen=True)
class ClusterStatus:
    parts: list[PartStatus]
    ready: bool
    """``/readyz`` answered 200."""
    readiness: str
    nodes: list[tuple[str, bool]]
    kubeconfig: Path

    @property
    def healthy(self) -> bool:
        return (all(p.state == "running" for p in self.parts) and self.ready
                and bool(self.nodes) and all(ready for _, ready in self.nodes))


class LocalCluster:
    """One local cluster, described by ``config``; every method may be called in any state."""

    def __init__(self, config: ClusterConfig, *, log: Log = lambda _: None) -> None:
        self.config = config
        self._log = log
        self._dir = config.state_dir
        self.node = RealNode(config, self.certs, log=log)

    @classmethod
    def saved(cls, config: ClusterConfig, *, log: Log = lambda _: None) -> LocalCluster:
        """The cluster ``up`` last started in this state folder, with the ports and node count it used."""
        try:
            saved = json.loads((config.state_dir / "cluster.json").read_text(encoding="utf-8"))
            numbers = {k: int(v) for k, v in saved.items() if k.endswith("_port") or k == "nodes"}
            config = replace(config, **numbers, real_node=saved.get("real_node") is True)  # type: ignore[arg-type]
        except (OSError, ValueError, TypeError, AttributeError):
            pass  # never started here (or the file is damaged): the configured ports are the best guess
        return cls(config, log=log)

    # --- paths ---------------------------------------------------------------------------------

    @property
    def certs(self) -> Path:
        return self._dir / "certs"

    def pid_file(self, part: str) -> Path:
        return self._dir / "pids" / f"{part}.pid"

    def log_file(self, part: str) -> Path:
        return self._dir / "logs" / f"{part}.log"

    def port(self, part: str) -> int:
        return self.config.ports()[PORT_OF[part]]

    def in_use(self) -> tuple[str, ...]:
        """The parts of this cluster: the control plane, and the real node's when it has one (or had: a pid
        file left by an earlier ``up --real-node`` still counts, so ``down`` stops it)."""
        had_node = any(self.pid_file(part).exists() for part in NODE_PARTS)
        return PARTS + NODE_PARTS if self.config.real_node or had_node else PARTS

    def api(self) -> LocalAPI:
        return LocalAPI(self.config.apiserver_url, self.certs)

    # --- up --------------------------------------------------------------------------------------

    def up(self, *, timeout: float = UP_TIMEOUT) -> ClusterStatus:
        """Start every part that is not running, make the kwok nodes, wait until the nodes are Ready."""
        deadline = time.monotonic() + timeout
        parts = PARTS + NODE_PARTS if self.config.real_node else PARTS
        binaries = {part: self.config.binary(part) for part in parts}
        if self.config.real_node:
            binaries["pause"] = self.config.binary("pause")
            self.node.check_host()
        running = {part for part in parts if self._alive(part)}
        for part in parts:
            if part not in running:
                self._check_port_free(part)
        for folder in ("pids", "logs", "etcd"):
            (self._dir / folder).mkdir(parents=True, exist_ok=True)
        (self._dir / "etcd").chmod(0o700)  # etcd refuses a data folder others may read
        ensure_certs(self.certs)
        self._write_kubeconfig()
        (self._dir / "cluster.json").write_text(
            json.dumps({**{f"{k}_port": v for k, v in self.config.ports().items()}, "nodes": self.config.nodes,
                        "real_node": self.config.real_node}),
            encoding="utf-8")
        stages = self._dir / "kwok-stages.yaml"
        stages.write_text((resources.files("gameday.cluster") / "files" / "kwok-stages.yaml").read_text("utf-8"),
                          encoding="utf-8")

        self._start("etcd", binaries, running)
        self._wait("etcd", self._etcd_healthy, deadline)
        self._start("kube-apiserver", binaries, running)
        with contextlib.closing(self.api()) as api:
            self._wait("kube-apiserver", lambda: api.readyz()[0], deadline)
            for part in PARTS[2:]:
                self._start(part, binaries, running)
            names = [f"kwok-node-{i}" for i in range(self.config.nodes)]
            for name in names:
                api.create_kwok_node(name)
            for name, _ in api.nodes():  # fewer nodes than last time: the extra ones go
                if name.startswith("kwok-node-") and name not in names:
                    api.delete(f"/api/v1/nodes/{name}")
            self._log(f"waiting for {len(names)} kwok node{'s' if len(names) != 1 else ''} to be Ready")
            self._wait("kwok", lambda: _all_ready(api.nodes(), names), deadline)
            # Pods are refused until the controller manager has made the namespace's service account.
            self._wait("kube-controller-manager",
                       lambda: _exists(api, "/api/v1/namespaces/default/serviceaccounts/default"), deadline)
            if self.config.real_node:
                self._up_real_node(api, binaries, running, deadline)
        return self.status()

    def _up_real_node(self, api: LocalAPI, binaries: dict[str, Path], running: set[str], deadline: float) -> None:
        self.node.write_files()
        self.node.make_cgroups()
        self._start("containerd", binaries, running)
        self._wait("containerd", self.node.containerd_ready, deadline)
        self.node.ensure_pause_image()
        self._start("kubelet", binaries, running)
        self._log(f"waiting for the real node {NODE_NAME} to be Ready")
        self._wait("kubelet", lambda: _all_ready(api.nodes(), [NODE_NAME]), deadline)
        api.set_node_address(NODE_NAME, HOST)
        # Where the node's runtime is: container_kill reaches a container through it (the kubelet sees a crash).
        api.merge_patch(f"/api/v1/nodes/{NODE_NAME}",
                        {"metadata": {"annotations": {RUNTIME_ANNOTATION: str(self.node.socket.resolve())}}})

    def _alive(self, part: str) -> bool:
        recorded = processes.read_pid_file(self.pid_file(part))
        return recorded is not None and processes.alive(recorded)

    def _check_port_free(self, part: str) -> None:
        names = [PORT_OF[part]] + ([MORE_PORTS[part]] if part in MORE_PORTS else [])
        for name in names:
            port = self.config.ports()[name]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind((HOST, port))
                except OSError:
                    var = f"GAMEDAY_CLUSTER_{name.upper()}_PORT"
                    raise EnvironmentProblem(f"{part} cannot listen on {HOST}:{port}: something else uses it "
                                             f"(choose another port with {var})") from None

    def _start(self, part: str, binaries: dict[str, Path], running: set[str]) -> None:
        if part in running:
            return
        self._log(f"starting {part} on {HOST}:{self.port(part)}")
        args = self.node.args(part) if part in NODE_PARTS else self._args(part)
        processes.start([str(binaries[part]), *args], pid_file=self.pid_file(part),
                        log_file=self.log_file(part))

    def _wait(self, part: str, ready: Callable[[], bool], deadline: float) -> None:
        """Poll ``ready`` until the deadline; a part that exits meanwhile fails at once, naming its log."""
        while True:
            if not self._alive(part):
                raise EnvironmentProblem(f"{part} exited while starting: see {self.log_file(part)}"
                                         + _last_line(self.log_file(part)))
            try:
                if ready():
                    return
            except GamedayError:
                pass  # not answering yet
            if time.monotonic() > deadline:
                raise EnvironmentProblem(f"{part} was not ready in time: see {self.log_file(part)}"
                                         + _last_line(self.log_file(part)))
            time.sleep(0.5)

    def _etcd_healthy(self) -> bool:
        try:
            response = httpx.get(f"http://{HOST}:{self.config.etcd_port}/health", timeout=5.0, trust_env=False)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and '"true"' in response.text

    def _args(self, part: str) -> list[str]:
        c, certs, kubeconfig = self.config, self.certs, str(self.config.kubeconfig)
        peer = f"http://{HOST}:{c.etcd_peer_port}"
        client_auth = [f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
                       f"--authorization-kubeconfig={kubeconfig}", f"--bind-address={HOST}",
                       f"--secure-port={self.port(part)}", "--leader-elect=false"]
        args: dict[str, list[str]] = {
            "etcd": [
                "--name=gameday", f"--data-dir={self._dir / 'etcd'}",
                f"--listen-client-urls=http://{HOST}:{c.etcd_port}", f"--advertise-client-urls=http://{HOST}:{c.etcd_port}",
                f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=gameday={peer}", "--logger=zap",
            ],
            "kube-apiserver": [
                f"--etcd-servers=http://{HOST}:{c.etcd_port}", f"--bind-address={HOST}",
                f"--advertise-address={HOST}", f"--secure-port={c.apiserver_port}",
                f"--tls-cert-file={certs / 'apiserver.crt'}", f"--tls-private-key-file={certs / 'apiserver.key'}",
                f"--client-ca-file={certs / 'ca.crt'}",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={certs / 'sa.pub'}",
                f"--service-account-signing-key-file={certs / 'sa.key'}",
                "--service-cluster-ip-range=10.96.0.0/16", "--authorization-mode=RBAC",
                # The `kubernetes` Service would point at 127.0.0.1, which endpoints may not hold.
                "--endpoint-reconciler-type=none", "--allow-privileged=true", "--profiling=false",
                # With WatchList on (1.34's default) a watch from resourceVersion 0, as kwok's informers make,
                # becomes a watch-list stream that etcd 3.4 cannot serve: it fails at once and kwok relists
                # after a back-off growing to 30 s, so pods took that long to be Ready or to go.
                "--feature-gates=WatchList=false",
                # exec, logs and attach go through the kubelet (the real node's; kwok's nodes serve none): the API
                # server shows it a client certificate the CA signed and checks its serving certificate, at the
                # node's InternalIP (127.0.0.1, set by `up`: the kubelet reports no address for a loopback node IP).
                f"--kubelet-client-certificate={certs / 'apiserver-kubelet-client.crt'}",
                f"--kubelet-client-key={certs / 'apiserver-kubelet-client.key'}",
                f"--kubelet-certificate-authority={certs / 'ca.crt'}",
                "--kubelet-preferred-address-types=InternalIP",
            ],
            "kube-controller-manager": [
                *client_auth, f"--cert-dir={self._dir / 'serving-certs'}",
                f"--service-account-private-key-file={certs / 'sa.key'}", f"--root-ca-file={certs / 'ca.crt'}",
                f"--cluster-signing-cert-file={certs / 'ca.crt'}", f"--cluster-signing-key-file={certs / 'ca.key'}",
                "--use-service-account-credentials=false", "--profiling=false",
            ],
            "kube-scheduler": [*client_auth, f"--cert-dir={self._dir / 'serving-certs'}", "--profiling=false"],
            "kwok": [
                f"--kubeconfig={kubeconfig}", f"--config={self._dir / 'kwok-stages.yaml'}",
                "--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                f"--server-address={HOST}:{c.kwok_port}", "--node-lease-duration-seconds=40",
            ],
        }
        return args[part]

    def _write_kubeconfig(self) -> None:
        import yaml

        certs = self.certs
        doc = {
            "apiVersion": "v1", "kind": "Config", "current-context": "gameday-local",
            "clusters": [{"name": "gameday-local", "cluster": {
                "server": self.config.apiserver_url, "certificate-authority": str(certs / "ca.crt")}}],
            "users": [{"name": "gameday-admin", "user": {
                "client-certificate": str(certs / "admin.crt"), "client-key": str(certs / "admin.key")}}],
            "contexts": [{"name": "gameday-local", "context": {"cluster": "gameday-local", "user": "gameday-admin"}}],
        }
        self.config.kubeconfig.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")

    # --- status and down -------------------------------------------------------------------------

    def parts(self) -> Iterator[PartStatus]:
        for part in self.in_use():
            recorded = processes.read_pid_file(self.pid_file(part))
            if recorded is None:
                state, pid = "stopped", None
            else:
                state, pid = ("running" if processes.alive(recorded) else "dead"), recorded.pid
            yield PartStatus(part, state, pid, self.port(part), self.log_file(part))

    def status(self) -> ClusterStatus:
        parts = list(self.parts())
        ready, readiness, nodes = False, "not started", []
        if (self.certs / "admin.key").is_file():
            with contextlib.closing(self.api()) as api:
                ready, readiness = api.readyz()
                if ready:
                    with contextlib.suppress(GamedayError):
                        nodes = api.nodes()
        return ClusterStatus(parts, ready, readiness, nodes, self.config.kubeconfig)

    def down(self, *, timeout: float = 30.0) -> list[str]:
        """Stop every running part (the real node's containers, kubelet and containerd; then the controllers
        before the API server before etcd); the names stopped."""
        stopped = []
        for part in reversed(self.in_use()):
            if part == "containerd":  # the kubelet is stopped: now its containers, while containerd still runs
                self.node.stop_containers()
            recorded = processes.read_pid_file(self.pid_file(part))
            if recorded is not None:
                if processes.alive(recorded):
                    if not processes.stop(recorded, timeout=timeout):
                        raise EnvironmentProblem(f"{part} (pid {recorded.pid}) did not stop, even after SIGKILL")
                    stopped.append(part)
                self.pid_file(part).unlink(missing_ok=True)
            if part == "containerd":
                self.node.unmount()
                self.node.remove_cgroups()
        return stopped


def _all_ready(nodes: list[tuple[str, bool]], names: list[str]) -> bool:
    ready = {name for name, ok in nodes if ok}
    return all(name in ready for name in names)


def _exists(api: LocalAPI, path: str) -> bool:
    try:
        api.get(path)
    except EnvironmentProblem:
        return False
    return True


def _last_line(log: Path) -> str:
    try:
        lines = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return f" (last line: {lines[-1].strip()[:200]})" if lines else ""
