"""The shipped Kubernetes scenarios (``scenarios/shop-*.yaml`` on ``stacks/local-cluster.yaml``, the workload in
``manifests/shop.yaml``): valid and clean under runbook lint and coverage; and each run end to end against the
session's local cluster with its runbook followed, passing, with the cluster put back as the manifest declares it.
Each run with the harness alone reverting (a 5 s window) is test_rbac_manifest's, through gameday's least-privilege
ServiceAccount: what passes there passes as the admin too, so it is not run twice.

The stack file names the user's local cluster (``~/.local/state/gameday/cluster/kubeconfig``); the runs use a copy
of the shipped files whose stack names the session's cluster instead (tests/kubernetes/shop.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lightkube import Client

from gameday.cli.main import main
from gameday.cluster.manager import LocalCluster
from gameday.scenario.loader import load_scenario
from tests.kubernetes.shop import (
    ROOT,
    SHOP,
    STACK,
    assert_as_declared,
    run_passes,
    shipped_tree,
)

pytestmark = pytest.mark.kubernetes


def test_there_is_one_shop_scenario_per_fault_family_each_naming_a_shop_runbook() -> None:
    kinds = {}
    for path in SHOP:
        scenario = load_scenario(path)
        assert scenario.name == path.stem and scenario.stack.name == "local-cluster"
        assert scenario.runbook is not None and (path.parent / scenario.runbook).is_file()
        kinds[scenario.faults[0].kind] = path.stem
    assert set(kinds) == {"pod_delete", "scale", "rollout_break", "node_drain", "secret_revoke"}


def test_validate_runbook_lint_and_coverage_are_clean_on_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", *map(str, SHOP), str(STACK)]) == 0
    runbooks = sorted({str(ROOT / "runbooks" / Path(str(load_scenario(p).runbook)).name) for p in SHOP})
    assert len(runbooks) == len(SHOP)
    assert main(["runbook", "lint", "--strict", *runbooks]) == 0
    capsys.readouterr()
    main(["runbook", "coverage", "--scenarios", str(ROOT / "scenarios"), "--runbooks", str(ROOT / "runbooks")])
    coverage = capsys.readouterr()
    assert [line for line in (coverage.out + coverage.err).splitlines() if "shop" in line and
            ("error" in line or "warning" in line)] == []


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory, local_cluster: LocalCluster) -> Path:
    return shipped_tree(tmp_path_factory.mktemp("shipped"), local_cluster.config.kubeconfig)


@pytest.mark.parametrize("name", [p.stem for p in SHOP])
def test_a_shipped_scenario_passes_with_its_runbook_followed(
        name: str, tree: Path, shop: None, local_cluster: LocalCluster, kube: Client, tmp_path: Path) -> None:
    shipped = tree / "scenarios" / f"{name}.yaml"
    run_dir = run_passes(tree, local_cluster, shipped, tmp_path / "runbook" / "reports")
    report = (run_dir / "report.md").read_text()
    assert "| runbook restores service | met |" in report, report[-3000:]
    assert "failed none, skipped none, missing none; service restored: yes" in report
    assert_as_declared(kube)
