"""The RBAC manifest (manifests/gameday-rbac.yaml) is enough and says what is missing: on the session's local
cluster (RBAC on), a kubeconfig for gameday's ServiceAccount made by scripts/serviceaccount-kubeconfig.sh (a
TokenRequest token) runs every Kubernetes fault kind's prepare, inject, check and revert, the kubernetes probe
and the cluster events recorder, with nothing refused (each shipped shop scenario with the harness alone reverting:
the only such run of them, test_shipped_scenarios runs them with their runbooks); a Role without ``patch`` on Deployments makes scale and
rollout_break fail with one line naming the missing permission."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client

from gameday.cluster.manager import LocalCluster
from tests.helpers import events, run_harness
from tests.kubernetes.shop import (
    RBAC,
    ROOT,
    SHOP,
    assert_as_declared,
    harness_alone,
    kubectl,
    run_passes,
    shipped_tree,
)

pytestmark = pytest.mark.kubernetes

# The two kinds no shipped scenario uses, on the same workload.
EXTRA: dict[str, dict[str, Any]] = {
    "shop-node-cordon": {"kind": "node_cordon", "target": "shop-node"},
    "shop-web-isolated": {"kind": "network_isolate", "target": "web", "args": {"direction": "both"}},
}


@pytest.fixture(scope="module")
def sa_kubeconfig(local_cluster: LocalCluster, shop: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The manifest applied as docs/kubernetes.md says, and a kubeconfig for its ServiceAccount made by the script."""
    applied = kubectl(local_cluster, "apply", "-f", str(RBAC))
    assert applied.returncode == 0, applied.stderr
    out = tmp_path_factory.mktemp("sa") / "gameday.kubeconfig"
    env = {**os.environ, "KUBECONFIG": str(local_cluster.config.kubeconfig),
           "KUBECTL": str(local_cluster.config.bin_dir / "kubectl")}
    made = subprocess.run(["sh", str(ROOT / "scripts" / "serviceaccount-kubeconfig.sh"), str(out), "1h"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert made.returncode == 0, made.stderr
    assert "as ServiceAccount gameday/gameday" in made.stderr and oct(out.stat().st_mode & 0o777) == "0o600"
    try:
        yield out
    finally:
        kubectl(local_cluster, "delete", "-f", str(RBAC), "--wait=true", "--timeout=120s")


def test_the_kubeconfig_acts_as_the_service_account_and_not_as_admin(local_cluster: LocalCluster,
                                                                     sa_kubeconfig: Path) -> None:
    config = yaml.safe_load(sa_kubeconfig.read_text())
    assert config["current-context"] == "gameday-local"  # the stack file's context stays the same
    assert kubectl(local_cluster, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}",
                   kubeconfig=sa_kubeconfig).stdout == "system:serviceaccount:gameday:gameday"
    for verb, what in (("get", "secrets -n default"), ("delete", "deployments -n kube-system"),
                       ("create", "clusterrolebindings"), ("delete", "nodes")):
        answer = kubectl(local_cluster, "auth", "can-i", verb, *what.split(), kubeconfig=sa_kubeconfig)
        assert answer.stdout.strip() == "no", f"{verb} {what}"


@pytest.fixture(scope="module")
def sa_tree(tmp_path_factory: pytest.TempPathFactory, sa_kubeconfig: Path) -> Path:
    tree = shipped_tree(tmp_path_factory.mktemp("rbac"), sa_kubeconfig)
    for name, fault in EXTRA.items():
        (tree / "scenarios" / f"{name}.yaml").write_text(yaml.safe_dump({
            "version": 1, "name": name, "stack": "local-cluster",
            "steady_state": {"probes": [{"name": "web-available", "interval": "500ms",
                                         "kubernetes": {"target": "web", "available_replicas": {"at_least": 3}}}],
                             "healthy_checks": 2, "timeout": "60s"},
            "faults": [{"name": name, "duration": "3s", **fault}], "expect": {"recovers_within": "60s"}}))
    return tree


@pytest.mark.parametrize("name", [p.stem for p in SHOP] + sorted(EXTRA))
def test_every_kind_runs_through_the_service_account_with_nothing_refused(
        name: str, sa_tree: Path, local_cluster: LocalCluster, kube: Client, tmp_path: Path) -> None:
    scenario = sa_tree / "scenarios" / f"{name}.yaml"
    if name not in EXTRA:
        scenario = harness_alone(scenario)
    plan = run_harness("plan", str(scenario), cwd=sa_tree)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    run_dir = run_passes(sa_tree, local_cluster, scenario, tmp_path / "reports")
    timeline = events(run_dir)
    summaries = [e for e in timeline if e["kind"] == "kubernetes.events_summary"]
    assert summaries and summaries[-1]["details"]["errors"] == [], summaries
    checks = [e for e in timeline if e["kind"] == "probe.checked"]
    assert checks and not [e for e in checks if "403" in str(e["details"].get("error", ""))]
    assert_as_declared(kube)


@pytest.fixture
def role_without_patch(local_cluster: LocalCluster, sa_kubeconfig: Path, tmp_path: Path) -> Iterator[None]:
    """The manifest's Role with ``patch`` taken off Deployments and their scale subresource; put back after."""
    docs = list(yaml.safe_load_all(RBAC.read_text()))
    role = next(d for d in docs if d["kind"] == "Role")
    for rule in role["rules"]:
        if "deployments" in rule["resources"] or "deployments/scale" in rule["resources"]:
            rule["verbs"] = [v for v in rule["verbs"] if v != "patch"]
    narrowed = tmp_path / "role.yaml"
    narrowed.write_text(yaml.safe_dump(role))
    assert kubectl(local_cluster, "apply", "-f", str(narrowed)).returncode == 0
    try:
        yield
    finally:
        assert kubectl(local_cluster, "apply", "-f", str(RBAC)).returncode == 0


@pytest.mark.parametrize(("name", "resource"), [("shop-web-scaled-to-zero", "deployments/scale"),
                                                ("shop-web-bad-rollout", "deployments")])
def test_a_missing_verb_is_one_line_naming_the_permission(
        name: str, resource: str, sa_tree: Path, role_without_patch: None, local_cluster: LocalCluster,
        kube: Client, tmp_path: Path) -> None:
    out = run_harness("run", str(harness_alone(sa_tree / "scenarios" / f"{name}.yaml")), "--reports",
                      str(tmp_path / "reports"), cwd=sa_tree, env={"GAMEDAY_STATE_DIR": str(tmp_path / "state")},
                      timeout=300)
    text = out.stdout + out.stderr
    assert out.returncode == 2 and "Traceback" not in text, text[-3000:]
    errors = [line for line in out.stderr.splitlines() if line.startswith("gameday: error:")]
    assert len(errors) == 1, out.stderr
    assert f'cannot patch resource "{resource}" in API group "apps" in the namespace "shop"' in errors[0]
    assert "the kubeconfig's user lacks the RBAC permission" in errors[0]
    assert_as_declared(kube)
