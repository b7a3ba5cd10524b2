"""How long the data-store faults take to break things and to put them back (issue 17, item 4).

    python -m benchmarks.datastore_faults --trials 10

Real servers only: a PostgreSQL cluster (max_connections 40) and a redis-server with maxmemory 100mb and
allkeys-lru, started on free 127.0.0.1 ports (gameday.testing.services). For each trial: prepare, inject,
then the time until the break is seen as the app meets it (a new connection refused; an insert that waits on
the lock; a new session read-only; a SET refused with OOM; a write that does not answer within 0.2 s), then
revert and the time until it works again. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import psycopg
import redis

from gameday.faults.base import FaultRegistry
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.testing.services import PostgresServer, RedisServer, postgres_server, redis_server

APP_PW = "bench-app-pw"


def spec(kind: str, **args: object) -> FaultSpec:
    return FaultSpec.model_validate({"kind": kind, "target": "t", "args": args, "duration": "30s"})


def app_problem(pg: PostgresServer) -> str | None:
    """What the role meets: None when it connects, starts read-write and writes without waiting."""
    try:
        with psycopg.connect(pg.url_for("app", APP_PW, "checkout"), connect_timeout=2, autocommit=True) as conn:
            if conn.execute("SHOW default_transaction_read_only").fetchone() != ("off",):
                return "read-only"
            conn.execute("SET lock_timeout = '50ms'")
            with conn.transaction(force_rollback=True):
                conn.execute("INSERT INTO orders VALUES (1)")
    except psycopg.Error as exc:
        return type(exc).__name__
    return None


def cache_problem(rs: RedisServer) -> str | None:
    try:
        with rs.client("app") as app:
            app.connection_pool.connection_kwargs["socket_timeout"] = 0.2
            app.set("bench", "1")
    except redis.exceptions.RedisError as exc:
        return type(exc).__name__
    return None


def wait(predicate: Callable[[], bool], timeout: float = 30.0) -> float:
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise RuntimeError("condition not met")
        time.sleep(0.002)
    return (time.perf_counter() - start) * 1000


def trial(kind: str, args: dict[str, Any], target: dict[str, str], env: dict[str, str],
          broken: Callable[[], bool]) -> tuple[float, float, float]:
    driver = FaultRegistry().create(kind, environ=env)
    stack = StackSpec.model_validate({"targets": {"t": target}})
    start = time.perf_counter()
    handle = driver.prepare(spec(kind, **args), stack)
    driver.inject(handle)
    injected = (time.perf_counter() - start) * 1000
    seen_broken = wait(broken)
    start = time.perf_counter()
    driver.revert(handle)
    reverted = (time.perf_counter() - start) * 1000
    seen_working = wait(lambda: not broken())
    return injected, seen_broken, reverted + seen_working


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=10)
    trials = parser.parse_args().trials
    with postgres_server(database="checkout") as pg, redis_server(users={"app": APP_PW}) as rs:
        pg.sql(f"CREATE ROLE app LOGIN PASSWORD '{APP_PW}'")
        pg.sql("CREATE TABLE orders (id int)", database="checkout")
        pg.sql("GRANT SELECT, INSERT ON orders TO app", database="checkout")
        with rs.client() as admin:
            admin.config_set("maxmemory", "100mb")
            admin.config_set("maxmemory-policy", "allkeys-lru")
        env = {"PG": pg.url_for(pg.admin_user, pg.admin_password, "checkout"), "REDIS": rs.admin_url}
        db = {"postgres_role": "app", "dsn_env": "PG"}
        cache = {"redis_user": "app", "dsn_env": "REDIS"}
        cases: list[tuple[str, str, dict[str, Any], dict[str, str], Callable[[], bool]]] = [
            ("db_connections_exhausted (37 sessions)", "db_connections_exhausted", {}, db,
             lambda: app_problem(pg) is not None),
            ("db_lock (exclusive)", "db_lock", {"table": "orders"}, db, lambda: app_problem(pg) is not None),
            ("db_read_only (role)", "db_read_only", {}, db, lambda: app_problem(pg) is not None),
            ("redis_maxmemory (1 byte)", "redis_maxmemory", {}, cache, lambda: cache_problem(rs) is not None),
            ("redis_pause (write)", "redis_pause", {"mode": "write"}, cache, lambda: cache_problem(rs) is not None),
        ]
        print("| fault | prepare+inject, median (min-max) ms | inject -> seen broken, median ms "
              "| revert -> seen working, median (min-max) ms | trials |")
        print("|---|---|---|---|---|")
        for label, kind, args, target, broken in cases:
            rows = [trial(kind, args, target, env, broken) for _ in range(trials)]
            cols = list(zip(*rows, strict=True))
            print(f"| {label} | {statistics.median(cols[0]):.0f} ({min(cols[0]):.0f}-{max(cols[0]):.0f}) | "
                  f"{statistics.median(cols[1]):.1f} | {statistics.median(cols[2]):.0f} "
                  f"({min(cols[2]):.0f}-{max(cols[2]):.0f}) | {trials} |", flush=True)


if __name__ == "__main__":
    main()
