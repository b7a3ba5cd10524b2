"""How the suite is split across pytest-xdist workers (``pytest -n 4``): a scheduler of our own.

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
The longest unit sets the floor: ``real-node-cluster`` took 470-640 s of a 525-715 s run on four workers, and the
other three workers' loads came within 20 s of it: by those seconds, more workers would not shorten the run and three
would lengthen it (about 2,000-2,600 s of work in all).

Why not xdist's ``--dist loadgroup``: xdist 3.8 appends the group to ``item._nodeid``, which pytest 9.2 no longer
reads (``Node.nodeid`` is built from ``_id``), so every test became its own unit and a module's tests and the
session clusters were spread over all workers. Here the workers compute each test's unit where they have the
items (its marks and fixtures) and write it to a file the controller named for them (the controller sees only
node ids); ``UnitScheduling`` hands out whole units from that table. A unit runs on one worker and nowhere else.

``--units-report PATH`` writes, for every unit, the worker that ran it, its tests and their seconds (JSON).
Without xdist (``pytest`` with no ``-n``) nothing here changes the order.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

SESSION_GROUPS = {"local_cluster": "local-cluster", "real_node_cluster": "real-node-cluster"}
"""Session fixtures that are one thing shared by their tests, and the group their modules run in (the first
listed wins for a module that uses both)."""
REAL_SERVICES = ("docker", "kubernetes", "slow")
MACHINE_WIDE = {"demo-stack": "gameday-demo-stack.lock"}
"""Groups whose one thing is one per machine, not per session, and the lock file (in the temporary folder) a module
of the group holds while it runs, so two sessions (two people's runs, CI beside a developer) take turns."""
MACHINE_WAIT_S = 1800.0
UNITS_FILE = "gameday_units_file"
"""The ``workerinput`` key naming the file a worker writes its table of ``node id -> unit`` to."""
_units_dir = pytest.StashKey[Path]()
_scheduler = pytest.StashKey["UnitScheduling"]()
_ran = pytest.StashKey[dict[str, tuple[str, float]]]()


def module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def unit_of(item: pytest.Item, shared: dict[str, str]) -> str:
    """The unit an item runs in: the group it names, that of a session fixture a test of its module uses, or its
    module."""
    named = item.get_closest_marker("xdist_group")
    if named is not None:
        return str(named.args[0] if named.args else named.kwargs.get("name", "default"))
    module = module_of(item)
    return shared.get(module, module)


@pytest.fixture(scope="module", autouse=True)
def _one_session_at_a_time(request: pytest.FixtureRequest) -> Iterator[None]:
    """A module of a machine-wide group (``demo-stack``: the demo stack at its default names and ports) waits for the
    machine's lock before its own fixtures bring the thing up, and holds it until its last test is done."""
    mark = request.node.get_closest_marker("xdist_group")
    lock_name = MACHINE_WIDE.get(str(mark.args[0])) if mark is not None and mark.args else None
    if lock_name is None:
        yield
        return
    path = Path(tempfile.gettempdir()) / lock_name
    with path.open("a+") as lock:
        deadline = time.monotonic() + MACHINE_WAIT_S
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    lock.seek(0)
                    pytest.fail(f"{path} is still held after {MACHINE_WAIT_S:.0f} s (by {lock.read().strip()})")
                time.sleep(0.5)
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}, {request.node.nodeid}\n")
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--units-report", metavar="PATH", default=None,
                     help="with -n: write which worker ran each unit of tests/parallel.py, and its seconds (JSON)")


@pytest.hookimpl(tryfirst=True)
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
        units.setdefault(unit_of(item, shared), []).append(item)

    def rank(unit: str) -> int:
        if not units[unit][0].nodeid.startswith(unit):  # a named group, not a module
            return 0
        marked = any(item.get_closest_marker(m) for item in units[unit] for m in REAL_SERVICES)
        return 1 if marked else 2

    # Every worker sorts the same collection the same way (xdist checks the workers' collections agree), and the
    # scheduler hands units out in this order.
    ordered = sorted(units, key=rank)  # stable: collection order within a rank
    items[:] = [item for unit in ordered for item in units[unit]]
    target = getattr(config, "workerinput", {}).get(UNITS_FILE)
    if target is not None:  # written before the worker reports its collection, so the controller can read it then
        table = {item.nodeid: unit for unit in ordered for item in units[unit]}
        partial = Path(f"{target}.part")
        partial.write_text(json.dumps(table))
        partial.replace(target)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Controller: name the file each worker writes its units to."""
    config: pytest.Config = node.config
    if _units_dir not in config.stash:
        config.stash[_units_dir] = Path(tempfile.mkdtemp(prefix="gameday-units-"))
    node.workerinput[UNITS_FILE] = str(config.stash[_units_dir] / f"{node.gateway.id}.json")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Controller: our scheduler for xdist's load modes (``-n`` alone means ``--dist load``); ``each`` and
    ``worksteal`` stay xdist's."""
    if config.getvalue("dist") not in ("load", "loadscope", "loadfile", "loadgroup"):
        return None
    scheduler = UnitScheduling(config, log)
    config.stash[_scheduler] = scheduler
    return scheduler


def pytest_unconfigure(config: pytest.Config) -> None:
    if _units_dir in config.stash:
        shutil.rmtree(config.stash[_units_dir], ignore_errors=True)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Controller: which worker ran each test, and for how long (setup, call and teardown)."""
    node = getattr(report, "node", None)  # set by xdist on the reports it relays from a worker
    if node is not None:
        ran = node.config.stash.setdefault(_ran, {})
        worker, seconds = ran.get(report.nodeid, (node.gateway.id, 0.0))
        ran[report.nodeid] = (worker, seconds + report.duration)


def units_ran(units: dict[str, str], ran: dict[str, tuple[str, float]], order: list[str]) -> list[dict[str, Any]]:
    """Every unit that ran, in the order they were handed out: its workers (one, unless the scheduler split it), its number
    of tests and their seconds."""
    out: dict[str, dict[str, Any]] = {}
    for nodeid, (worker, seconds) in ran.items():
        entry = out.setdefault(units.get(nodeid, nodeid), {"workers": [], "tests": 0, "seconds": 0.0})
        if worker not in entry["workers"]:
            entry["workers"].append(worker)
        entry["tests"] += 1
        entry["seconds"] += seconds
    rank = {unit: i for i, unit in enumerate(order)}
    return [{"unit": unit, **entry, "seconds": round(entry["seconds"], 1)}
            for unit, entry in sorted(out.items(), key=lambda kv: rank.get(kv[0], len(rank)))]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if _scheduler not in config.stash:
        return
    scheduler = config.stash[_scheduler]
    report = units_ran(scheduler.units, config.stash.get(_ran, {}), scheduler.handed_out)
    terminalreporter.section("units per worker (tests/parallel.py)")
    for worker in sorted({w for entry in report for w in entry["workers"]}):
        mine = [e for e in report if worker in e["workers"]]
        slowest = sorted(mine, key=lambda e: -e["seconds"])[:3]
        terminalreporter.write_line(f"{worker}: {len(mine)} units, {sum(e['seconds'] for e in mine):.0f} s; "
                                    "slowest: " + ", ".join(f"{e['unit']} {e['seconds']:.0f} s" for e in slowest))
    for entry in report:
        if len(entry["workers"]) > 1:
            terminalreporter.write_line(f"unit {entry['unit']} was split over {', '.join(entry['workers'])}", red=True)
    path = config.getoption("--units-report")
    if path:
        Path(path).write_text(json.dumps(report, indent=1))


class UnitScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist is untyped
    """xdist's scope scheduling with our units as the scopes, in the workers' order (longest first)."""

    def __init__(self, config: pytest.Config, log: Any) -> None:
        super().__init__(config, log)
        # The workers already put the units longest first; xdist would re-sort them by their number of tests.
        config.option.loadscopereorder = False
        self.units: dict[str, str] = {}
        self.handed_out: list[str] = []

    def schedule(self) -> None:
        if self.collection is None:
            self.units = self._read_units()
        super().schedule()

    def _read_units(self) -> dict[str, str]:
        nodes = list(self.registered_collections)
        table: dict[str, str] = json.loads(Path(nodes[0].workerinput[UNITS_FILE]).read_text())
        collected = self.registered_collections[nodes[0]]
        if list(table) != list(collected):
            raise RuntimeError(f"tests/parallel.py: worker {nodes[0].gateway.id}'s table of units does not match "
                               f"its collection ({len(table)} against {len(collected)} tests)")
        return table

    def _split_scope(self, nodeid: str) -> str:
        return self.units[nodeid]

    def _assign_work_unit(self, node: Any) -> None:
        self.handed_out.append(next(iter(self.workqueue)))  # the unit xdist pops next
        super()._assign_work_unit(node)
