"""``db_lock``: a held lock on one table, so writes to it queue (and time out where a lock_timeout is set).

One session of the harness process (tagged, see pg_common) opens a transaction, takes ``LOCK TABLE .. IN
<mode> MODE`` and stays idle in it. ``exclusive`` (the default) lets plain reads through and queues every
write; ``share`` queues writes too but lets other readers lock; ``access_exclusive`` queues reads as well.
Revert rolls the transaction back (or, from another process, ends the tagged session) and checks the lock is
gone. The table must be one the target role may write, so the allowlisted role bounds what can be locked.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from gameday.errors import FaultError, TargetError
from gameday.faults import pg_common as pg
from gameday.faults.base import FaultArgs, FaultHandle
from gameday.platforms.resources import PostgresPlatform
from gameday.scenario.model import FaultSpec, StackSpec, TargetSpec

if TYPE_CHECKING:
    import psycopg

MODES = {"share": "SHARE", "exclusive": "EXCLUSIVE", "access_exclusive": "ACCESS EXCLUSIVE"}
ACQUIRE_TIMEOUT = "5s"
"""How long inject waits for the lock behind the table's current users before it gives up."""


class LockArgs(FaultArgs):
    table: str = Field(min_length=1, max_length=200, description="the table, e.g. orders or public.orders")
    mode: Literal["share", "exclusive", "access_exclusive"] = Field(
        "exclusive", description="exclusive: writes queue, reads go on; access_exclusive: reads queue too")


def _split(name: str) -> tuple[str, str]:
    schema, dot, table = name.rpartition(".")
    return (schema if dot else "public"), table


class DbLock:
    """Hold a table lock in a transaction left open, so writers wait."""

    kind: ClassVar[str] = "db_lock"
    args_model: ClassVar[type[FaultArgs]] = LockArgs
    target_fields: ClassVar[tuple[str, ...]] = ("postgres_role",)

    def __init__(self, *, environ: Mapping[str, str] | None = None) -> None:
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self._held: dict[str, psycopg.Connection[Any]] = {}

    def target_problems(self, target: TargetSpec, target_name: str, args: FaultArgs) -> list[tuple[str, str]]:
        return pg.target_problems(self.kind, target, target_name, platform=False)

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        target, url = pg.resolve(self.kind, fault, stack, self.environ)
        args = LockArgs.model_validate(fault.args)
        schema, table = _split(args.table)
        with pg.connect(url, fault.target) as conn, pg.pg_errors(url, fault.target):
            facts = pg.server_facts(conn)
            row = conn.execute(
                "SELECT c.oid, has_table_privilege(%s, c.oid, 'INSERT, UPDATE, DELETE'), "
                "has_table_privilege(current_user, c.oid, 'UPDATE, DELETE, TRUNCATE') FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s "
                "AND c.relkind IN ('r', 'p')", (target.postgres_role, schema, table)).fetchone()
        where = f"{schema}.{table} in database {facts['database']}"
        if row is None:
            raise TargetError(f"no table {where}", target=fault.target)
        if not row[1]:
            raise FaultError(f"role {target.postgres_role} may not write {where}: db_lock locks only a table the "
                             "target role writes", target=fault.target)
        if not row[2]:
            raise FaultError(f"no permission: admin role '{facts['admin']}' may not lock {where} "
                             "(needs UPDATE, DELETE or TRUNCATE on it)", target=fault.target)
        data: dict[str, Any] = {**facts, "target": fault.target, "dsn_env": target.dsn_env, "schema": schema,
                                "table": table, "oid": int(row[0]), "mode": args.mode, "tag": pg.new_tag("lock")}
        data["options"] = pg.backstop_options(data, fault)
        description = (f"lock table {schema}.{table} IN {MODES[args.mode]} MODE in an open transaction on "
                       f"{facts['server']}/{facts['database']}, so writes queue — held by the harness process, so "
                       "the lock goes if it dies")
        return FaultHandle(kind=self.kind, target=fault.target, description=description, data=data,
                           platform=PostgresPlatform.name,
                           resource=f"postgres_table:{facts['server']}/{facts['database']}/{schema}.{table}")

    def inject(self, handle: FaultHandle) -> None:
        from psycopg import errors, sql

        data = handle.data
        url = pg.url_of(data, self.environ)
        mode = MODES.get(data["mode"])
        if mode is None:  # the handle comes from a file: never splice unknown words into SQL
            raise FaultError(f"unknown lock mode {data['mode']!r} in the fault handle", target=data["target"])
        conn = pg.open_held(url, data, autocommit=False)
        self._held[data["tag"]] = conn
        with pg.pg_errors(url, data["target"]):
            pg.same_database(conn, data, reverting=False)
            conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(ACQUIRE_TIMEOUT)))
            try:
                conn.execute(sql.SQL("LOCK TABLE {} IN {} MODE").format(
                    sql.Identifier(data["schema"], data["table"]), sql.SQL(mode)))
            except errors.LockNotAvailable as exc:
                raise FaultError(f"could not take the lock on {data['schema']}.{data['table']} within "
                                 f"{ACQUIRE_TIMEOUT}: another session holds a conflicting one",
                                 target=data["target"]) from exc
            conn.execute("SET LOCAL lock_timeout = 0")

    def check(self, handle: FaultHandle) -> bool:
        """The tagged session holds the table's lock, granted, in the mode asked for."""
        data = handle.data
        with pg.admin(pg.url_of(data, self.environ), data) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE a.application_name = %s "
                "AND l.locktype = 'relation' AND l.relation = %s AND l.granted AND l.mode = %s",
                (data["tag"], data["oid"], MODES.get(data["mode"], "?").title().replace(" ", "") + "Lock")).fetchone()
        return row is not None and int(row[0]) > 0

    def describe_revert(self, handle: FaultHandle) -> str:
        return (f"roll back the locking transaction (or end the session tagged '{handle.data['tag']}') and check no "
                f"lock of it is left on {handle.data['schema']}.{handle.data['table']}")

    def revert(self, handle: FaultHandle) -> None:
        data = handle.data
        conn = self._held.pop(data["tag"], None)
        if conn is not None:
            pg.close_quietly([conn])  # closing the session rolls its transaction back
        pg.end_tagged(pg.url_of(data, self.environ, reverting=True), data)
