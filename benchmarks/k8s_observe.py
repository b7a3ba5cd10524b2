"""What watching costs at scale: the kubernetes probe's check time, and the cluster events recorder through a
delete of a share of a large Deployment's pods (issue 15, item 5).

Against a running cluster (``gameday cluster up``; any kubeconfig whose user may create a namespace): a
Deployment of ``--pods`` replicas in a namespace of its own, then

  probe       each condition checked ``--rounds`` times (median and slowest, ms)
  recorder    started as in a run (its listing of the target and its pods timed), ``--percent`` of the pods
              deleted one by one, the replacements waited on until Ready, then stopped (its last listing
              timed): lines written, Events counted beyond the limits, how far the last line trailed its
              Event's own time, and the process's peak RSS

The namespace is deleted at the end.

    python benchmarks/k8s_observe.py --kubeconfig ~/.local/state/gameday/cluster/kubeconfig --pods 1000
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lightkube import Client, KubeConfig
from lightkube.models.apps_v1 import DeploymentSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace, Pod

from gameday import events as ev
from gameday.clock import SystemClock, parse_iso
from gameday.contracts import RunContext
from gameday.kubernetes.events import ClusterEventsObserver
from gameday.observe.probes import Prober
from gameday.scenario.model import ProbeSpec, Scenario
from gameday.timeline import Timeline

CHECKS: dict[str, dict[str, Any]] = {
    "available_replicas": {"available_replicas": {"at_least": 1}},
    "ready_pods": {"ready_pods": {"at_least": 1}},
    "rollout: complete": {"rollout": "complete"},
}


def wait(what: str, check: Any, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def ready_pods(kube: Client, namespace: str) -> list[Any]:
    pods: list[Any] = list(kube.list(Pod, namespace=namespace, labels={"app": "web"}))
    return [p for p in pods if p.metadata.deletionTimestamp is None and p.status and any(
        c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--percent", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    kube = Client(config=KubeConfig.from_file(args.kubeconfig).get(), trust_env=False)
    namespace = f"bench-observe-{uuid.uuid4().hex[:6]}"
    kube.create(Namespace(metadata=ObjectMeta(name=namespace)))
    try:
        kube.create(Deployment(metadata=ObjectMeta(name="web", namespace=namespace), spec=DeploymentSpec(
            replicas=args.pods, selector=LabelSelector(matchLabels={"app": "web"}),
            template=PodTemplateSpec(metadata=ObjectMeta(labels={"app": "web"}),
                                     spec=PodSpec(containers=[Container(name="app", image="gameday/none:1")])))))
        started = time.monotonic()
        wait(f"{args.pods} ready pods", lambda: len(ready_pods(kube, namespace)) == args.pods)
        print(f"{args.pods} pods ready in {time.monotonic() - started:.1f} s")
        scenario = Scenario.model_validate({
            "version": 1, "name": "bench",
            "stack": {"platforms": {"kubernetes": {"kubeconfig": str(Path(args.kubeconfig).absolute())}},
                      "targets": {"web": {"platform": "kubernetes", "namespace": namespace, "kind": "Deployment",
                                          "name": "web"}}},
            "faults": [{"kind": "pod_delete", "target": "web", "duration": "60s"}]})
        probe_times(scenario, args.rounds)
        recorder(scenario, kube, namespace, args.pods, args.percent)
    finally:
        kube.delete(Namespace, namespace)


def probe_times(scenario: Scenario, rounds: int) -> None:
    prober = Prober(scenario.stack)
    for label, condition in CHECKS.items():
        probe = ProbeSpec.model_validate({"name": "p", "kubernetes": {"target": "web", **condition}})
        prober.check(probe)  # the first check reads the kubeconfig and connects
        times = []
        for _ in range(rounds):
            result = prober.check(probe)
            assert result.ok, result.error
            times.append(result.latency_ms)
        print(f"probe {label:20} median {statistics.median(times):7.1f} ms   slowest {max(times):7.1f} ms")
    prober.close()


def recorder(scenario: Scenario, kube: Client, namespace: str, pods: int, percent: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        timeline = Timeline(Path(folder) / "timeline.jsonl", SystemClock())
        observer = ClusterEventsObserver()
        ctx = RunContext(scenario, timeline, SystemClock(), Path(folder), Path(folder))
        t0 = time.monotonic()
        observer.start(ctx)
        print(f"recorder start (lists the Deployment, its ReplicaSets, {pods} pods, the namespace's Events): "
              f"{time.monotonic() - t0:.2f} s")
        chosen = sorted(str(p.metadata.name) for p in ready_pods(kube, namespace))[:pods * percent // 100]
        t0 = time.monotonic()
        for name in chosen:
            kube.delete(Pod, name, namespace=namespace, grace_period=0)
        print(f"deleted {len(chosen)} pods in {time.monotonic() - t0:.1f} s")
        wait("the replacements to be Ready", lambda: len(ready_pods(kube, namespace)) == pods
             and not set(chosen) & {str(p.metadata.name) for p in ready_pods(kube, namespace)})
        print(f"replaced and Ready {time.monotonic() - t0:.1f} s after the first delete")
        t0 = time.monotonic()
        observer.stop()
        print(f"recorder stop (cancels the watch, lists the namespace's Events once more): {time.monotonic() - t0:.2f} s")
        lines = [e for e in timeline.events if e.kind == ev.KUBERNETES_EVENT]
        summary = next(e for e in timeline.events if e.kind == ev.KUBERNETES_EVENTS_SUMMARY).details
        trail = [(parse_iso(e.at) - parse_iso(e.details["event_at"])).total_seconds() for e in lines
                 if e.details.get("event_at")]
        print(f"lines written {len(lines)}: {dict(sorted(_by_reason(lines).items()))}")
        print(f"counted, not written: {summary['summarised']}; repeats: {summary['repeated']}; errors: {summary['errors']}")
        if trail:
            print(f"a line trails its Event's own time by: median {statistics.median(trail):.2f} s, "
                  f"most {max(trail):.2f} s (Events' times are whole seconds, so up to 1 s of it is rounding)")
        timeline.close()
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
          f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")


def _by_reason(lines: list[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in lines:
        out[e.details["reason"]] = out.get(e.details["reason"], 0) + 1
    return out


if __name__ == "__main__":
    main()
