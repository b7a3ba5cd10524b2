"""revoke_credentials against a real PostgreSQL, a real Redis and real files: it breaks, then it is exact again."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from gameday.errors import FaultError, GamedayError, RevertError, ServiceUnavailable, TargetError
from gameday.faults.base import FaultHandle
from gameday.faults.credentials import RevokeCredentials, RevokeCredentialsArgs
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.testing.services import PostgresServer, RedisServer
from tests.helpers import events, first_run_dir, harness_process, stack_file, write_scenario

SECRET = "KNOWN-secret-pw-4f9c2e"
"""The password of the application role/user and the content of the token files: must never leak."""


def spec(target: str, **args: Any) -> FaultSpec:
    return FaultSpec.model_validate({"kind": "revoke_credentials", "target": target, "args": args, "duration": "1s"})


def stack(**targets: dict[str, Any]) -> StackSpec:
    return StackSpec.model_validate({"targets": targets})


def roundtrip(handle: FaultHandle) -> FaultHandle:
    """What `gameday cleanup` gets: the handle as it was journalled."""
    return FaultHandle.from_json(json.loads(json.dumps(handle.to_json())))


def one_line_error(exc: GamedayError) -> str:
    text = str(exc)
    assert "\n" not in text and text
    assert SECRET not in text
    return text


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture
def pg_role(pg_server: PostgresServer) -> Iterator[str]:
    """A fresh login role with a known password, owning nothing, with a table ``orders`` to be granted on."""
    role = f"app_{uuid.uuid4().hex[:8]}"
    pg_server.sql(f"CREATE ROLE {role} LOGIN PASSWORD '{SECRET}'")
    pg_server.sql(f"GRANT CONNECT ON DATABASE checkout TO {role}")
    yield role
    pg_server.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
    pg_server.sql(f"DROP OWNED BY {role}", database="checkout")
    pg_server.sql(f"DROP ROLE {role}")


@pytest.fixture
def pg_env(pg_server: PostgresServer) -> dict[str, str]:
    return {"PG_ADMIN": pg_server.url_for(pg_server.admin_user, pg_server.admin_password, "checkout")}


def can_login(pg: PostgresServer, role: str) -> bool:
    try:
        with psycopg.connect(pg.url_for(role, SECRET, "checkout"), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def role_state(pg: PostgresServer, role: str) -> tuple[Any, ...]:
    return tuple(pg.sql("SELECT rolcanlogin, rolpassword, rolsuper, rolcreaterole, rolconnlimit, rolvaliduntil "
                        "FROM pg_authid WHERE rolname = %s", (role,))[0])


def test_revoking_login_makes_the_login_fail_and_revert_restores_the_exact_role(
    pg_server: PostgresServer, pg_role: str, pg_env: dict[str, str]
) -> None:
    before = role_state(pg_server, pg_role)
    driver = RevokeCredentials(environ=pg_env)
    handle = driver.prepare(spec("db"), stack(db={"postgres_role": pg_role, "dsn_env": "PG_ADMIN"}))
    assert can_login(pg_server, pg_role)
    driver.inject(handle)
    assert not can_login(pg_server, pg_role)
    assert driver.check(handle)
    RevokeCredentials(environ=pg_env).revert(roundtrip(handle))
    assert can_login(pg_server, pg_role)
    assert role_state(pg_server, pg_role) == before  # password hash included: never touched
    RevokeCredentials(environ=pg_env).revert(roundtrip(handle))  # idempotent
    assert role_state(pg_server, pg_role) == before


def test_terminate_sessions_ends_the_sessions_already_open(
    pg_server: PostgresServer, pg_role: str, pg_env: dict[str, str]
) -> None:
    driver = RevokeCredentials(environ=pg_env)
    handle = driver.prepare(spec("db", terminate_sessions=True), stack(db={"postgres_role": pg_role, "dsn_env": "PG_ADMIN"}))
    with psycopg.connect(pg_server.url_for(pg_role, SECRET, "checkout"), autocommit=True) as open_session:
        open_session.execute("SELECT 1")
        driver.inject(handle)
        with pytest.raises(psycopg.OperationalError):
            open_session.execute("SELECT 1")
    driver.revert(handle)
    assert can_login(pg_server, pg_role)


def acl_rows(pg: PostgresServer, table: str) -> list[tuple[Any, ...]]:
    return sorted(pg.sql(
        f"SELECT g.rolname, e.rolname, a.privilege_type, a.is_grantable FROM pg_class c, aclexplode(c.relacl) a "
        f"JOIN pg_roles g ON g.oid = a.grantor JOIN pg_roles e ON e.oid = a.grantee WHERE c.oid = '{table}'::regclass",
        database="checkout"))


def test_revoking_privileges_blocks_writes_and_revert_restores_grantors_and_grant_options(
    pg_server: PostgresServer, pg_role: str, pg_env: dict[str, str]
) -> None:
    owner2 = f"{pg_role}_lead"
    table = f"orders_{pg_role}"
    pg_server.sql(f"CREATE TABLE {table} (id int)", database="checkout")
    pg_server.sql(f"CREATE ROLE {owner2}")
    try:
        pg_server.sql(f"GRANT SELECT ON {table} TO {pg_role}", database="checkout")
        pg_server.sql(f"GRANT INSERT ON {table} TO {pg_role} WITH GRANT OPTION", database="checkout")
        pg_server.sql(f"GRANT INSERT ON {table} TO {owner2} WITH GRANT OPTION", database="checkout")
        pg_server.sql(f"SET ROLE {owner2}; GRANT INSERT ON {table} TO {pg_role}", database="checkout")
        before = acl_rows(pg_server, table)
        assert {(r[0], r[2], r[3]) for r in before if r[1] == pg_role} == {
            (pg_server.admin_user, "SELECT", False), (pg_server.admin_user, "INSERT", True), (owner2, "INSERT", False)}
        driver = RevokeCredentials(environ=pg_env)
        handle = driver.prepare(spec("db", privileges=["insert", "SELECT"], objects=[table]),
                                stack(db={"postgres_role": pg_role, "dsn_env": "PG_ADMIN"}))
        driver.inject(handle)
        with psycopg.connect(pg_server.url_for(pg_role, SECRET, "checkout"), autocommit=True) as conn, \
                pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"INSERT INTO {table} VALUES (1)")
        assert driver.check(handle)
        assert [r for r in acl_rows(pg_server, table) if r[1] == pg_role] == []
        RevokeCredentials(environ=pg_env).revert(roundtrip(handle))
        assert acl_rows(pg_server, table) == before
        with psycopg.connect(pg_server.url_for(pg_role, SECRET, "checkout"), autocommit=True) as conn:
            conn.execute(f"INSERT INTO {table} VALUES (1)")
    finally:
        pg_server.sql(f"DROP TABLE {table}", database="checkout")
        pg_server.sql(f"DROP ROLE {owner2}")


@pytest.mark.parametrize(
    ("target", "args", "env", "error", "message"),
    [
        ({"postgres_role": "no_such_role", "dsn_env": "PG_ADMIN"}, {}, None, TargetError,
         "PostgreSQL role 'no_such_role' does not exist"),
        ({"postgres_role": "{role}", "dsn_env": "PG_UNSET"}, {}, None, FaultError,
         "environment variable PG_UNSET is not set"),
        ({"postgres_role": "{role}"}, {}, None, FaultError, "needs dsn_env"),
        ({"postgres_role": "{role}", "dsn_env": "PG_ADMIN"}, {"privileges": ["SELECT"], "objects": ["nope"]}, None,
         TargetError, "table 'nope' does not exist"),
        ({"postgres_role": "{role}", "dsn_env": "PG_ADMIN"}, {"env_key": "X"}, None, FaultError,
         "env_key do(es) not apply"),
        ({"postgres_role": "{role}", "dsn_env": "PG_ADMIN"}, {}, "weak", FaultError,
         "no permission: admin role"),
        ({"postgres_role": "{role}", "dsn_env": "PG_ADMIN"}, {}, "self", FaultError, "lock out the revert"),
        ({"postgres_role": "{role}", "dsn_env": "PG_ADMIN"}, {}, "badpw", ServiceUnavailable,
         "password authentication failed"),
    ],
    ids=["role-missing", "env-unset", "no-dsn-env", "table-missing", "wrong-backend-arg", "no-permission",
         "admin-is-target", "admin-password-wrong"],
)
def test_bad_postgres_input_is_one_line_and_changes_nothing(
    pg_server: PostgresServer, pg_role: str, pg_env: dict[str, str],
    target: dict[str, str], args: dict[str, Any], env: str | None, error: type[GamedayError], message: str,
) -> None:
    target = {k: v.replace("{role}", pg_role) for k, v in target.items()}
    environ = dict(pg_env)
    weak = f"{pg_role}_weak"
    pg_server.sql(f"CREATE ROLE {weak} LOGIN PASSWORD '{SECRET}'")
    try:
        if env == "weak":
            environ["PG_ADMIN"] = pg_server.url_for(weak, SECRET, "checkout")
        elif env == "self":
            environ["PG_ADMIN"] = pg_server.url_for(pg_role, SECRET, "checkout")
        elif env == "badpw":
            environ["PG_ADMIN"] = pg_server.url_for(pg_server.admin_user, SECRET, "checkout")
        before = role_state(pg_server, pg_role)
        with pytest.raises(error) as info:
            RevokeCredentials(environ=environ).prepare(spec("db", **args), stack(db=target))
        assert message in one_line_error(info.value)
        assert role_state(pg_server, pg_role) == before
    finally:
        pg_server.sql(f"DROP ROLE {weak}")


def test_a_role_that_already_cannot_log_in_is_refused(pg_server: PostgresServer, pg_role: str, pg_env: dict[str, str]) -> None:
    pg_server.sql(f"ALTER ROLE {pg_role} NOLOGIN")
    with pytest.raises(FaultError, match="already cannot log in"):
        RevokeCredentials(environ=pg_env).prepare(spec("db"), stack(db={"postgres_role": pg_role, "dsn_env": "PG_ADMIN"}))


def test_revert_fails_loudly_without_the_admin_url(pg_server: PostgresServer, pg_role: str, pg_env: dict[str, str]) -> None:
    driver = RevokeCredentials(environ=pg_env)
    handle = driver.prepare(spec("db"), stack(db={"postgres_role": pg_role, "dsn_env": "PG_ADMIN"}))
    driver.inject(handle)
    with pytest.raises(RevertError, match="PG_ADMIN is not set"):
        RevokeCredentials(environ={}).revert(roundtrip(handle))
    driver.revert(handle)
    assert can_login(pg_server, pg_role)


# --- Redis ---------------------------------------------------------------------------------------


@pytest.fixture
def redis_user(redis_acl_server: RedisServer) -> Iterator[str]:
    user = f"app-{uuid.uuid4().hex[:8]}"
    with redis_acl_server.client() as admin:
        admin.execute_command("ACL", "SETUSER", user, "on", f">{SECRET}", "~orders:*", "&*", "+@all", "-@dangerous")
    redis_acl_server.users[user] = SECRET
    yield user
    with redis_acl_server.client() as admin:
        admin.execute_command("ACL", "DELUSER", user)


def acl_line(rs: RedisServer, user: str) -> str:
    with rs.client() as admin:
        return next(line for line in admin.execute_command("ACL", "LIST") if line.startswith(f"user {user} "))


def redis_auth_ok(rs: RedisServer, user: str) -> bool:
    try:
        with rs.client(user, SECRET) as client:
            return bool(client.ping())
    except redis.exceptions.AuthenticationError:
        return False


def test_disabling_a_redis_user_makes_auth_fail_and_revert_restores_its_exact_rules(
    redis_acl_server: RedisServer, redis_user: str
) -> None:
    before = acl_line(redis_acl_server, redis_user)
    env = {"REDIS_ADMIN": redis_acl_server.admin_url}
    driver = RevokeCredentials(environ=env)
    handle = driver.prepare(spec("cache", terminate_sessions=True),
                            stack(cache={"redis_user": redis_user, "dsn_env": "REDIS_ADMIN"}))
    journalled = json.dumps(handle.to_json())
    assert SECRET not in journalled
    assert before.split()[3] not in journalled  # the password hash is not journalled either
    with redis_acl_server.client(redis_user, SECRET) as open_client:
        open_client.ping()
        driver.inject(handle)
        with pytest.raises(redis.exceptions.ConnectionError):  # its connection was killed
            open_client.ping()
    assert not redis_auth_ok(redis_acl_server, redis_user)
    assert driver.check(handle)
    RevokeCredentials(environ=env).revert(roundtrip(handle))
    assert acl_line(redis_acl_server, redis_user) == before
    assert redis_auth_ok(redis_acl_server, redis_user)
    RevokeCredentials(environ=env).revert(roundtrip(handle))
    assert acl_line(redis_acl_server, redis_user) == before


def test_rules_changed_during_the_fault_make_revert_fail_loudly_without_hashes(
    redis_acl_server: RedisServer, redis_user: str
) -> None:
    env = {"REDIS_ADMIN": redis_acl_server.admin_url}
    driver = RevokeCredentials(environ=env)
    handle = driver.prepare(spec("cache"), stack(cache={"redis_user": redis_user, "dsn_env": "REDIS_ADMIN"}))
    hash_before = acl_line(redis_acl_server, redis_user).split()[3]
    driver.inject(handle)
    with redis_acl_server.client() as admin:
        admin.execute_command("ACL", "SETUSER", redis_user, "~other:*")
    with pytest.raises(RevertError) as info:
        driver.revert(handle)
    text = one_line_error(info.value)
    assert "rules changed during the fault" in text and "~other:*" in text
    assert hash_before[1:] not in text


@pytest.mark.parametrize(
    ("user", "admin", "error", "message"),
    [
        ("nobody-here", "admin", TargetError, "Redis ACL user 'nobody-here' does not exist"),
        ("{user}", "self", FaultError, "lock out the revert"),
        ("{user}", "weak", FaultError, "no permission"),
        ("{user}", "badpw", ServiceUnavailable, "admin login failed"),
    ],
    ids=["user-missing", "admin-is-target", "no-permission", "admin-password-wrong"],
)
def test_bad_redis_input_is_one_line_and_changes_nothing(
    redis_acl_server: RedisServer, redis_user: str, user: str, admin: str, error: type[GamedayError], message: str
) -> None:
    user = user.replace("{user}", redis_user)
    weak = f"{redis_user}-weak"
    with redis_acl_server.client() as client:
        client.execute_command("ACL", "SETUSER", weak, "on", f">{SECRET}", "~*", "+@read", "+ping")
    try:
        url = {"admin": redis_acl_server.admin_url, "self": redis_acl_server.url_for(redis_user, SECRET),
               "weak": redis_acl_server.url_for(weak, SECRET),
               "badpw": redis_acl_server.url_for("admin", SECRET)}[admin]
        before = acl_line(redis_acl_server, redis_user)
        with pytest.raises(error) as info:
            RevokeCredentials(environ={"R": url}).prepare(spec("c"), stack(c={"redis_user": user, "dsn_env": "R"}))
        assert message in one_line_error(info.value)
        assert acl_line(redis_acl_server, redis_user) == before
    finally:
        with redis_acl_server.client() as client:
            client.execute_command("ACL", "DELUSER", weak)


# --- credentials files ---------------------------------------------------------------------------


def file_state(path: Path) -> tuple[bytes, int, int, int, int, int]:
    st = path.stat()
    return path.read_bytes(), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_mtime_ns, st.st_ino


def test_a_token_file_is_spoiled_in_place_and_restored_byte_for_byte(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_bytes(f"{SECRET}\n".encode())
    token.chmod(0o640)
    os.chown(token, 1234, 5678)
    os.utime(token, ns=(1_600_000_000_000_000_000, 1_600_000_000_123_456_789))
    before = file_state(token)
    state = tmp_path / "state"
    driver = RevokeCredentials(environ={}, state_dir=state)
    handle = driver.prepare(spec("tok"), stack(tok={"path": str(token)}))
    assert SECRET not in json.dumps(handle.to_json())
    driver.inject(handle)
    spoiled = token.read_bytes()
    assert SECRET.encode() not in spoiled and spoiled.startswith(b"gameday-revoked-")
    assert token.stat().st_ino == before[5]  # in place: a bind mount of the file sees the change
    backup = Path(handle.data["backup"])
    assert backup.read_bytes() == before[0]
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600 and stat.S_IMODE(backup.parent.stat().st_mode) == 0o700
    assert state in backup.parents
    assert driver.check(handle)
    RevokeCredentials(environ={}, state_dir=state).revert(roundtrip(handle))
    assert file_state(token) == before
    assert not backup.exists()
    RevokeCredentials(environ={}, state_dir=state).revert(roundtrip(handle))  # idempotent once the backup is gone
    assert file_state(token) == before


def test_a_backup_half_written_when_the_harness_died_is_deleted_by_revert(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_bytes(f"{SECRET}\n".encode())
    before = file_state(token)
    state = tmp_path / "state"
    handle = RevokeCredentials(environ={}, state_dir=state).prepare(spec("tok"), stack(tok={"path": str(token)}))
    # What a SIGKILL inside inject's backup write leaves: the temporary copy, no backup, the file untouched.
    partial = Path(handle.data["backup"]).with_suffix(".tmp")
    partial.parent.mkdir(parents=True, mode=0o700)
    partial.write_bytes(SECRET.encode())
    RevokeCredentials(environ={}, state_dir=state).revert(roundtrip(handle))
    assert file_state(token) == before
    assert not partial.exists()
    assert_no_secret_in(state, SECRET)


def test_only_the_env_key_entry_of_an_env_file_changes(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    original = f"# app\nDB_HOST=127.0.0.1\nexport DB_PASSWORD={SECRET}\r\nDB_PASSWORD_OLD=keep\nTAIL=1".encode()
    env_file.write_bytes(original)
    driver = RevokeCredentials(environ={}, state_dir=tmp_path / "state")
    handle = driver.prepare(spec("env", env_key="DB_PASSWORD"), stack(env={"path": str(env_file)}))
    driver.inject(handle)
    lines = env_file.read_bytes().split(b"\n")
    assert lines[0:2] == [b"# app", b"DB_HOST=127.0.0.1"]
    assert lines[2].startswith(b"export DB_PASSWORD=gameday-revoked-") and lines[2].endswith(b"\r")
    assert lines[3:] == [b"DB_PASSWORD_OLD=keep", b"TAIL=1"]
    driver.revert(handle)
    assert env_file.read_bytes() == original


def test_a_file_deleted_during_the_fault_is_recreated_from_the_backup(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_bytes(SECRET.encode())
    token.chmod(0o600)
    driver = RevokeCredentials(environ={}, state_dir=tmp_path / "state")
    handle = driver.prepare(spec("tok"), stack(tok={"path": str(token)}))
    driver.inject(handle)
    token.unlink()
    driver.revert(handle)
    assert token.read_bytes() == SECRET.encode() and stat.S_IMODE(token.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("setup", "args", "error", "message"),
    [
        ("missing", {}, TargetError, "does not exist"),
        ("directory", {}, TargetError, "is not a regular file"),
        ("no-key", {"env_key": "API_TOKEN"}, TargetError, "has no API_TOKEN= entry"),
        ("twice", {"env_key": "API_TOKEN"}, FaultError, "has 2 API_TOKEN= entries"),
        ("file", {"terminate_sessions": True}, FaultError, "terminate_sessions do(es) not apply"),
    ],
)
def test_bad_file_input_is_one_line_and_changes_nothing(
    tmp_path: Path, setup: str, args: dict[str, Any], error: type[GamedayError], message: str
) -> None:
    path = tmp_path / "creds"
    if setup == "directory":
        path.mkdir()
    elif setup == "twice":
        path.write_text(f"API_TOKEN={SECRET}\nAPI_TOKEN=x\n")
    elif setup != "missing":
        path.write_text(f"OTHER={SECRET}\n")
    before = sorted(p.name for p in tmp_path.iterdir()), path.read_bytes() if path.is_file() else None
    with pytest.raises(error) as info:
        RevokeCredentials(environ={}, state_dir=tmp_path / "state").prepare(spec("f", **args), stack(f={"path": str(path)}))
    assert message in one_line_error(info.value)
    assert (sorted(p.name for p in tmp_path.iterdir()), path.read_bytes() if path.is_file() else None) == before


def test_a_file_without_write_permission_is_refused(tmp_path: Path) -> None:
    """Checked as a user who may read the file but not write it (root may write anything: a forked child drops to nobody)."""
    import pwd

    if os.geteuid() != 0:
        pytest.skip("needs root to drop to another user")
    nobody = pwd.getpwnam("nobody")
    folder = Path("/tmp") / f"gameday-noperm-{uuid.uuid4().hex[:6]}"
    folder.mkdir(mode=0o755)
    path = folder / "token"
    path.write_text(SECRET)
    path.chmod(0o644)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        message = "no error"
        try:
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            RevokeCredentials(environ={}, state_dir=folder / "state").prepare(spec("t"), stack(t={"path": str(path)}))
        except GamedayError as exc:
            message = str(exc)
        except BaseException as exc:  # noqa: BLE001 - report anything to the parent
            message = f"unexpected {type(exc).__name__}: {exc}"
        os.write(write_end, message.encode())
        os._exit(0)
    os.close(write_end)
    try:
        os.waitpid(pid, 0)
        with os.fdopen(read_end, "rb") as f:
            message = f.read().decode()
        assert message == f"no permission to read and write {path}"
        assert path.read_text() == SECRET
    finally:
        path.unlink()
        folder.rmdir()


def test_args_model_rejects_unknown_privileges_and_unpaired_objects() -> None:
    with pytest.raises(ValueError, match="unknown: DROP"):
        RevokeCredentialsArgs.model_validate({"privileges": ["DROP"], "objects": ["t"]})
    with pytest.raises(ValueError, match="privileges and objects go together"):
        RevokeCredentialsArgs.model_validate({"privileges": ["SELECT"]})


# --- through the harness: a run, a SIGKILL mid-fault and `gameday cleanup` --------------------------


def credentials_scenario(tmp_path: Path, role: str, user: str, token: Path, duration: str) -> Path:
    return write_scenario(
        tmp_path / "creds.yaml",
        version=1,
        name="creds-revoked",
        stack=stack_file(tmp_path, "creds", {"targets": {
            "db-role": {"postgres_role": role, "dsn_env": "T_PG_ADMIN"},
            "cache-user": {"redis_user": user, "dsn_env": "T_REDIS_ADMIN"},
            "token": {"path": str(token)},
        }}, {"postgres": [role], "redis": [user], "host": [str(token)]}),
        faults=[
            {"kind": "revoke_credentials", "target": "db-role", "duration": duration, "args": {"terminate_sessions": True}},
            {"kind": "revoke_credentials", "target": "cache-user", "duration": duration},
            {"kind": "revoke_credentials", "target": "token", "duration": duration},
        ],
        expect={"recovers_within": "5s"},
    )


def gameday(*args: str, cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real CLI in a new process, with extra environment variables."""
    return subprocess.run([sys.executable, "-m", "gameday", *args], check=False, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **env})


def wait_for_events(reports: Path, kind: str, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run_dir in reports.glob("*"):
            if (run_dir / "timeline.jsonl").is_file() and \
                    sum(1 for e in events(run_dir) if e["kind"] == kind) >= count:
                return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} {kind} events within {timeout}s")


def kill_harness_and_watchdog(proc: subprocess.Popen[str], reports: Path) -> None:
    """SIGKILL the run's watchdog, then the harness: nothing of the run is left to revert but `gameday cleanup`."""
    run_dir = first_run_dir(reports)
    for event in events(run_dir):
        if event["kind"] == "watchdog.started":
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(event["details"]["pid"]), signal.SIGKILL)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def assert_no_secret_in(folder: Path, *secrets_: str) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for s in secrets_:
                assert s.encode() not in data, f"a secret leaked into {path}"


def test_sigkill_mid_fault_then_cleanup_restores_role_user_and_file(
    tmp_path: Path, pg_server: PostgresServer, pg_role: str, pg_env: dict[str, str],
    redis_acl_server: RedisServer, redis_user: str,
) -> None:
    token = tmp_path / "token"
    token.write_bytes(f"{SECRET}\n".encode())
    token.chmod(0o600)
    before = (role_state(pg_server, pg_role), acl_line(redis_acl_server, redis_user), file_state(token))
    scenario = credentials_scenario(tmp_path, pg_role, redis_user, token, duration="60s")
    env = {"T_PG_ADMIN": pg_env["PG_ADMIN"], "T_REDIS_ADMIN": redis_acl_server.admin_url,
           "GAMEDAY_STATE_DIR": str(tmp_path / "state")}
    reports = tmp_path / "reports"
    proc = harness_process("run", str(scenario), "--reports", str(reports), cwd=tmp_path, env=env)
    try:
        wait_for_events(reports, "fault.injected", 3)
        assert not can_login(pg_server, pg_role)
        assert not redis_auth_ok(redis_acl_server, redis_user)
        assert token.read_bytes() != before[2][0]
        kill_harness_and_watchdog(proc, reports)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
    # The crashed run (and its watchdog) left all three broken; cleanup (a new process, same environment) puts them back.
    assert not can_login(pg_server, pg_role)
    out = gameday("cleanup", "--reports", str(reports), cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("reverted") == 3
    assert (role_state(pg_server, pg_role), acl_line(redis_acl_server, redis_user), file_state(token)) == before
    assert can_login(pg_server, pg_role) and redis_auth_ok(redis_acl_server, redis_user)
    run_dir = first_run_dir(reports)
    rendered = gameday("report", str(run_dir), cwd=tmp_path, env=env)
    assert rendered.returncode == 0, rendered.stderr[-1500:]
    assert_no_secret_in(reports, SECRET, redis_acl_server.admin_password, pg_server.admin_password)
    assert_no_secret_in(tmp_path / "state", SECRET)  # the backup was removed after the verified revert
    assert SECRET not in out.stdout + out.stderr


def test_a_full_run_breaks_and_restores_and_nothing_secret_reaches_the_records(
    tmp_path: Path, pg_server: PostgresServer, pg_role: str, pg_env: dict[str, str],
    redis_acl_server: RedisServer, redis_user: str,
) -> None:
    token = tmp_path / "token"
    token.write_bytes(f"{SECRET}\n".encode())
    before = (role_state(pg_server, pg_role), acl_line(redis_acl_server, redis_user), file_state(token))
    scenario = credentials_scenario(tmp_path, pg_role, redis_user, token, duration="1s")
    env = {"T_PG_ADMIN": pg_env["PG_ADMIN"], "T_REDIS_ADMIN": redis_acl_server.admin_url,
           "GAMEDAY_STATE_DIR": str(tmp_path / "state")}
    out = gameday("run", str(scenario), "--reports", str(tmp_path / "reports"), cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    run_dir = first_run_dir(tmp_path / "reports")
    kinds = [e["kind"] for e in events(run_dir)]
    assert kinds.count("fault.effective") == 3 and kinds.count("fault.reverted") == 3
    assert (role_state(pg_server, pg_role), acl_line(redis_acl_server, redis_user), file_state(token)) == before
    assert_no_secret_in(run_dir, SECRET, redis_acl_server.admin_password, pg_server.admin_password,
                        before[1].split()[3][1:])
    assert SECRET not in out.stdout + out.stderr


def test_after_a_sigkill_the_watchdog_alone_restores_role_user_and_file(
    tmp_path: Path, pg_server: PostgresServer, pg_role: str, pg_env: dict[str, str],
    redis_acl_server: RedisServer, redis_user: str,
) -> None:
    """The watchdog inherits the run's environment, so it can reach the admin URLs named by dsn_env."""
    token = tmp_path / "token"
    token.write_bytes(f"{SECRET}\n".encode())
    before = (role_state(pg_server, pg_role), acl_line(redis_acl_server, redis_user), file_state(token))
    scenario = credentials_scenario(tmp_path, pg_role, redis_user, token, duration="60s")
    env = {"T_PG_ADMIN": pg_env["PG_ADMIN"], "T_REDIS_ADMIN": redis_acl_server.admin_url,
           "GAMEDAY_STATE_DIR": str(tmp_path / "state")}
    reports = tmp_path / "reports"
    proc = harness_process("run", str(scenario), "--reports", str(reports), cwd=tmp_path, env=env)
    try:
        wait_for_events(reports, "fault.injected", 3)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
    journal = first_run_dir(reports) / "journal.jsonl"
    deadline = time.monotonic() + 30
    while journal.read_text().count('"by": "watchdog"') < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert journal.read_text().count('"by": "watchdog"') == 3
    assert (role_state(pg_server, pg_role), acl_line(redis_acl_server, redis_user), file_state(token)) == before
    assert_no_secret_in(reports, SECRET, redis_acl_server.admin_password, pg_server.admin_password)


def test_a_kubernetes_target_without_a_role_is_refused_at_validate_naming_the_argument() -> None:
    from gameday.faults.credentials import RevokeCredentials, RevokeCredentialsArgs
    from gameday.kubernetes.platform import KubernetesTarget

    target = KubernetesTarget(namespace="shop", kind="StatefulSet", name="db", container="postgres")
    driver = RevokeCredentials(environ={})
    assert driver.target_problems(target, "db", RevokeCredentialsArgs()) == [
        ("args", "revoke_credentials on a kubernetes target ('db') needs args.role")]
    assert driver.target_problems(target, "db", RevokeCredentialsArgs(role="checkout")) == []
    assert driver.target_problems(target, "db", RevokeCredentialsArgs(role="checkout", env_key="X")) == [
        ("args", "env_key do(es) not apply to a postgres_in_pod target ('db')")]
