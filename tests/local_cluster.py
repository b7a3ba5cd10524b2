"""A real local control plane for every test that needs one (the cluster module's, the Kubernetes platform's and
its faults'), one per session: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok on free 127.0.0.1 ports, in a temporary state folder. Skipped, saying why, only
when the binaries are not built (scripts/setup.sh builds them, so CI has them).

``real_node_cluster`` is a second one, with a real node (containerd and a kubelet of its own), for the tests that
run real containers (the demo stack on Kubernetes, the demo game day on it); one per session, because the first
copy of the demo images into its containerd takes a minute."""

from __future__ import annotations

import os
import shutil
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


def require_real_node() -> None:
    """Skip where a real node cannot run (not root); fail where it should (root, but setup.sh was not run),
    so a machine without containerd never passes the real-node tests by skipping them."""
    if os.geteuid() != 0:
        pytest.skip("the real node needs root (a kubelet and a containerd of its own)")
    if shutil.which("containerd") is None:
        pytest.fail("the real node needs containerd: run scripts/setup.sh (it installs Debian's containerd)")


@pytest.fixture(scope="session")
def real_node_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A cluster with the real node ``gameday-node-0``, in ``<tmp>/cluster``: the CLI finds it with
    ``GAMEDAY_STATE_DIR=<tmp>`` (``cluster.config.state_dir.parent``). Several tests' stacks may run on it at once,
    each under its own name and ports; stopped at the end whatever happened."""
    require_real_node()
    config = cluster_config(tmp_path_factory.mktemp("realnode") / "cluster", nodes=1)
    kubelet, healthz, stream = free_ports(3)
    cluster = LocalCluster(replace(config, real_node=True, kubelet_port=kubelet, kubelet_healthz_port=healthz,
                                   containerd_stream_port=stream))
    try:
        cluster.up(timeout=300)
        yield cluster
    finally:
        cluster.down()
