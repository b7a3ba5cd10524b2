"""Fixtures for tests against the session's local cluster (tests/local_cluster.py): a client, and a namespace
of the test's own (unique name, deleted afterwards), so tests never see each other's objects."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
from lightkube import ApiError, Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Namespace

from gameday.cluster.manager import LocalCluster
from gameday.kubernetes.client import close_all
from tests.kubernetes.helpers import client_of
from tests.kubernetes.kit import NodePool
from tests.kubernetes.shop import MANIFEST, NODES, assert_as_declared, kubectl


@pytest.fixture(scope="session")
def kube(local_cluster: LocalCluster) -> Iterator[Client]:
    """An admin client of the local cluster (the tests' own, apart from gameday's)."""
    with client_of(local_cluster) as client:
        yield client


@pytest.fixture(scope="session", autouse=True)
def _close_gameday_clients() -> Iterator[None]:
    """gameday keeps one client per cluster for the process; closed at the end (else an unclosed socket warns)."""
    yield
    close_all()


@pytest.fixture
def namespace(kube: Client) -> Iterator[str]:
    """A fresh namespace with no labels; a test labels it (or its objects) as it needs."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    kube.create(Namespace(metadata=ObjectMeta(name=name)))
    yield name
    with contextlib.suppress(ApiError):
        kube.delete(Namespace, name)


@pytest.fixture
def node_pool(kube: Client) -> Iterator[NodePool]:
    """Kwok nodes of the test's own (``node_pool.add(n)``), tainted for its pods only; deleted afterwards. Node
    faults change nodes, so they never touch the shared kwok-node-*."""
    pool = NodePool(kube, uuid.uuid4().hex[:8])
    try:
        yield pool
    finally:
        pool.delete()


@pytest.fixture(scope="session")
def shop(local_cluster: LocalCluster, kube: Client) -> Iterator[None]:
    """The shipped shop workload (manifests/shop.yaml), applied with the command docs/kubernetes.md gives; deleted
    as it says at the end of the session (the namespace, then the nodes)."""
    applied = kubectl(local_cluster, "apply", "-f", str(MANIFEST))
    assert applied.returncode == 0, applied.stderr
    try:
        assert_as_declared(kube)
        yield
    finally:
        kubectl(local_cluster, "delete", "namespace", "shop", "--timeout=120s")
        kubectl(local_cluster, "delete", "node", *NODES)
