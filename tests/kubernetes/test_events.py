"""The cluster's own Events in the timeline and the report, against the real local cluster: a pod deleted
during a real run shows as its ReplicaSet creating a replacement and the scheduler placing it, each once
with its own time; nothing from before the run, nothing about other workloads; a flood is counted."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

import pytest
from lightkube import Client
from lightkube.models.core_v1 import NodeSpec, Taint
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Event as CoreEvent
from lightkube.resources.core_v1 import Node, Pod

from gameday import events as ev
from gameday.clock import SystemClock
from gameday.cluster.manager import LocalCluster
from gameday.engine.run import Outcome, StopRequest, run_scenario
from gameday.kubernetes.events import ClusterEventsObserver
from gameday.kubernetes.watch import LIMIT, PER_REASON
from gameday.report.render import render_run
from gameday.scenario.loader import load_scenario
from gameday.scenario.model import Scenario
from gameday.testing import MemoryFaults, memory_scenario, run_options
from gameday.timeline import Event, read_timeline
from tests.kubernetes.helpers import ALLOWED, kubernetes_stack, make_deployment, pod_names, wait_for

pytestmark = pytest.mark.kubernetes


def drill(folder: Path, cluster: LocalCluster, namespace: str, faults: MemoryFaults | None = None, *,
          fault: str = "{kind: memory, target: web, duration: 5m}") -> Scenario:
    """A drill with one fault on the Deployment web (by default one the test plays), judged by web's ready pods."""
    kubernetes_stack(folder / "stacks" / "shop.yaml", cluster,
                     targets=f"  web: {{platform: kubernetes, namespace: {namespace}, kind: Deployment, name: web}}",
                     allow=f"[{namespace}/web]")
    path = folder / "drill.yaml"
    path.write_text(f"""\
version: 1
name: pod-gone
stack: shop
steady_state:
  probes:
    - name: web-pods
      kubernetes: {{target: web, ready_pods: {{at_least: 2}}}}
      interval: 250ms
faults:
  - {fault}
expect:
  recovers_within: 2m
""")
    return load_scenario(path, registry=faults.registry() if faults is not None else None)


def settled(kube: Client, namespace: str, deployment: str, replicas: int) -> None:
    """Wait until the controllers have posted the Events of making the Deployment (they post in the background):
    a run starting later must not take them for its own."""
    def posted() -> bool:
        reasons = Counter(str(e.reason) for e in kube.list(CoreEvent, namespace=namespace)
                          if str(e.involvedObject.name).startswith(f"{deployment}-"))
        return reasons["SuccessfulCreate"] >= replicas and reasons["Scheduled"] >= replicas
    wait_for(f"the Events of making {deployment}", posted)


def kinds(run_dir: Path) -> list[Event]:
    return [e for e in read_timeline(run_dir / "timeline.jsonl") if e.kind.startswith("kubernetes.")]


def test_the_recorder_is_wanted_for_a_fault_on_a_kubernetes_target_only(tmp_path: Path,
                                                                        local_cluster: LocalCluster) -> None:
    assert not ClusterEventsObserver.wanted(memory_scenario())
    scenario = drill(tmp_path, local_cluster, "shop", MemoryFaults())
    assert ClusterEventsObserver.wanted(scenario)


def test_a_pod_deleted_in_a_run_shows_in_the_timeline_and_the_report(
        tmp_path: Path, local_cluster: LocalCluster, kube: Client, namespace: str) -> None:
    make_deployment(kube, namespace, "web", replicas=2)  # its own Events happen before the run: not recorded
    settled(kube, namespace, "web", 2)
    before = pod_names(kube, namespace, {"app": "web"})
    faults = MemoryFaults()
    scenario = drill(tmp_path, local_cluster, namespace, faults)
    options = run_options(tmp_path, faults=faults, clock=SystemClock(), stop=StopRequest())
    replaced: list[str] = []

    def replacement() -> list[str] | None:
        now = pod_names(kube, namespace, {"app": "web"})
        return [p for p in now if p not in before] if len(now) == 2 and before[0] not in now else None

    def on_event(event: Event) -> None:  # the test plays the fault: one pod deleted, and another workload made
        if event.kind == ev.FAULT_INJECTED:
            kube.delete(Pod, before[0], namespace=namespace, grace_period=0)
            make_deployment(kube, namespace, "other", replicas=1)
            replaced.extend(wait_for("the deleted pod to be replaced", replacement))
            assert options.stop is not None
            options.stop.end_fault_phase()

    options.listeners.append(on_event)
    result = run_scenario(scenario, options)
    assert result.outcome is Outcome.PASSED, result.error

    recorded = kinds(result.run_dir)
    assert recorded[0].kind == ev.KUBERNETES_EVENTS_WATCHING
    assert recorded[-1].kind == ev.KUBERNETES_EVENTS_SUMMARY
    lines = [e.details for e in recorded if e.kind == ev.KUBERNETES_EVENT]
    created = [d for d in lines if d["reason"] == "SuccessfulCreate"]
    assert len(created) == 1 and created[0]["message"] == f"Created pod: {replaced[0]}", lines
    assert created[0]["object"].startswith("ReplicaSet/web-") and created[0]["target"] == "web"
    scheduled = [d for d in lines if d["reason"] == "Scheduled"]
    assert [d["object"] for d in scheduled] == [f"Pod/{replaced[0]}"], lines
    assert all(d["namespace"] == namespace and d["event_at"].endswith("Z") for d in lines)
    assert not [d for d in lines if "other" in d["object"]], "another workload's Events were recorded"
    assert len(lines) == len({(d["object"], d["reason"], d["message"]) for d in lines}), "an Event twice"
    assert recorded[-1].details["recorded"] == len(lines) and recorded[-1].details["errors"] == []

    report = render_run(result.run_dir).read_text()
    assert "## Cluster events" in report
    row = f"| `{created[0]['object']}` | SuccessfulCreate | Normal | Created pod: {replaced[0]} |"
    assert row in report, report
    html = (result.run_dir / "report.html").read_text()
    assert "Cluster events" in html and f"Pod/{replaced[0]}" in html


def test_a_flood_is_written_up_to_the_limit_of_a_reason_and_counted_beyond_it(
        tmp_path: Path, local_cluster: LocalCluster, kube: Client, namespace: str) -> None:
    make_deployment(kube, namespace, "web", replicas=2)
    settled(kube, namespace, "web", 2)
    faults = MemoryFaults()
    scenario = drill(tmp_path, local_cluster, namespace, faults)
    options = run_options(tmp_path, faults=faults, clock=SystemClock(), stop=StopRequest())
    burst = PER_REASON + 15

    def on_event(event: Event) -> None:  # the fault the test plays: the Deployment scaled up, then back
        if event.kind == ev.FAULT_INJECTED:
            kube.patch(Deployment, "web", {"spec": {"replicas": burst}}, namespace=namespace)
            wait_for(f"{burst} pods of web", lambda: len(pod_names(kube, namespace, {"app": "web"})) == burst)
            assert options.stop is not None
            options.stop.end_fault_phase()
        elif event.kind == ev.REVERT_STARTED:
            kube.patch(Deployment, "web", {"spec": {"replicas": 2}}, namespace=namespace)

    options.listeners.append(on_event)
    result = run_scenario(scenario, options)
    assert result.outcome is Outcome.PASSED, result.error
    recorded = kinds(result.run_dir)
    lines = [e.details for e in recorded if e.kind == ev.KUBERNETES_EVENT]
    summary = recorded[-1].details
    scheduled = [d for d in lines if d["reason"] == "Scheduled"]
    # One Scheduled Event per new pod: PER_REASON written, the rest counted.
    assert len(scheduled) == PER_REASON
    assert summary["summarised"]["Scheduled"] == burst - 2 - PER_REASON, summary
    assert len(lines) <= LIMIT and summary["recorded"] == len(lines)

    report = render_run(result.run_dir).read_text()
    assert f"Not listed one by one (at most {PER_REASON} of a reason, {LIMIT} in all): " in report
    assert f"Scheduled {burst - 2 - PER_REASON}" in report


def test_a_real_pod_delete_shows_the_replacement_in_the_timeline_and_the_report(
        tmp_path: Path, local_cluster: LocalCluster, kube: Client, namespace: str) -> None:
    make_deployment(kube, namespace, "web", replicas=2, labels=ALLOWED)
    settled(kube, namespace, "web", 2)
    before = pod_names(kube, namespace, {"app": "web"})
    scenario = drill(tmp_path, local_cluster, namespace, fault="{kind: pod_delete, target: web, args: {count: 1}, "
                                                              "duration: 2s}")
    result = run_scenario(scenario, run_options(tmp_path, clock=SystemClock()))
    assert result.outcome is Outcome.PASSED, result.error
    timeline = read_timeline(result.run_dir / "timeline.jsonl")
    deleted = next(e.details["deleted"] for e in timeline if e.kind == "kubernetes.workload")
    replacements = [p for p in pod_names(kube, namespace, {"app": "web"}) if p not in before]
    assert len(deleted) == 1 and deleted[0] in before and len(replacements) == 1
    lines = [e.details for e in timeline if e.kind == ev.KUBERNETES_EVENT]
    created = [d["message"] for d in lines if d["reason"] == "SuccessfulCreate"]
    assert created == [f"Created pod: {replacements[0]}"], lines
    assert [d["object"] for d in lines if d["reason"] == "Scheduled"] == [f"Pod/{replacements[0]}"], lines
    report = render_run(result.run_dir).read_text()
    assert f"| SuccessfulCreate | Normal | {created[0]} |" in report


def test_a_pod_no_node_can_take_shows_as_a_warning_of_its_new_replica_set(
        tmp_path: Path, local_cluster: LocalCluster, kube: Client, namespace: str) -> None:
    make_deployment(kube, namespace, "web", replicas=2)
    faults = MemoryFaults()
    scenario = drill(tmp_path, local_cluster, namespace, faults)
    options = run_options(tmp_path, faults=faults, clock=SystemClock(), stop=StopRequest())
    unschedulable = {"spec": {"template": {"spec": {"nodeSelector": {"gameday-test": "no-such-node"}}}}}

    def on_event(event: Event) -> None:  # the fault the test plays: a rollout whose pods no node can take
        if event.kind == ev.FAULT_INJECTED:
            kube.patch(Deployment, "web", unschedulable, namespace=namespace)
        elif event.kind == ev.KUBERNETES_EVENT and event.details["reason"] == "FailedScheduling":
            assert options.stop is not None
            options.stop.end_fault_phase()
        elif event.kind == ev.REVERT_STARTED:
            kube.patch(Deployment, "web", {"spec": {"template": {"spec": {"nodeSelector": None}}}},
                       namespace=namespace)

    options.listeners.append(on_event)
    result = run_scenario(scenario, options)
    assert result.outcome is Outcome.PASSED, result.error
    lines = [e.details for e in kinds(result.run_dir) if e.kind == ev.KUBERNETES_EVENT]
    failed = [d for d in lines if d["reason"] == "FailedScheduling"]
    assert failed and failed[0]["type"] == "Warning" and failed[0]["object"].startswith("Pod/web-"), lines
    assert "didn't match Pod's node affinity/selector" in failed[0]["message"], failed[0]
    new_sets = {d["object"] for d in lines if d["reason"] == "SuccessfulCreate"}
    assert len(new_sets) >= 1 and all(o.startswith("ReplicaSet/web-") for o in new_sets)
    report = render_run(result.run_dir).read_text()
    assert "| FailedScheduling | Warning |" in report


def test_a_node_targets_events_are_watched_in_default(
        tmp_path: Path, local_cluster: LocalCluster, kube: Client) -> None:
    """A Node's Events are in no namespace of its own (the node controller writes them in default): the recorder
    watches default for it. The node is made during the run (tainted, and no kwok node: nothing lands on it),
    so the controller's RegisteredNode Event about it is this run's."""
    name = f"gameday-test-{uuid.uuid4().hex[:8]}"
    faults = MemoryFaults()
    kubernetes_stack(tmp_path / "stacks" / "shop.yaml", local_cluster,
                     targets=f"  node: {{platform: kubernetes, kind: Node, name: {name}}}", allow=f"[{name}]")
    path = tmp_path / "drill.yaml"
    path.write_text("version: 1\nname: node-events\nstack: shop\nfaults:\n  - {kind: memory, target: node, duration: 5m}\n")
    scenario = load_scenario(path, registry=faults.registry())
    options = run_options(tmp_path, faults=faults, clock=SystemClock(), stop=StopRequest())

    def on_event(event: Event) -> None:
        if event.kind == ev.FAULT_INJECTED:
            kube.create(Node(metadata=ObjectMeta(name=name),
                             spec=NodeSpec(taints=[Taint(key="gameday-test", value="no", effect="NoSchedule")])))
        elif event.kind == ev.KUBERNETES_EVENT and event.details["object"] == f"Node/{name}":
            assert options.stop is not None
            options.stop.end_fault_phase()

    options.listeners.append(on_event)
    try:
        result = run_scenario(scenario, options)
    finally:
        kube.delete(Node, name)
    assert result.outcome is Outcome.PASSED, result.error
    recorded = kinds(result.run_dir)
    assert recorded[0].details["namespaces"] == ["default"]
    lines = [e.details for e in recorded if e.kind == ev.KUBERNETES_EVENT]
    assert lines and {d["object"] for d in lines} == {f"Node/{name}"}, lines
    assert any(d["reason"] == "RegisteredNode" for d in lines), lines
    assert recorded[-1].details["errors"] == []
