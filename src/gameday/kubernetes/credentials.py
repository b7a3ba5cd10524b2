"""revoke_credentials inside a PostgreSQL pod: the role's LOGIN, through psql run in the pod's container.

    - kind: revoke_credentials
      target: postgres            # {platform: kubernetes, kind: StatefulSet, name: postgres, container: postgres}
      args: {role: checkout, terminate_sessions: true, socket_dir: /tmp/pgsock}

Backend ``postgres_in_pod`` of the ``gameday.credentials`` group, for targets on the kubernetes platform. psql
runs in the container through the platform's exec (the API server's, ``gameday.kubernetes.podexec``), as the
OS user ``postgres`` over the server's Unix socket (peer authentication, as initdb sets it up in the official
image and the demo's), so no password is read, sent or journalled, and the database needs no port gameday can
reach. The prior state is the catalog's ``rolcanlogin``, as for ``postgres_role``; revert gives LOGIN back only
if it was there, then checks it. A pod replaced meanwhile (a StatefulSet's ``postgres-0`` again) is reached by
its name: the role lives in the data folder, not in the pod.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from gameday.errors import FaultError, RevertError, TargetError
from gameday.faults.base import reverting
from gameday.faults.credentials import RevokeCredentialsArgs

if TYPE_CHECKING:
    from gameday.scenario.model import StackSpec, TargetSpec

DEFAULT_SOCKET_DIR = "/var/run/postgresql"
SUPERUSER = "postgres"
"""The role psql logs in as, and the OS user it runs as (peer authentication maps one to the other)."""
PSQL_TIMEOUT_S = 30.0
REVERT_WAIT_S = 60.0
"""How long revert waits for a pod that is being replaced (a StatefulSet's) before it fails loudly."""

# psql as the OS user postgres (setpriv when the exec runs as root, as it does unless the image says otherwise), on
# the port of the one server socket in the folder. The folder and the SQL are arguments, never part of the script.
_PSQL = """dir=$1; sql=$2
sock=$(ls -d "$dir"/.s.PGSQL.* 2>/dev/null | grep -v '[.]lock$' | head -n 1)
[ -n "$sock" ] || { echo "no PostgreSQL server socket in $dir (set args.socket_dir)" >&2; exit 2; }
set -- psql -X -q -At -v ON_ERROR_STOP=1 -h "$dir" -p "${sock##*.}" -U postgres -d postgres -c "$sql"
if [ "$(id -u)" = 0 ]; then set -- setpriv --reuid=postgres --regid=postgres --init-groups "$@"; fi
exec "$@"
"""


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class PostgresInPod:
    """Backend ``postgres_in_pod`` of revoke_credentials (entry point group gameday.credentials)."""

    platform: ClassVar[str] = "kubernetes"
    not_applying: ClassVar[tuple[str, ...]] = ("privileges", "objects", "env_key")
    needs: ClassVar[tuple[str, ...]] = ("role",)
    """Arguments this backend cannot do without: validate says so at the fault's args."""

    def __init__(self, *, environ: Mapping[str, str], state_dir: Path | None = None) -> None:
        self.environ = environ

    # --- psql in the pod ----------------------------------------------------------------------------

    def _psql(self, data: Mapping[str, Any], sql: str, *, error: type[FaultError] | type[RevertError] = FaultError) -> str:
        from gameday.kubernetes.podexec import KubectlExec  # lightkube only once a pod is acted on

        address = data["exec"]
        argv = ["sh", "-c", _PSQL, "sh", data["socket_dir"], sql]
        result = KubectlExec(address).exec(str(address["id"]), argv, timeout=PSQL_TIMEOUT_S)
        if result.exit_code != 0:
            raise error(f"psql in pod {address['namespace']}/{address['pod']}: "
                        f"{' '.join(result.output.split())[:300] or f'exit {result.exit_code}'}",
                        target=data["target"])
        return result.output

    def _can_login(self, data: Mapping[str, Any], *, error: type[FaultError] | type[RevertError] = FaultError) -> bool | None:
        out = self._psql(data, f"SELECT rolcanlogin FROM pg_roles WHERE rolname = {quote_literal(data['role'])}",
                         error=error)
        return None if not out.strip() else out.strip().splitlines()[-1] == "t"

    # --- the backend ------------------------------------------------------------------------------

    def prepare(self, target: TargetSpec, target_name: str, args: RevokeCredentialsArgs) -> tuple[str, dict[str, Any]]:
        raise FaultError(f"revoke_credentials on a pod (target '{target_name}') needs the stack", target=target_name)

    def prepare_in_stack(self, stack: StackSpec, target: TargetSpec, target_name: str,
                         args: RevokeCredentialsArgs) -> tuple[str, dict[str, Any]]:
        if not args.role:
            raise FaultError(f"revoke_credentials on Kubernetes target '{target_name}' needs args.role: the "
                             "PostgreSQL role whose LOGIN is revoked, by psql inside the pod", target=target_name)
        if args.role == SUPERUSER:
            raise FaultError(f"psql in the pod logs in as '{SUPERUSER}' itself; revoking it would lock out the revert",
                             target=target_name)
        from gameday.kubernetes.podexec import find_exec_container

        found = find_exec_container(stack, target, target_name)
        if found.state.status != "running":
            raise TargetError(f"container {found.state.name} is not running", target=target_name)
        address = found.fields["address"]
        data: dict[str, Any] = {
            "target": target_name, "role": args.role, "socket_dir": args.socket_dir or DEFAULT_SOCKET_DIR,
            "terminate_sessions": args.terminate_sessions,
            "exec": {k: address[k] for k in ("kubeconfig", "context", "namespace", "pod", "pod_uid", "container", "id",
                                             "kubectl", "target")},
        }
        can_login = self._can_login(data)
        if can_login is None:
            raise TargetError(f"PostgreSQL role '{args.role}' does not exist (in pod {address['namespace']}/"
                              f"{address['pod']})", target=target_name)
        if not can_login:
            raise FaultError(f"PostgreSQL role '{args.role}' already cannot log in (NOLOGIN); nothing to revoke",
                             target=target_name)
        data["prior"] = {"rolcanlogin": True}
        data["handle_fields"] = {k: v for k, v in found.fields.items() if k != "platform"}
        data["resource"] = found.fields["resource"]
        ends = " and end its sessions" if args.terminate_sessions else ""
        where = f"{address['namespace']}/{address['pod']}"
        return f"revoke LOGIN of PostgreSQL role {args.role}{ends}, by psql in pod {where}", data

    def inject(self, data: dict[str, Any]) -> None:
        role = data["role"]
        self._psql(data, f"ALTER ROLE {quote_ident(role)} NOLOGIN")
        if data["terminate_sessions"]:
            self._psql(data, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                             f"WHERE usename = {quote_literal(role)} AND pid <> pg_backend_pid()")

    def check(self, data: dict[str, Any]) -> bool:
        return self._can_login(data) is False

    def describe_revert(self, data: dict[str, Any]) -> str:
        return (f"give PostgreSQL role {data['role']} its LOGIN back (psql in pod {data['exec']['namespace']}/"
                f"{data['exec']['pod']}), and check it")

    def revert(self, data: dict[str, Any]) -> None:
        """LOGIN back if the role had it; a pod being replaced is waited for (up to REVERT_WAIT_S)."""
        deadline = time.monotonic() + REVERT_WAIT_S
        while True:
            try:
                with reverting():
                    self._restore(data)
                return
            except TargetError as exc:  # the pod is not there (yet): a StatefulSet makes it again by the same name
                if time.monotonic() > deadline:
                    raise RevertError(f"{exc}; PostgreSQL role '{data['role']}' is still NOLOGIN", target=data["target"]
                                      ) from exc
                time.sleep(1.0)

    def _restore(self, data: dict[str, Any]) -> None:
        wanted = bool(data["prior"]["rolcanlogin"])
        now = self._can_login(data, error=RevertError)
        if now is None:
            raise RevertError(f"PostgreSQL role '{data['role']}' no longer exists; it cannot be restored",
                              target=data["target"])
        if now != wanted:
            self._psql(data, f"ALTER ROLE {quote_ident(data['role'])} {'LOGIN' if wanted else 'NOLOGIN'}",
                       error=RevertError)
        if self._can_login(data, error=RevertError) != wanted:
            raise RevertError(f"PostgreSQL role '{data['role']}' rolcanlogin is not back to {wanted}",
                              target=data["target"])
