"""The built-in platforms whose targets are not containers: a Toxiproxy proxy, a host path, a PostgreSQL
role, a Redis ACL user. Each is a platform of its own, with its own target model and lock keys:

    {platform: toxiproxy, proxy: postgres}                          (version 1: {proxy: postgres})
    {platform: host, path: /var/lib/app}                            (version 1: {path: ...})
    {platform: postgres, postgres_role: checkout, dsn_env: PG_ADMIN}  (version 1: without platform)
    {platform: redis, redis_user: checkout, dsn_env: REDIS_ADMIN}     (version 1: without platform)

Being platforms, not fields of one target type, gives each its own allowlist: a stack file's
``allow.toxiproxy`` (proxy names), ``allow.postgres`` (roles), ``allow.redis`` (users), ``allow.host``
(paths; an entry allows the folder and everything below it). None of them carries an opt-in of its own
(a proxy, a role or an ACL user has nowhere to put a label that gameday could read before touching it),
so in a scenario's inline stack they are refused: only a stack file approves them.
"""

from __future__ import annotations

import posixpath
from typing import Annotated, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from gameday.platforms.base import PlatformDefaults, Target

DSN_ENV_DESCRIPTION = "environment variable holding the admin connection URL (never the URL itself)"


class ToxiproxyTarget(Target):
    platform: Literal["toxiproxy"] = "toxiproxy"
    proxy: str = Field(min_length=1, description="Toxiproxy proxy name")

    @property
    def selector(self) -> str:
        return f"proxy={self.proxy}"


class ToxiproxyPlatform(PlatformDefaults):
    """Proxies of a Toxiproxy server (``stack.toxiproxy.url``)."""

    name: ClassVar[str] = "toxiproxy"
    target_model: ClassVar[type[Target]] = ToxiproxyTarget

    def allow_name(self, target: Target) -> str | None:
        return target.proxy if isinstance(target, ToxiproxyTarget) else None

    @staticmethod
    def resource(url: str, proxy: str) -> str:
        """The lock key of a proxy: one run at a time on it, whatever the toxic and however the scenario names it."""
        parts = urlsplit(url)
        host = "127.0.0.1" if parts.hostname in ("localhost", "::1") else parts.hostname
        return f"toxiproxy:{host}:{parts.port or 8474}/{proxy}"


SYSTEM_PATHS = ("/etc", "/usr", "/bin", "/sbin", "/boot", "/proc", "/sys", "/dev", "/lib", "/lib32", "/lib64",
                "/libx32", "/var/lib/dpkg", "/var/lib/apt", "/var/lib/rpm", "/var/lib/dnf", "/var/lib/yum",
                "/var/lib/pacman")
"""Never a fault target: the machine's own system files (a stack's allowlist of paths comes with issue 14)."""


def system_path_problem(path: str, *, also: tuple[str, ...] = ()) -> str | None:
    """Why ``path`` is one gameday never touches (a system path, or under a folder in ``also``: the harness's
    state); None when it is not. Lexical: a caller that can resolve links passes the resolved path too."""
    normal = posixpath.normpath(path)
    for folder in SYSTEM_PATHS:
        if normal == folder or normal.startswith(folder + "/"):
            return f"{path} is a system path (under {folder}); gameday never changes system files"
    for folder in also:
        folder = posixpath.normpath(folder)
        if normal == folder or normal.startswith(folder + "/"):
            return f"{path} is in gameday's own state folder ({folder}); gameday never changes it"
    return None


def _not_a_system_path(path: str) -> str:
    problem = system_path_problem(path)
    if problem is not None:
        raise ValueError(problem)
    return path


class HostTarget(Target):
    platform: Literal["host"] = "host"
    path: Annotated[str, AfterValidator(_not_a_system_path)] = Field(
        min_length=1, description="a host path (disk and file faults); never under /etc, /usr, /boot, /proc, ...")

    @property
    def selector(self) -> str:
        return f"path={self.path}"


class HostPlatform(PlatformDefaults):
    """Paths on the machine gameday runs on."""

    name: ClassVar[str] = "host"
    target_model: ClassVar[type[Target]] = HostTarget

    def allow_name(self, target: Target) -> str | None:
        return target.path if isinstance(target, HostTarget) else None

    @staticmethod
    def file_resource(path: str) -> str:
        return f"file:{path}"

    @staticmethod
    def filesystem_resource(device: str) -> str:
        """One fill per host filesystem at a time, whichever directory of it a scenario names."""
        return f"filesystem:{device}"


class PostgresTarget(Target):
    platform: Literal["postgres"] = "postgres"
    postgres_role: str = Field(min_length=1, description="a PostgreSQL role")
    dsn_env: str | None = Field(None, description=DSN_ENV_DESCRIPTION)

    @property
    def selector(self) -> str:
        return f"postgres_role={self.postgres_role}"


class PostgresPlatform(PlatformDefaults):
    name: ClassVar[str] = "postgres"
    target_model: ClassVar[type[Target]] = PostgresTarget

    def allow_name(self, target: Target) -> str | None:
        return target.postgres_role if isinstance(target, PostgresTarget) else None

    @staticmethod
    def resource(server: str, role: str) -> str:
        return f"postgres_role:{server}/{role}"


class RedisTarget(Target):
    platform: Literal["redis"] = "redis"
    redis_user: str = Field(min_length=1, description="a Redis ACL user")
    dsn_env: str | None = Field(None, description=DSN_ENV_DESCRIPTION)

    @property
    def selector(self) -> str:
        return f"redis_user={self.redis_user}"


class RedisPlatform(PlatformDefaults):
    name: ClassVar[str] = "redis"
    target_model: ClassVar[type[Target]] = RedisTarget

    def allow_name(self, target: Target) -> str | None:
        return target.redis_user if isinstance(target, RedisTarget) else None

    @staticmethod
    def resource(host: str, port: int, user: str) -> str:
        return f"redis_user:{host}:{port}/{user}"
