"""disk_fill and revoke_credentials inside real pods: the demo stack on the local cluster's real node, each fault
prepared, injected and reverted by its driver through the API server's exec (kubectl), judged from outside by
checkout's /health, ``kubectl exec`` of our own and a PostgreSQL login over TCP.

The session's cluster with a real node (tests/local_cluster.py) and one copy of the demo stack (its own name and
ports) for the module."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gameday.cluster.manager import LocalCluster
from gameday.errors import EnvironmentProblem
from gameday.faults.credentials import RevokeCredentials
from gameday.faults.disk import FILL_PREFIX, DiskFill
from gameday.kubernetes.client import close_all
from gameday.scenario.loader import load_scenario
from gameday.stack.config import StackConfig
from gameday.stack.kubernetes_stack import KubernetesStack
from gameday.stack.node_images import ensure_node_images
from gameday.testing import free_ports
from tests.stack.conftest import PORT_VARS

pytestmark = [pytest.mark.kubernetes, pytest.mark.slow, pytest.mark.docker]

ROOT = Path(__file__).resolve().parents[2]
SPOOL = "/var/lib/checkout/spool"


@dataclass
class Demo:
    stack: KubernetesStack
    environ: dict[str, str]
    folder: Path
    """Holds stacks/demo-kubernetes.yaml for this stack (``gameday stack file``) and the test's scenarios."""

    @property
    def namespace(self) -> str:
        return self.stack.namespace

    def kubectl(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cluster = self.stack.cluster
        done = subprocess.run([str(cluster.config.binary("kubectl")), f"--kubeconfig={cluster.config.kubeconfig}",
                               "-n", self.namespace, *argv], capture_output=True, text=True, timeout=60, check=False)
        assert not check or done.returncode == 0, done.stderr
        return done

    def pod(self, part: str) -> str:
        found = json.loads(self.kubectl("get", "pods", "-l", f"gameday.part={part}", "-o", "json").stdout)["items"]
        live = [p for p in found if not p["metadata"].get("deletionTimestamp") and p["status"].get("phase") == "Running"]
        assert len(live) == 1, [p["metadata"]["name"] for p in found]
        return str(live[0]["metadata"]["name"])

    def health(self) -> int:
        config = self.stack.config
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(config.url(config.checkout_port, "/health"), timeout=5, trust_env=False).status_code
        return 0

    def scenario(self, name: str, fault: str) -> Any:
        path = self.folder / "scenarios" / f"{name}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"version: 1\nname: {name}\nstack: demo-kubernetes\nfaults:\n{fault}", encoding="utf-8")
        return load_scenario(path)


def until(predicate: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, EnvironmentProblem, AssertionError, KeyError, ValueError):
            value = predicate()
            if value:
                return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout:g} s: {what}")


@pytest.fixture(scope="module")
def demo(real_node_cluster: LocalCluster, docker_client: Any, demo_images: list[str]) -> Iterator[Demo]:
    """A copy of the demo stack of the module's own (name, ports) on the session's real node, and its stack file."""
    cluster = real_node_cluster
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GAMEDAY_DEMO_", "GAMEDAY_CLUSTER_"))}
    # Named demo, as the shipped runbooks' namespace (gameday-demo) says; the namespace is the session cluster's own
    # and no other module's stack lives at the same time.
    environ |= {"GAMEDAY_DEMO_STACK": "demo", "GAMEDAY_STATE_DIR": str(cluster.config.state_dir.parent),
                "KUBECONFIG": str(cluster.config.kubeconfig),
                "PATH": f"{cluster.config.binary('kubectl').parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for var, port in zip(PORT_VARS, free_ports(len(PORT_VARS)), strict=True):
        environ[f"GAMEDAY_DEMO_{var}_PORT"] = str(port)
    stack = KubernetesStack(StackConfig.from_env(environ), cluster,
                            prepare=lambda: ensure_node_images(docker_client, cluster.node, demo_images))
    folder = Path(tempfile.mkdtemp(prefix="kpods-", dir=cluster.config.state_dir.parent))
    (folder / "stacks").mkdir()
    try:
        stack.up(timeout=300)
        written = subprocess.run([sys.executable, "-m", "gameday", "stack", "file", "--platform", "kubernetes", "-o",
                                  "stacks/demo-kubernetes.yaml"], env=environ, cwd=folder, capture_output=True,
                                 text=True, timeout=120, check=False)
        assert written.returncode == 0, written.stderr
        yield Demo(stack, environ, folder)
    finally:
        close_all()  # gameday's own clients of this cluster
        with contextlib.suppress(Exception):
            stack.down()


def spool_files(demo: Demo) -> list[str]:
    out = demo.kubectl("exec", demo.pod("checkout"), "-c", "checkout", "--", "ls", "-a", SPOOL).stdout
    return [name for name in out.split() if name.startswith(FILL_PREFIX)]


def spool_free(demo: Demo) -> int:
    out = demo.kubectl("exec", demo.pod("checkout"), "-c", "checkout", "--", "stat", "-f", "-c", "%a %S", SPOOL).stdout
    blocks, size = out.split()
    return int(blocks) * int(size)


FILL = f"""  - {{name: fill, kind: disk_fill, target: checkout-spool, duration: 10s,
     args: {{path: {SPOOL}, free_left: 0B, floor_bytes: 0B, floor_percent: 0}}}}
"""


def test_disk_fill_fills_checkouts_spool_in_its_pod_and_revert_deletes_exactly_its_file(demo: Demo) -> None:
    until(lambda: demo.health() == 200, "checkout is healthy")
    before = spool_free(demo)
    scenario = demo.scenario("fill-spool", FILL)
    driver = DiskFill()
    handle = driver.prepare(scenario.faults[0], scenario.stack)
    assert handle.data["where"] == "pod" and handle.data["ephemeral"] is True, "an emptyDir goes with its pod"
    assert handle.address["pod"] == demo.pod("checkout") and handle.address["kind"] == "Deployment"
    assert handle.resource.endswith(f"/{demo.namespace}/Deployment/checkout")
    json.dumps(handle.to_json())  # journallable as it is
    assert spool_files(demo) == [], "prepare writes nothing"

    driver.inject(handle)
    try:
        assert driver.check(handle)
        assert [f"{SPOOL}/{f}" for f in spool_files(demo)] == handle.data["files"]
        assert spool_free(demo) == 0
        until(lambda: demo.health() == 503, "checkout's /health says the spool is full", timeout=30)
    finally:
        driver.revert(handle)
    assert spool_files(demo) == []
    assert spool_free(demo) >= before - 1024 * 1024
    until(lambda: demo.health() == 200, "checkout is healthy again", timeout=30)
    driver.revert(handle)  # again, as cleanup may: nothing left to do, no error


def test_disk_fill_revert_after_checkouts_pod_was_replaced_has_nothing_left_to_delete(demo: Demo) -> None:
    until(lambda: demo.health() == 200, "checkout is healthy")
    scenario = demo.scenario("fill-spool-replaced", FILL)
    driver = DiskFill()
    handle = driver.prepare(scenario.faults[0], scenario.stack)
    driver.inject(handle)
    old = handle.address["pod"]
    demo.kubectl("delete", "pod", old, "--wait=false")
    until(lambda: demo.pod("checkout") != old, "the Deployment made a new checkout pod")
    assert "nothing to do if the pod was replaced" in driver.describe_revert(handle)

    driver.revert(handle)

    assert spool_files(demo) == [], "the new pod's spool is a new volume"
    until(lambda: demo.health() == 200, "checkout is healthy again")


def can_log_in(demo: Demo, role: str, password: str) -> str:
    """'ok', or PostgreSQL's refusal: a login over TCP, as checkout makes it (psql in the postgres pod)."""
    port = demo.stack.config.postgres_port
    done = demo.kubectl("exec", demo.pod("postgres"), "-c", "postgres", "--", "env", f"PGPASSWORD={password}",
                        "psql", "-X", "-At", "-h", "127.0.0.1", "-p", str(port), "-U", role, "-d", "checkout", "-c",
                        "SELECT 'ok'", check=False)
    return done.stdout.strip() if done.returncode == 0 else done.stderr.strip()


def test_revoke_credentials_in_the_postgres_pod_takes_the_roles_login_and_gives_it_back(demo: Demo) -> None:
    until(lambda: demo.health() == 200, "checkout is healthy")
    env = dict(line.split("=", 1) for line in demo.stack.config.env_file.read_text().splitlines() if "=" in line)
    password = env["GAMEDAY_DEMO_PG_CHECKOUT_PASSWORD"]
    assert can_log_in(demo, "checkout", password) == "ok"
    scenario = demo.scenario("revoke-login", """  - {name: revoke, kind: revoke_credentials, target: postgres,
     duration: 10s, args: {role: checkout, terminate_sessions: true, socket_dir: /tmp/pgsock}}
""")
    driver = RevokeCredentials()
    handle = driver.prepare(scenario.faults[0], scenario.stack)
    assert password not in json.dumps({"data": handle.data, "address": handle.address}, default=str)
    assert handle.address["pod"] == "postgres-0" and handle.resource.endswith("/StatefulSet/postgres")

    driver.inject(handle)
    try:
        assert driver.check(handle)
        assert "not permitted to log in" in can_log_in(demo, "checkout", password)
        until(lambda: demo.health() == 503, "checkout's /health names postgres", timeout=30)
    finally:
        driver.revert(handle)
    assert not driver.check(handle)
    assert can_log_in(demo, "checkout", password) == "ok"
    until(lambda: demo.health() == 200, "checkout is healthy again", timeout=30)
    driver.revert(handle)  # harmless to repeat


def test_revoke_credentials_in_a_pod_refuses_a_role_that_is_not_there_and_the_superuser(demo: Demo) -> None:
    from gameday.errors import FaultError, TargetError

    driver = RevokeCredentials()
    for role, error, words in (("nobody-here", TargetError, "does not exist"),
                               ("postgres", FaultError, "lock out the revert")):
        scenario = demo.scenario(f"revoke-{role}", f"""  - {{name: revoke, kind: revoke_credentials, target: postgres,
     duration: 10s, args: {{role: {role}, socket_dir: /tmp/pgsock}}}}
""")
        with pytest.raises(error, match=words):
            driver.prepare(scenario.faults[0], scenario.stack)


@pytest.mark.parametrize("scenario", ["checkout-disk-full-kubernetes", "checkout-db-credentials-revoked-kubernetes"])
def test_the_shipped_scenario_passes_on_the_real_node_and_its_runbook_restores_checkout(demo: Demo, scenario: str) -> None:
    """The scenario as shipped, with its runbook (the build's kubectl) followed against the live fault: the alert
    pages, the runbook restores checkout, the harness's revert finds nothing broken."""
    until(lambda: demo.health() == 200, "checkout is healthy")
    for sub, name in (("scenarios", f"{scenario}.yaml"), ("runbooks", f"{scenario}.md")):
        (demo.folder / sub).mkdir(exist_ok=True)
        shutil.copy(ROOT / sub / name, demo.folder / sub / name)
    reports = demo.folder / "reports"
    done = subprocess.run([sys.executable, "-m", "gameday", "run", f"scenarios/{scenario}.yaml", "--reports",
                           str(reports)], env={**demo.environ, "COLUMNS": "200"}, cwd=demo.folder,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    (run,) = [p for p in reports.iterdir() if scenario in p.name]
    events = [json.loads(line) for line in (run / "timeline.jsonl").read_text().splitlines()]
    judged = [e["details"] for e in events if e["kind"] == "runbook.judged"]
    assert judged and judged[0]["restored"] is True and judged[0]["failing_steps"] == [], judged
    assert spool_files(demo) == []
