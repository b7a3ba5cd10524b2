"""The shipped shop workload on the session's local cluster (``manifests/shop.yaml``, ``stacks/local-cluster.yaml``,
``scenarios/shop-*.yaml``), for the tests that run the shipped scenarios and the RBAC manifest: kubectl as a user
runs it, the state the manifest declares, and a copy of the shipped files whose stack names another kubeconfig."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from lightkube import Client
from lightkube.resources.apps_v1 import Deployment, StatefulSet
from lightkube.resources.core_v1 import Node, Secret

from gameday.cluster.manager import LocalCluster
from gameday.engine.journal import pending_faults
from gameday.kubernetes.faults.rollout import rollout_state
from tests.helpers import events, only_run_dir, run_harness
from tests.kubernetes.workloads import get, listed, wait_for

ROOT = Path(__file__).resolve().parents[2]
SHOP = sorted((ROOT / "scenarios").glob("shop-*.yaml"))
STACK = ROOT / "stacks" / "local-cluster.yaml"
MANIFEST = ROOT / "manifests" / "shop.yaml"
RBAC = ROOT / "manifests" / "gameday-rbac.yaml"
USERS_KUBECONFIG = 'kubeconfig: "~/.local/state/gameday/cluster/kubeconfig"'
PASSWORD = b"shop-local-only"
NODES = ("shop-node-0", "shop-node-1")


def kubectl(cluster: LocalCluster, *args: str, kubeconfig: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The kubectl the build made (Debian's 1.20 is too old), on the session's cluster."""
    return subprocess.run([str(cluster.config.bin_dir / "kubectl"), "--kubeconfig",
                           str(kubeconfig or cluster.config.kubeconfig), *args],
                          capture_output=True, text=True, timeout=180, check=False)


def assert_as_declared(kube: Client) -> None:
    """The shop as manifests/shop.yaml declares it: web rolled out with 3 available replicas of its image, db's 2
    pods ready, the password in place with no backup beside it, both nodes schedulable and unmarked."""
    def web_settled() -> bool:
        web = get(kube, Deployment, "web", "shop")
        return bool(rollout_state("Deployment", web)[0]) and (web.status.availableReplicas or 0) == 3
    wait_for("web rolled out with 3 available replicas", web_settled)
    wait_for("db's 2 pods ready", lambda: (get(kube, StatefulSet, "db", "shop").status.readyReplicas or 0) == 2)
    web = get(kube, Deployment, "web", "shop")
    assert web.spec.replicas == 3
    assert [c.image for c in web.spec.template.spec.containers] == ["shop.local/web:1"]
    assert "gameday.fault-token" not in (web.spec.template.metadata.annotations or {})
    assert base64.b64decode(get(kube, Secret, "db-credentials", "shop").data["password"]) == PASSWORD
    assert [s.metadata.name for s in listed(kube, Secret, "shop")] == ["db-credentials"]
    for name in NODES:
        node: Any = kube.get(Node, name)
        assert not node.spec.unschedulable, f"{name} is still cordoned"
        assert not any(k.startswith("gameday.io/") for k in node.metadata.annotations or {}), name
    assert not list(kube.list(_network_policy(), namespace="shop")), "a NetworkPolicy is left"


def _network_policy() -> Any:
    from lightkube.resources.networking_v1 import NetworkPolicy

    return NetworkPolicy


def shipped_tree(folder: Path, kubeconfig: Path) -> Path:
    """The shipped scenarios, runbooks, manifests and stack file in ``folder``, the stack naming ``kubeconfig``."""
    for sub, pattern in (("scenarios", "shop-*.yaml"), ("runbooks", "shop-*.md"), ("manifests", "*.yaml")):
        (folder / sub).mkdir(parents=True)
        for path in (ROOT / sub).glob(pattern):
            shutil.copy(path, folder / sub / path.name)
    text = STACK.read_text()
    assert USERS_KUBECONFIG in text
    (folder / "stacks").mkdir()
    (folder / "stacks" / STACK.name).write_text(text.replace(USERS_KUBECONFIG, f"kubeconfig: {kubeconfig}"))
    return folder


def harness_alone(shipped: Path) -> Path:
    """A copy of a shipped scenario with no runbook and a 5 s fault window: the harness alone reverts. (The drain
    keeps its 30 s: its drain timeout, 20 s, must be shorter than the window.)"""
    alone = shipped.with_name(f"{shipped.stem}-alone.yaml")
    alone.write_text("".join(line for line in shipped.read_text().splitlines(keepends=True)
                             if not line.startswith("runbook:"))
                     .replace(f"name: {shipped.stem}\n", f"name: {shipped.stem}-alone\n")
                     .replace("duration: 20s\n", "duration: 5s\n"))
    return alone


def run_passes(tree: Path, cluster: LocalCluster, scenario: Path, reports: Path) -> Path:
    """``gameday run`` of the scenario passes, each fault took effect and was reverted, the journal holds nothing
    pending and the Secret's value is nowhere in the run folder; the run folder. Runbook commands get the built
    kubectl on PATH and the session cluster's KUBECONFIG, as docs/kubernetes.md tells a user to set them."""
    env = {"PATH": f"{cluster.config.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "KUBECONFIG": str(cluster.config.kubeconfig), "GAMEDAY_STATE_DIR": str(reports.parent / "state")}
    out = run_harness("run", str(scenario), "--reports", str(reports), cwd=tree, env=env, timeout=300)
    run_dir = only_run_dir(reports)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:] + (run_dir / "report.md").read_text()[-3000:]
    kinds = [e["kind"] for e in events(run_dir)]
    assert kinds.count("fault.effective") == kinds.count("fault.reverted") == 1, kinds
    assert not pending_faults(run_dir / "journal.jsonl")
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert PASSWORD not in path.read_bytes(), f"the Secret's value is in {path.name}"
    return run_dir
