"""rollout_break and secret_revoke through the harness, on the local cluster: plan says what revert will do, a run
breaks and restores both and no secret value reaches the journal, timeline or report, and after a SIGKILL of the
harness and its watchdog `gameday cleanup` (a new process) rolls back and restores from the journal alone."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from lightkube import Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import Namespace, Secret

from gameday.cluster.manager import LocalCluster
from gameday.engine.journal import pending_faults
from gameday.kubernetes.faults.rollout import rollout_state
from tests.helpers import events, first_run_dir, harness_process, run_harness, stack_file, write_scenario
from tests.kubernetes.workloads import deployment, get, listed, wait_for

pytestmark = pytest.mark.kubernetes


@pytest.fixture
def prior() -> bytes:
    return f"pr10r-{uuid.uuid4().hex}".encode()


@pytest.fixture
def shop(kube: Client, namespace: str, prior: bytes) -> str:
    """An allowlisted namespace with a rolled-out Deployment ``web`` and a Secret ``db``."""
    kube.patch(Namespace, namespace, {"metadata": {"labels": {"gameday.allowed": "true"}}})
    kube.create(deployment("web", namespace))
    kube.create(Secret(metadata=ObjectMeta(name="db", namespace=namespace),
                       data={"password": base64.b64encode(prior).decode()}))
    wait_for("web to be rolled out", lambda: rollout_state("Deployment", get(kube, Deployment, "web", namespace))[0])
    return namespace


def scenario(tmp_path: Path, cluster: LocalCluster, namespace: str, duration: str, **extra: Any) -> Path:
    targets = {"web": {"platform": "kubernetes", "namespace": namespace, "kind": "Deployment", "name": "web"},
               "creds": {"platform": "kubernetes", "namespace": namespace, "kind": "Secret", "name": "db"}}
    name = stack_file(tmp_path, "shop", {"platforms": {"kubernetes": {"kubeconfig": str(cluster.config.kubeconfig)}},
                                         "targets": targets},
                      {"kubernetes": [f"{namespace}/web", f"{namespace}/db"]})
    return write_scenario(tmp_path / "bad-deploy.yaml", version=1, name="bad-deploy", stack=name, faults=[
        {"kind": "rollout_break", "target": "web", "duration": duration, "args": {"how": "image"}},
        {"kind": "secret_revoke", "target": "creds", "duration": duration, "args": {"key": "password"}}], **extra)


def password(kube: Client, namespace: str) -> bytes:
    return base64.b64decode(get(kube, Secret, "db", namespace).data["password"])


def image(kube: Client, namespace: str) -> str:
    return str(get(kube, Deployment, "web", namespace).spec.template.spec.containers[0].image)


def assert_nothing_holds(folder: Path, *values: bytes) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for value in values:
                assert value not in data and base64.b64encode(value) not in data, f"a secret value is in {path}"


def test_plan_says_what_each_revert_puts_back_and_changes_nothing(
        tmp_path: Path, kube: Client, shop: str, local_cluster: LocalCluster, prior: bytes) -> None:
    out = run_harness("plan", str(scenario(tmp_path, local_cluster, shop, "2s")), cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"roll Deployment {shop}/web back to revision 1" in out.stdout
    assert "container app with image nginx:1.25" in out.stdout
    assert f"write back the prior value of key password of Secret {shop}/db" in out.stdout
    assert image(kube, shop) == "nginx:1.25" and password(kube, shop) == prior
    assert prior.decode() not in out.stdout + out.stderr


def test_a_run_breaks_and_restores_both_and_no_value_reaches_the_journal_timeline_or_report(
        tmp_path: Path, kube: Client, shop: str, local_cluster: LocalCluster, prior: bytes) -> None:
    before = get(kube, Deployment, "web", shop).spec.template.to_dict()
    reports = tmp_path / "reports"
    out = run_harness("run", str(scenario(tmp_path, local_cluster, shop, "3s")), "--reports", str(reports),
                      cwd=tmp_path, env={"GAMEDAY_STATE_DIR": str(tmp_path / "state")}, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    run_dir = first_run_dir(reports)
    kinds = [e["kind"] for e in events(run_dir)]
    assert kinds.count("fault.effective") == 2 and kinds.count("fault.reverted") == 2
    rollouts = {e["details"]["phase"]: e["details"] for e in events(run_dir) if e["kind"] == "kubernetes.rollout"}
    assert rollouts["during"]["template"] == "bad deploy" and rollouts["during"]["complete"] is False
    assert rollouts["during"]["revision"] == "2" and rollouts["during"]["workload"] == f"Deployment {shop}/web"
    assert rollouts["after"]["template"] == "recorded" and rollouts["after"]["complete"] is True
    assert rollouts["after"]["revision"] == "3", "the recorded ReplicaSet, renumbered as the newest revision"
    assert password(kube, shop) == prior
    assert get(kube, Deployment, "web", shop).spec.template.to_dict() == before
    assert [s.metadata.name for s in listed(kube, Secret, shop)] == ["db"], "the backup is gone"
    assert {"journal.jsonl", "timeline.jsonl", "report.md", "report.html"} <= {p.name for p in run_dir.iterdir()}
    assert_nothing_holds(run_dir, prior, b"gameday-revoked-")
    assert_nothing_holds(tmp_path / "state", prior)
    assert prior.decode() not in out.stdout + out.stderr


def test_after_a_sigkill_of_harness_and_watchdog_cleanup_rolls_back_and_restores(
        tmp_path: Path, kube: Client, shop: str, local_cluster: LocalCluster, prior: bytes) -> None:
    reports, env = tmp_path / "reports", {"GAMEDAY_STATE_DIR": str(tmp_path / "state")}
    proc = harness_process("run", str(scenario(tmp_path, local_cluster, shop, "120s")), "--reports", str(reports),
                           cwd=tmp_path, env=env)
    try:
        wait_for("both faults to be injected",
                 lambda: [e["kind"] for e in _events(reports)].count("fault.injected") == 2)
        assert image(kube, shop).startswith("gameday.invalid/broken:") and password(kube, shop) != prior
        _kill_harness_and_watchdog(proc, reports)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
    assert image(kube, shop).startswith("gameday.invalid/broken:"), "nothing reverted it: harness and watchdog died"

    out = run_harness("cleanup", "--reports", str(reports), cwd=tmp_path, env=env, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("reverted") == 2, out.stdout
    assert image(kube, shop) == "nginx:1.25" and password(kube, shop) == prior
    assert [s.metadata.name for s in listed(kube, Secret, shop)] == ["db"]
    wait_for("web to be rolled back", lambda: rollout_state("Deployment", get(kube, Deployment, "web", shop))[0])
    assert_nothing_holds(reports, prior)
    again = run_harness("cleanup", "--reports", str(reports), cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stdout + again.stderr


def test_after_a_sigkill_of_the_harness_the_watchdog_alone_rolls_back_and_restores(
        tmp_path: Path, kube: Client, shop: str, local_cluster: LocalCluster, prior: bytes) -> None:
    reports, env = tmp_path / "reports", {"GAMEDAY_STATE_DIR": str(tmp_path / "state")}
    proc = harness_process("run", str(scenario(tmp_path, local_cluster, shop, "120s",
                                               safety={"heartbeat_timeout": "3s"})),
                           "--reports", str(reports), cwd=tmp_path, env=env)
    try:
        wait_for("both faults to be injected",
                 lambda: [e["kind"] for e in _events(reports)].count("fault.injected") == 2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
    wait_for("the watchdog to put both back", lambda: image(kube, shop) == "nginx:1.25" and password(kube, shop) == prior
             and [s.metadata.name for s in listed(kube, Secret, shop)] == ["db"])
    wait_for("the journal to hold nothing pending", lambda: not pending_faults(first_run_dir(reports) / "journal.jsonl"))
    assert_nothing_holds(reports, prior)


def _events(reports: Path) -> list[dict[str, Any]]:
    runs = [p for p in reports.glob("*") if (p / "timeline.jsonl").is_file()]
    return events(runs[0]) if runs else []


def _kill_harness_and_watchdog(proc: subprocess.Popen[str], reports: Path) -> None:
    for event in _events(reports):
        if event["kind"] == "watchdog.started":
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(event["details"]["pid"]), signal.SIGKILL)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
