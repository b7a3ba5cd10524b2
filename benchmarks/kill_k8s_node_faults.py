"""SIGKILL the harness during node_cordon, node_drain and network_isolate on a local cluster, then check on the
cluster that nothing is left broken (issue 15 item 7, for these three kinds; benchmarks/kill_k8s_faults.py does
rollout_break and secret_revoke the same way, and this reuses its pieces).

A cluster of its own (``benchmarks.k8s_scale.bench_cluster``). Each trial gets what its kind breaks, fresh: two
kwok nodes of its own (``node_cordon``, ``node_drain``: the first is the target; for a drain, a Deployment of 2
replicas runs on the pair, so the drain has pods to evict and somewhere to put them), or a namespace with a
Deployment (``network_isolate``). It starts ``python -m gameday run`` on a 2 s fault (stack file,
heartbeat_timeout 3 s) and SIGKILLs it, aimed in turn at the inject call (after ``fault.intended``) and at the
revert call (after ``revert.started``), with a random delay of up to ``--window``. Then only the watchdog acts.

Judged on the cluster, never on the journal: the node schedulable and without gameday's cordoned-by mark; no
NetworkPolicy left in the namespace. A trial fails if that is not so 60 s after the kill, if a watchdog is still
running then, or if a journal still holds a pending fault.

    python -m benchmarks.kill_k8s_node_faults --trials 36     # 12 per kind, half aimed at inject, half at revert
"""

from __future__ import annotations

import argparse
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
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from lightkube import Client, KubeConfig, codecs
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace, Node, Pod
from lightkube.resources.networking_v1 import NetworkPolicy

from benchmarks.k8s_scale import bench_cluster
from benchmarks.kill_harness import _events, ms, phase_at, wait_for_trigger, watchdogs_of
from benchmarks.kill_k8s_faults import RESTORE_DEADLINE, WATCHDOG_EXIT_DEADLINE, Trial, wait
from gameday.cluster.api import NODE_ANNOTATION
from gameday.cluster.manager import LocalCluster
from gameday.engine.journal import pending_faults
from gameday.kubernetes.faults.nodes import CORDONED_BY

KINDS = ["node_cordon", "node_drain", "network_isolate"]


class Target:
    """One trial's objects: made fresh, judged by reading them back, deleted after."""

    def __init__(self, kube: Client, kind: str) -> None:
        self.kube, self.kind = kube, kind
        suffix = uuid.uuid4().hex[:8]
        self.namespace = f"gdkill-{suffix}"
        self.nodes = [f"gdkill-{suffix}-a", f"gdkill-{suffix}-b"] if kind != "network_isolate" else []
        for name in self.nodes:
            kube.create(Node(metadata=ObjectMeta(
                name=name, labels={"gameday.allowed": "true", "pool": suffix, "kubernetes.io/hostname": name},
                annotations={NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"})))
        kube.create(Namespace(metadata=ObjectMeta(name=self.namespace, labels={"gameday.allowed": "true"})))
        if kind == "node_cordon":
            return
        replicas = 2 if kind == "node_drain" else 1
        kube.create(codecs.from_dict({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": self.namespace},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}],
                         **({"nodeSelector": {"pool": suffix}} if self.nodes else {})}}}}))
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

    def target(self) -> dict[str, Any]:
        if self.nodes:
            return {"platform": "kubernetes", "kind": "Node", "name": self.nodes[0]}
        return {"platform": "kubernetes", "namespace": self.namespace, "kind": "Deployment", "name": "web"}

    def allow(self) -> list[str]:
        return [self.nodes[0]] if self.nodes else [f"{self.namespace}/*"]

    def broken(self) -> str:
        """What is still broken, in words; "" when all is as before."""
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


def start_run(cluster: LocalCluster, target: Target, work: Path, reports: Path) -> subprocess.Popen[bytes]:
    name = f"kill-{target.namespace}"
    (work / "stacks").mkdir(exist_ok=True)
    (work / "stacks" / f"{name}.yaml").write_text(yaml.safe_dump({
        "version": 1, "name": name, "platforms": {"kubernetes": {"kubeconfig": str(cluster.config.kubeconfig)}},
        "targets": {"it": target.target()}, "allow": {"kubernetes": target.allow()}}))
    scenario = work / f"{name}.yaml"
    scenario.write_text(yaml.safe_dump({"version": 1, "name": name, "stack": name, "faults": [target.fault()],
                                        "safety": {"heartbeat_timeout": "3s"}}))
    return subprocess.Popen([sys.executable, "-m", "gameday", "run", str(scenario), "--reports", str(reports)],
                            cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "GAMEDAY_STATE_DIR": str(work / "state")})


def trial(cluster: LocalCluster, kube: Client, kind: str, aim: str, rng: random.Random, work: Path,
          window: float) -> Trial:
    result = Trial(kind, aim)
    target = Target(kube, kind)
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
    parser.add_argument("--trials", type=int, default=36, help="in rotation over the kinds and both aims")
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
            result = trial(cluster, kube, kind, aim, rng, work, args.window)
            trials.append(result)
            print(f"trial {i + 1:3d} {result.kind:16s} {aim:6s} kill at {result.delay:5.2f}s ({result.phase}): "
                  f"{'ok' if result.ok else 'LEFT BROKEN'}"
                  + (f", restored {result.restore_s * 1000:.0f} ms after the kill" if result.restore_s is not None
                     else "") + (f"  [{result.note}]" if result.note else ""), flush=True)
    print(f"\n{len(trials)} trials, {sum(not t.ok for t in trials)} left broken\n")
    print("| kind | aimed at | trials | left broken | fault live at the kill | kill -> restored (median / p95 / max) |")
    print("|---|---|---|---|---|---|")
    for kind in [k for k in KINDS if any(t.kind == k for t in trials)]:
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
