"""tests/parallel.py, the split of the suite across xdist workers: each module whole in one group, the modules of
a shared session fixture in its group, a group a module names kept, and the long units first."""

from __future__ import annotations

import pytest

TREE = {
    "conftest.py": """
import pytest
from tests.parallel import pytest_collection_modifyitems  # noqa: F401

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
    items = recorded.getcalls("pytest_collection_finish")[0].session.items  # as modifyitems left them
    marks = [item.get_closest_marker("xdist_group") for item in items]
    return [f"{item.nodeid} @{mark.args[0] if mark else '-'}" for item, mark in zip(items, marks, strict=True)]


def test_on_a_worker_modules_stay_whole_shared_things_are_one_group_and_long_units_go_first(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    assert groups_in_order(pytester, monkeypatch, worker=True) == [
        "test_b_cluster.py::test_uses @local-cluster",
        "test_b_cluster.py::test_same_module_without_it @local-cluster",  # the whole module, with its cluster
        "test_e_cluster_too.py::test_also @local-cluster",
        "test_d_demo.py::test_demo @demo-stack",
        "test_c_docker.py::test_kill @test_c_docker.py",                   # real services before the rest
        "test_a_plain.py::test_one @test_a_plain.py",
        "test_a_plain.py::test_two @test_a_plain.py",
    ]


def test_without_xdist_the_order_and_marks_are_untouched(pytester: pytest.Pytester,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    assert groups_in_order(pytester, monkeypatch, worker=False) == [
        "test_a_plain.py::test_one @-", "test_a_plain.py::test_two @-",
        "test_b_cluster.py::test_uses @-", "test_b_cluster.py::test_same_module_without_it @-",
        "test_c_docker.py::test_kill @-", "test_d_demo.py::test_demo @demo-stack", "test_e_cluster_too.py::test_also @-",
    ]
