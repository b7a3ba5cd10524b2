"""`gameday validate` on the shipped Kubernetes scenarios' files, made wrong: each bad field of a Kubernetes target
(kind, namespace, name) is one line at its file, line and column, without a cluster."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gameday.cli.main import main
from tests.kubernetes.shop import ROOT, STACK


def column(text: str, line: int, needle: str) -> int:
    return text.splitlines()[line - 1].index(needle) + 1


def test_a_bad_kind_namespace_or_name_in_the_shipped_stack_is_named_at_its_line_and_column(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "scenarios").mkdir()
    shutil.copy(ROOT / "scenarios" / "shop-web-pod-delete.yaml", tmp_path / "scenarios")
    shutil.copy(ROOT / "runbooks" / "shop-pods-lost.md", tmp_path / "scenarios")
    scenario = tmp_path / "scenarios" / "shop-web-pod-delete.yaml"
    scenario.write_text(scenario.read_text().replace("../runbooks/", ""))
    text = (STACK.read_text()
            .replace("namespace: shop, kind: Deployment, name: web,", "namespace: shop, kind: Deploymnet, name: web,")
            .replace("namespace: shop, kind: StatefulSet, name: db,", "namespace: Shop_1, kind: StatefulSet, name: db,")
            .replace("kind: Secret, name: db-credentials,", "kind: Secret, name: DB_credentials,"))
    stack = tmp_path / "stacks" / "local-cluster.yaml"
    stack.write_text(text)
    lines = text.splitlines()
    web, db, secret = (next(i for i, line in enumerate(lines, 1) if line.startswith(f"  {name}:"))
                       for name in ("web", "db", "db-credentials"))

    assert main(["validate", str(scenario)]) == 1
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert "Traceback" not in out
    assert f"{stack}:{web}:{column(text, web, 'Deploymnet')}: targets.web.kind: " in out, out
    assert f"{stack}:{db}:{column(text, db, 'Shop_1')}: targets.db.namespace: 'Shop_1' is not a Kubernetes name" in out
    assert (f"{stack}:{secret}:{column(text, secret, 'DB_credentials')}: targets.db-credentials.name: "
            "'DB_credentials' is not a Kubernetes object name") in out


def test_a_fault_on_the_wrong_kind_of_shipped_target_is_named_at_the_scenario_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "stacks").mkdir()
    shutil.copy(STACK, tmp_path / "stacks")
    shutil.copy(ROOT / "runbooks" / "shop-web-no-replicas.md", tmp_path)
    scenario = tmp_path / "shop-web-scaled-to-zero.yaml"
    text = (ROOT / "scenarios" / "shop-web-scaled-to-zero.yaml").read_text().replace("../runbooks/", "")
    scenario.write_text(text.replace("    target: web\n", "    target: db-credentials\n"))
    line = scenario.read_text().splitlines().index("    target: db-credentials") + 1
    assert main(["validate", str(scenario)]) == 1
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert f"{scenario}:{line}:13: faults[0].target: " in out and "Secret" in out, out
