"""SIGKILL the harness during rollout_break, secret_revoke, pod_delete and scale on a local cluster, then check on
the cluster that nothing is left broken (issue 15 item 7, for these kinds).

A cluster of its own (``benchmarks.k8s_scale.bench_cluster``: free ports, a temporary state folder). Each trial
gets a fresh namespace labelled ``gameday.allowed=true`` holding what its kind breaks: a Deployment of 2 replicas,
rolled out (``rollout_break``, ``how`` alternating image and readiness), or a Secret with a random key value
(``secret_revoke``), or a Deployment of 3 replicas, ready (``pod_delete`` of 2 pods, ``scale`` to 1). It starts ``python -m gameday run`` on a 2 s fault (stack file, heartbeat_timeout 3 s) and
SIGKILLs it, aimed in turn at the inject call (after ``fault.intended`` appears in the run's timeline) and at
the revert call (after ``revert.started``), with a random delay of up to ``--window`` (100 ms). Then only the watchdog acts (no
``gameday cleanup``).

Judged on the cluster, never on the journal: the Deployment's pod template as it was before the run and its
rollout complete, no pod template carrying a ``gameday.fault-token``; the Secret's key holding exactly its prior
bytes and no backup Secret left; the Deployment of ``pod_delete`` and ``scale`` back at 3 replicas, all ready
(``pod_delete``'s revert has nothing to do: its controller replaces the pods). A trial fails if that is not so 60 s after the kill, if it is broken again once
the watchdog has left, or if a journal still holds a pending fault. Where the run was at the kill is read from
its timeline (``benchmarks.kill_harness.phase_at``).

    python -m benchmarks.kill_k8s_faults --trials 28 --kinds rollout_break,secret_revoke   # 14 per kind, half at
                                                                                            # inject, half at revert
    python -m benchmarks.kill_k8s_faults --trials 24 --kinds pod_delete,scale
    python -m benchmarks.kill_k8s_faults --trials 12 --kinds secret_revoke --aims inject --window 0.4
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from lightkube import Client, KubeConfig, codecs
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace, Secret

from benchmarks.k8s_scale import bench_cluster
from benchmarks.kill_harness import _events, ms, phase_at, wait_for_trigger, watchdogs_of
from gameday.cluster.manager import LocalCluster
from gameday.engine.journal import pending_faults
from gameday.kubernetes.faults.rollout import rollout_state

KINDS = ["rollout_break", "secret_revoke", "pod_delete", "scale"]
REPLICAS = 3
"""pod_delete's and scale's Deployment: scale takes it to 1, pod_delete deletes 2 of its pods."""
RESTORE_DEADLINE = 60.0
WATCHDOG_EXIT_DEADLINE = 60.0


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


class Target:
    """One trial's object: made fresh in its own namespace, judged by reading it back."""

    def __init__(self, kube: Client, kind: str, how: str) -> None:
        self.kube, self.kind, self.how = kube, kind, how
        self.namespace = f"gdkill-{uuid.uuid4().hex[:8]}"
        kube.create(Namespace(metadata=ObjectMeta(name=self.namespace, labels={"gameday.allowed": "true"})))
        if kind == "rollout_break":
            kube.create(codecs.from_dict({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": self.namespace},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}}}}))
            deadline = time.monotonic() + 120
            while not rollout_state("Deployment", self._deployment())[0]:
                if time.monotonic() > deadline:
                    raise SystemExit(f"Deployment {self.namespace}/web did not roll out in 120 s")
                time.sleep(0.1)
            self.template = self._deployment().spec.template.to_dict()
        elif kind in ("pod_delete", "scale"):
            kube.create(codecs.from_dict({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": self.namespace},
                "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": "web"}}, "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}}}}))
            deadline = time.monotonic() + 120
            while self.broken():
                if time.monotonic() > deadline:
                    raise SystemExit(f"Deployment {self.namespace}/web not ready in 120 s: {self.broken()}")
                time.sleep(0.1)
        else:
            self.prior = os.urandom(24)
            kube.create(Secret(metadata=ObjectMeta(name="db", namespace=self.namespace),
                               data={"password": base64.b64encode(self.prior).decode()}))

    def _deployment(self) -> Any:
        return self.kube.get(Deployment, "web", namespace=self.namespace)

    def fault(self) -> dict[str, Any]:
        if self.kind == "pod_delete":
            return {"kind": "pod_delete", "target": "it", "duration": "2s", "args": {"count": 2, "grace_period": 0}}
        if self.kind == "scale":
            return {"kind": "scale", "target": "it", "duration": "2s", "args": {"replicas": 1}}
        if self.kind == "rollout_break":
            return {"kind": "rollout_break", "target": "it", "duration": "2s", "args": {"how": self.how}}
        return {"kind": "secret_revoke", "target": "it", "duration": "2s", "args": {"key": "password"}}

    def target(self) -> dict[str, Any]:
        kind, name = ("Secret", "db") if self.kind == "secret_revoke" else ("Deployment", "web")
        return {"platform": "kubernetes", "namespace": self.namespace, "kind": kind, "name": name}

    def broken(self) -> str:
        """What is still broken, in words; "" when the object is exactly as before."""
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


def start_run(cluster: LocalCluster, target: Target, work: Path, reports: Path) -> subprocess.Popen[bytes]:
    name = f"kill-{target.namespace}"
    (work / "stacks").mkdir(exist_ok=True)
    (work / "stacks" / f"{name}.yaml").write_text(yaml.safe_dump({
        "version": 1, "name": name, "platforms": {"kubernetes": {"kubeconfig": str(cluster.config.kubeconfig)}},
        "targets": {"it": target.target()}, "allow": {"kubernetes": [f"{target.namespace}/*"]}}))
    scenario = work / f"{name}.yaml"
    scenario.write_text(yaml.safe_dump({"version": 1, "name": name, "stack": name, "faults": [target.fault()],
                                        "safety": {"heartbeat_timeout": "3s"}}))
    return subprocess.Popen([sys.executable, "-m", "gameday", "run", str(scenario), "--reports", str(reports)],
                            cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "GAMEDAY_STATE_DIR": str(work / "state")})


def wait(predicate: Callable[[], bool], limit: float) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def trial(cluster: LocalCluster, kube: Client, kind: str, aim: str, how: str, rng: random.Random,
          work: Path, window: float) -> Trial:
    result = Trial(f"{kind} ({how})" if kind == "rollout_break" else kind, aim)
    target = Target(kube, kind, how)
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
        if wait(lambda: not target.broken(), RESTORE_DEADLINE):
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
                result.note, "" if result.restore_s is not None else f"not restored within {RESTORE_DEADLINE:.0f}s",
                still, f"{len(pending)} pending in the journal" if pending else "",
                f"watchdog still running (pid {lingering})" if lingering else ""] if n)
        if not result.live:
            result.restore_s = None
        return result
    finally:
        target.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=24, help="in rotation over both kinds and both aims")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated, in rotation")
    parser.add_argument("--aims", default="inject,revert", help="comma-separated, in rotation")
    parser.add_argument("--window", type=float, default=0.1,
                        help="kill at a random moment up to this many seconds after the aimed-at event")
    parser.add_argument("--json", type=Path, help="also write every trial here")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    trials: list[Trial] = []
    with tempfile.TemporaryDirectory(prefix="gdkill-k8s-") as tmp, bench_cluster(Path(tmp) / "cluster", 2) as (cluster, _):
        kube = Client(KubeConfig.from_file(cluster.config.kubeconfig).get(), trust_env=False)
        work = Path(tmp)
        kinds, aims = args.kinds.split(","), args.aims.split(",")
        for i in range(args.trials):
            kind = kinds[i % len(kinds)]
            aim = aims[(i // len(kinds)) % len(aims)]
            how = ["image", "readiness"][(i // (len(kinds) * len(aims))) % 2]
            result = trial(cluster, kube, kind, aim, how, rng, work, args.window)
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
