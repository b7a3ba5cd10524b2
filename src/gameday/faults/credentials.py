"""``revoke_credentials``: take a credential away, then give back exactly what was there.

The backend is picked by the target's platform; each is a plugin of the ``gameday.credentials`` entry
point group (named as journals record it), so a new kind of credential (a Kubernetes Secret, a vault
entry) plugs in without editing this module:

    postgres_role + dsn_env   ALTER ROLE .. NOLOGIN (optionally end its sessions), or REVOKE named
                              privileges on named tables; revert restores rolcanlogin / the exact grants
                              (grantor and grant option included) read from the catalog before the change
    redis_user + dsn_env      ACL SETUSER <user> off (optionally kill its clients); revert turns it on and
                              verifies the whole ACL rule line is what it was, by a salted digest
    path                      a credentials file (or one ``env_key`` entry of an .env file) is overwritten in
                              place with an invalid value; revert writes back the original bytes, mode,
                              owner and times from a 0600 backup in the private state directory
    kubernetes + role         (gameday.kubernetes.credentials) a PostgreSQL role's LOGIN revoked by psql run
                              inside the target's pod, through the platform's exec; revert as postgres_role

What is journalled never holds a secret: role names, grant lists, file paths, modes and salted scrypt
digests (a plain sha256 of a short password could be brute-forced from a journal). The admin
connection URLs are read from the environment variable the target names, at prepare and at revert
(``gameday cleanup`` needs the same variable set); they are never logged. See docs/decisions.md.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol, cast

from pydantic import Field, field_validator, model_validator

from gameday.errors import FaultError, RevertError
from gameday.faults.base import FaultArgs, FaultHandle
from gameday.folders import default_state_dir
from gameday.platforms.registry import installed_platforms
from gameday.plugins import PluginGroup
from gameday.scenario.model import FaultSpec, StackSpec, TargetSpec

TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


class RevokeCredentialsArgs(FaultArgs):
    terminate_sessions: bool = Field(
        False, description="also end the sessions / clients already logged in (postgres_role, redis_user)"
    )
    privileges: list[str] | None = Field(
        None, description="postgres_role: revoke these table privileges instead of LOGIN, e.g. [INSERT, UPDATE]"
    )
    objects: list[str] | None = Field(None, description="postgres_role: the tables, e.g. [public.orders]")
    env_key: str | None = Field(None, description="path: replace only this KEY=value entry of an .env file")
    role: str | None = Field(None, min_length=1, max_length=63,
                             description="a PostgreSQL pod (kubernetes target): the role whose LOGIN is revoked")
    socket_dir: str | None = Field(None, pattern=r"^/", description="a PostgreSQL pod: the server's Unix socket "
                                   "folder in the container (default /var/run/postgresql)")

    @field_validator("privileges")
    @classmethod
    def _known_privileges(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        upper = [p.upper() for p in value]
        unknown = [p for p in upper if p not in TABLE_PRIVILEGES]
        if unknown or not upper:
            raise ValueError(
                f"privileges must be a non-empty list of {', '.join(TABLE_PRIVILEGES)}"
                + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            )
        return list(dict.fromkeys(upper))

    @field_validator("env_key")
    @classmethod
    def _env_key(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_KEY.match(value):
            raise ValueError(f"env_key must look like an environment variable name, got {value!r}")
        return value

    @model_validator(mode="after")
    def _objects_with_privileges(self) -> RevokeCredentialsArgs:
        if (self.privileges is None) != (self.objects is None):
            raise ValueError("privileges and objects go together: which privileges, on which tables")
        if self.objects is not None and not self.objects:
            raise ValueError("objects must name at least one table")
        return self


# --- helpers shared by the backends -----------------------------------------------------------


def secret_digest(data: bytes, salt_hex: str) -> str:
    """A salted, deliberately slow digest (scrypt) of secret material, safe to journal."""
    return hashlib.scrypt(data, salt=bytes.fromhex(salt_hex), n=2**14, r=8, p=1, dklen=32).hex()


def new_digest(data: bytes) -> dict[str, str]:
    salt = secrets.token_hex(16)
    return {"alg": "scrypt-n16384-r8-p1", "salt": salt, "value": secret_digest(data, salt)}


def digest_matches(data: bytes, digest: Mapping[str, str]) -> bool:
    return secrets.compare_digest(secret_digest(data, digest["salt"]), digest["value"])


def scrub(text: str, *secret_values: str | None) -> str:
    """One line of an error message with every known secret (and the whole URL) blanked out."""
    line = " ".join(str(text).split())
    for value in secret_values:
        if value:
            line = line.replace(value, "***")
    return line[:300]


def admin_url(target: TargetSpec, target_name: str, environ: Mapping[str, str], *, reverting: bool = False) -> str:
    """The admin connection URL from the environment variable the target names (never from the file)."""
    error_cls = RevertError if reverting else FaultError
    dsn_env = getattr(target, "dsn_env", None)
    if not dsn_env:
        raise error_cls(f"target '{target_name}' needs dsn_env: the environment variable holding the admin "
                        "connection URL", target=target_name)
    return env_url(dsn_env, target_name, environ, reverting=reverting)


def env_url(var: str, target_name: str, environ: Mapping[str, str], *, reverting: bool = False) -> str:
    value = environ.get(var, "")
    if not value:
        error_cls = RevertError if reverting else FaultError
        raise error_cls(f"environment variable {var} is not set (the admin connection URL for target "
                        f"'{target_name}')", target=target_name)
    return value


BACKENDS_GROUP = "gameday.credentials"


class Backend(Protocol):
    """One kind of credential. ``data`` is the handle's JSON; it never holds a secret.

    Made as ``Backend(environ=..., state_dir=...)``; the entry point's name is journalled (``data["backend"]``).
    """

    platform: ClassVar[str]
    """The target platform whose targets this backend serves (``postgres``, ``redis``, ``host``)."""
    not_applying: ClassVar[tuple[str, ...]]
    """revoke_credentials args that make no sense for this backend: giving one is an error."""

    def prepare(self, target: TargetSpec, target_name: str, args: RevokeCredentialsArgs) -> tuple[str, dict[str, Any]]:
        """(description, data): resolve and read the prior state; no side effect."""
        ...

    def inject(self, data: dict[str, Any]) -> None: ...

    def check(self, data: dict[str, Any]) -> bool: ...

    def revert(self, data: dict[str, Any]) -> None: ...


class StackBackend(Backend, Protocol):
    """A backend whose prepare needs the whole stack (its platform's settings, where the stack file is), and
    which gives the handle fields of its own (``data["handle_fields"]``: labels, address, resource), which its
    platform's safety check reads."""

    def prepare_in_stack(self, stack: StackSpec, target: TargetSpec, target_name: str,
                         args: RevokeCredentialsArgs) -> tuple[str, dict[str, Any]]: ...


class RevokeCredentials:
    """Revoke a PostgreSQL role's login or privileges, disable a Redis ACL user, or spoil a credentials file."""

    kind: ClassVar[str] = "revoke_credentials"
    args_model: ClassVar[type[FaultArgs]] = RevokeCredentialsArgs
    target_fields: ClassVar[tuple[str, ...]] = ()
    """None: a backend per platform decides (``target_problems``), and a plugin's platform may bring one."""

    def __init__(self, *, environ: Mapping[str, str] | None = None, state_dir: Path | None = None) -> None:
        # The process environment is read here, at the driver's boundary, and only for the variables
        # a target names (dsn_env) and the state folder.
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.state_dir = state_dir
        self._backends = PluginGroup(BACKENDS_GROUP, Backend, what="credentials backend")

    def _backend_class(self, name: str) -> type[Backend]:
        if name not in self._backends:
            raise FaultError(f"unknown credentials backend '{name}' (known: {', '.join(self._backends.names())})")
        cls: type[Backend] = self._backends.load(name)
        return cls

    def _backend(self, name: str) -> Backend:
        cls: Any = self._backend_class(name)
        backend: Backend = cls(environ=self.environ, state_dir=self.state_dir or default_state_dir(self.environ))
        return backend

    def _backend_for(self, platform: str) -> str | None:
        """The backend serving targets on ``platform`` (every backend is loaded: they are small)."""
        return next((name for name in self._backends.names() if self._backend_class(name).platform == platform), None)

    def target_problems(self, target: TargetSpec, target_name: str, args: FaultArgs) -> list[tuple[str, str]]:
        """Mistakes seen without touching anything, as (``target`` or ``args``, message): validate reports them
        located, and prepare refuses the first."""
        backend_name = self._backend_for(target.platform)
        if backend_name is None:
            served = sorted(self._backend_class(name).platform for name in self._backends.names())
            return [("target", (f"revoke_credentials acts on a target on platform {', '.join(served)}; "
                                f"'{target_name}' has {target.selector}"))]
        problems: list[tuple[str, str]] = []
        problem = installed_platforms().exec_target_problem(target, target_name)
        if problem is not None:
            problems.append(("target", problem))
        misplaced = self._backend_class(backend_name).not_applying
        given = [k for k in misplaced if getattr(args, k, None) not in (None, False)]
        if given:
            problems.append(("args", f"{', '.join(given)} do(es) not apply to a {backend_name} target ('{target_name}')"))
        wanted = [k for k in getattr(self._backend_class(backend_name), "needs", ()) if not getattr(args, k, None)]
        if wanted:
            needed = ", ".join(f"args.{k}" for k in wanted)
            problems.append(("args", f"revoke_credentials on a {target.platform} target ('{target_name}') needs {needed}"))
        if "dsn_env" in type(target).model_fields and not getattr(target, "dsn_env", None):
            problems.append(("target", (f"target '{target_name}' needs dsn_env: the environment variable holding "
                                        "the admin connection URL")))
        return problems

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        target = stack.targets[fault.target]
        args = RevokeCredentialsArgs.model_validate(fault.args)
        for _, problem in self.target_problems(target, fault.target, args)[:1]:
            raise FaultError(problem, target=fault.target)
        backend_name = self._backend_for(target.platform)
        assert backend_name is not None, "target_problems said so"
        backend = self._backend(backend_name)
        if callable(getattr(backend, "prepare_in_stack", None)):
            description, data = cast(StackBackend, backend).prepare_in_stack(stack, target, fault.target, args)
        else:
            description, data = backend.prepare(target, fault.target, args)
        fields: dict[str, Any] = {"platform": target.platform, "resource": str(data.pop("resource", "")),
                                  **data.pop("handle_fields", {})}
        return FaultHandle(kind=self.kind, target=fault.target, description=description,
                           data={"backend": backend_name, "target": fault.target, **data}, **fields)

    def inject(self, handle: FaultHandle) -> None:
        self._backend(handle.data["backend"]).inject(handle.data)

    def check(self, handle: FaultHandle) -> bool:
        return self._backend(handle.data["backend"]).check(handle.data)

    def describe_revert(self, handle: FaultHandle) -> str:
        """A backend may say it in its own words (an optional ``describe_revert(data)``); else the general rule."""
        backend = self._backend(handle.data["backend"])
        own = getattr(backend, "describe_revert", None)
        if callable(own):
            return str(own(handle.data))
        return f"put back exactly what was changed ({handle.description}), checked against the recorded state"

    def revert(self, handle: FaultHandle) -> None:
        """Put back exactly the prior state; idempotent, and works from the handle alone."""
        self._backend(handle.data["backend"]).revert(handle.data)
