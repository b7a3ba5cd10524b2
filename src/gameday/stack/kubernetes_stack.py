"""The demo stack on the local cluster's real node (``gameday stack up --platform kubernetes``): up, status, down.

``up`` is idempotent, as on Docker: it copies the images the node lacks (``prepare``, given by the caller:
that step needs Docker, this module never calls it), server-side-applies the objects of kubernetes.py (a
changed config rolls only the pods it shapes), makes sure Toxiproxy has its proxies, and waits until every
part's pod is Ready; a pod that cannot start (a crash loop, an image the node lacks) fails at once with why.
``down`` deletes the stack's namespace, waits until it is gone (so every pod's process has exited and its
port is free) and removes PostgreSQL's data folder. Passwords: the Secret of a running stack wins, and its
values are written back to the env file, as Docker's ``up`` reads them back from a container.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from gameday.clock import Clock, SystemClock
from gameday.cluster.api import LocalAPI
from gameday.cluster.config import ClusterConfig
from gameday.cluster.manager import LocalCluster
from gameday.cluster.node import NODE_NAME
from gameday.errors import EnvironmentProblem, GamedayError, ServiceUnavailable
from gameday.stack.config import HOST, PART_LABEL, STACK_LABEL, StackConfig
from gameday.stack.kubernetes import SECRET_NAME, namespace, pgdata_dir, stack_objects, workload_kind
from gameday.stack.manager import PartStatus, checkout_checks, ensure_proxies
from gameday.stack.parts import Part, parts
from gameday.stack.state import ensure_env_file, parse_env_text, secrets_fingerprint

UP_TIMEOUT = 180.0
DOWN_TIMEOUT = 120.0
STARTING_S = 60.0
"""A pod not Ready this long after its container started is ``unhealthy``, before that ``starting``
(Docker's health check has the same start period)."""
FATAL_WAITING = frozenset({"ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError"})
"""Reasons a pod waits that no retry cures. Others (RunContainerError: once "cannot start a stopped process"
on this busy machine) the kubelet retries; a crash loop still ends ``up`` early."""
CRASH_LOOPS = 3
"""Restarts in a crash loop after which ``up`` gives up on a part instead of waiting for its deadline."""

Log = Callable[[str], None]
T = TypeVar("T")

_PATHS = {"Namespace": "/api/v1/namespaces", "Secret": "/api/v1/namespaces/{ns}/secrets",
          "ConfigMap": "/api/v1/namespaces/{ns}/configmaps", "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
          "StatefulSet": "/apis/apps/v1/namespaces/{ns}/statefulsets"}


def object_path(obj: Mapping[str, Any]) -> str:
    """The API path of one rendered object."""
    meta = obj["metadata"]
    return _PATHS[obj["kind"]].format(ns=meta.get("namespace", "")) + f"/{meta['name']}"


class KubernetesStack:
    """The demo stack as Kubernetes objects on ``cluster``'s real node; every method is safe in any state."""

    def __init__(self, config: StackConfig, cluster: LocalCluster, *, prepare: Callable[[], object] = lambda: None,
                 clock: Clock | None = None, log: Log = lambda _: None) -> None:
        self.config = config
        self.cluster = cluster
        self.prepare = prepare
        """Builds the images and copies them into the node (stack_commands gives it: it needs Docker)."""
        self.clock = clock or SystemClock()
        self.log = log
        self.namespace = namespace(config)

    # --- up ---------------------------------------------------------------------------------------

    def up(self, *, timeout: float = UP_TIMEOUT) -> list[PartStatus]:
        """Make every part's pod run and be Ready on the real node; returns their status."""
        with contextlib.closing(self._api()) as api:
            self._check_node(api)
            running = {s.part for s in self._statuses(api) if s.state == "running"}
            for part in parts(self.config):  # before the images' first copy, which takes a minute
                if part.name not in running:
                    self._check_port_free(part)
            self.prepare()
            self._settle_secrets(api)
            if api.get_or_none(self._workload_path("postgres", "StatefulSet")) is None:
                shutil.rmtree(pgdata_dir(self.config), ignore_errors=True)  # a new database starts empty
            env_text = self.config.env_file.read_text(encoding="utf-8")
            for obj in stack_objects(self.config, env_text=env_text,
                                     secrets_fingerprint=secrets_fingerprint(self.config)):
                if obj["kind"] in ("Deployment", "StatefulSet") and obj["metadata"]["name"] not in running:
                    self.log(f"{obj['kind']} {self.namespace}/{obj['metadata']['name']}: applying")
                api.apply(object_path(obj), obj, secret=obj["kind"] == "Secret")
            deadline = self.clock.monotonic() + timeout
            self._wait(api, lambda: self._http_ok(self.config.url(self.config.toxiproxy_port, "/version")) or None,
                       "toxiproxy answers", deadline)
            ensure_proxies(self.config)
            return self._wait(api, lambda: self._all_healthy(api), "every part is Ready", deadline)

    def _has_cluster(self) -> bool:
        return (self.cluster.certs / "admin.key").is_file()

    def _api(self) -> LocalAPI:
        if not self._has_cluster():
            raise EnvironmentProblem(f"no local cluster in {self.cluster.config.state_dir} (the demo stack's pods need "
                                     "its real node): gameday cluster up --real-node")
        return self.cluster.api()

    def _check_node(self, api: LocalAPI) -> None:
        ready, why = api.readyz()
        if not ready:
            raise EnvironmentProblem(f"the local cluster's API server is not ready ({why}): gameday cluster up "
                                     "--real-node")
        if (NODE_NAME, True) not in api.nodes():
            raise EnvironmentProblem(f"the local cluster has no Ready real node ({NODE_NAME}): the demo stack's "
                                     "pods need one: gameday cluster up --real-node")

    def _settle_secrets(self, api: LocalAPI) -> None:
        """The env file holds the passwords the running stack was made with (its Secret's), else its own."""
        secret = api.get_or_none(f"/api/v1/namespaces/{self.namespace}/secrets/{SECRET_NAME}")
        if secret is not None:
            import base64

            raw = (secret.get("data") or {}).get("stack.env")
            if raw:
                adopted = parse_env_text(base64.b64decode(raw).decode("utf-8", errors="replace"))
                ensure_env_file(self.config, passwords=adopted)
                return
        ensure_env_file(self.config)

    def _check_port_free(self, part: Part) -> None:
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((HOST, part.port)) == 0:
                raise EnvironmentProblem(
                    f"port {HOST}:{part.port} for {part.name} is already in use by another process (the same stack "
                    f"on Docker? gameday stack down); free it or move the part with "
                    f"GAMEDAY_DEMO_{part.name.upper()}_PORT")

    def _wait(self, api: LocalAPI, ready: Callable[[], T | None], what: str, deadline: float) -> T:
        while True:
            value = ready()
            if value:
                return value
            self._fail_if_stuck(api)
            if self.clock.monotonic() >= deadline:
                bad = ", ".join(f"{s.part} {s.state}/{s.health}" for s in self._statuses(api) if not s.healthy)
                raise ServiceUnavailable(f"demo stack on Kubernetes: not within the deadline: {what}"
                                         + (f" ({bad})" if bad else ""))
            self.clock.sleep(0.5)

    def _all_healthy(self, api: LocalAPI) -> list[PartStatus] | None:
        statuses = self._statuses(api)
        return statuses if all(s.healthy for s in statuses) else None

    @staticmethod
    def _http_ok(url: str) -> bool:
        import httpx

        try:
            return httpx.get(url, timeout=1.0, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    def _fail_if_stuck(self, api: LocalAPI) -> None:
        """A pod that cannot start fails ``up`` at once, naming why (as Docker's ``up`` does for an exited part)."""
        for pod in self._pods(api):
            name = pod["metadata"]["name"]
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                waiting = (status.get("state") or {}).get("waiting") or {}
                reason = waiting.get("reason", "")
                last = (status.get("lastState") or {}).get("terminated") or {}
                if reason in FATAL_WAITING or (reason == "CrashLoopBackOff"
                                               and status.get("restartCount", 0) >= CRASH_LOOPS):
                    exited = f"; it exited {last.get('exitCode')} ({last.get('reason', '')})" if last else ""
                    why = " ".join(str(waiting.get("message", "")).split())[:200]
                    raise ServiceUnavailable(f"pod {self.namespace}/{name} cannot start: {reason}"
                                             f"{': ' + why if why else ''}{exited}; its log: "
                                             f"{self.log_folder(pod)}")

    def log_folder(self, pod: Mapping[str, Any]) -> str:
        """Where the kubelet writes the pod's container logs on this machine."""
        meta = pod["metadata"]
        return f"/var/log/pods/{meta.get('namespace')}_{meta.get('name')}_{meta.get('uid')}/"

    # --- status -------------------------------------------------------------------------------------

    def status(self) -> list[PartStatus]:
        """Each part, in start order: its pod's state and readiness (``missing`` without a pod)."""
        try:
            with contextlib.closing(self._api()) as api:
                return self._statuses(api)
        except GamedayError as exc:
            return [PartStatus(p.name, "-", p.port, "missing", "-", "" if i else str(exc)[:200])
                    for i, p in enumerate(parts(self.config))]

    def _pods(self, api: LocalAPI) -> list[dict[str, Any]]:
        found = api.get(f"/api/v1/namespaces/{self.namespace}/pods?labelSelector={STACK_LABEL}%3D{self.config.stack}")
        return list(found.get("items") or []) if found else []

    def _statuses(self, api: LocalAPI) -> list[PartStatus]:
        pods = [p for p in self._pods(api) if not p["metadata"].get("deletionTimestamp")]
        by_part: dict[str, dict[str, Any]] = {}
        for pod in sorted(pods, key=lambda p: p["metadata"].get("creationTimestamp", "")):
            by_part[pod["metadata"].get("labels", {}).get(PART_LABEL, "")] = pod  # the newest wins
        out = []
        for part in parts(self.config):
            found = by_part.get(part.name)
            if found is None:
                out.append(PartStatus(part.name, f"{workload_kind(part)}/{part.name}", part.port, "missing", "-"))
                continue
            out.append(self._pod_status(part, found))
        return out

    def _pod_status(self, part: Part, pod: Mapping[str, Any]) -> PartStatus:
        status = pod.get("status") or {}
        containers = status.get("containerStatuses") or []
        container = containers[0] if containers else {}
        state_of = container.get("state") or {}
        restarts = int(container.get("restartCount", 0))
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        if "running" in state_of:
            state = "running"
            started = _age_s(state_of["running"].get("startedAt"), self.clock.wall())
            health = "healthy" if ready else ("starting" if started < STARTING_S else "unhealthy")
        elif "waiting" in state_of:
            state, health = state_of["waiting"].get("reason", "waiting").lower(), "-"
        elif "terminated" in state_of:
            state, health = "exited", "-"
        else:
            state, health = str(status.get("phase", "pending")).lower(), "-"
        detail = f"{restarts} restart{'s' if restarts != 1 else ''}" if restarts else ""
        if part.name == "checkout" and state == "running":
            detail = "; ".join(d for d in (checkout_checks(self.config.url(part.port, "/health")), detail) if d)
        return PartStatus(part.name, f"pod/{pod['metadata']['name']}", part.port, state, health, detail)

    def _workload_path(self, name: str, kind: str) -> str:
        return _PATHS[kind].format(ns=self.namespace) + f"/{name}"

    # --- down ---------------------------------------------------------------------------------------

    def down(self, *, timeout: float = DOWN_TIMEOUT) -> list[str]:
        """Delete the stack's namespace and wait until it is gone (every pod's process ended), then remove
        PostgreSQL's data; the workloads removed (``Deployment/checkout`` ...)."""
        removed: list[str] = []
        with contextlib.closing(self._api()) if self._has_cluster() else contextlib.nullcontext() as api:
            ns_path = f"/api/v1/namespaces/{self.namespace}"
            if api is not None and api.readyz()[0] and api.get_or_none(ns_path) is not None:
                for part in parts(self.config):
                    kind = workload_kind(part)
                    if api.get_or_none(self._workload_path(part.name, kind)) is not None:
                        removed.append(f"{kind}/{part.name}")
                deadline = self.clock.monotonic() + timeout
                # The workloads and pods first: the namespace controller alone takes 6-20 s to get to the pods.
                selector = f"labelSelector={STACK_LABEL}%3D{self.config.stack}"
                for kind in ("Deployment", "StatefulSet"):
                    api.delete(_PATHS[kind].format(ns=self.namespace) + f"?{selector}&propagationPolicy=Background")
                api.delete(f"/api/v1/namespaces/{self.namespace}/pods?{selector}")
                self._until_gone(lambda: not self._pods(api), "its pods", deadline, timeout)
                api.delete(ns_path)
                self._until_gone(lambda: api.get_or_none(ns_path) is None, f"namespace {self.namespace}", deadline,
                                 timeout)
        shutil.rmtree(pgdata_dir(self.config), ignore_errors=True)
        return removed

    def _until_gone(self, gone: Callable[[], bool], what: str, deadline: float, timeout: float) -> None:
        while not gone():
            if self.clock.monotonic() >= deadline:
                raise ServiceUnavailable(f"demo stack on Kubernetes: {what} not gone within {timeout:.0f}s")
            self.clock.sleep(0.2)


def _age_s(timestamp: str | None, now: datetime) -> float:
    if not timestamp:
        return 0.0
    try:
        started = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return (now - started).total_seconds()


def kubernetes_stack_from_env(environ: Mapping[str, str], *, prepare: Callable[[], object] = lambda: None,
                              log: Log = lambda _: None) -> KubernetesStack:
    """The demo stack as the environment configures it, on the local cluster ``gameday cluster up`` last started."""
    cluster = LocalCluster.saved(ClusterConfig.from_env(environ), log=log)
    return KubernetesStack(StackConfig.from_env(environ), cluster, prepare=prepare, log=log)
