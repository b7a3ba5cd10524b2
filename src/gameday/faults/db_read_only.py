"""``db_read_only``: new sessions of a role (or of a database) start read-only.

``ALTER ROLE <role> SET default_transaction_read_only = on`` (scope ``role``) or ``ALTER DATABASE <db> SET
...`` (scope ``database``). The prior setting is read from ``pg_db_role_setting`` at prepare and journalled:
revert sets it back to exactly that value, or ``RESET``s it when it was not set, and checks the catalog.
Only sessions that start afterwards are affected: ``terminate_sessions`` ends the role's open sessions at
inject (so they reconnect read-only) and again at revert (so they reconnect writable). A session that
started during the fault keeps read-only until it reconnects; without terminate_sessions that is the app's
to notice, as after a real change of the setting.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from gameday.errors import FaultError, RevertError, TargetError
from gameday.faults import pg_common as pg
from gameday.faults.base import FaultArgs, FaultHandle
from gameday.platforms.resources import PostgresPlatform
from gameday.scenario.model import FaultSpec, StackSpec, TargetSpec

if TYPE_CHECKING:
    import psycopg

SETTING = "default_transaction_read_only"
_TRUE = {"on", "true", "yes", "1", "t", "y"}
_VALUES = _TRUE | {"off", "false", "no", "0", "f", "n"}
WRITABLE = "SET default_transaction_read_only = off"
"""The admin's own session first: with scope database it would start read-only too, and could not revert."""


class ReadOnlyArgs(FaultArgs):
    scope: Literal["role", "database"] = Field(
        "role", description="role: the target role's sessions everywhere; database: every session of the database")
    terminate_sessions: bool = Field(
        False, description="end the target role's open sessions at inject and at revert, so they reconnect")


def current_value(conn: psycopg.Connection[Any], data: dict[str, Any]) -> str | None:
    """The setting as the catalog holds it for this role or database alone; None when it is not set there."""
    if data["scope"] == "role":
        where, key = "s.setrole = (SELECT oid FROM pg_roles WHERE rolname = %s) AND s.setdatabase = 0", data["role"]
    else:
        where, key = "s.setdatabase = (SELECT oid FROM pg_database WHERE datname = %s) AND s.setrole = 0", data["database"]
    row = conn.execute(f"SELECT s.setconfig FROM pg_db_role_setting s WHERE {where}", (key,)).fetchone()
    for entry in (row[0] if row else None) or []:
        name, _, value = str(entry).partition("=")
        if name == SETTING:
            return value
    return None


def _alter(data: dict[str, Any], value: str | None) -> Any:
    """ALTER ROLE|DATABASE .. SET the setting to ``value``, or RESET it for None."""
    from psycopg import sql

    what = (sql.SQL("ALTER ROLE {}").format(sql.Identifier(data["role"])) if data["scope"] == "role"
            else sql.SQL("ALTER DATABASE {}").format(sql.Identifier(data["database"])))
    if value is None:
        return sql.SQL("{} RESET {}").format(what, sql.Identifier(SETTING))
    if value.lower() not in _VALUES:  # the prior value comes from the journal: only a boolean goes into SQL
        raise RevertError(f"the recorded {SETTING} {value!r} is not a boolean", target=data["target"])
    return sql.SQL("{} SET {} = {}").format(what, sql.Identifier(SETTING), sql.Literal(value))


class DbReadOnly:
    """Make new sessions of a role (or a database) read-only; put the exact prior setting back."""

    kind: ClassVar[str] = "db_read_only"
    args_model: ClassVar[type[FaultArgs]] = ReadOnlyArgs
    target_fields: ClassVar[tuple[str, ...]] = ("postgres_role",)

    def __init__(self, *, environ: Mapping[str, str] | None = None) -> None:
        self.environ: Mapping[str, str] = os.environ if environ is None else environ

    def target_problems(self, target: TargetSpec, target_name: str, args: FaultArgs) -> list[tuple[str, str]]:
        return pg.target_problems(self.kind, target, target_name, platform=False)

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        target, url = pg.resolve(self.kind, fault, stack, self.environ)
        args = ReadOnlyArgs.model_validate(fault.args)
        role = target.postgres_role
        with pg.connect(url, fault.target) as conn, pg.pg_errors(url, fault.target):
            facts = pg.server_facts(conn)
            row = conn.execute("SELECT r.rolsuper, pg_get_userbyid(d.datdba) FROM pg_roles r, pg_database d "
                               "WHERE r.rolname = %s AND d.datname = current_database()", (role,)).fetchone()
            if row is None:
                raise TargetError(f"PostgreSQL role '{role}' does not exist", target=fault.target)
            data: dict[str, Any] = {**facts, "target": fault.target, "dsn_env": target.dsn_env, "role": role,
                                    "scope": args.scope, "terminate_sessions": args.terminate_sessions}
            prior = current_value(conn, data)
        role_super, db_owner = bool(row[0]), str(row[1])
        if not facts["admin_super"]:
            allowed = (facts["admin_createrole"] and not role_super) if args.scope == "role" else db_owner == facts["admin"]
            if not allowed:
                needs = "CREATEROLE for a non-superuser role" if args.scope == "role" else "ownership of the database"
                raise FaultError(f"no permission: admin role '{facts['admin']}' may not change {SETTING} for the "
                                 f"{args.scope} (needs SUPERUSER, or {needs})", target=fault.target)
        if prior is not None and prior.lower() in _TRUE:
            raise FaultError(f"{SETTING} is already '{prior}' for the {args.scope}; nothing to change",
                             target=fault.target)
        data["prior"] = prior
        where = f"role {role}" if args.scope == "role" else f"database {facts['database']}"
        ends = f", and end role {role}'s open sessions so they reconnect read-only" if args.terminate_sessions else ""
        was = "not set" if prior is None else f"'{prior}'"
        description = f"set {SETTING} = on for {where} on {facts['server']} (was {was}){ends}"
        key = role if args.scope == "role" else facts["database"]
        return FaultHandle(kind=self.kind, target=fault.target, description=description, data=data,
                           platform=PostgresPlatform.name,
                           resource=f"postgres_setting:{facts['server']}/{args.scope}/{key}/{SETTING}")

    def _end_sessions(self, conn: psycopg.Connection[Any], data: dict[str, Any]) -> None:
        database = "" if data["scope"] == "role" else " AND datname = current_database()"
        pg.end_sessions(conn, f"usename = %s AND pid <> pg_backend_pid(){database}", (data["role"],))

    def inject(self, handle: FaultHandle) -> None:
        data = handle.data
        with pg.admin(pg.url_of(data, self.environ), data) as conn:
            conn.execute(WRITABLE)
            conn.execute(_alter(data, "on"))
            if data["terminate_sessions"]:
                self._end_sessions(conn, data)

    def check(self, handle: FaultHandle) -> bool:
        data = handle.data
        with pg.admin(pg.url_of(data, self.environ), data) as conn:
            value = current_value(conn, data)
        return value is not None and value.lower() in _TRUE

    def describe_revert(self, handle: FaultHandle) -> str:
        prior = handle.data["prior"]
        how = f"RESET {SETTING} (it was not set)" if prior is None else f"set {SETTING} back to '{prior}'"
        again = "; end the role's sessions again so they reconnect writable" if handle.data["terminate_sessions"] else ""
        return f"{how} and check the catalog{again}"

    def revert(self, handle: FaultHandle) -> None:
        data = handle.data
        with pg.admin(pg.url_of(data, self.environ, reverting=True), data, reverting=True) as conn:
            conn.execute(WRITABLE)
            if current_value(conn, data) != data["prior"]:
                conn.execute(_alter(data, data["prior"]))
            now = current_value(conn, data)
            if now != data["prior"]:
                raise RevertError(f"{SETTING} for the {data['scope']} is {now!r} after revert, not {data['prior']!r}",
                                  target=data["target"])
            if data["terminate_sessions"]:
                self._end_sessions(conn, data)
