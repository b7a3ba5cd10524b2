"""The kubernetes probe against the real local cluster: red then green as a Deployment scales, each condition
says what it saw, a mistake is refused at its line, and a guard and an expectation use it in a real run."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import Deployment

from gameday import events as ev
from gameday.clock import SystemClock
from gameday.cluster.manager import LocalCluster
from gameday.engine.run import Outcome, run_scenario
from gameday.errors import ScenarioErrors
from gameday.observe.probes import Prober, ProbeResult
from gameday.scenario.loader import load_scenario
from gameday.scenario.model import Scenario
from gameday.testing import MemoryFaults, run_options
from gameday.timeline import Event
from tests.kubernetes.helpers import kubernetes_stack, make_deployment, make_pod, wait_for

pytestmark = pytest.mark.kubernetes

TARGETS = """\
  web: {{platform: kubernetes, namespace: {ns}, kind: Deployment, name: web}}
  web-pods: {{platform: kubernetes, namespace: {ns}, kind: Pod, match_labels: {{app: web}}}}
  nodes: {{platform: kubernetes, kind: Node, match_labels: {{type: kwok}}}}
  db: {{platform: docker, container: db}}
"""


def scenario_file(folder: Path, cluster: LocalCluster, namespace: str, body: str) -> Path:
    kubernetes_stack(folder / "stacks" / "shop.yaml", cluster, targets=TARGETS.format(ns=namespace).rstrip("\n"),
                     allow=f"[{namespace}/web]")
    path = folder / "drill.yaml"
    path.write_text("version: 1\nname: drill\nstack: shop\n" + body)
    return path


def probe_scenario(folder: Path, cluster: LocalCluster, namespace: str, check: str) -> Scenario:
    return load_scenario(scenario_file(folder, cluster, namespace, f"""\
steady_state:
  probes:
    - name: web-ready
      kubernetes: {check}
faults:
  - {{kind: memory, target: web, duration: 5s}}
"""), registry=MemoryFaults().registry())


def check_once(scenario: Scenario) -> ProbeResult:
    prober = Prober(scenario.stack)
    try:
        return prober.check(scenario.steady_state.probes[0])
    finally:
        prober.close()


def red_check(scenario: Scenario) -> ProbeResult | None:
    result = check_once(scenario)
    return None if result.ok else result


def scale(kube: Client, namespace: str, replicas: int) -> None:
    kube.patch(Deployment, "web", {"spec": {"replicas": replicas}}, namespace=namespace)


def test_available_replicas_is_red_then_green_as_the_deployment_scales(
        tmp_path: Path, local_cluster: LocalCluster, kube: Client, namespace: str) -> None:
    make_deployment(kube, namespace, "web", replicas=1)
    scenario = probe_scenario(tmp_path, local_cluster, namespace, "{target: web, available_replicas: {at_least: 2}}")
    red = check_once(scenario)
    assert not red.ok
    assert red.error == f"Deployment {namespace}/web: 1 available replicas, want at least 2"
    scale(kube, namespace, 2)
    wait_for("the probe to turn green as the Deployment scales to 2", lambda: check_once(scenario).ok)
    scale(kube, namespace, 0)
    result = wait_for("the probe to turn red as the Deployment scales to 0",
                      lambda: red_check(scenario))
    assert result.error == f"Deployment {namespace}/web: 0 available replicas, want at least 2"


def test_ready_pods_counts_the_workloads_own_pods_and_a_pod_targets_pods(
        tmp_path: Path, local_cluster: LocalCluster, kube: Client, namespace: str) -> None:
    make_deployment(kube, namespace, "web", replicas=2)
    make_pod(kube, namespace, "stray", labels={"app": "web"})  # selected by the labels, but no pod of the Deployment
    workload = probe_scenario(tmp_path, local_cluster, namespace, "{target: web, ready_pods: {at_least: 3}}")
    assert check_once(workload).error == f"Deployment {namespace}/web: 2 ready pods, want at least 3"
    pods = probe_scenario(tmp_path, local_cluster, namespace, "{target: web-pods, ready_pods: {at_least: 3}}")
    assert check_once(pods).ok  # the Pod target's labels select all three


def test_rollout_complete_waits_for_the_new_template_to_be_available(
        tmp_path: Path, local_cluster: LocalCluster, kube: Client, namespace: str) -> None:
    make_deployment(kube, namespace, "web", replicas=2)
    scenario = probe_scenario(tmp_path, local_cluster, namespace, "{target: web, rollout: complete}")
    assert check_once(scenario).ok
    kube.patch(Deployment, "web", {"spec": {"paused": True, "template": {"metadata": {"labels": {"v": "2"}}}}},
               namespace=namespace)
    red = wait_for("a paused rollout to be seen as incomplete",
                   lambda: red_check(scenario))
    assert red.error is not None and red.error.startswith(f"rollout of Deployment {namespace}/web not complete: ")
    kube.patch(Deployment, "web", {"spec": {"paused": False}}, namespace=namespace)
    wait_for("the resumed rollout to complete", lambda: check_once(scenario).ok)


def test_a_workload_that_is_not_there_is_a_red_check_naming_it(
        tmp_path: Path, local_cluster: LocalCluster, namespace: str) -> None:
    scenario = probe_scenario(tmp_path, local_cluster, namespace, "{target: web, available_replicas: {at_least: 1}}")
    result = check_once(scenario)
    assert not result.ok and result.error is not None
    assert result.error.startswith(f"Deployment {namespace}/web: not found")


@pytest.mark.parametrize(("check", "where", "message"), [
    ("{target: wbe, available_replicas: {at_least: 2}}", "7:28: steady_state.probes[0].kubernetes.target",
     "unknown target 'wbe' (kubernetes targets of the stack: nodes, web, web-pods)"),
    ("{target: db, available_replicas: {at_least: 2}}", "7:28: steady_state.probes[0].kubernetes.target",
     "'db' is on platform docker; a kubernetes probe reads a kubernetes target"),
    ("{target: nodes, ready_pods: {at_least: 2}}", "7:28: steady_state.probes[0].kubernetes.target",
     "'nodes' is a Node; a kubernetes probe reads a Deployment, StatefulSet, DaemonSet or Pods"),
    ("{target: web-pods, available_replicas: {at_least: 2}}",
     "7:38: steady_state.probes[0].kubernetes.available_replicas",
     "reads a workload's status; 'web-pods' is a Pod target: use ready_pods"),
    ("{target: web, available_replicas: {at_least: -1}}",
     "7:64: steady_state.probes[0].kubernetes.available_replicas.at_least", "input should be greater than or equal to 0"),
    ("{target: web, rollout: done}", "7:42: steady_state.probes[0].kubernetes.rollout",
     "must be one of 'complete', got 'done'"),
    ("{target: web}", "7:7: steady_state.probes[0].kubernetes",
     "a kubernetes probe checks at least one of available_replicas, ready_pods, rollout"),
    ("{target: web, availble_replicas: {at_least: 2}}", "7:33: steady_state.probes[0].kubernetes.availble_replicas",
     "unknown key"),
])
def test_validate_refuses_a_mistake_at_its_line(tmp_path: Path, local_cluster: LocalCluster, namespace: str,
                                               check: str, where: str, message: str) -> None:
    with pytest.raises(ScenarioErrors) as caught:
        probe_scenario(tmp_path, local_cluster, namespace, check)
    problems = [str(p) for p in caught.value.errors]
    assert any(f"drill.yaml:{where}: {message}" in p for p in problems), problems


def test_a_guard_on_the_probe_aborts_the_run_when_the_deployment_loses_replicas(
        tmp_path: Path, local_cluster: LocalCluster, kube: Client, namespace: str) -> None:
    make_deployment(kube, namespace, "web", replicas=2)
    faults = MemoryFaults()
    scenario = load_scenario(scenario_file(tmp_path, local_cluster, namespace, """\
guards:
  - name: keep-two
    probe:
      name: web-available
      kubernetes: {target: web, available_replicas: {at_least: 2}}
      interval: 250ms
faults:
  - {kind: memory, target: web, duration: 5m}
"""), registry=faults.registry())

    def on_event(event: Event) -> None:  # the test plays the fault: it scales the Deployment down
        if event.kind == ev.FAULT_INJECTED:
            scale(kube, namespace, 1)

    result = run_scenario(scenario, run_options(tmp_path, faults=faults, clock=SystemClock(), listeners=[on_event]))
    assert result.outcome is Outcome.ABORTED and result.exit_code == 4
    assert faults.calls == [("prepare", "web"), ("inject", "web"), ("revert", "web")]
    assert "guard keep-two tripped: probe web-available red (Deployment" in str(result.error)


def test_an_expectation_on_the_probe_sees_the_outage_and_the_recovery(
        tmp_path: Path, local_cluster: LocalCluster, kube: Client, namespace: str) -> None:
    make_deployment(kube, namespace, "web", replicas=2)
    faults = MemoryFaults()
    scenario = load_scenario(scenario_file(tmp_path, local_cluster, namespace, """\
steady_state:
  probes:
    - name: web-available
      kubernetes: {target: web, available_replicas: {at_least: 2}}
      interval: 250ms
faults:
  - {kind: memory, target: web, duration: 5m}
expect:
  recovers_within: 2m
  probes:
    - {probe: web-available, during_fault: down}
"""), registry=faults.registry())
    seen_red = threading.Event()

    def on_event(event: Event) -> None:  # the test plays the fault: down to 1 replica, back to 2 on revert
        if event.kind == ev.FAULT_INJECTED:
            scale(kube, namespace, 1)
        elif event.kind == ev.PROBE_CHECKED and event.details.get("phase") == "fault" and not event.details["ok"]:
            if not seen_red.is_set():
                seen_red.set()
                options.stop.end_fault_phase()  # type: ignore[union-attr]
        elif event.kind == ev.REVERT_STARTED:
            scale(kube, namespace, 2)

    from gameday.engine.run import StopRequest

    options = run_options(tmp_path, faults=faults, clock=SystemClock(), listeners=[on_event], stop=StopRequest())
    result = run_scenario(scenario, options)
    assert result.outcome is Outcome.PASSED, result.verdicts
    assert any(v.name == "probe web-available down during fault" and v.met for v in result.verdicts)
