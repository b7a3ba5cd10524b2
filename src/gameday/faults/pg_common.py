"""What the PostgreSQL fault kinds share: the target, the admin connection, and the sessions a fault holds.

``db_connections_exhausted``, ``db_lock`` and ``db_read_only`` act on a ``postgres`` target (a role and the
``dsn_env`` naming the admin connection URL, as ``revoke_credentials`` uses it) in the database that URL
names. The URL is read from the environment at prepare and at revert, never journalled or logged.

A fault that holds something (connections, a lock) holds it in sessions opened by the harness process
itself, each tagged with an ``application_name`` that carries a random tag from the handle. Their life is
the harness's: if it dies, the kernel closes their sockets and the server ends them, which puts the
database back; the watchdog still finds the fault pending in the journal, and its revert (from the handle
alone) ends any tagged session left and checks that none remains. A server-side idle timeout of the fault's
length plus a margin is a last bound should every process of gameday hang. See docs/faults.md.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from gameday.errors import FaultError, RevertError
from gameday.faults.credentials import admin_url, env_url
from gameday.faults.credentials_pg import END_SESSIONS_WAIT_S, connect, end_sessions, pg_errors

__all__ = ["admin", "backstop_options", "close_quietly", "connect", "end_sessions", "end_tagged", "new_tag", "open_held", "pg_errors",
           "resolve", "same_database", "server_facts", "tagged_pids", "target_problems", "url_of"]
from gameday.platforms.resources import PostgresTarget
from gameday.scenario.model import FaultSpec, StackSpec, TargetSpec

if TYPE_CHECKING:
    import psycopg

BACKSTOP_MARGIN_S = 60.0
"""A held session ends itself (server-side idle timeout) this long after the fault's planned end."""
END_WAIT_S = END_SESSIONS_WAIT_S
"""How long ending a tagged session may take before revert says it failed."""


def target_problems(kind: str, target: TargetSpec, target_name: str, *, platform: bool = True) -> list[tuple[str, str]]:
    """What is wrong with the target for a PostgreSQL fault kind, without touching anything."""
    if not isinstance(target, PostgresTarget):
        if not platform:  # validate: the loader names a target on another platform already (target_fields)
            return []
        return [("target", (f"{kind} acts on a postgres target ({{postgres_role: ..., dsn_env: ...}}); "
                           f"'{target_name}' has {target.selector}"))]
    if not target.dsn_env:
        return [("target", (f"target '{target_name}' needs dsn_env: the environment variable holding the admin "
                           "connection URL"))]
    return []


def resolve(kind: str, fault: FaultSpec, stack: StackSpec, environ: Mapping[str, str]) -> tuple[PostgresTarget, str]:
    """The target and the admin URL (from the environment), or the first problem as a FaultError."""
    target = stack.targets[fault.target]
    for _, problem in target_problems(kind, target, fault.target)[:1]:
        raise FaultError(problem, target=fault.target)
    assert isinstance(target, PostgresTarget)
    return target, admin_url(target, fault.target, environ)


def url_of(data: dict[str, Any], environ: Mapping[str, str], *, reverting: bool = False) -> str:
    return env_url(data["dsn_env"], data["target"], environ, reverting=reverting)


def server_facts(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Who the admin is and where: journalled so revert can refuse a URL that now points elsewhere."""
    row = conn.execute("SELECT current_user, r.rolsuper, r.rolcreaterole, current_database(), "
                       "current_setting('server_version_num')::int FROM pg_roles r WHERE r.rolname = current_user"
                       ).fetchone()
    assert row is not None
    return {"admin": row[0], "admin_super": bool(row[1]), "admin_createrole": bool(row[2]), "database": row[3],
            "server_version": int(row[4]), "server": f"{conn.info.host}:{conn.info.port}"}


def same_database(conn: psycopg.Connection[Any], data: dict[str, Any], *, reverting: bool) -> None:
    row = conn.execute("SELECT current_database()").fetchone()
    if row is None or row[0] != data["database"]:
        error_cls = RevertError if reverting else FaultError
        raise error_cls(f"{data['dsn_env']} now points at database '{row[0] if row else '?'}', "
                        f"not '{data['database']}' where the fault was prepared", target=data["target"])


def new_tag(kind: str) -> str:
    """The application_name of a fault's held sessions: unique per fault, short enough (< 64 bytes)."""
    return f"gameday-hold {kind} {secrets.token_hex(6)}"


def backstop_options(data: dict[str, Any], fault: FaultSpec) -> str:
    """Server-side timeouts that end a held session on their own some time after the fault's planned end."""
    ms = int((fault.duration + BACKSTOP_MARGIN_S) * 1000)  # idle time counts from the inject
    options = [f"-c idle_in_transaction_session_timeout={ms}", "-c statement_timeout=0"]
    if data["server_version"] >= 140000:  # idle_session_timeout is new in PostgreSQL 14
        options.append(f"-c idle_session_timeout={ms}")
    return " ".join(options)


def open_held(url: str, data: dict[str, Any], *, autocommit: bool = True) -> psycopg.Connection[Any]:
    """One session held for the fault, tagged with its application_name; errors translated, URL blanked."""
    import psycopg

    with pg_errors(url, data["target"]):
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=5, application_name=data["tag"],
                               options=data["options"])


def tagged_pids(conn: psycopg.Connection[Any], tag: str) -> list[int]:
    rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s AND pid <> pg_backend_pid()",
                        (tag,)).fetchall()
    return [int(r[0]) for r in rows]


def end_tagged(url: str, data: dict[str, Any]) -> int:
    """End every session carrying the fault's tag (from any process) and wait until none is left.

    Returns how many were still there (0 when the holder had already gone, e.g. with a killed harness).
    """
    target = data["target"]
    with connect(url, target, reverting=True) as conn, pg_errors(url, target, reverting=True):
        same_database(conn, data, reverting=True)
        found, left = end_sessions(conn, "application_name = %s AND pid <> pg_backend_pid()", (data["tag"],))
        if left:
            raise RevertError(f"{len(left)} session(s) tagged '{data['tag']}' still open after "
                              f"{END_WAIT_S:.0f}s (pids {', '.join(map(str, left))})", target=target)
    return len(found)


def close_quietly(conns: list[psycopg.Connection[Any]]) -> None:
    for conn in conns:
        with contextlib.suppress(Exception):  # a session the server already ended: nothing to close
            conn.close()


@contextlib.contextmanager
def admin(url: str, data: dict[str, Any], *, reverting: bool = False) -> Iterator[psycopg.Connection[Any]]:
    """The admin connection, checked to be on the database the fault was prepared in."""
    with connect(url, data["target"], reverting=reverting) as conn, \
            pg_errors(url, data["target"], reverting=reverting):
        same_database(conn, data, reverting=reverting)
        yield conn
