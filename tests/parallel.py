"""How the suite would be split across pytest-xdist workers (``-n 4 --dist loadgroup --no-loadscope-reorder``).

NOT USED by the README or .ci/run yet: pytest-xdist 3.8's loadgroup appends the group to ``item._nodeid``, which
pytest 9.2 no longer reads (``Node.nodeid`` is built from ``_id``), so every test becomes its own unit and modules,
the demo stack's tests and the session clusters are spread over all workers (seen: a cluster per worker, one
module's stack copy on two workers at once). Until xdist follows, the suite runs in one process.

Each test module runs whole on one worker: its module-scoped fixtures (a compose project, a stack copy, a
cluster with a real node) are made once, and its tests that build on each other keep their order. Tests that
share one thing of the machine or of the session run together on one worker, in one unit:

- ``local-cluster`` and ``real-node-cluster``: every module with a test of the session's local Kubernetes or of its
  cluster with a real node (``tests/local_cluster.py``), found by the fixture it uses; one worker starts each
  cluster once instead of once a worker (and the real node's modules, which name their stacks alike, take turns).
- a module may name its own group with ``pytest.mark.xdist_group(name)``; ``demo-stack`` is the demo stack at
  its default ports and names (shipped scenarios and runbooks name them), which one test at a time may fault.

Units are handed out longest first, as far as can be known before running them: the named groups, then the
modules that drive real services (marked ``docker``, ``kubernetes`` or ``slow``), then the rest, each in
collection order. So a long unit never starts last and leaves one worker running alone at the end.

Without xdist (``pytest`` with no ``-n``) nothing here changes the order.
"""

from __future__ import annotations

import os

import pytest

SESSION_GROUPS = {"local_cluster": "local-cluster", "real_node_cluster": "real-node-cluster"}
"""Session fixtures that are one thing shared by their tests, and the group their modules run in (the first
listed wins for a module that uses both)."""
REAL_SERVICES = ("docker", "kubernetes", "slow")


def module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def unit_of(item: pytest.Item, shared: dict[str, str]) -> str:
    """The xdist group an item runs in: the one it names, that of a session fixture a test of its module uses,
    or its module's."""
    named = item.get_closest_marker("xdist_group")
    if named is not None:
        return str(named.args[0] if named.args else named.kwargs.get("name", "default"))
    module = module_of(item)
    return shared.get(module, module)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups into the node ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return
    shared: dict[str, str] = {}
    for fixture, group in SESSION_GROUPS.items():
        for item in items:
            if fixture in getattr(item, "fixturenames", ()):
                shared.setdefault(module_of(item), group)
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        unit = unit_of(item, shared)
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(unit))
        units.setdefault(unit, []).append(item)

    def rank(unit: str) -> int:
        if not units[unit][0].nodeid.startswith(unit):  # a named group, not a module
            return 0
        marked = any(item.get_closest_marker(m) for item in units[unit] for m in REAL_SERVICES)
        return 1 if marked else 2

    # Every worker sorts the same collection the same way (xdist checks the workers' collections agree).
    ordered = sorted(units, key=rank)  # stable: collection order within a rank
    items[:] = [item for unit in ordered for item in units[unit]]
