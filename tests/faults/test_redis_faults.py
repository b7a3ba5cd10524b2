"""redis_maxmemory and redis_pause against a real redis-server: writes fail or wait, then the server is as it was."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from gameday.errors import FaultError
from gameday.faults.base import FaultHandle
from gameday.faults.redis_server import RedisMaxmemory, RedisPause
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.testing.services import RedisServer, redis_server


def spec(kind: str, duration: str = "5s", **args: Any) -> FaultSpec:
    return FaultSpec.model_validate({"kind": kind, "target": "cache", "args": args, "duration": duration})


STACK = StackSpec.model_validate({"targets": {"cache": {"redis_user": "app", "dsn_env": "REDIS_ADMIN"}}})


def roundtrip(handle: FaultHandle) -> FaultHandle:
    return FaultHandle.from_json(json.loads(json.dumps(handle.to_json())))


@pytest.fixture(scope="module")
def rs() -> Iterator[RedisServer]:
    """A redis-server of its own: these faults act on the whole server."""
    with redis_server(users={"app": "app-pw"}) as server:
        yield server


@pytest.fixture
def env(rs: RedisServer) -> dict[str, str]:
    return {"REDIS_ADMIN": rs.admin_url}


def config(rs: RedisServer) -> tuple[str, str]:
    with rs.client() as c:
        return str(c.config_get("maxmemory")["maxmemory"]), str(c.config_get("maxmemory-policy")["maxmemory-policy"])


# --- redis_maxmemory ---------------------------------------------------------------------------------------


def test_maxmemory_makes_writes_fail_with_oom_keeps_reads_and_revert_restores_limit_and_policy(
    rs: RedisServer, env: dict[str, str]
) -> None:
    with rs.client() as admin:
        admin.config_set("maxmemory", "104857600")
        admin.config_set("maxmemory-policy", "allkeys-lru")
        admin.set("kept", "1")
    before = config(rs)
    driver = RedisMaxmemory(environ=env)
    handle = driver.prepare(spec("redis_maxmemory"), STACK)
    assert "was 100.0 MiB, allkeys-lru" in handle.description
    driver.inject(handle)
    assert driver.check(handle)
    with rs.client("app") as app:
        assert app.get("kept") == "1"  # reads go on, nothing was evicted
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            app.set("new", "x")
    RedisMaxmemory(environ=env).revert(roundtrip(handle))
    assert config(rs) == before
    assert not driver.check(handle)
    with rs.client("app") as app:
        assert app.set("new", "x")
    RedisMaxmemory(environ=env).revert(roundtrip(handle))  # idempotent
    assert config(rs) == before


def test_maxmemory_restores_no_limit_and_says_what_a_zero_limit_means(rs: RedisServer, env: dict[str, str]) -> None:
    with rs.client() as admin:
        admin.config_set("maxmemory", "0")
        admin.config_set("maxmemory-policy", "noeviction")
    driver = RedisMaxmemory(environ=env)
    handle = driver.prepare(spec("redis_maxmemory", maxmemory="1MB"), STACK)
    assert "was no limit" in handle.description
    driver.inject(handle)
    assert config(rs) == ("1000000", "noeviction")
    driver.revert(handle)
    assert config(rs) == ("0", "noeviction")
    with pytest.raises(FaultError, match="0 means no limit"):
        driver.prepare(spec("redis_maxmemory", maxmemory=0), STACK)


# --- redis_pause -------------------------------------------------------------------------------------------


def test_pause_write_holds_writes_lets_reads_through_and_unpause_lets_the_write_finish(
    rs: RedisServer, env: dict[str, str]
) -> None:
    driver = RedisPause(environ=env)
    handle = driver.prepare(spec("redis_pause", duration="30s"), STACK)
    assert handle.data["pause_ms"] == 30000 and "CLIENT PAUSE 30000 WRITE" in handle.description
    driver.inject(handle)
    written = threading.Event()

    def write() -> None:
        with rs.client("app") as app:
            app.set("paused-write", "1")
        written.set()

    try:
        assert driver.check(handle)
        with rs.client("app") as app:
            assert app.ping()  # reads and pings go on
        writer = threading.Thread(target=write)
        writer.start()
        assert not written.wait(0.5)  # the write waits behind the pause
    finally:
        RedisPause(environ=env).revert(roundtrip(handle))
    assert written.wait(5)
    writer.join()
    assert not driver.check(handle)
    with rs.client() as admin:
        assert admin.get("paused-write") == "1"
        assert admin.pubsub_numsub("gameday:pause-check") == [("gameday:pause-check", 0)]


def test_pause_all_cannot_be_ended_early_and_revert_waits_for_its_timeout(
    rs: RedisServer, env: dict[str, str]
) -> None:
    driver = RedisPause(environ=env)
    handle = driver.prepare(spec("redis_pause", duration="2s", mode="all"), STACK)
    assert "cannot be ended early" in handle.description
    assert "ends at its timeout" in driver.describe_revert(handle)
    driver.inject(handle)
    started = time.monotonic()
    assert driver.check(handle)
    driver.revert(handle)
    # Bounded by the pause's own timeout (2 s), not by some longer wait; generous for a busy machine.
    assert time.monotonic() - started < 2.0 + 15.0
    assert not driver.check(handle)
    with rs.client("app") as app:
        assert app.set("after-all", "1")


def test_a_server_target_needs_a_redis_target_with_dsn_env(env: dict[str, str]) -> None:
    other = StackSpec.model_validate({"targets": {"cache": {"redis_user": "app"}}})
    with pytest.raises(FaultError, match="needs dsn_env"):
        RedisPause(environ=env).prepare(spec("redis_pause"), other)
    with pytest.raises(FaultError, match="environment variable REDIS_ADMIN is not set"):
        RedisMaxmemory(environ={}).prepare(spec("redis_maxmemory"), STACK)
