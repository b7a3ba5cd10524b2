"""How long disk_fill and revoke_credentials take to break things and to put them back (issue 6).

    python benchmarks/disk_credentials.py --trials 10

Real servers only: a PostgreSQL cluster and a redis-server started on free 127.0.0.1 ports
(gameday.testing.services), a 64 MiB tmpfs mounted under /tmp (needs root), and a token file. For each trial:
prepare, inject, then the time until the break is seen from outside (a login refused, AUTH refused,
ENOSPC on write, a changed file), then revert and the time until it works again. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import redis

from gameday.faults.credentials import RevokeCredentials
from gameday.faults.disk import DiskFill
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.testing.services import postgres_server, redis_server

SECRET = "bench-secret-pw"


def spec(kind: str, **args: object) -> FaultSpec:
    return FaultSpec.model_validate({"kind": kind, "target": "t", "args": args, "duration": "1s"})


def stack(target: dict[str, str]) -> StackSpec:
    return StackSpec.model_validate({"targets": {"t": target}})


def wait(predicate: Callable[[], bool], timeout: float = 10) -> float:
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise RuntimeError("condition not met")
        time.sleep(0.001)
    return (time.perf_counter() - start) * 1000


def trial(driver: object, fault: FaultSpec, where: StackSpec, broken: Callable[[], bool]) -> tuple[float, float, float]:
    """(prepare+inject ms, inject -> seen broken ms, revert -> seen working ms)."""
    t0 = time.perf_counter()
    handle = driver.prepare(fault, where)  # type: ignore[attr-defined]
    driver.inject(handle)  # type: ignore[attr-defined]
    t1 = time.perf_counter()
    seen_broken = wait(broken)
    t2 = time.perf_counter()
    driver.revert(handle)  # type: ignore[attr-defined]
    revert_ms = (time.perf_counter() - t2) * 1000 + wait(lambda: not broken())
    return (t1 - t0) * 1000, seen_broken, revert_ms


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=10)
    trials = parser.parse_args().trials
    rows: dict[str, list[tuple[float, float, float]]] = {}
    with postgres_server(database="checkout") as pg, redis_server(users={"app": SECRET}) as rs:
        pg.sql(f"CREATE ROLE app LOGIN PASSWORD '{SECRET}'")
        env = {"PG": pg.url_for(pg.admin_user, pg.admin_password, "checkout"), "R": rs.admin_url}

        def pg_refused() -> bool:
            try:
                psycopg.connect(pg.url_for("app", SECRET, "checkout"), connect_timeout=3).close()
                return False
            except psycopg.OperationalError:
                return True

        def redis_refused() -> bool:
            try:
                with rs.client("app", SECRET) as c:
                    c.ping()
                return False
            except redis.exceptions.AuthenticationError:
                return True

        cred = RevokeCredentials(environ=env, state_dir=Path(tempfile.mkdtemp(prefix="gameday-bench-state-")))
        rows["revoke_credentials postgres_role (NOLOGIN)"] = [
            trial(cred, spec("revoke_credentials"), stack({"postgres_role": "app", "dsn_env": "PG"}), pg_refused)
            for _ in range(trials)]
        rows["revoke_credentials redis_user (off)"] = [
            trial(cred, spec("revoke_credentials"), stack({"redis_user": "app", "dsn_env": "R"}), redis_refused)
            for _ in range(trials)]
        token = Path(tempfile.mkdtemp(prefix="gameday-bench-")) / "token"
        token.write_text(SECRET)
        rows["revoke_credentials path (token file)"] = [
            trial(cred, spec("revoke_credentials"), stack({"path": str(token)}), lambda: token.read_text() != SECRET)
            for _ in range(trials)]

    mount = Path(tempfile.mkdtemp(prefix="gameday-bench-fs-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], check=True)
    try:
        def enospc() -> bool:
            try:
                with open(mount / "probe", "wb") as f:
                    f.write(b"x" * 4096)
                    f.flush()
                    os.fsync(f.fileno())
                return False
            except OSError:
                return True
            finally:
                (mount / "probe").unlink(missing_ok=True)

        rows["disk_fill host tmpfs 64 MiB to 0 free"] = [
            trial(DiskFill(), spec("disk_fill", free_left=0, floor_bytes=0, floor_percent=0), stack({"path": str(mount)}),
                  enospc)
            for _ in range(trials)]
    finally:
        subprocess.run(["umount", str(mount)], check=False)
        mount.rmdir()

    print("| fault | prepare+inject, median (min-max) ms | inject -> seen broken, median ms | revert -> seen working, "
          "median (min-max) ms | trials |")
    print("|---|---|---|---|---|")
    for name, values in rows.items():
        a, b, c = zip(*values, strict=True)
        print(f"| {name} | {statistics.median(a):.0f} ({min(a):.0f}-{max(a):.0f}) | {statistics.median(b):.1f} | "
              f"{statistics.median(c):.0f} ({min(c):.0f}-{max(c):.0f}) | {len(values)} |")


if __name__ == "__main__":
    main()
