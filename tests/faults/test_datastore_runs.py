"""The five data-store faults through the real harness: a whole run, and a SIGKILL that only the watchdog mends.

A held fault (connections, a lock) lives in the harness process: its SIGKILL ends the sessions, and with them
the fault. The watchdog still finds every fault pending in the journal, reverts each from its handle (for the
held ones: ends any tagged session left, checks none remains) and records it, so the report says who did it.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gameday.testing.services import PostgresServer, RedisServer, postgres_server, redis_server
from tests.faults.test_credentials import (
    assert_no_secret_in,
    gameday,
    kill_harness_and_watchdog,
    wait_for_events,
)
from tests.helpers import events, first_run_dir, harness_process, stack_file, write_scenario

APP_PW = "KNOWN-app-secret-31c9"
KINDS = ("db_lock", "db_read_only", "db_connections_exhausted", "redis_maxmemory", "redis_pause")


@pytest.fixture(scope="module")
def services() -> Iterator[tuple[PostgresServer, PostgresServer, RedisServer]]:
    """Servers of this module's own (the exhaustion takes every ordinary slot of one of them)."""
    with postgres_server(database="checkout") as pg, postgres_server(database="checkout") as small, \
            redis_server(users={"app": APP_PW}) as rs:
        for server in (pg, small):
            server.sql(f"CREATE ROLE app LOGIN PASSWORD '{APP_PW}'")
        pg.sql("CREATE TABLE orders (id int)", database="checkout")
        pg.sql("GRANT SELECT, INSERT ON orders TO app", database="checkout")
        yield pg, small, rs


def env_for(services: tuple[PostgresServer, PostgresServer, RedisServer], tmp_path: Path) -> dict[str, str]:
    pg, small, rs = services
    return {"T_PG_ADMIN": pg.url_for(pg.admin_user, pg.admin_password, "checkout"),
            "T_PG_SMALL": small.url_for(small.admin_user, small.admin_password, "checkout"),
            "T_REDIS_ADMIN": rs.admin_url, "GAMEDAY_STATE_DIR": str(tmp_path / "state")}


def scenario(tmp_path: Path, services: tuple[PostgresServer, PostgresServer, RedisServer], duration: str) -> Path:
    pg, _, rs = services
    targets = {"db": {"postgres_role": "app", "dsn_env": "T_PG_ADMIN"},
               "db-small": {"postgres_role": "app", "dsn_env": "T_PG_SMALL"},
               "cache": {"redis_user": "app", "dsn_env": "T_REDIS_ADMIN"}}
    faults: list[dict[str, Any]] = [{"kind": "db_lock", "target": "db", "args": {"table": "orders"}},
              {"kind": "db_read_only", "target": "db"},
              {"kind": "db_connections_exhausted", "target": "db-small"},
              {"kind": "redis_maxmemory", "target": "cache"},
              {"kind": "redis_pause", "target": "cache"}]
    return write_scenario(
        tmp_path / "stores.yaml", version=1, name="data-stores",
        stack=stack_file(tmp_path, "stores", {"targets": targets}, {"postgres": ["app"], "redis": ["app"]}),
        steady_state={"probes": [{"name": "pg", "tcp": {"port": pg.port}, "interval": "200ms"},
                                 {"name": "redis", "tcp": {"port": rs.port}, "interval": "200ms"}]},
        faults=[{**f, "duration": duration} for f in faults],
        expect={"recovers_within": "10s"},
    )


def state(services: tuple[PostgresServer, PostgresServer, RedisServer]) -> dict[str, Any]:
    """What the five faults change, read from the servers themselves."""
    pg, small, rs = services
    with rs.client() as admin:
        config = (admin.config_get("maxmemory")["maxmemory"], admin.config_get("maxmemory-policy")["maxmemory-policy"])
    return {
        "held": sum(int(str(server.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE "
                                       "'gameday-hold %%'", ())[0][0])) for server in (pg, small)),
        "locks": pg.sql("SELECT count(*) FROM pg_locks WHERE relation = 'orders'::regclass", database="checkout")[0][0],
        "settings": pg.sql("SELECT setconfig FROM pg_db_role_setting"),
        "redis": config,
    }


def test_a_run_breaks_all_five_and_restores_them_with_no_secret_in_its_records(
    tmp_path: Path, services: tuple[PostgresServer, PostgresServer, RedisServer]
) -> None:
    before = state(services)
    env = env_for(services, tmp_path)
    out = gameday("run", str(scenario(tmp_path, services, "2s")), "--reports", str(tmp_path / "reports"),
                  cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    run_dir = first_run_dir(tmp_path / "reports")
    kinds = [e["kind"] for e in events(run_dir)]
    assert kinds.count("fault.effective") == 5 and kinds.count("fault.reverted") == 5
    assert state(services) == before
    pg, small, rs = services
    assert_no_secret_in(tmp_path / "reports", APP_PW, pg.admin_password, small.admin_password, rs.admin_password)
    assert pg.admin_password not in out.stdout + out.stderr


def test_plan_says_what_each_does_what_is_left_and_that_the_harness_holds_them(
    tmp_path: Path, services: tuple[PostgresServer, PostgresServer, RedisServer]
) -> None:
    out = gameday("plan", str(scenario(tmp_path, services, "30s")), cwd=tmp_path, env=env_for(services, tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    text = " ".join(out.stdout.split())
    assert "3 reserved for superusers" in text and text.count("held by the harness process") == 2
    assert "RESET default_transaction_read_only (it was not set)" in text
    assert "maxmemory-policy noeviction" in text and "CLIENT PAUSE 30000 WRITE" in text
    assert services[0].admin_password not in out.stdout + out.stderr


def test_after_a_sigkill_the_held_faults_end_with_the_harness_and_the_watchdog_reverts_and_records_all_five(
    tmp_path: Path, services: tuple[PostgresServer, PostgresServer, RedisServer]
) -> None:
    before = state(services)
    reports = tmp_path / "reports"
    proc = harness_process("run", str(scenario(tmp_path, services, "60s")), "--reports", str(reports),
                           cwd=tmp_path, env=env_for(services, tmp_path))
    try:
        wait_for_events(reports, "fault.injected", 5)
        during = state(services)
        assert during["held"] > 30 and during["locks"] == 1 and during["redis"] == ("1", "noeviction")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
    journal = first_run_dir(reports) / "journal.jsonl"
    deadline = time.monotonic() + 40
    while journal.read_text().count('"by": "watchdog"') < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert journal.read_text().count('"by": "watchdog"') == 5
    assert state(services) == before
    reverted = [e for e in events(first_run_dir(reports)) if e["kind"] == "fault.reverted"]
    assert sorted(e["actor"] for e in reverted) == ["watchdog"] * 5
    pg, small, rs = services
    assert_no_secret_in(reports, APP_PW, pg.admin_password, small.admin_password, rs.admin_password)


def test_with_the_watchdog_killed_too_the_settings_stay_broken_until_cleanup_puts_all_five_back(
    tmp_path: Path, services: tuple[PostgresServer, PostgresServer, RedisServer]
) -> None:
    before = state(services)
    reports = tmp_path / "reports"
    env = env_for(services, tmp_path)
    proc = harness_process("run", str(scenario(tmp_path, services, "60s")), "--reports", str(reports),
                           cwd=tmp_path, env=env)
    try:
        wait_for_events(reports, "fault.injected", 5)
        kill_harness_and_watchdog(proc, reports)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
    deadline = time.monotonic() + 10
    while state(services)["held"] and time.monotonic() < deadline:  # the server notices the closed sockets
        time.sleep(0.05)
    left = state(services)
    assert left["held"] == 0 and left["locks"] == 0  # gone with the harness: nobody holds them any more
    assert left["settings"] != before["settings"] and left["redis"] == ("1", "noeviction")  # these outlive it
    out = gameday("cleanup", "--reports", str(reports), cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("reverted") == 5
    assert state(services) == before
    assert services[0].admin_password not in out.stdout + out.stderr
