"""Deleting 10% of a 1,000-pod Deployment on 50 kwok nodes: gameday's ``pod_delete`` beside
chaostoolkit-kubernetes's ``terminate_pods``, on the same local cluster in the same run (issue 15, item 6).

    python -m benchmarks.k8s_scale                       # 50 nodes, 1,000 pods, 5 rounds of each tool
    python -m benchmarks.k8s_scale --rounds 3 --only chaos

Needs the local Kubernetes build (scripts/build-kubernetes.sh), etcd, /usr/bin/time, and for the Chaos Toolkit
side a virtualenv with chaostoolkit and chaostoolkit-kubernetes (made with pip on first use under
``<cache>/gameday/bench-venvs/ctk``, or ``--ctk-venv``). Everything listens on and talks to 127.0.0.1.

A cluster of its own (``gameday.cluster.manager.LocalCluster``: its own state folder, free ports) with
``--nodes`` kwok nodes and a Deployment of ``--replicas`` pods, labelled ``gameday.allowed=true``, all Running
and Ready through kwok. Then, alternating, each round:

- gameday: ``gameday plan`` then ``gameday run`` of a scenario whose stack file points at the cluster's
  kubeconfig; the fault is ``pod_delete`` with ``percent: 10``;
- Chaos Toolkit: ``chaos run`` of an experiment whose method is ``terminate_pods`` (``mode: percentage``,
  ``qty: 10``, ``rand: true``), then its ``deployment_fully_available`` probe (how a Chaos Toolkit user
  confirms the replacement).

Each tool is a child process, timed from outside (wall, and peak RSS from ``/usr/bin/time -f %M``), and read
from its own record (gameday's timeline, Chaos Toolkit's journal). What the cluster did is read by this process
from two watches (the namespace's pods, the Deployment), with the wall time each event arrived: which pods were
deleted, when, when their replacements were Ready and when the Deployment said it was fully available again.
The control plane's own memory (VmRSS / VmHWM of each process) is read from /proc.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from gameday.cluster.config import ClusterConfig
from gameday.cluster.manager import PARTS, LocalCluster
from gameday.folders import default_cache_dir
from gameday.testing import free_ports

NAMESPACE = "gameday-bench"
DEPLOYMENT = "web"
APP_LABELS = {"app": "web"}
ALLOW = {"gameday.allowed": "true"}
CTK_PACKAGES = ("chaostoolkit", "chaostoolkit-kubernetes")


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- the cluster and a plain client for it ------------------------------------------------------


@contextlib.contextmanager
def bench_cluster(state_dir: Path, nodes: int, *, real_node: bool = False) -> Iterator[tuple[LocalCluster, float]]:
    """A local cluster of its own (free ports, ``state_dir``), ``nodes`` kwok nodes (and the real node, when asked);
    (cluster, seconds to up)."""
    base = ClusterConfig.from_env(os.environ)
    etcd, peer, api, kcm, sched, kwok, kubelet, healthz, stream = free_ports(9)
    config = replace(base, state_dir=state_dir, etcd_port=etcd, etcd_peer_port=peer, apiserver_port=api,
                     controller_manager_port=kcm, scheduler_port=sched, kwok_port=kwok, nodes=nodes,
                     real_node=real_node, kubelet_port=kubelet, kubelet_healthz_port=healthz,
                     containerd_stream_port=stream)
    cluster = LocalCluster(config, log=say)
    try:
        start = time.perf_counter()
        cluster.up(timeout=900)
        yield cluster, time.perf_counter() - start
    finally:
        cluster.down()


class Kube:
    """Just what the benchmark needs of the API server, as JSON over HTTPS with the admin certificate
    (no client library, so this process costs the same whichever tool is measured)."""

    def __init__(self, cluster: LocalCluster) -> None:
        certs = cluster.certs
        self._ssl = ssl.create_default_context(cafile=str(certs / "ca.crt"))
        self._ssl.load_cert_chain(str(certs / "admin.crt"), str(certs / "admin.key"))
        self.url = cluster.config.apiserver_url
        self._client = self.client(timeout=60.0)

    def client(self, *, timeout: float | None) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self._ssl, trust_env=False,
                            timeout=httpx.Timeout(timeout, connect=10.0))

    def call(self, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = (),
             content_type: str = "application/json") -> Any:
        response = self._client.request(method, path, content=None if body is None else json.dumps(body),
                                        headers={"Content-Type": content_type})
        if response.status_code >= 400 and response.status_code not in ok:
            raise SystemExit(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    def get(self, path: str) -> Any:
        return self.call("GET", path)


def wait_for(what: str, ready: Callable[[], bool], timeout: float, every: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def deploy_workload(kube: Kube, replicas: int) -> None:
    """The namespace (allowed for gameday) and a Deployment whose pods kwok runs; returns once it exists."""
    kube.call("POST", "/api/v1/namespaces", {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": dict(ALLOW)}}, ok=(409,))
    # Pods are refused until the controller manager has made the namespace's default service account.
    account = f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts/default"
    wait_for("the namespace's service account",
             lambda: kube.call("GET", account, ok=(404,)).get("kind") == "ServiceAccount", 120)
    labels = {**APP_LABELS, **ALLOW}
    kube.call("POST", f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": DEPLOYMENT, "namespace": NAMESPACE, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(APP_LABELS)},
            "template": {"metadata": {"labels": labels}, "spec": {
                "nodeSelector": {"type": "kwok"},
                # kwok runs no container, so the image is never pulled (not in .invalid: kwok's stages make
                # those fail to pull, as rollout_break wants).
                "containers": [{"name": "app", "image": "gameday-bench/web:1"}],
            }},
        },
    }, ok=(409,))


def deployment_full(status: dict[str, Any], replicas: int) -> bool:
    return all(status.get(key) == replicas for key in ("replicas", "readyReplicas", "availableReplicas",
                                                          "updatedReplicas"))


# --- what the cluster did: two watches ----------------------------------------------------------


@dataclass
class PodEvent:
    at: float
    """Wall time (epoch seconds) the event arrived here."""
    type: str
    name: str
    ready: bool
    deleting: bool


@dataclass
class ClusterRecord:
    """Every pod and Deployment event since the watches started, and the current state they add up to."""

    pods: dict[str, tuple[bool, bool]] = field(default_factory=dict)
    """name -> (Ready, being deleted)."""
    pod_events: list[PodEvent] = field(default_factory=list)
    deployment: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    """(arrival wall time, status) of every Deployment event."""
    changed: threading.Condition = field(default_factory=threading.Condition)


def _pod_state(pod: dict[str, Any]) -> tuple[bool, bool]:
    conditions = pod.get("status", {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return ready, bool(pod["metadata"].get("deletionTimestamp"))


class Watcher:
    """Watches the namespace's pods and the Deployment into a ``ClusterRecord`` (threads; reconnects)."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.record = ClusterRecord()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(f"/api/v1/namespaces/{NAMESPACE}/pods", self._on_pod),
                             daemon=True),
            threading.Thread(target=self._run, args=(
                f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments?fieldSelector=metadata.name%3D{DEPLOYMENT}",
                self._on_deployment), daemon=True),
        ]
        self._synced = threading.Barrier(len(self._threads) + 1)

    def __enter__(self) -> Watcher:
        for thread in self._threads:
            thread.start()
        self._synced.wait(timeout=120)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    def _run(self, path: str, on_event: Callable[[str, dict[str, Any]], None]) -> None:
        sep = "&" if "?" in path else "?"
        first = True
        with self.kube.client(timeout=None) as http:
            version = ""
            while not self._stop.is_set():
                if not version:  # the first time, and after 410 Gone: list, then watch from there
                    listing = http.get(path).json()
                    on_event("LISTED", {"items": listing.get("items", [])})
                    version = listing["metadata"]["resourceVersion"]
                    if first:
                        self._synced.wait(timeout=120)
                        first = False
                url = f"{path}{sep}watch=1&resourceVersion={version}&allowWatchBookmarks=true&timeoutSeconds=600"
                with contextlib.suppress(httpx.HTTPError), http.stream("GET", url) as response:
                    for line in response.iter_lines():
                        if not line:
                            continue
                        event = json.loads(line)
                        if event["type"] == "ERROR":
                            version = ""
                            break
                        version = event["object"]["metadata"].get("resourceVersion") or version
                        if event["type"] != "BOOKMARK":
                            on_event(event["type"], event["object"])
                        if self._stop.is_set():
                            return

    def _on_pod(self, kind: str, pod: dict[str, Any]) -> None:
        with self.record.changed:
            if kind == "LISTED":  # a fresh listing: what it lacks is gone
                listed = {p["metadata"]["name"]: p for p in pod["items"]}
                for name in set(self.record.pods) - set(listed):
                    self._pod_event("DELETED", name, (False, True))
                for name, item in listed.items():
                    self._pod_event("LISTED", name, _pod_state(item))
            else:
                self._pod_event(kind, pod["metadata"]["name"], _pod_state(pod))
            self.record.changed.notify_all()

    def _pod_event(self, kind: str, name: str, state: tuple[bool, bool]) -> None:
        if kind == "DELETED":
            self.record.pods.pop(name, None)
        else:
            self.record.pods[name] = state
        self.record.pod_events.append(PodEvent(time.time(), kind, name, *state))

    def _on_deployment(self, kind: str, deployment: dict[str, Any]) -> None:
        items = deployment["items"] if kind == "LISTED" else [deployment]
        with self.record.changed:
            for item in items:
                self.record.deployment.append((time.time(), dict(item.get("status") or {})))
            self.record.changed.notify_all()

    def wait(self, what: str, ready: Callable[[ClusterRecord], bool], timeout: float) -> None:
        with self.record.changed:
            if not self.record.changed.wait_for(lambda: ready(self.record), timeout=timeout):
                raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")

    def steady(self, replicas: int) -> Callable[[ClusterRecord], bool]:
        def check(record: ClusterRecord) -> bool:
            ready = [n for n, (ok, deleting) in record.pods.items() if ok and not deleting]
            return (len(record.pods) == replicas and len(ready) == replicas and bool(record.deployment)
                    and deployment_full(record.deployment[-1][1], replicas))
        return check


@dataclass(frozen=True)
class Replacement:
    """What the cluster did after one tool's deletions, in wall times read off the watches."""

    deleted: list[str]
    first_delete: float
    """The first chosen pod seen with a deletionTimestamp (or gone)."""
    last_gone: float
    """The last chosen pod's DELETED event."""
    pods_ready: float
    """The first moment after ``last_gone`` with ``replicas`` Ready pods again, none being deleted."""
    available: float
    """The first Deployment status, after it showed fewer than ``replicas`` available, back at full."""
    dip: int | None
    """The fewest available replicas the Deployment's status reported in between (None: never dipped)."""

    @property
    def fully_available(self) -> float:
        return max(self.pods_ready, self.available)


def replacement(watcher: Watcher, since_event: int, since_deployment: int, replicas: int,
                timeout: float) -> Replacement:
    """Waits until every pod deleted since the marks is gone and replaced and the Deployment is full again."""
    record = watcher.record

    def done(r: ClusterRecord) -> bool:
        events = r.pod_events[since_event:]
        deleted = {e.name for e in events if e.deleting or e.type == "DELETED"}
        gone = {e.name for e in events if e.type == "DELETED"}
        if not deleted or deleted - gone:
            return False
        statuses = r.deployment[since_deployment:]
        dipped = [i for i, (_, s) in enumerate(statuses) if s.get("availableReplicas", 0) < replicas]
        back = dipped and any(deployment_full(s, replicas) for _, s in statuses[dipped[0]:])
        return bool(back) and watcher.steady(replicas)(r)

    watcher.wait("the deleted pods to be replaced and the Deployment fully available", done, timeout)
    with record.changed:
        events = list(record.pod_events[since_event:])
        statuses = list(record.deployment[since_deployment:])
    deleting = [e for e in events if e.deleting or e.type == "DELETED"]
    deleted = sorted({e.name for e in deleting})
    last_gone = max(e.at for e in events if e.type == "DELETED" and e.name in deleted)
    # Replay the pod events to find when the Ready count came back (the live state is only the end of it).
    state: dict[str, tuple[bool, bool]] = {}
    with record.changed:
        for e in record.pod_events[:since_event]:
            if e.type == "DELETED":
                state.pop(e.name, None)
            else:
                state[e.name] = (e.ready, e.deleting)
    pods_ready = float("nan")
    for e in events:
        if e.type == "DELETED":
            state.pop(e.name, None)
        else:
            state[e.name] = (e.ready, e.deleting)
        full = sum(1 for ok, deleting in state.values() if ok and not deleting) == replicas
        if e.at >= last_gone and full and len(state) == replicas:
            pods_ready = e.at
            break
    first_dip = next(i for i, (_, s) in enumerate(statuses) if s.get("availableReplicas", 0) < replicas)
    available = next(at for at, s in statuses[first_dip:] if deployment_full(s, replicas))
    dip = min(s.get("availableReplicas", 0) for _, s in statuses[first_dip:])
    return Replacement(deleted, min(e.at for e in deleting), last_gone, pods_ready, available, dip)


# --- the control plane's own cost -----------------------------------------------------------------


def part_memory(cluster: LocalCluster) -> dict[str, tuple[float, float]]:
    """(VmRSS, VmHWM) in MiB of each running part of the cluster."""
    out = {}
    for part in PARTS:
        try:
            pid = int(cluster.pid_file(part).read_text(encoding="ascii").split()[0])
            status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
        except (OSError, ValueError, IndexError):
            continue
        fields = {line.split(":")[0]: line.split()[1] for line in status.splitlines() if line.startswith("Vm")}
        out[part] = (int(fields["VmRSS"]) / 1024, int(fields["VmHWM"]) / 1024)
    return out


def part_cpu_seconds(cluster: LocalCluster) -> dict[str, float]:
    """User + system CPU seconds each running part has used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for part in PARTS:
        try:
            pid = int(cluster.pid_file(part).read_text(encoding="ascii").split()[0])
            stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
        except (OSError, ValueError, IndexError):
            continue
        rest = stat[stat.rfind(")") + 2:].split()
        out[part] = (int(rest[11]) + int(rest[12])) / tick
    return out


# --- the tools, as child processes ----------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    wall: float
    peak_mib: float
    code: int
    started: float
    """Wall time the child was started."""
    output: str


def measure(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Measured:
    """Wall seconds, peak RSS (``/usr/bin/time -f %M``: ru_maxrss of a child forked from this Python would count
    this process's pages) and exit code of one child process."""
    report = cwd / "time.txt"
    started = time.time()
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(report), *cmd], cwd=cwd, env=env,
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    peak_kib = int(report.read_text().strip().splitlines()[-1])
    return Measured(wall, peak_kib / 1024, done.returncode, started, (done.stdout + done.stderr)[-4000:])


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a measured child: no proxy settings, and bytecode written as from a user's shell (a
    PYTHONDONTWRITEBYTECODE here would make every start compile gameday's sources again)."""
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def ctk_venv(path: Path) -> Path:
    """The ``chaos`` executable of a virtualenv with chaostoolkit and chaostoolkit-kubernetes (made if missing)."""
    chaos = path / "bin" / "chaos"
    if not chaos.is_file():
        say(f"making the Chaos Toolkit virtualenv {path} (pip install {' '.join(CTK_PACKAGES)})")
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(path / "bin" / "pip"), "install", "-q", *CTK_PACKAGES], check=True)
    return chaos


def ctk_versions(venv: Path) -> str:
    code = ("import importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in "
            "('chaostoolkit', 'chaostoolkit-lib', 'chaostoolkit-kubernetes', 'kubernetes')))")
    return subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def experiment(percent: int, confirm_timeout: int) -> dict[str, Any]:
    selector = ",".join(f"{k}={v}" for k, v in APP_LABELS.items())
    return {
        "version": "1.0.0",
        "title": "bench-terminate-pods",
        "description": "the same share of the same Deployment's pods as gameday's pod_delete, then confirmation",
        "method": [
            {"type": "action", "name": "terminate-pods",
             "provider": {"type": "python", "module": "chaosk8s.pod.actions", "func": "terminate_pods",
                          "arguments": {"label_selector": selector, "ns": NAMESPACE, "mode": "percentage",
                                        "qty": percent, "rand": True}}},
            {"type": "probe", "name": "deployment-fully-available",
             "provider": {"type": "python", "module": "chaosk8s.deployment.probes",
                          "func": "deployment_fully_available",
                          "arguments": {"name": DEPLOYMENT, "ns": NAMESPACE, "timeout": confirm_timeout}}},
        ],
    }


def _epoch(iso: str) -> float:
    """A Chaos Toolkit journal timestamp (ISO 8601, naive UTC) as epoch seconds."""
    parsed = datetime.fromisoformat(iso)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True)
class Round:
    tool: str
    run: Measured
    plan: Measured | None
    inject_s: float
    """The tool's own record of its delete step."""
    confirmed_at: float | None
    """When the tool's own confirmation of the replacement returned (wall), if it has one."""
    confirmed: str
    changes: Replacement


def run_chaos(chaos: Path, tmp: Path, kubeconfig: Path, watcher: Watcher, replicas: int) -> Round:
    env = child_env(KUBECONFIG=str(kubeconfig))
    journal = tmp / "journal.json"
    journal.unlink(missing_ok=True)
    with watcher.record.changed:
        marks = len(watcher.record.pod_events), len(watcher.record.deployment)
    run = measure([str(chaos), "--no-version-check", "--no-log-file", "--settings", str(tmp / "settings.yaml"),
                   "run", "--journal-path", str(journal), "experiment.json"], tmp, env)
    if run.code != 0 or not journal.is_file():
        raise SystemExit(f"chaos run failed ({run.code}):\n{run.output}")
    changes = replacement(watcher, *marks, replicas, timeout=600)
    done = json.loads(journal.read_text())
    steps = {r["activity"]["name"]: r for r in done["run"]}
    action, probe = steps["terminate-pods"], steps["deployment-fully-available"]
    deleted = action.get("output") or []
    if sorted(deleted) != changes.deleted:
        raise SystemExit(f"chaos deleted {len(deleted)} pods, the cluster saw {len(changes.deleted)} deleted")
    return Round("chaos", run, None, float(action["duration"]), _epoch(probe["end"]),
                 f"{probe['status']}, output {probe.get('output')}", changes)


def gameday_files(work: Path, kubeconfig: Path, percent: int) -> None:
    """A stack file pointing at the cluster (allowlisting the bench namespace) and one scenario per seed."""
    (work / "stacks").mkdir(exist_ok=True)
    (work / "stacks" / "bench.yaml").write_text(yaml.safe_dump({
        "version": 1, "name": "bench", "platform": "kubernetes", "environment": "staging",
        "platforms": {"kubernetes": {"kubeconfig": str(kubeconfig)}},
        "targets": {"web": {"platform": "kubernetes", "namespace": NAMESPACE, "kind": "Deployment",
                            "name": DEPLOYMENT}},
        "allow": {"kubernetes": [f"{NAMESPACE}/*"]},
    }, sort_keys=False))


def gameday_scenario(work: Path, percent: int, seed: int) -> Path:
    path = work / f"pod-delete-{seed}.yaml"
    path.write_text(yaml.safe_dump({
        "version": 1, "name": f"bench-pod-delete-{seed}", "stack": "bench",
        "faults": [{"kind": "pod_delete", "target": "web", "args": {"percent": percent, "seed": seed},
                    "duration": "1s"}],
    }, sort_keys=False))
    return path


def _timeline(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "timeline.jsonl").read_text().splitlines() if line.strip()]


def run_gameday(work: Path, watcher: Watcher, replicas: int, percent: int, seed: int) -> Round:
    env = child_env(GAMEDAY_STATE_DIR=str(work / "state"))
    scenario = gameday_scenario(work, percent, seed)
    plan = measure([sys.executable, "-m", "gameday", "plan", scenario.name], work, env)
    if plan.code != 0:
        raise SystemExit(f"gameday plan failed ({plan.code}):\n{plan.output}")
    with watcher.record.changed:
        marks = len(watcher.record.pod_events), len(watcher.record.deployment)
    run_id = f"bench-{seed}"
    run = measure([sys.executable, "-m", "gameday", "run", "-q", "--reports", str(work / "reports"),
                   "--history", str(work / "history.sqlite"), "--run-id", run_id, scenario.name], work, env)
    if run.code != 0:
        raise SystemExit(f"gameday run failed ({run.code}):\n{run.output}")
    changes = replacement(watcher, *marks, replicas, timeout=600)
    events = _timeline(work / "reports" / run_id)
    first = {e["kind"]: e for e in reversed(events)}
    inject_s = first["fault.injected"]["offset"] - first["fault.intended"]["offset"]
    effective = first.get("fault.effective")
    # The run's own confirmation: pod_delete's `after` observation, once the workload is ready again.
    after = next((e for e in events if e["kind"] == "kubernetes.workload" and e["details"].get("phase") == "after"),
                 None)
    confirmed_at = _wall(after["at"]) if after else None
    confirmed = (f"effective after {effective['details'].get('after_ms') if effective else '-'} ms; after: "
                 f"recovered {after['details'].get('recovered') if after else '-'}, "
                 f"waited {after['details'].get('waited_s') if after else '-'} s")
    return Round("gameday", run, plan, inject_s, confirmed_at, confirmed, changes)


def _wall(at: str) -> float:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


# --- output ---------------------------------------------------------------------------------------


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))) / 1024 / 1024
    load = Path("/proc/loadavg").read_text().split()[:3]
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Linux {platform.release()}, "
            f"Python {sys.version.split()[0]}; load average at start {', '.join(load)}")


def stat(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    values = [v * scale for v in values if v == v]
    if not values:
        return "-"
    return f"{median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def table(rounds: list[Round]) -> list[str]:
    tools = [t for t in ("gameday", "chaos") if any(r.tool == t for r in rounds)]
    label = {"gameday": "gameday `pod_delete`", "chaos": "Chaos Toolkit `terminate_pods`"}
    lines = ["| measure (median, min-max) | " + " | ".join(label[t] for t in tools) + " |",
             "|---|" + "---:|" * len(tools)]

    def row(name: str, get: Callable[[Round], float | None], scale: float = 1.0, digits: int = 2) -> None:
        cells = []
        for tool in tools:
            values = [v for r in rounds if r.tool == tool and (v := get(r)) is not None]
            cells.append(stat(values, scale, digits))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")

    row("plan: whole command, s", lambda r: r.plan.wall if r.plan else None)
    row("plan: peak RSS, MiB", lambda r: r.plan.peak_mib if r.plan else None, digits=1)
    row("run: whole command, s", lambda r: r.run.wall)
    row("run: peak RSS, MiB", lambda r: r.run.peak_mib, digits=1)
    row("inject (the tool's own record of its delete step), s", lambda r: r.inject_s)
    row("pods deleted", lambda r: len(r.changes.deleted), digits=0)
    row("start of the command -> first pod deleted, s", lambda r: r.changes.first_delete - r.run.started)
    row("first -> last chosen pod gone, s", lambda r: r.changes.last_gone - r.changes.first_delete)
    row("first pod deleted -> all replacements Ready, s", lambda r: r.changes.pods_ready - r.changes.first_delete)
    row("first pod deleted -> Deployment fully available, s",
        lambda r: r.changes.fully_available - r.changes.first_delete)
    row("fewest available replicas seen", lambda r: r.changes.dip, digits=0)
    row("tool's confirmation returned - truly available, s",
        lambda r: None if r.confirmed_at is None else r.confirmed_at - r.changes.fully_available)
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.k8s_scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=50, help="kwok nodes (default 50)")
    parser.add_argument("--replicas", type=int, default=1000, help="the Deployment's pods (default 1000)")
    parser.add_argument("--percent", type=int, default=10, help="share of the pods each round deletes (default 10)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each tool, alternating (default 5)")
    parser.add_argument("--only", choices=["gameday", "chaos"], action="append", help="one tool only (repeatable)")
    parser.add_argument("--ctk-venv", type=Path, help="the Chaos Toolkit virtualenv (made if missing; default "
                        "<cache>/gameday/bench-venvs/ctk)")
    parser.add_argument("--keep", type=Path, help="keep the cluster's state folder and the runs' files here")
    args = parser.parse_args(argv)
    if not 1 <= args.percent <= 100:
        parser.error("--percent: between 1 and 100")
    if not 1 <= args.nodes <= 1000:
        parser.error("--nodes: between 1 and 1000")
    if args.replicas < 1 or args.rounds < 1:
        parser.error("--replicas and --rounds: at least 1")
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep {args.keep}: not empty (a cluster from an earlier run would be reused)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tools = args.only or ["gameday", "chaos"]
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [(f"## Kubernetes at scale: deleting {args.percent}% of a {args.replicas:,}-pod Deployment on "
              f"{args.nodes} kwok nodes, gameday beside chaostoolkit-kubernetes (issue 15, item 6) - {now}"), "",
             f"Machine: {machine()}.", ""]
    chaos = None
    venv = args.ctk_venv or default_cache_dir(os.environ) / "bench-venvs" / "ctk"
    if "chaos" in tools:
        chaos = ctk_venv(venv)
    with contextlib.ExitStack() as stack:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            tmp = args.keep
        else:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gameday-k8s-scale-")))
        cluster, up_s = stack.enter_context(bench_cluster(tmp / "cluster", args.nodes))
        say(f"cluster up in {up_s:.1f} s with {args.nodes} nodes")
        idle = part_memory(cluster)
        kube = Kube(cluster)
        cpu_before = part_cpu_seconds(cluster)
        start = time.perf_counter()
        deploy_workload(kube, args.replicas)
        watcher = stack.enter_context(Watcher(kube))
        watcher.wait(f"{args.replicas} pods Ready", watcher.steady(args.replicas), timeout=1800)
        deploy_s = time.perf_counter() - start
        cpu_deploy = {k: v - cpu_before.get(k, 0.0) for k, v in part_cpu_seconds(cluster).items()}
        say(f"{args.replicas} pods Ready in {deploy_s:.1f} s")
        loaded = part_memory(cluster)
        work = tmp / "work"
        work.mkdir(exist_ok=True)
        (work / "experiment.json").write_text(json.dumps(experiment(args.percent, 300), indent=1))
        gameday_files(work, cluster.config.kubeconfig, args.percent)
        rounds: list[Round] = []
        cpu_rounds_start = part_cpu_seconds(cluster)
        for i in range(-1, args.rounds):  # round -1 warms up (bytecode, the API server's caches): not counted
            for tool in tools:
                watcher.wait("steady state before a round", watcher.steady(args.replicas), timeout=600)
                if tool == "chaos":
                    assert chaos is not None
                    done = run_chaos(chaos, work, cluster.config.kubeconfig, watcher, args.replicas)
                else:
                    done = run_gameday(work, watcher, args.replicas, args.percent, seed=i + 1)
                if i >= 0:
                    rounds.append(done)
                which = f"round {i + 1}" if i >= 0 else "warm-up"
                say(f"{which} {tool}: run {done.run.wall:.2f} s, inject {done.inject_s:.2f} s, "
                    f"{len(done.changes.deleted)} deleted, fully available "
                    f"{done.changes.fully_available - done.changes.first_delete:.2f} s after the first delete")
        cpu_rounds = {k: v - cpu_rounds_start.get(k, 0.0) for k, v in part_cpu_seconds(cluster).items()}
        after = part_memory(cluster)

    lines += [(f"Cluster: `gameday.cluster.manager.LocalCluster` on free 127.0.0.1 ports, {args.nodes} kwok nodes, "
               f"up in {up_s:.1f} s; Deployment `{DEPLOYMENT}` of {args.replicas:,} pods (namespace `{NAMESPACE}`, "
               f"labelled `gameday.allowed=true`): all Ready {deploy_s:.1f} s after it was created."), ""]
    if chaos is not None:
        lines += [f"Chaos Toolkit: {ctk_versions(venv)}.", ""]
    lines += [*table(rounds), ""]
    lines += ["Control plane memory, MiB (VmRSS; VmHWM = peak since start) and CPU seconds:", "",
              "| part | idle, 0 pods | with all pods Ready | after the rounds (peak) | CPU s: deploy | CPU s: rounds |",
              "|---|---:|---:|---:|---:|---:|"]
    for part in PARTS:
        if part in after:
            lines.append(f"| {part} | {idle[part][0]:.0f} | {loaded[part][0]:.0f} | {after[part][0]:.0f} "
                         f"({after[part][1]:.0f}) | {cpu_deploy.get(part, 0):.1f} | {cpu_rounds.get(part, 0):.1f} |")
    lines.append("")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
