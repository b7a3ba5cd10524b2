"""Shipped runbooks against the demo stack at its default ports: a real fault, the real runbook, judged.

Uses the default stack (label ``gameday.stack=demo``) because the shipped runbooks name its
containers and ports. If it is not up, it is brought up (and taken down again afterwards).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from gameday.clock import SystemClock
from gameday.faults.base import FaultHandle
from gameday.runbooks.execute import execute_runbook
from gameday.scenario.model import Scenario
from gameday.timeline import Timeline, read_timeline
from tests.demo_stack import SessionDemoStack

# The demo stack at its default ports is one per machine: its tests take turns (tests/parallel.py).
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.xdist_group("demo-stack")]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_env(default_demo_stack: SessionDemoStack, docker_client: Any) -> dict[str, str]:
    """The environment a responder has: the process's, plus the stack's env file (admin URLs)."""
    from gameday.stack.state import read_env_file

    # `up` also rewrites this state folder's env file from the running stack when another test (with another
    # state folder) brought the stack up.
    stack = default_demo_stack.up()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GAMEDAY_DEMO_")}
    return {**environ, **read_env_file(_mounted_env_file(docker_client) or stack.config.env_file)}


def _mounted_env_file(docker_client: Any) -> Path | None:
    """The env file the running stack was made with (its containers mount it), whoever brought it up."""
    from gameday.stack.parts import SECRETS_IN_CONTAINER

    attrs = docker_client.containers.get("gameday-demo-postgres").attrs
    sources = [m["Source"] for m in attrs.get("Mounts", []) if m.get("Destination") == SECRETS_IN_CONTAINER]
    return Path(sources[0]) if sources else None


def demo_scenario(name: str, fault: dict[str, Any]) -> Scenario:
    """A scenario on the demo stack with the shared target names and checkout's /health as the probe."""
    return Scenario.model_validate({
        "version": 1,
        "name": name,
        "stack": {
            "toxiproxy": {"url": "http://127.0.0.1:18474"},
            "targets": {
                "checkout": {"container": "gameday-demo-checkout"},
                "postgres": {"container": "gameday-demo-postgres"},
                "postgres-path": {"proxy": "postgres"},
                "redis-path": {"proxy": "redis"},
                "checkout-spool": {"container": "gameday-demo-checkout"},
                "checkout-db-role": {"postgres_role": "checkout", "dsn_env": "GAMEDAY_DEMO_PG_ADMIN_DSN"},
                "checkout-cache-user": {"redis_user": "checkout", "dsn_env": "GAMEDAY_DEMO_REDIS_ADMIN_URL"},
            },
        },
        "steady_state": {"probes": [{"name": "checkout-health",
                                     "http": {"url": "http://127.0.0.1:18080/health", "max_latency": "1s",
                                              "timeout": "3s"},
                                     "interval": "500ms"}]},
        "faults": [fault],
        "expect": {"recovers_within": "40s"},
    }, strict=False)


def wait_green(scenario: Scenario, timeout: float = 60.0) -> None:
    import time

    from gameday.observe.probes import Prober

    prober = Prober()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if all(prober.check(p).ok for p in scenario.steady_state.probes):
                return
            time.sleep(0.5)
    finally:
        prober.close()
    pytest.fail("the demo stack's checkout is not healthy; another test may be holding a fault on it")


def run_against_fault(driver: Any, scenario: Scenario, book: str, env: dict[str, str], tmp_path: Path) -> Any:
    wait_green(scenario)
    handle: FaultHandle = driver.prepare(scenario.faults[0], scenario.stack)
    timeline = Timeline(tmp_path / "timeline.jsonl", SystemClock())
    try:
        driver.inject(handle)
        timeline.record("fault.injected", fault=handle.description)
        verdict = execute_runbook(REPO / "runbooks" / book, scenario=scenario, timeline=timeline, env=env,
                                  clock=SystemClock(), settle_s=1.0)
    finally:
        timeline.close()
        driver.revert(handle)  # idempotent: a no-op when the runbook already fixed it
    return verdict


SCENARIO_FAULTS: dict[str, dict[str, Any]] = {
    "checkout-db-down": {"kind": "container_kill", "target": "postgres"},
    "checkout-db-latency": {"kind": "latency", "target": "postgres-path", "args": {"latency": "1500ms"}},
    "checkout-cache-flaky": {"kind": "reset_peer", "target": "redis-path", "args": {"timeout": "0s"}},
    "checkout-disk-full": {"kind": "disk_fill", "target": "checkout-spool",
                           "args": {"path": "/var/lib/checkout/spool", "percent_used": 100, "floor_percent": 0,
                                    "floor_bytes": "0B"}},
    "checkout-db-credentials-revoked": {"kind": "revoke_credentials", "target": "checkout-db-role",
                                        "args": {"terminate_sessions": True}},
    "checkout-cache-credentials-revoked": {"kind": "revoke_credentials", "target": "checkout-cache-user",
                                           "args": {"terminate_sessions": True}},
    "database-connections-exhausted": {"kind": "db_connections_exhausted", "target": "checkout-db-role",
                                       "args": {"terminate_sessions": True}},
    "database-lock-contention": {"kind": "db_lock", "target": "checkout-db-role", "args": {"table": "orders"}},
    "database-read-only": {"kind": "db_read_only", "target": "checkout-db-role", "args": {"terminate_sessions": True}},
    "cache-out-of-memory": {"kind": "redis_maxmemory", "target": "checkout-cache-user", "args": {"maxmemory": 1}},
    "cache-unresponsive": {"kind": "redis_pause", "target": "checkout-cache-user", "args": {"mode": "write"}},
}
"""Each demo scenario's fault, as the scenario files use it (a longer duration: the runbook gets the time), by
the runbook that serves it (the data-store scenarios name their alert's runbook)."""
ADMIN_URL_KINDS = ("revoke_credentials", "db_connections_exhausted", "db_lock", "db_read_only", "redis_maxmemory",
                   "redis_pause")


@pytest.mark.parametrize("name", list(SCENARIO_FAULTS))
def test_each_shipped_scenario_runbook_restores_checkout_after_its_fault(
    name: str, demo_env: dict[str, str], tmp_path: Path
) -> None:
    from gameday.faults.base import FaultRegistry

    fault = {**SCENARIO_FAULTS[name], "duration": "90s"}
    kind = fault["kind"]
    options = {"environ": demo_env} if kind in ADMIN_URL_KINDS else {}
    driver = FaultRegistry().create(kind, **options)
    verdict = run_against_fault(driver, demo_scenario(name, fault), f"{name}.md", demo_env, tmp_path)

    assert verdict.works, (verdict.reason, [(s.step, s.outcome, s.output[-300:]) for s in verdict.steps])
    assert verdict.restored_by == "runbook"
    moved = [s.step for s in verdict.steps if s.outcome == "done" and not s.idle]
    assert moved, "some step of the runbook turned the probe green"
    record = (tmp_path / "timeline.jsonl").read_text(encoding="utf-8")
    secrets = [v for k, v in demo_env.items()
               if k.startswith("GAMEDAY_DEMO_") and any(w in k for w in ("PASSWORD", "DSN", "URL")) and len(v) > 3]
    assert secrets and not [s for s in secrets if s in record], "a stack secret reached the timeline"
    assert [e.kind for e in read_timeline(tmp_path / "timeline.jsonl")][-1] == "runbook.judged"


def test_the_credentials_runbook_uses_the_granted_admin_url(demo_env: dict[str, str], tmp_path: Path) -> None:
    from gameday.faults.credentials import RevokeCredentials

    fault = {**SCENARIO_FAULTS["checkout-db-credentials-revoked"], "duration": "90s"}
    verdict = run_against_fault(RevokeCredentials(environ=demo_env), demo_scenario("creds", fault),
                                "checkout-db-credentials-revoked.md", demo_env, tmp_path)

    login = verdict.steps[1]
    assert login.outcome == "done" and "checkout|f" in login.output, "psql saw the role with its login revoked"
    assert verdict.works
