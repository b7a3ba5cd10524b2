"""`gameday validate` catches node and network faults aimed at the wrong kind of object, at their line, without a
cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from gameday.cli.main import main

SCENARIO = """\
version: 1
name: k8s-wrong
stack:
  targets:
    web: {platform: kubernetes, namespace: shop, kind: Deployment, name: web}
    pod: {platform: kubernetes, namespace: shop, kind: Pod, name: web-0}
    pool: {platform: kubernetes, kind: Node, match_labels: {pool: batch}}
faults:
  - {kind: node_cordon, target: web, duration: 30s}
  - {kind: network_isolate, target: pod, duration: 30s}
  - {kind: network_isolate, target: pool, duration: 30s}
  - {kind: node_drain, target: pool, duration: 30s, args: {count: 1, percent: 50}}
  - {kind: node_drain, target: pool, duration: 30s, args: {count: 1, timeout: 10s}}
  - {kind: network_isolate, target: web, duration: 30s, args: {direction: sideways}}
"""


def test_wrong_kinds_and_args_are_named_at_their_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "k8s-wrong.yaml"
    path.write_text(SCENARIO)
    assert main(["validate", str(path)]) == 1
    captured = capsys.readouterr()
    err = captured.out + captured.err
    assert f"{path}:9:" in err and "node_cordon acts on nodes (kind: Node); 'web' is a Deployment" in err
    assert f"{path}:10:" in err and "a NetworkPolicy selects pods by label, not by name" in err
    assert f"{path}:11:" in err and "network_isolate acts on a workload's pods" in err
    assert f"{path}:12:" in err and "give count or percent, not both" in err
    assert f"{path}:13:" not in err
    assert f"{path}:14:" in err and "direction" in err


def test_a_drain_timeout_that_outlives_the_fault_is_named_at_its_argument(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "drain-too-long.yaml"
    path.write_text(SCENARIO.split("faults:")[0] + (
        "faults:\n"
        "  - {kind: node_drain, target: pool, duration: 30s, args: {timeout: 2m}}\n"
        "  - {kind: node_drain, target: pool, duration: 30s, args: {timeout: 29s}}\n"))
    assert main(["validate", str(path)]) == 1
    captured = capsys.readouterr()
    err = captured.out + captured.err
    assert f"{path}:9:" in err and "node_drain's timeout (120s) must be shorter than the fault's duration (30s)" in err
    assert f"{path}:9:69: faults[0].args.timeout: " in err
    assert f"{path}:10:" not in err


def test_a_namespace_on_a_node_target_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "node-namespace.yaml"
    path.write_text(SCENARIO.replace("pool: {platform: kubernetes, kind: Node,",
                                     "pool: {platform: kubernetes, namespace: shop, kind: Node,"))
    assert main(["validate", str(path)]) == 1
    captured = capsys.readouterr()
    err = captured.out + captured.err
    assert f"{path}:7:" in err and "a Node is in no namespace" in err


@pytest.mark.parametrize(("entry", "shown"), [
    ("shop/web/extra", "is not <namespace>/<name>"),
    ("/web", "is not <namespace>/<name>"),
    ("shop/", "is not <namespace>/<name>"),
    ("Shop/Web", "has characters no Kubernetes name or glob has"),
])
def test_a_malformed_kubernetes_allow_entry_is_named_at_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: str, shown: str) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "shop.yaml").write_text(
        "version: 1\nname: shop\nplatform: kubernetes\n"
        "targets:\n  web: {platform: kubernetes, namespace: shop, kind: Deployment, name: web}\n"
        f"allow:\n  kubernetes:\n    - shop/*\n    - {entry!r}\n")
    path = tmp_path / "scenario.yaml"
    path.write_text("version: 1\nname: allow-check\nstack: shop\n"
                    "faults:\n  - {kind: pod_delete, target: web, duration: 30s}\n")
    assert main(["validate", str(path)]) == 1
    captured = capsys.readouterr()
    err = captured.out + captured.err
    assert "shop.yaml:9:" in err and shown in err, err
    assert "shop.yaml:8:" not in err


def test_faults_that_run_commands_in_a_container_refuse_a_secret_or_node_at_validate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "exec-wrong.yaml"
    path.write_text(
        "version: 1\nname: k8s-exec-wrong\nstack:\n  targets:\n"
        "    sec: {platform: kubernetes, namespace: shop, kind: Secret, name: db}\n"
        "    nodes: {platform: kubernetes, kind: Node, match_labels: {pool: a}}\n"
        "    db: {platform: kubernetes, namespace: shop, kind: StatefulSet, name: db}\n"
        "faults:\n"
        "  - {kind: disk_fill, target: sec, duration: 30s, args: {path: /data, percent_used: 90}}\n"
        "  - {kind: revoke_credentials, target: nodes, duration: 30s, args: {role: app, socket_dir: /tmp}}\n"
        "  - {kind: disk_fill, target: db, duration: 30s, args: {path: /data, percent_used: 90}}\n"
        "  - {kind: revoke_credentials, target: db, duration: 30s, args: {role: app, socket_dir: /tmp}}\n")
    assert main(["validate", str(path)]) == 1
    captured = capsys.readouterr()
    err = captured.out + captured.err
    assert f"{path}:9:" in err and "target 'sec' is a Secret, which has no container to run a command in" in err
    assert f"{path}:10:" in err and "target 'nodes' is a Node, which has no container" in err
    assert f"{path}:11:" not in err and f"{path}:12:" not in err, err
