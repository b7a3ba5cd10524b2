"""A real local control plane for every test that needs one (the cluster module's, the Kubernetes platform's and
its faults'), one per session: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok on free 127.0.0.1 ports, in a temporary state folder. Skipped, saying why, only
when the binaries are not built (scripts/setup.sh builds them, so CI has them)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from gameday.cluster.config import ClusterConfig
from gameday.cluster.manager import PARTS, LocalCluster
from gameday.errors import EnvironmentProblem
from gameday.testing import free_ports


def cluster_config(state_dir: Path, *, nodes: int = 2) -> ClusterConfig:
    """The configured binaries, with free ports and a state folder of the test's own."""
    base = ClusterConfig.from_env(os.environ)
    try:
        for part in PARTS:
            base.binary(part)
    except EnvironmentProblem as exc:
        pytest.skip(f"local Kubernetes not built: {exc}")
    etcd, peer, api, kcm, sched, kwok = free_ports(6)
    return replace(base, state_dir=state_dir, etcd_port=etcd, etcd_peer_port=peer, apiserver_port=api,
                   controller_manager_port=kcm, scheduler_port=sched, kwok_port=kwok, nodes=nodes)


@pytest.fixture(scope="session")
def local_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """One cluster for the session (a first start takes 10-60 s); stopped at the end whatever happened."""
    cluster = LocalCluster(cluster_config(tmp_path_factory.mktemp("cluster")))
    try:
        cluster.up(timeout=300)
        yield cluster
    finally:
        cluster.down()
