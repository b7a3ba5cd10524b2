"""revoke_credentials on a Redis ACL user: ``ACL SETUSER <user> off``, optionally killing its clients.

``off`` changes one flag and nothing else, so revert turns the user ``on`` again and then proves the
whole rule line (``ACL LIST``: flags, password hashes, key, channel and command rules, selectors) is
exactly what it was, by comparing a salted scrypt digest taken before the fault. The line itself,
which holds the password hashes, is never journalled; only a redacted copy for people to read.
See docs/decisions.md ("Redis ACL: restore by flag, verify by digest").
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote, urlsplit

from gameday.errors import FaultError, RevertError, ServiceUnavailable, TargetError
from gameday.faults.credentials import (
    RevokeCredentialsArgs,
    admin_url,
    digest_matches,
    env_url,
    new_digest,
    scrub,
)
from gameday.platforms.resources import RedisPlatform, RedisTarget
from gameday.scenario.model import TargetSpec

if TYPE_CHECKING:
    import redis

_HASH = re.compile(r"#[0-9a-fA-F]{64}")
_PLAIN = re.compile(r"(^|\s)>\S+")


def redact(rule_line: str) -> str:
    """An ACL rule line fit for a journal: password hashes (and any plaintext ``>pw``) blanked."""
    return _PLAIN.sub(r"\1>***", _HASH.sub("#<sha256 redacted>", rule_line))


def _password(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return unquote(parts.password) if parts.password else None


@contextlib.contextmanager
def redis_errors(url: str, target: str, *, reverting: bool = False) -> Iterator[None]:
    import redis.exceptions as rex

    error_cls = RevertError if reverting else FaultError
    secret = _password(url)
    try:
        yield
    except rex.AuthenticationError as exc:
        raise ServiceUnavailable(f"Redis for target '{target}': admin login failed: {scrub(str(exc), url, secret)}") from exc
    except (rex.ConnectionError, rex.TimeoutError) as exc:
        raise ServiceUnavailable(f"Redis for target '{target}' cannot be reached: {scrub(str(exc), url, secret)}") from exc
    except rex.NoPermissionError as exc:
        raise error_cls(f"no permission on Redis for target '{target}': {scrub(str(exc), url, secret)}",
                        target=target) from exc
    except rex.RedisError as exc:
        text = scrub(str(exc), url, secret)
        if text.upper().startswith("NOPERM"):
            raise error_cls(f"no permission on Redis for target '{target}': {text}", target=target) from exc
        raise error_cls(f"Redis refused the change for target '{target}': {text}", target=target) from exc
    except ValueError as exc:  # redis-py's URL parser
        raise error_cls(f"the admin URL for target '{target}' is not a valid Redis URL", target=target) from exc


@contextlib.contextmanager
def connect(url: str, target: str, *, reverting: bool = False) -> Iterator[redis.Redis]:
    import redis

    with redis_errors(url, target, reverting=reverting):
        client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5, decode_responses=True)
        try:
            client.ping()
            yield client
        finally:
            client.close()


def _cmd(client: redis.Redis, *argv: str) -> Any:
    """One raw Redis command (ACL and CLIENT KILL have no typed wrapper in every redis-py version)."""
    return client.execute_command(*argv)  # type: ignore[no-untyped-call]


def rule_line(client: redis.Redis, user: str) -> str | None:
    """The user's ``ACL LIST`` line, e.g. ``user checkout on #<hash> ~* &* +@all``; None if no such user."""
    prefix = f"user {user} "
    for line in _cmd(client, "ACL", "LIST"):
        if line.startswith(prefix):
            return str(line)
    return None


def _enabled(line: str) -> bool:
    return line.split()[2] == "on"


class RedisUser:
    """Backend ``redis_user`` of revoke_credentials (entry point group gameday.credentials)."""

    platform: ClassVar[str] = "redis"
    not_applying: ClassVar[tuple[str, ...]] = ("privileges", "objects", "env_key", "role", "socket_dir")

    def __init__(self, *, environ: Mapping[str, str], state_dir: Path | None = None) -> None:
        self.environ = environ

    def prepare(self, target: TargetSpec, target_name: str, args: RevokeCredentialsArgs) -> tuple[str, dict[str, Any]]:
        import redis.exceptions as rex

        assert isinstance(target, RedisTarget), "chosen by the target's platform"
        user = target.redis_user
        url = admin_url(target, target_name, self.environ)
        with connect(url, target_name) as client, redis_errors(url, target_name):
            me = str(_cmd(client, "ACL", "WHOAMI"))
            if user == me:
                raise FaultError(f"the admin URL in {target.dsn_env} logs in as '{user}' itself; disabling it would "
                                 "lock out the revert", target=target_name)
            line = rule_line(client, user)
            if line is None:
                raise TargetError(f"Redis ACL user '{user}' does not exist", target=target_name)
            if not _enabled(line):
                raise FaultError(f"Redis ACL user '{user}' is already off; nothing to revoke", target=target_name)
            for command in (["ACL", "SETUSER", user, "off"], ["CLIENT", "KILL", "USER", user]):
                if command[0] == "CLIENT" and not args.terminate_sessions:
                    continue
                try:
                    verdict = _cmd(client, "ACL", "DRYRUN", me, *command)
                except rex.ResponseError as exc:
                    if "unknown subcommand" in str(exc).lower():
                        break  # Redis < 7: no dry run; a missing permission shows at inject instead
                    raise
                if verdict not in ("OK", b"OK", True):
                    raise FaultError(f"no permission: Redis user '{me}' may not run {command[0]} {command[1]}: "
                                     f"{scrub(str(verdict))}", target=target_name)
        where = urlsplit(url)
        data = {"dsn_env": target.dsn_env, "user": user, "terminate_sessions": args.terminate_sessions,
                "resource": RedisPlatform.resource(str(where.hostname), where.port or 6379, user),
                "prior_enabled": True, "rules_redacted": redact(line), "rules_digest": new_digest(line.encode())}
        ends = " and kill its clients" if args.terminate_sessions else ""
        return f"disable Redis ACL user {user} (ACL SETUSER off){ends}", data

    def _url(self, data: dict[str, Any], *, reverting: bool = False) -> str:
        return env_url(data["dsn_env"], data["target"], self.environ, reverting=reverting)

    def inject(self, data: dict[str, Any]) -> None:
        url = self._url(data)
        with connect(url, data["target"]) as client, redis_errors(url, data["target"]):
            _cmd(client, "ACL", "SETUSER", data["user"], "off")
            if data["terminate_sessions"]:
                _cmd(client, "CLIENT", "KILL", "USER", data["user"])

    def check(self, data: dict[str, Any]) -> bool:
        url = self._url(data)
        with connect(url, data["target"]) as client, redis_errors(url, data["target"]):
            line = rule_line(client, data["user"])
        return line is not None and not _enabled(line)

    def describe_revert(self, data: dict[str, Any]) -> str:
        return f"enable Redis ACL user {data['user']} again and check its rules match the recorded digest"

    def revert(self, data: dict[str, Any]) -> None:
        url = self._url(data, reverting=True)
        target = data["target"]
        with connect(url, target, reverting=True) as client, redis_errors(url, target, reverting=True):
            line = rule_line(client, data["user"])
            if line is None:
                raise RevertError(f"Redis ACL user '{data['user']}' no longer exists; its rules were "
                                  f"'{data['rules_redacted']}' (passwords must be set again by hand)", target=target)
            if _enabled(line) != data["prior_enabled"]:
                _cmd(client, "ACL", "SETUSER", data["user"], "on" if data["prior_enabled"] else "off")
                line = rule_line(client, data["user"]) or ""
        if not digest_matches(line.encode(), data["rules_digest"]):
            raise RevertError(
                f"Redis ACL user '{data['user']}' is {'on' if _enabled(line) else 'off'} again but its rules changed "
                f"during the fault: now '{redact(line)}', before '{data['rules_redacted']}'", target=target)
