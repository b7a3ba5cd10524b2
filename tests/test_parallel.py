"""tests/parallel.py, the split of the suite across xdist workers: each module whole in one group, the modules of
a shared session fixture in its group, a group a module names kept, and the long units first."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

TREE = {
    "conftest.py": """
import pytest

pytest_plugins = ["tests.parallel"]

@pytest.fixture(scope="session")
def local_cluster():
    return "cluster"
""",
    "test_a_plain.py": "def test_one():\n    pass\n\ndef test_two():\n    pass\n",
    "test_b_cluster.py": "def test_uses(local_cluster):\n    pass\n\ndef test_same_module_without_it():\n    pass\n",
    "test_c_docker.py": "import pytest\n\npytestmark = pytest.mark.docker\n\ndef test_kill():\n    pass\n",
    "test_d_demo.py": "import pytest\n\npytestmark = pytest.mark.xdist_group('demo-stack')\n\ndef test_demo():\n    pass\n",
    "test_e_cluster_too.py": "def test_also(local_cluster):\n    pass\n",
}


def groups_in_order(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *, worker: bool) -> list[str]:
    pytester.makepyfile(**TREE)
    pytester.makeini("[pytest]\nmarkers =\n    docker: d\n    xdist_group(name): g\n")
    if worker:
        monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw0")
    else:
        monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    recorded = pytester.inline_run("--collect-only", "-p", "no:cacheprovider")
    return [item.nodeid for item in recorded.getcalls("pytest_collection_finish")[0].session.items]


def test_on_a_worker_the_units_come_whole_and_long_ones_first(pytester: pytest.Pytester,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert groups_in_order(pytester, monkeypatch, worker=True) == [
        "test_b_cluster.py::test_uses",
        "test_b_cluster.py::test_same_module_without_it",  # the whole module, with its cluster
        "test_e_cluster_too.py::test_also",                # local-cluster
        "test_d_demo.py::test_demo",                       # demo-stack
        "test_c_docker.py::test_kill",                     # real services before the rest
        "test_a_plain.py::test_one",
        "test_a_plain.py::test_two",
    ]


def test_without_xdist_the_order_is_untouched(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    assert groups_in_order(pytester, monkeypatch, worker=False) == [
        "test_a_plain.py::test_one", "test_a_plain.py::test_two",
        "test_b_cluster.py::test_uses", "test_b_cluster.py::test_same_module_without_it",
        "test_c_docker.py::test_kill", "test_d_demo.py::test_demo", "test_e_cluster_too.py::test_also",
    ]


RECORDING = """
import os

import pytest


@pytest.fixture(autouse=True)
def _record(request):
    with open(os.environ["RAN_LOG"], "a") as log:
        log.write(f"{os.environ['PYTEST_XDIST_WORKER']} {request.node.nodeid}\\n")
"""


def test_with_workers_every_unit_runs_whole_on_one_worker_and_the_long_ones_are_handed_out_first(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = dict(TREE)
    tree["conftest.py"] += RECORDING
    for name in "fghij":  # more units than workers, so a worker takes several
        tree[f"test_{name}_plain.py"] = "".join(f"def test_{i}():\n    pass\n\n" for i in range(4))
    tree["test_k_demo_too.py"] = "import pytest\n\npytestmark = pytest.mark.xdist_group('demo-stack')\n\n" + \
        "".join(f"def test_{i}():\n    pass\n\n" for i in range(3))
    pytester.makepyfile(**tree)
    pytester.makeini("[pytest]\nmarkers =\n    docker: d\n    xdist_group(name): g\n")
    log, report = pytester.path / "ran.log", pytester.path / "units.json"
    monkeypatch.setenv("RAN_LOG", str(log))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # tests.parallel, imported by the tree's conftest
    result = pytester.run(sys.executable, "-m", "pytest", "-n", "3", "-p", "no:cacheprovider",
                          "--units-report", str(report), timeout=300)
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    unit_of = {"test_b_cluster.py": "local-cluster", "test_e_cluster_too.py": "local-cluster",
               "test_d_demo.py": "demo-stack", "test_k_demo_too.py": "demo-stack"}
    workers: dict[str, set[str]] = defaultdict(set)
    lines = log.read_text().splitlines()
    for line in lines:
        worker, nodeid = line.split(" ", 1)
        module = nodeid.split("::", 1)[0]
        workers[unit_of.get(module, module)].add(worker)
    assert len(lines) == 30
    assert {unit: len(w) for unit, w in workers.items()} == dict.fromkeys(workers, 1), dict(workers)
    ran = json.loads(report.read_text())
    assert [entry["unit"] for entry in ran][:3] == ["local-cluster", "demo-stack", "test_c_docker.py"]
    assert {entry["unit"]: (entry["workers"], entry["tests"]) for entry in ran}["demo-stack"] == \
        ([next(iter(workers["demo-stack"]))], 4)
    assert "units per worker (tests/parallel.py)" in result.stdout.str()


DEMO_MODULE = "import pytest\n\npytestmark = pytest.mark.xdist_group('demo-stack')\n\ndef test_on_the_stack():\n    pass\n"


def test_a_demo_stack_module_waits_for_the_machine_wide_lock_another_session_holds(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import fcntl
    import tempfile

    import tests.parallel

    pytester.makepyfile(conftest="pytest_plugins = ['tests.parallel']\n", test_demo=DEMO_MODULE)
    pytester.makeini("[pytest]\nmarkers =\n    xdist_group(name): g\n")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(tests.parallel, "MACHINE_WAIT_S", 1.0)
    lock = tmp_path / "gameday-demo-stack.lock"
    with lock.open("w") as held:
        held.write("pid 1, the other session\n")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX)
        refused = pytester.inline_run("-p", "no:cacheprovider")
    assert refused.countoutcomes() == [0, 0, 1]
    (report,) = refused.getfailures()
    assert f"{lock} is still held after 1 s (by pid 1, the other session)" in str(report.longrepr)
    ran = pytester.inline_run("-p", "no:cacheprovider")  # released: the module runs, and says who holds the lock
    assert ran.countoutcomes() == [1, 0, 0]
    assert "test_demo.py" in lock.read_text()
