"""Redis server faults on a ``redis`` target (the app's ACL user and the ``dsn_env`` of the admin URL):

    redis_maxmemory   CONFIG SET maxmemory-policy noeviction, maxmemory <limit> (1 byte by default):
                      every write that needs memory fails with OOM, reads go on. The prior maxmemory and
                      policy are read at prepare, journalled, set back exactly and checked.
    redis_pause       CLIENT PAUSE <ms> WRITE (writes wait, reads go on) or ALL (every command waits), for
                      the fault's duration; revert is CLIENT UNPAUSE. Redis ends the pause by itself at its
                      timeout, so it is bounded even if every gameday process dies. Under ALL, Redis up to
                      at least 7.0 pauses CLIENT UNPAUSE itself: revert cannot end an ALL pause early; it
                      waits for the timeout (at most the fault's duration) and checks the server answers.
                      ``plan`` says so.

The admin URL is read from the environment (never journalled or logged); errors are scrubbed of it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field

from gameday.errors import FaultError, RevertError
from gameday.faults.base import FaultArgs, FaultHandle
from gameday.faults.credentials import admin_url, env_url
from gameday.faults.credentials_redis import redis_errors
from gameday.platforms.resources import RedisPlatform, RedisTarget
from gameday.scenario.model import FaultSpec, StackSpec, TargetSpec
from gameday.scenario.sizes import Size, format_size

if TYPE_CHECKING:
    import redis

POLICY = "noeviction"
PROBE_TIMEOUT_S = 0.5
"""check() under a pause: a command that does not answer within this while the server accepts connections."""


def _target_problems(kind: str, target: TargetSpec, target_name: str, *, platform: bool = True) -> list[tuple[str, str]]:
    if not isinstance(target, RedisTarget):
        if not platform:  # validate: the loader names a target on another platform already (target_fields)
            return []
        return [("target", (f"{kind} acts on a redis target ({{redis_user: ..., dsn_env: ...}}); "
                           f"'{target_name}' has {target.selector}"))]
    if not target.dsn_env:
        return [("target", (f"target '{target_name}' needs dsn_env: the environment variable holding the admin "
                           "connection URL"))]
    return []


def _client(url: str, timeout: float = 5.0) -> redis.Redis:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # No retries: a command that waits behind a pause must time out once, not be sent again.
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=5, decode_responses=True,
                                retry=Retry(NoBackoff(), 0))


def _cmd(client: redis.Redis, *argv: Any) -> Any:
    return client.execute_command(*argv)  # type: ignore[no-untyped-call]


class _RedisServerFault:
    kind: ClassVar[str]
    target_fields: ClassVar[tuple[str, ...]] = ("redis_user",)

    def __init__(self, *, environ: Mapping[str, str] | None = None) -> None:
        self.environ: Mapping[str, str] = os.environ if environ is None else environ

    def target_problems(self, target: TargetSpec, target_name: str, args: FaultArgs) -> list[tuple[str, str]]:
        return _target_problems(self.kind, target, target_name, platform=False)

    def _resolve(self, fault: FaultSpec, stack: StackSpec) -> tuple[RedisTarget, str, str]:
        target = stack.targets[fault.target]
        for _, problem in _target_problems(self.kind, target, fault.target)[:1]:
            raise FaultError(problem, target=fault.target)
        assert isinstance(target, RedisTarget)
        url = admin_url(target, fault.target, self.environ)
        where = urlsplit(url)
        return target, url, f"{where.hostname}:{where.port or 6379}"

    def _url(self, data: dict[str, Any], *, reverting: bool = False) -> str:
        return env_url(data["dsn_env"], data["target"], self.environ, reverting=reverting)


class MaxmemoryArgs(FaultArgs):
    maxmemory: Size = Field(1, description="the new limit, e.g. 1MB; the default, 1 byte, refuses every write that "
                                           "needs memory")


def _config(client: redis.Redis) -> tuple[str, str]:
    """(maxmemory in bytes, maxmemory-policy), as CONFIG GET says them."""
    return (str(client.config_get("maxmemory")["maxmemory"]),
            str(client.config_get("maxmemory-policy")["maxmemory-policy"]))


class RedisMaxmemory(_RedisServerFault):
    """Lower maxmemory with no eviction, so writes fail; put the exact prior limit and policy back."""

    kind: ClassVar[str] = "redis_maxmemory"
    args_model: ClassVar[type[FaultArgs]] = MaxmemoryArgs

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        target, url, server = self._resolve(fault, stack)
        args = MaxmemoryArgs.model_validate(fault.args)
        if args.maxmemory < 1:
            raise FaultError("maxmemory 0 means no limit in Redis: give at least 1 byte", target=fault.target)
        with redis_errors(url, fault.target), _client(url) as client:
            maxmemory, policy = _config(client)
            used = int(client.info("memory")["used_memory"])
        data = {"target": fault.target, "dsn_env": target.dsn_env, "server": server, "maxmemory": args.maxmemory,
                "prior": {"maxmemory": maxmemory, "policy": policy}, "used_memory": used}
        limit = "no limit" if maxmemory == "0" else format_size(int(maxmemory))
        description = (f"set Redis {server} maxmemory {format_size(args.maxmemory)} with maxmemory-policy {POLICY} "
                       f"(was {limit}, {policy}; {format_size(used)} used): writes that need memory fail with OOM")
        return FaultHandle(kind=self.kind, target=fault.target, description=description, data=data,
                           platform=RedisPlatform.name, resource=f"redis_server:{server}/maxmemory")

    def inject(self, handle: FaultHandle) -> None:
        data = handle.data
        url = self._url(data)
        with redis_errors(url, data["target"]), _client(url) as client:
            client.config_set("maxmemory-policy", POLICY)
            client.config_set("maxmemory", str(int(data["maxmemory"])))

    def check(self, handle: FaultHandle) -> bool:
        data = handle.data
        url = self._url(data)
        with redis_errors(url, data["target"]), _client(url) as client:
            return _config(client) == (str(int(data["maxmemory"])), POLICY)

    def describe_revert(self, handle: FaultHandle) -> str:
        prior = handle.data["prior"]
        return f"set maxmemory back to {prior['maxmemory']} bytes and maxmemory-policy to {prior['policy']}, and check both"

    def revert(self, handle: FaultHandle) -> None:
        data = handle.data
        url = self._url(data, reverting=True)
        prior = data["prior"]
        with redis_errors(url, data["target"], reverting=True), _client(url) as client:
            # The limit first: with it back, the policy's change cannot make Redis evict keys it kept.
            if _config(client) != (prior["maxmemory"], prior["policy"]):
                client.config_set("maxmemory", str(prior["maxmemory"]))
                client.config_set("maxmemory-policy", str(prior["policy"]))
            now = _config(client)
        if now != (prior["maxmemory"], prior["policy"]):
            raise RevertError(f"Redis {data['server']} has maxmemory {now[0]}, policy {now[1]} after revert, not "
                              f"{prior['maxmemory']}, {prior['policy']}", target=data["target"])


class PauseArgs(FaultArgs):
    mode: Literal["write", "all"] = Field(
        "write", description="write: writes wait, reads go on; all: every command waits (cannot be ended early)")


class RedisPause(_RedisServerFault):
    """Pause Redis clients (CLIENT PAUSE) for the fault's duration; CLIENT UNPAUSE on revert."""

    kind: ClassVar[str] = "redis_pause"
    args_model: ClassVar[type[FaultArgs]] = PauseArgs

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        target, url, server = self._resolve(fault, stack)
        args = PauseArgs.model_validate(fault.args)
        with redis_errors(url, fault.target), _client(url) as client:
            version = str(client.info("server")["redis_version"])
        if tuple(int(p) for p in version.split(".")[:2]) < (6, 2):
            raise FaultError(f"Redis {server} is {version}: CLIENT PAUSE WRITE and CLIENT UNPAUSE need 6.2 or later",
                             target=fault.target)
        data = {"target": fault.target, "dsn_env": target.dsn_env, "server": server, "mode": args.mode,
                "pause_ms": int(fault.duration * 1000)}
        waits = "writes wait, reads go on" if args.mode == "write" else (
            "every command waits; CLIENT UNPAUSE waits too, so it cannot be ended early: it ends at its timeout")
        description = f"CLIENT PAUSE {data['pause_ms']} {args.mode.upper()} on Redis {server} ({waits})"
        return FaultHandle(kind=self.kind, target=fault.target, description=description, data=data,
                           platform=RedisPlatform.name, resource=f"redis_server:{server}/pause")

    def inject(self, handle: FaultHandle) -> None:
        data = handle.data
        url = self._url(data)
        mode = {"write": "WRITE", "all": "ALL"}[data["mode"]]
        with redis_errors(url, data["target"]), _client(url) as client:
            _cmd(client, "CLIENT", "PAUSE", str(int(data["pause_ms"])), mode)

    def _answers(self, url: str, *argv: str) -> bool:
        """Does the command answer within PROBE_TIMEOUT_S? A server that does not even accept is an error."""
        import redis

        with _client(url, PROBE_TIMEOUT_S) as client:
            try:
                _cmd(client, *argv)
            except redis.exceptions.TimeoutError:
                return False
        return True

    def _paused(self, url: str, data: dict[str, Any]) -> bool:
        if not self._answers(url, "PING"):
            return True
        return data["mode"] == "write" and not self._answers(url, "PUBLISH", "gameday:pause-check", "1")

    def check(self, handle: FaultHandle) -> bool:
        """Paused: a fresh connection's PING (ALL) or a PUBLISH to nobody (WRITE; it writes no data) waits."""
        data = handle.data
        url = self._url(data)
        with redis_errors(url, data["target"]):
            return self._paused(url, data)

    def describe_revert(self, handle: FaultHandle) -> str:
        if handle.data["mode"] == "all":
            return ("CLIENT UNPAUSE; under ALL it waits behind the pause itself, so the pause ends at its timeout "
                    f"({handle.data['pause_ms']} ms after the inject); then check Redis answers")
        return "CLIENT UNPAUSE, then check writes go through again"

    def revert(self, handle: FaultHandle) -> None:
        import redis

        data = handle.data
        url = self._url(data, reverting=True)
        wait_s = int(data["pause_ms"]) / 1000 + 2.0
        with redis_errors(url, data["target"], reverting=True):
            # Under ALL the UNPAUSE itself waits for the pause's end: give it that long, never more.
            with _client(url, wait_s if data["mode"] == "all" else 5.0) as client:
                try:
                    _cmd(client, "CLIENT", "UNPAUSE")
                except redis.exceptions.TimeoutError as exc:
                    raise RevertError(f"Redis {data['server']} is still paused {wait_s:.0f}s after revert began",
                                      target=data["target"]) from exc
            deadline = time.monotonic() + 5.0
            while self._paused(url, data):
                if time.monotonic() > deadline:
                    raise RevertError(f"Redis {data['server']} still holds writes after CLIENT UNPAUSE",
                                      target=data["target"])
                time.sleep(0.05)
