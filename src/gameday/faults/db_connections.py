"""``db_connections_exhausted``: hold PostgreSQL connections until no ordinary role can get one.

The server refuses a non-superuser once fewer than ``superuser_reserved_connections`` (+ PostgreSQL 16's
``reserved_connections``) slots of ``max_connections`` are free. The driver opens sessions as the admin
(a superuser: its own sessions and gameday's revert must still get in through the reserved slots) until
the client sessions reach ``max_connections - reserved - leave_free``, counts again and tops up or gives
back, since others connect meanwhile. What is left: the reserved slots, for superusers only (and
``leave_free`` ordinary ones if asked). The app's sessions already open keep working, as with a real leak
elsewhere; ``terminate_sessions`` ends the target role's so its pool must reconnect, and is refused.

The sessions are held by the harness process (pg_common says why and what its death means).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from gameday.errors import FaultError
from gameday.faults import pg_common as pg
from gameday.faults.base import FaultArgs, FaultHandle
from gameday.platforms.resources import PostgresPlatform
from gameday.scenario.model import FaultSpec, StackSpec, TargetSpec

if TYPE_CHECKING:
    import psycopg

OPENERS = 8
"""Sessions opened at once (each waits on the server's fork and the password exchange)."""
ROUNDS = 4


class ConnectionsArgs(FaultArgs):
    leave_free: int = Field(0, ge=0, le=1000, description="ordinary connection slots to leave free")
    terminate_sessions: bool = Field(
        False, description="also end the target role's open sessions, so its pool must reconnect (and is refused)")
    max_held: int = Field(500, ge=1, le=5000, description="refuse (in plan) if more sessions than this are needed")


def _slots(conn: psycopg.Connection[Any]) -> dict[str, int]:
    """max_connections, the reserved slots, and the client sessions now (this one not counted)."""
    row = conn.execute(
        "SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int, "
        "coalesce(current_setting('reserved_connections', true), '0')::int, "
        "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid())"
    ).fetchone()
    assert row is not None
    return {"max_connections": int(row[0]), "reserved": int(row[1]) + int(row[2]), "in_use": int(row[3])}


class DbConnectionsExhausted:
    """Hold connections until only the superuser-reserved slots are left."""

    kind: ClassVar[str] = "db_connections_exhausted"
    args_model: ClassVar[type[FaultArgs]] = ConnectionsArgs
    target_fields: ClassVar[tuple[str, ...]] = ("postgres_role",)

    def __init__(self, *, environ: Mapping[str, str] | None = None) -> None:
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self._held: dict[str, list[psycopg.Connection[Any]]] = {}

    def target_problems(self, target: TargetSpec, target_name: str, args: FaultArgs) -> list[tuple[str, str]]:
        return pg.target_problems(self.kind, target, target_name, platform=False)

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        target, url = pg.resolve(self.kind, fault, stack, self.environ)
        args = ConnectionsArgs.model_validate(fault.args)
        with pg.connect(url, fault.target) as conn, pg.pg_errors(url, fault.target):
            facts = pg.server_facts(conn)
            slots = _slots(conn)
        if not facts["admin_super"]:
            raise FaultError(f"the admin URL in {target.dsn_env} logs in as '{facts['admin']}', not a superuser: its "
                             "held sessions would take the last ordinary slots and lock out the revert",
                             target=fault.target)
        limit = slots["max_connections"] - slots["reserved"] - args.leave_free
        needed = limit - slots["in_use"]
        if needed < 1:
            raise FaultError(f"{slots['in_use']} of {slots['max_connections']} connections are in use already "
                             f"({slots['reserved']} reserved, leave_free {args.leave_free}): nothing to exhaust",
                             target=fault.target)
        if needed > args.max_held:
            raise FaultError(f"exhausting would need about {needed} sessions, more than max_held {args.max_held}",
                             target=fault.target)
        data: dict[str, Any] = {**facts, "target": fault.target, "dsn_env": target.dsn_env, "role": target.postgres_role,
                                "tag": pg.new_tag("conn"), "limit": limit, "leave_free": args.leave_free,
                                "terminate_sessions": args.terminate_sessions, **slots}
        data["options"] = pg.backstop_options(data, fault)
        left = f"{slots['reserved']} reserved for superusers" + (
            f" and {args.leave_free} ordinary" if args.leave_free else "")
        ends = f", end role {target.postgres_role}'s sessions" if args.terminate_sessions else ""
        description = (f"hold about {needed} PostgreSQL connections on {facts['server']} (max_connections "
                       f"{slots['max_connections']}, {slots['in_use']} in use now){ends}; left free: {left} — "
                       "held by the harness process, so they close if it dies")
        return FaultHandle(kind=self.kind, target=fault.target, description=description, data=data,
                           platform=PostgresPlatform.name,
                           resource=f"postgres_server:{facts['server']}/connections")

    def _open(self, url: str, data: dict[str, Any], n: int) -> list[psycopg.Connection[Any]]:
        if n == 1:
            return [pg.open_held(url, data)]
        with ThreadPoolExecutor(OPENERS) as pool:
            futures = [pool.submit(pg.open_held, url, data) for _ in range(n)]
            opened, errors = [], []
            for future in futures:
                try:
                    opened.append(future.result())
                except Exception as exc:  # noqa: BLE001 - kept to close the others, then re-raised below
                    errors.append(exc)
        if errors:
            pg.close_quietly(opened)
            raise errors[0]
        return opened

    def inject(self, handle: FaultHandle) -> None:
        data = handle.data
        url = pg.url_of(data, self.environ)
        held = self._held.setdefault(data["tag"], [])
        held.extend(self._open(url, data, 1))  # the first held session also does the counting
        counter = held[0]
        terminated = not data["terminate_sessions"]
        with pg.pg_errors(url, data["target"]):
            pg.same_database(counter, data, reverting=False)
            for _ in range(ROUNDS):
                in_use = _slots(counter)["in_use"] + 1  # + the counting session itself
                if in_use < data["limit"]:
                    held.extend(self._open(url, data, data["limit"] - in_use))
                elif in_use > data["limit"] and len(held) > 1:  # others came in meanwhile: give some back
                    extra = held[len(held) - min(in_use - data["limit"], len(held) - 1):]
                    del held[len(held) - len(extra):]
                    pg.close_quietly(extra)
                elif terminated:
                    return
                if not terminated:
                    pg.end_sessions(counter, "usename = %s AND application_name <> %s", (data["role"], data["tag"]))
                    terminated = True

    def check(self, handle: FaultHandle) -> bool:
        """Tagged sessions are open and, without the one checking, no ordinary slot is free."""
        data = handle.data
        url = pg.url_of(data, self.environ)
        with pg.admin(url, data) as conn:
            slots = _slots(conn)
            return bool(pg.tagged_pids(conn, data["tag"])) and slots["in_use"] >= data["limit"]

    def describe_revert(self, handle: FaultHandle) -> str:
        return (f"close the held sessions (application_name '{handle.data['tag']}'), end any left from another "
                "process, and check none remains")

    def revert(self, handle: FaultHandle) -> None:
        data = handle.data
        pg.close_quietly(self._held.pop(data["tag"], []))
        pg.end_tagged(pg.url_of(data, self.environ, reverting=True), data)
