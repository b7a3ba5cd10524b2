"""revoke_credentials on a PostgreSQL role: NOLOGIN (and end its sessions), or REVOKE table privileges.

The prior state comes from the catalog (``pg_roles.rolcanlogin``; ``aclexplode`` of ``pg_class.relacl``
for the role as grantee) and is journalled; the password is never read. Each grant is revoked and
re-granted as its original grantor (``SET ROLE``), so the grantor and grant option come back exactly.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from gameday.errors import FaultError, RevertError, ServiceUnavailable, TargetError
from gameday.faults.credentials import TABLE_PRIVILEGES, RevokeCredentialsArgs, admin_url, env_url, scrub
from gameday.platforms.resources import PostgresPlatform, PostgresTarget
from gameday.scenario.model import TargetSpec

if TYPE_CHECKING:
    import psycopg


def _password(url: str) -> str | None:
    from psycopg.conninfo import conninfo_to_dict

    try:
        return str(conninfo_to_dict(url).get("password") or "") or None
    except Exception:  # noqa: BLE001 - an unparsable URL has no password we can find; connect will say why
        return None


@contextlib.contextmanager
def pg_errors(url: str, target: str, *, reverting: bool = False) -> Iterator[None]:
    """Translate psycopg errors into ours, with the URL and its password blanked out."""
    import psycopg

    error_cls = RevertError if reverting else FaultError
    try:
        yield
    except psycopg.OperationalError as exc:
        raise ServiceUnavailable(f"PostgreSQL for target '{target}': {scrub(str(exc), url, _password(url))}") from exc
    except psycopg.errors.InsufficientPrivilege as exc:
        raise error_cls(f"no permission on PostgreSQL for target '{target}': {scrub(str(exc), url, _password(url))}",
                        target=target) from exc
    except psycopg.Error as exc:
        raise error_cls(f"PostgreSQL refused the change for target '{target}': {scrub(str(exc), url, _password(url))}",
                        target=target) from exc


@contextlib.contextmanager
def connect(url: str, target: str, *, reverting: bool = False) -> Iterator[psycopg.Connection[Any]]:
    import psycopg

    with pg_errors(url, target, reverting=reverting):
        try:
            conn = psycopg.connect(url, autocommit=True, connect_timeout=5, application_name="gameday")
        except psycopg.ProgrammingError as exc:  # a malformed URL: never echo it
            raise FaultError(f"the admin URL for target '{target}' is not a valid PostgreSQL URL", target=target) from exc
        try:
            yield conn
        finally:
            conn.close()


def _rel_oid(conn: psycopg.Connection[Any], schema: str, table: str) -> int | None:
    row = conn.execute("SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = %s AND c.relname = %s", (schema, table)).fetchone()
    return None if row is None else int(row[0])


def _privilege(name: str) -> Any:
    from psycopg import sql

    if name not in TABLE_PRIVILEGES:  # the handle comes from a file: never splice unknown words into SQL
        raise RevertError(f"unknown privilege {name!r} in the fault handle")
    return sql.SQL(name)


def _grants(conn: psycopg.Connection[Any], rel_oid: int, role: str, privileges: list[str]) -> list[dict[str, Any]]:
    rows = conn.execute(
        """
        SELECT g.rolname, a.privilege_type, a.is_grantable
        FROM pg_class c
        CROSS JOIN LATERAL aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
        JOIN pg_roles g ON g.oid = a.grantor
        JOIN pg_roles r ON r.oid = a.grantee
        WHERE c.oid = %s AND r.rolname = %s AND a.privilege_type = ANY(%s)
        ORDER BY 1, 2
        """,
        (rel_oid, role, privileges),
    ).fetchall()
    return [{"grantor": g, "privilege": p, "grantable": bool(opt)} for g, p, opt in rows]


END_SESSIONS_WAIT_S = 5.0
"""How long ending sessions may take before the fault carries on without waiting for the rest."""


def end_sessions(conn: psycopg.Connection[Any], where: str, params: tuple[Any, ...]) -> tuple[list[int], list[int]]:
    """End the sessions of ``pg_stat_activity`` that ``where`` (our own SQL) selects, and wait until they are
    gone: ``pg_terminate_backend`` only signals a backend, so a session used or counted right after it (on a
    busy machine) could still be there. Returns (the pids found, those still there after the wait)."""
    found = [int(r[0]) for r in conn.execute(f"SELECT pid FROM pg_stat_activity WHERE {where}", params).fetchall()]
    pids = list(found)
    for pid in pids:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    deadline = time.monotonic() + END_SESSIONS_WAIT_S
    while pids:
        alive = {int(r[0]) for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)",
                                                  (pids,)).fetchall()}
        pids = [pid for pid in pids if pid in alive]
        if not pids or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return found, pids


class PostgresRole:
    """Backend ``postgres_role`` of revoke_credentials (entry point group gameday.credentials)."""

    platform: ClassVar[str] = "postgres"
    not_applying: ClassVar[tuple[str, ...]] = ("env_key", "role", "socket_dir")

    def __init__(self, *, environ: Mapping[str, str], state_dir: Path | None = None) -> None:
        self.environ = environ

    def prepare(self, target: TargetSpec, target_name: str, args: RevokeCredentialsArgs) -> tuple[str, dict[str, Any]]:
        from psycopg import sql

        assert isinstance(target, PostgresTarget), "chosen by the target's platform"
        role = target.postgres_role
        url = admin_url(target, target_name, self.environ)
        with connect(url, target_name) as conn, pg_errors(url, target_name):
            me, me_super, me_createrole, database = conn.execute(
                "SELECT rolname, rolsuper, rolcreaterole, current_database() FROM pg_roles WHERE rolname = current_user"
            ).fetchone() or ("", False, False, "")
            row = conn.execute("SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if row is None:
                raise TargetError(f"PostgreSQL role '{role}' does not exist", target=target_name)
            can_login, role_super = bool(row[0]), bool(row[1])
            if role == me:
                raise FaultError(f"the admin URL in {target.dsn_env} logs in as '{role}' itself; revoking it would "
                                 "lock out the revert", target=target_name)
            server = conn.info.host + ":" + str(conn.info.port)
            data: dict[str, Any] = {"dsn_env": target.dsn_env, "role": role, "database": database,
                                    "terminate_sessions": args.terminate_sessions,
                                    "resource": PostgresPlatform.resource(server, role)}
            ends = " and end its sessions" if args.terminate_sessions else ""
            if args.privileges is None:
                if not can_login:
                    raise FaultError(f"PostgreSQL role '{role}' already cannot log in (NOLOGIN); nothing to revoke",
                                     target=target_name)
                if not me_super and (role_super or not me_createrole):
                    raise FaultError(f"no permission: admin role '{me}' may not ALTER ROLE '{role}' "
                                     "(needs SUPERUSER, or CREATEROLE for a non-superuser role)", target=target_name)
                data.update(mode="login", prior={"rolcanlogin": can_login})
                return f"revoke LOGIN of PostgreSQL role {role}{ends}", data

            assert args.objects is not None
            objects: list[dict[str, Any]] = []
            for name in args.objects:
                found = conn.execute(
                    """SELECT c.oid, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE c.oid = to_regclass(%s)""",
                    (name,),
                ).fetchone()
                if found is None:
                    raise TargetError(f"table '{name}' does not exist in database '{database}'", target=target_name)
                oid, schema, rel = found
                grants = _grants(conn, oid, role, args.privileges)
                objects.append({"name": name, "schema": schema, "table": rel, "grants": grants})
            if not any(o["grants"] for o in objects):
                raise FaultError(
                    f"PostgreSQL role '{role}' holds none of {', '.join(args.privileges)} directly on "
                    f"{', '.join(args.objects)}; nothing to revoke", target=target_name)
            if not me_super:
                for grantor in sorted({g["grantor"] for o in objects for g in o["grants"]}):
                    member = conn.execute(
                        sql.SQL("SELECT pg_has_role(current_user, {}, 'MEMBER')").format(sql.Literal(grantor))
                    ).fetchone()
                    if not (member and member[0]):
                        raise FaultError(f"no permission: admin role '{me}' cannot act as grantor '{grantor}'",
                                         target=target_name)
            data.update(mode="privileges", privileges=args.privileges, objects=objects)
            tables = ", ".join(f"{o['schema']}.{o['table']}" for o in objects)
            return f"revoke {', '.join(args.privileges)} on {tables} from PostgreSQL role {role}{ends}", data

    def _url(self, data: dict[str, Any], *, reverting: bool = False) -> str:
        return env_url(data["dsn_env"], data["target"], self.environ, reverting=reverting)

    def _same_database(self, conn: psycopg.Connection[Any], data: dict[str, Any], *, reverting: bool) -> None:
        row = conn.execute("SELECT current_database()").fetchone()
        if row is None or row[0] != data["database"]:
            error_cls = RevertError if reverting else FaultError
            raise error_cls(f"{data['dsn_env']} now points at database '{row[0] if row else '?'}', "
                            f"not '{data['database']}' where the fault was prepared", target=data["target"])

    def inject(self, data: dict[str, Any]) -> None:
        from psycopg import sql

        url = self._url(data)
        role = sql.Identifier(data["role"])
        with connect(url, data["target"]) as conn, pg_errors(url, data["target"]):
            self._same_database(conn, data, reverting=False)
            with conn.transaction():
                if data["mode"] == "login":
                    conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(role))
                else:
                    for obj in data["objects"]:
                        table = sql.Identifier(obj["schema"], obj["table"])
                        for g in obj["grants"]:
                            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(g["grantor"])))
                            conn.execute(sql.SQL("REVOKE {} ON TABLE {} FROM {}").format(
                                _privilege(g["privilege"]), table, role))
                            conn.execute("RESET ROLE")
            if data["terminate_sessions"]:
                end_sessions(conn, "usename = %s AND pid <> pg_backend_pid()", (data["role"],))

    def check(self, data: dict[str, Any]) -> bool:
        url = self._url(data)
        with connect(url, data["target"]) as conn, pg_errors(url, data["target"]):
            if data["mode"] == "login":
                row = conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (data["role"],)).fetchone()
                return row is not None and not row[0]
            for obj in data["objects"]:
                for g in obj["grants"]:
                    oid = _rel_oid(conn, obj["schema"], obj["table"])
                    row = conn.execute("SELECT has_table_privilege(%s, %s::oid, %s)",
                                       (data["role"], oid, g["privilege"])).fetchone()
                    if oid is None or row is None or row[0]:
                        return False
            return True

    def describe_revert(self, data: dict[str, Any]) -> str:
        if data["mode"] == "login":
            return f"give PostgreSQL role {data['role']} its LOGIN back as it was, and check it"
        tables = ", ".join(f"{o['schema']}.{o['table']}" for o in data["objects"])
        return f"grant {', '.join(data['privileges'])} on {tables} to role {data['role']} again, as they were"

    def revert(self, data: dict[str, Any]) -> None:
        from psycopg import sql

        url = self._url(data, reverting=True)
        target = data["target"]
        role = sql.Identifier(data["role"])
        with connect(url, target, reverting=True) as conn, pg_errors(url, target, reverting=True):
            self._same_database(conn, data, reverting=True)
            exists = conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (data["role"],)).fetchone()
            if exists is None:
                raise RevertError(f"PostgreSQL role '{data['role']}' no longer exists; it cannot be restored",
                                  target=target)
            if data["mode"] == "login":
                wanted = bool(data["prior"]["rolcanlogin"])
                if bool(exists[0]) != wanted:
                    conn.execute(sql.SQL("ALTER ROLE {} {}").format(role, sql.SQL("LOGIN" if wanted else "NOLOGIN")))
                row = conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (data["role"],)).fetchone()
                if row is None or bool(row[0]) != wanted:
                    raise RevertError(f"PostgreSQL role '{data['role']}' rolcanlogin is not back to {wanted}",
                                      target=target)
                return
            privileges = data["privileges"]
            for obj in data["objects"]:
                oid = _rel_oid(conn, obj["schema"], obj["table"])
                if oid is None:
                    raise RevertError(f"table {obj['schema']}.{obj['table']} no longer exists; its grants to "
                                      f"'{data['role']}' cannot be restored", target=target)
                table = sql.Identifier(obj["schema"], obj["table"])
                now = _grants(conn, oid, data["role"], privileges)
                for g in obj["grants"]:
                    if g in now:
                        continue
                    with conn.transaction():
                        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(g["grantor"])))
                        conn.execute(sql.SQL("GRANT {} ON TABLE {} TO {}{}").format(
                            _privilege(g["privilege"]), table, role,
                            sql.SQL(" WITH GRANT OPTION" if g["grantable"] else "")))
                        conn.execute("RESET ROLE")
                after = _grants(conn, oid, data["role"], privileges)
                if sorted(map(repr, after)) != sorted(map(repr, obj["grants"])):
                    raise RevertError(
                        f"grants of {obj['schema']}.{obj['table']} to '{data['role']}' differ after revert: "
                        f"now {_short(after)}, before {_short(obj['grants'])}", target=target)


def _short(grants: list[dict[str, Any]]) -> str:
    return ", ".join(f"{g['privilege']}{'*' if g['grantable'] else ''} by {g['grantor']}" for g in grants) or "none"
