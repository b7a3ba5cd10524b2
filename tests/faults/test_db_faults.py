"""db_connections_exhausted, db_lock and db_read_only against a real PostgreSQL: it breaks, then it is exact again."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gameday.errors import FaultError, GamedayError, TargetError
from gameday.faults.base import FaultHandle
from gameday.faults.db_connections import DbConnectionsExhausted
from gameday.faults.db_lock import DbLock
from gameday.faults.db_read_only import DbReadOnly
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.testing.services import PostgresServer, postgres_server

SECRET = "KNOWN-db-secret-7d1a"


def spec(kind: str, **args: Any) -> FaultSpec:
    return FaultSpec.model_validate({"kind": kind, "target": "db", "args": args, "duration": "5s"})


def stack(role: str, dsn_env: str | None = "PG_ADMIN") -> StackSpec:
    return StackSpec.model_validate({"targets": {"db": {"postgres_role": role, "dsn_env": dsn_env}}})


def roundtrip(handle: FaultHandle) -> FaultHandle:
    """What the watchdog and `gameday cleanup` get: the handle as it was journalled."""
    return FaultHandle.from_json(json.loads(json.dumps(handle.to_json())))


def one_line(exc: GamedayError, *secrets: str) -> str:
    text = str(exc)
    assert "\n" not in text and text
    assert all(s not in text for s in secrets)
    return text


@pytest.fixture
def app_role(pg_server: PostgresServer) -> Iterator[str]:
    """A login role (known password) that writes its own table ``orders_<role>`` in database checkout."""
    role = f"app_{uuid.uuid4().hex[:8]}"
    pg_server.sql(f"CREATE ROLE {role} LOGIN PASSWORD '{SECRET}'")
    pg_server.sql(f"GRANT CONNECT ON DATABASE checkout TO {role}")
    pg_server.sql(f"CREATE TABLE orders_{role} (id int)", database="checkout")
    pg_server.sql(f"GRANT SELECT, INSERT ON orders_{role} TO {role}", database="checkout")
    yield role
    pg_server.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
    pg_server.sql(f"DROP TABLE orders_{role}", database="checkout")
    pg_server.sql(f"DROP OWNED BY {role}", database="checkout")
    pg_server.sql(f"DROP ROLE {role}")


@pytest.fixture
def pg_env(pg_server: PostgresServer) -> dict[str, str]:
    return {"PG_ADMIN": pg_server.url_for(pg_server.admin_user, pg_server.admin_password, "checkout")}


def app(pg: PostgresServer, role: str) -> psycopg.Connection[Any]:
    return psycopg.connect(pg.url_for(role, SECRET, "checkout"), autocommit=True, connect_timeout=3)


def setting_rows(pg: PostgresServer) -> list[tuple[Any, ...]]:
    return sorted(pg.sql("SELECT setdatabase, setrole, setconfig FROM pg_db_role_setting"), key=repr)


# --- db_read_only -----------------------------------------------------------------------------------------


def test_read_only_refuses_new_sessions_writes_and_revert_resets_an_unset_setting(
    pg_server: PostgresServer, app_role: str, pg_env: dict[str, str]
) -> None:
    before = setting_rows(pg_server)
    driver = DbReadOnly(environ=pg_env)
    handle = driver.prepare(spec("db_read_only"), stack(app_role))
    assert handle.data["prior"] is None and "(was not set)" in handle.description
    assert "RESET default_transaction_read_only" in driver.describe_revert(handle)
    driver.inject(handle)
    assert driver.check(handle)
    with app(pg_server, app_role) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute(f"INSERT INTO orders_{app_role} VALUES (1)")
    DbReadOnly(environ=pg_env).revert(roundtrip(handle))
    assert setting_rows(pg_server) == before  # RESET: no empty setconfig row left behind either
    assert not driver.check(handle)
    with app(pg_server, app_role) as conn:
        conn.execute(f"INSERT INTO orders_{app_role} VALUES (1)")
    DbReadOnly(environ=pg_env).revert(roundtrip(handle))  # idempotent
    assert setting_rows(pg_server) == before


def test_read_only_restores_a_prior_value_exactly_and_leaves_the_roles_other_settings(
    pg_server: PostgresServer, app_role: str, pg_env: dict[str, str]
) -> None:
    pg_server.sql(f"ALTER ROLE {app_role} SET default_transaction_read_only = 'false'")
    pg_server.sql(f"ALTER ROLE {app_role} SET statement_timeout = '2s'")
    before = setting_rows(pg_server)
    driver = DbReadOnly(environ=pg_env)
    handle = driver.prepare(spec("db_read_only"), stack(app_role))
    assert handle.data["prior"] == "false"
    driver.inject(handle)
    assert driver.check(handle)
    driver.revert(roundtrip(handle))
    assert setting_rows(pg_server) == before


def test_read_only_on_the_database_and_terminate_sessions_at_inject_and_revert(
    pg_server: PostgresServer, app_role: str, pg_env: dict[str, str]
) -> None:
    before = setting_rows(pg_server)
    driver = DbReadOnly(environ=pg_env)
    handle = driver.prepare(spec("db_read_only", scope="database", terminate_sessions=True), stack(app_role))
    assert handle.resource.endswith("/database/checkout/default_transaction_read_only")
    with app(pg_server, app_role) as open_session:
        driver.inject(handle)
        with pytest.raises(psycopg.OperationalError):
            open_session.execute("SELECT 1")
    with app(pg_server, app_role) as during:
        assert during.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        driver.revert(handle)
        with pytest.raises(psycopg.OperationalError):  # ended again, so it reconnects writable
            during.execute("SELECT 1")
    assert setting_rows(pg_server) == before


def test_read_only_refuses_a_setting_already_on_and_a_target_without_dsn_env(
    pg_server: PostgresServer, app_role: str, pg_env: dict[str, str]
) -> None:
    pg_server.sql(f"ALTER ROLE {app_role} SET default_transaction_read_only = on")
    with pytest.raises(FaultError, match="already 'on'"):
        DbReadOnly(environ=pg_env).prepare(spec("db_read_only"), stack(app_role))
    with pytest.raises(FaultError, match="needs dsn_env"):
        DbReadOnly(environ=pg_env).prepare(spec("db_read_only"), stack(app_role, dsn_env=None))


# --- db_lock --------------------------------------------------------------------------------------------


def test_a_lock_queues_writes_lets_reads_through_and_revert_from_another_process_releases_it(
    pg_server: PostgresServer, app_role: str, pg_env: dict[str, str]
) -> None:
    driver = DbLock(environ=pg_env)
    handle = driver.prepare(spec("db_lock", table=f"orders_{app_role}"), stack(app_role))
    assert handle.resource.endswith(f"/checkout/public.orders_{app_role}")
    assert "held by the harness process" in handle.description
    driver.inject(handle)
    assert driver.check(handle)
    with app(pg_server, app_role) as conn:
        conn.execute("SET lock_timeout = '300ms'")
        conn.execute(f"SELECT * FROM orders_{app_role}")  # reads go on
        with pytest.raises(psycopg.errors.LockNotAvailable):
            conn.execute(f"INSERT INTO orders_{app_role} VALUES (1)")
    # The watchdog's revert: a new driver, the journalled handle; it ends the tagged session held here.
    DbLock(environ=pg_env).revert(roundtrip(handle))
    assert not driver.check(handle)
    with app(pg_server, app_role) as conn:
        conn.execute("SET lock_timeout = '300ms'")
        conn.execute(f"INSERT INTO orders_{app_role} VALUES (1)")
    driver.revert(handle)  # the harness's own revert after that: harmless


def test_a_queued_writer_goes_through_once_the_lock_is_reverted(
    pg_server: PostgresServer, app_role: str, pg_env: dict[str, str]
) -> None:
    driver = DbLock(environ=pg_env)
    handle = driver.prepare(spec("db_lock", table=f"public.orders_{app_role}"), stack(app_role))
    driver.inject(handle)
    done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with app(pg_server, app_role) as conn:
                conn.execute(f"INSERT INTO orders_{app_role} VALUES (2)")
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        deadline_rows: list[tuple[Any, ...]] = []
        for _ in range(200):  # the writer is seen waiting on the lock (a condition, not a sleep)
            deadline_rows = pg_server.sql("SELECT 1 FROM pg_stat_activity WHERE usename = %s AND wait_event_type = 'Lock'",
                                          (app_role,))
            if deadline_rows:
                break
            done.wait(0.05)
        assert deadline_rows and not done.is_set()
    finally:
        driver.revert(handle)
    assert done.wait(10) and errors == []
    assert pg_server.sql(f"SELECT count(*) FROM orders_{app_role}", database="checkout") == [(1,)]


def test_a_lock_on_a_table_the_role_cannot_write_or_that_does_not_exist_is_refused(
    pg_server: PostgresServer, app_role: str, pg_env: dict[str, str]
) -> None:
    pg_server.sql(f"CREATE TABLE IF NOT EXISTS other_{app_role} (id int)", database="checkout")
    try:
        with pytest.raises(FaultError, match=f"role {app_role} may not write public.other_{app_role}"):
            DbLock(environ=pg_env).prepare(spec("db_lock", table=f"other_{app_role}"), stack(app_role))
        with pytest.raises(TargetError, match=r"no table public\.nope in database checkout"):
            DbLock(environ=pg_env).prepare(spec("db_lock", table="nope"), stack(app_role))
    finally:
        pg_server.sql(f"DROP TABLE other_{app_role}", database="checkout")


def test_a_lock_that_cannot_be_taken_is_a_fault_error_and_holds_nothing(
    pg_server: PostgresServer, app_role: str, pg_env: dict[str, str]
) -> None:
    driver = DbLock(environ=pg_env)
    handle = driver.prepare(spec("db_lock", table=f"orders_{app_role}"), stack(app_role))
    with psycopg.connect(pg_env["PG_ADMIN"]) as blocker:
        blocker.execute(f"LOCK TABLE orders_{app_role} IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(FaultError, match="could not take the lock") as caught:
            driver.inject(handle)
        one_line(caught.value, pg_server.admin_password)
        driver.revert(handle)  # the run reverts a failed inject: the tagged session goes
        assert not driver.check(handle)


# --- db_connections_exhausted (its own server: it takes every ordinary slot) -------------------------------


@pytest.fixture(scope="module")
def small_pg() -> Iterator[PostgresServer]:
    with postgres_server(database="checkout") as server:
        server.sql("CREATE ROLE app LOGIN PASSWORD 'app-pw'")
        yield server


def test_exhaustion_refuses_ordinary_roles_leaves_the_reserved_slots_and_revert_frees_them(
    small_pg: PostgresServer,
) -> None:
    env = {"PG_ADMIN": small_pg.url_for(small_pg.admin_user, small_pg.admin_password, "checkout")}
    driver = DbConnectionsExhausted(environ=env)
    handle = driver.prepare(spec("db_connections_exhausted"), stack("app"))
    assert "3 reserved for superusers" in handle.description and "max_connections 40" in handle.description
    driver.inject(handle)
    try:
        assert driver.check(handle)
        with pytest.raises(psycopg.OperationalError, match=r"reserved|too many"):
            psycopg.connect(small_pg.url_for("app", "app-pw", "checkout"), connect_timeout=3)
        with psycopg.connect(env["PG_ADMIN"]) as superuser:  # what is left: the reserved slots
            superuser.execute("SELECT 1")
    finally:
        DbConnectionsExhausted(environ=env).revert(roundtrip(handle))  # from the handle alone, like the watchdog
    assert not driver.check(handle)
    with psycopg.connect(small_pg.url_for("app", "app-pw", "checkout"), connect_timeout=3) as conn:
        conn.execute("SELECT 1")
    assert small_pg.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                        (handle.data["tag"],)) == [(0,)]
    driver.revert(handle)  # the harness's own (it still held the sessions): closes them, finds none left


def test_exhaustion_with_terminate_sessions_refuses_the_apps_reconnect_and_leave_free_keeps_slots(
    small_pg: PostgresServer,
) -> None:
    env = {"PG_ADMIN": small_pg.url_for(small_pg.admin_user, small_pg.admin_password, "checkout")}
    driver = DbConnectionsExhausted(environ=env)
    handle = driver.prepare(spec("db_connections_exhausted", terminate_sessions=True, leave_free=1), stack("app"))
    with psycopg.connect(small_pg.url_for("app", "app-pw", "checkout"), autocommit=True) as open_session:
        driver.inject(handle)
        try:
            with pytest.raises(psycopg.OperationalError):
                open_session.execute("SELECT 1")
            # leave_free 1: exactly one ordinary slot is left, not two. One connection is held while a second is
            # refused: a connect-and-close first would race the server, whose backend leaves its slot only after
            # the client has gone (CI saw the slot still taken).
            with psycopg.connect(small_pg.url_for("app", "app-pw", "checkout"), connect_timeout=3), \
                    pytest.raises(psycopg.OperationalError):
                psycopg.connect(small_pg.url_for("app", "app-pw", "checkout"), connect_timeout=3)
        finally:
            driver.revert(handle)


def test_exhaustion_needs_a_superuser_admin_and_says_so_without_the_url(small_pg: PostgresServer) -> None:
    env = {"PG_ADMIN": small_pg.url_for("app", "app-pw", "checkout")}
    with pytest.raises(FaultError, match="not a superuser") as caught:
        DbConnectionsExhausted(environ=env).prepare(spec("db_connections_exhausted"), stack("app"))
    one_line(caught.value, "app-pw")


def test_validate_names_each_mistake_once_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gameday.cli.main import main

    path = tmp_path / "bad.yaml"
    path.write_text(
        "version: 1\nname: bad\nstack:\n  targets:\n    web: {container: x}\n    db: {postgres_role: app}\n"
        "faults:\n"
        "  - {kind: db_lock, target: web, args: {table: orders}, duration: 5s}\n"
        "  - {kind: db_read_only, target: db, duration: 5s}\n"
        "  - {kind: redis_pause, target: db, args: {mode: most}, duration: 5s}\n")
    assert main(["validate", str(path)]) != 0
    out = capsys.readouterr()
    lines = [line.split(": ", 1)[1] for line in (out.out + out.err).splitlines() if line.startswith(str(path))]
    assert lines == [
        "faults[0].target: fault kind 'db_lock' acts on a target with postgres_role; 'web' has container",
        "faults[1].target: target 'db' needs dsn_env: the environment variable holding the admin connection URL",
        "faults[2].target: fault kind 'redis_pause' acts on a target with redis_user; 'db' has postgres_role",
        "faults[2].args.mode: must be one of 'write' or 'all', got 'most'",
    ]
