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
