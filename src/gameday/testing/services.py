"""Real PostgreSQL and Redis servers for tests, on free 127.0.0.1 ports with throwaway data folders.

For tests of what acts on real credentials (a ``revoke_credentials`` backend, a probe): gameday's own
integration tests use them, and a plugin's tests can too. They need the servers' binaries installed.

    with postgres_server() as pg:   pg.admin_url, pg.url_for(role, password), pg.port
    with redis_server(users={"checkout": "pw"}) as rs:   rs.admin_url, rs.url_for(user, password)

PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` system user
(``runuser``); as anyone else it runs as that user. Binaries: $GAMEDAY_PG_BIN, then
/usr/lib/postgresql/<newest>/bin (Debian's postgresql package); redis-server from PATH.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gameday.testing.network import free_port

if TYPE_CHECKING:
    import redis


def pg_bin_dir() -> Path:
    env = os.environ.get("GAMEDAY_PG_BIN")
    if env:
        return Path(env)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("no PostgreSQL binaries: apt-get install postgresql, or set GAMEDAY_PG_BIN")
    return Path(found[-1]).parent


def _stop(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


@dataclass
class PostgresServer:
    port: int
    admin_user: str
    admin_password: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    database: str = "postgres"

    @property
    def admin_url(self) -> str:
        return self.url_for(self.admin_user, self.admin_password)

    def url_for(self, user: str, password: str, database: str | None = None) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database or self.database}"

    def sql(self, statement: str, params: tuple[object, ...] = (), *, database: str | None = None) -> list[tuple[object, ...]]:
        """Run one statement as the admin (autocommit); the rows, if it returns any."""
        import psycopg

        with psycopg.connect(self.url_for(self.admin_user, self.admin_password, database), autocommit=True) as conn:
            cur = conn.execute(statement, params)
            return list(cur.fetchall()) if cur.description else []


@contextlib.contextmanager
def postgres_server(*, database: str = "postgres") -> Iterator[PostgresServer]:
    """A fresh PostgreSQL cluster (scram-sha-256 over TCP on 127.0.0.1 only); deleted afterwards."""
    bindir = pg_bin_dir()
    as_root = os.geteuid() == 0
    run_as: list[str] = ["runuser", "-u", "postgres", "--"] if as_root else []
    data_root = Path(tempfile.mkdtemp(prefix="gameday-pg-"))
    data_dir = data_root / "data"
    password = secrets.token_hex(12)
    pwfile = data_root / "pw"
    pwfile.write_text(password + "\n")
    if as_root:
        pg = pwd.getpwnam("postgres")
        os.chown(data_root, pg.pw_uid, pg.pw_gid)
        os.chown(pwfile, pg.pw_uid, pg.pw_gid)
    pwfile.chmod(0o600)
    admin = "postgres" if as_root else pwd.getpwuid(os.getuid()).pw_name
    subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(data_dir), "-U", admin, "--pwfile", str(pwfile),
         "-A", "scram-sha-256", "--no-sync", "-E", "UTF8", "--locale=C"],
        check=True, capture_output=True,
    )
    port = free_port()
    log = data_root / "server.log"
    log_fd = os.open(log, os.O_WRONLY | os.O_CREAT, 0o644)
    if as_root:
        os.chown(log, pg.pw_uid, pg.pw_gid)
    process = subprocess.Popen(
        [*run_as, str(bindir / "postgres"), "-D", str(data_dir), "-p", str(port), "-c", "listen_addresses=127.0.0.1",
         "-c", f"unix_socket_directories={data_root}", "-c", "fsync=off", "-c", "full_page_writes=off",
         "-c", "shared_buffers=16MB", "-c", "max_connections=40"],
        stdout=log_fd, stderr=log_fd,
    )
    os.close(log_fd)
    server = PostgresServer(port, admin, password, data_dir, process)
    try:
        _wait_postgres(server, log)
        if database != "postgres":
            server.sql(f'CREATE DATABASE "{database}"')
            server.database = database
        yield server
    finally:
        _stop(process)
        shutil.rmtree(data_root, ignore_errors=True)


def _wait_postgres(server: PostgresServer, log: Path, timeout: float = 30) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"postgres exited with {server.process.returncode}: {log.read_text()[-800:]}")
        try:
            with psycopg.connect(server.admin_url, connect_timeout=1):
                return
        except psycopg.OperationalError:
            time.sleep(0.1)
    raise RuntimeError(f"postgres did not accept connections within {timeout}s: {log.read_text()[-800:]}")


@dataclass
class RedisServer:
    port: int
    admin_user: str
    admin_password: str
    process: subprocess.Popen[bytes]
    users: dict[str, str] = field(default_factory=dict)

    @property
    def admin_url(self) -> str:
        return self.url_for(self.admin_user, self.admin_password)

    def url_for(self, user: str, password: str) -> str:
        return f"redis://{user}:{password}@127.0.0.1:{self.port}/0"

    def client(self, user: str | None = None, password: str | None = None) -> redis.Redis:
        """A client as ``user`` (the admin by default) that never retries."""
        import redis

        user = user or self.admin_user
        password = password if password is not None else (self.admin_password if user == self.admin_user
                                                          else self.users[user])
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No retries: a test that kills a connection must see it fail at once, not after backoffs.
        return redis.Redis(host="127.0.0.1", port=self.port, username=user, password=password, socket_timeout=5,
                           decode_responses=True, retry=Retry(NoBackoff(), 0))


@contextlib.contextmanager
def redis_server(*, users: dict[str, str] | None = None) -> Iterator[RedisServer]:
    """A redis-server with ACL users (``admin`` with every right, plus ``users``); default user off."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    folder = Path(tempfile.mkdtemp(prefix="gameday-redis-"))
    port = free_port()
    admin_password = secrets.token_hex(12)
    users = dict(users or {})
    lines = [
        "bind 127.0.0.1", f"port {port}", 'save ""', "appendonly no", f"dir {folder}", "protected-mode yes",
        "user default off", f"user admin on >{admin_password} ~* &* +@all",
        *(f"user {name} on >{pw} ~* &* +@all -@admin -@dangerous" for name, pw in users.items()),
    ]
    config = folder / "redis.conf"
    config.write_text("\n".join(lines) + "\n")
    config.chmod(0o600)
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen([binary, str(config)], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    server = RedisServer(port, "admin", admin_password, process, users)
    try:
        _wait_redis(server, folder / "server.log")
        yield server
    finally:
        _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_redis(server: RedisServer, log: Path, timeout: float = 15) -> None:
    import redis

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {server.process.returncode}: {log.read_text()[-800:]}")
        try:
            with server.client() as client:
                client.ping()
                return
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server did not answer within {timeout}s")
