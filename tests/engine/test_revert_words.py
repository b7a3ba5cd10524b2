"""What `gameday plan` prints after "would undo:": each built-in driver's own words, naming what it puts back."""

from __future__ import annotations

from typing import Any

import pytest

from gameday.engine.plan import describe_revert
from gameday.faults.credentials import RevokeCredentials
from gameday.faults.db_connections import DbConnectionsExhausted
from gameday.faults.db_lock import DbLock
from gameday.faults.db_read_only import DbReadOnly
from gameday.faults.disk import DiskFill
from gameday.faults.redis_server import RedisMaxmemory, RedisPause
from gameday.faults.toxiproxy import Latency, ProxyDown
from gameday.handle import FaultHandle


def handle(kind: str, data: dict[str, Any], description: str = "break it") -> FaultHandle:
    return FaultHandle(kind=kind, target="t", description=description, data=data)


@pytest.mark.parametrize(("driver", "data", "words"), [
    (Latency(), {"toxic": "gameday-latency-1a2b", "proxy": "postgres"},
     "remove toxic gameday-latency-1a2b from proxy postgres (any other toxic stays)"),
    (ProxyDown(), {"proxy": "redis"}, "enable proxy redis again"),
    (DiskFill(), {"files": ["/data/.gameday-fill-ab12"]},
     "delete /data/.gameday-fill-ab12 (only the file it wrote) and check the free space is back"),
    (RevokeCredentials(), {"backend": "postgres_role", "role": "checkout", "mode": "login"},
     "give PostgreSQL role checkout its LOGIN back as it was, and check it"),
    (RevokeCredentials(), {"backend": "postgres_role", "role": "checkout", "mode": "privileges",
                           "privileges": ["INSERT"], "objects": [{"schema": "public", "table": "orders"}]},
     "grant INSERT on public.orders to role checkout again, as they were"),
    (RevokeCredentials(), {"backend": "redis_user", "user": "checkout"},
     "enable Redis ACL user checkout again and check its rules match the recorded digest"),
    (RevokeCredentials(), {"backend": "path", "path": "/etc/app/.env"},
     "restore /etc/app/.env from its backup (checked against the recorded digest), mode and owner too"),
    (DbConnectionsExhausted(), {"tag": "gameday-hold conn 1a2b"},
     ("close the held sessions (application_name 'gameday-hold conn 1a2b'), end any left from another process, "
     "and check none remains")),
    (DbLock(), {"tag": "gameday-hold lock 1a2b", "schema": "public", "table": "orders"},
     ("roll back the locking transaction (or end the session tagged 'gameday-hold lock 1a2b') and check no lock of "
     "it is left on public.orders")),
    (DbReadOnly(), {"prior": None, "terminate_sessions": False},
     "RESET default_transaction_read_only (it was not set) and check the catalog"),
    (DbReadOnly(), {"prior": "off", "terminate_sessions": True},
     ("set default_transaction_read_only back to 'off' and check the catalog; end the role's sessions again so "
     "they reconnect writable")),
    (RedisMaxmemory(), {"prior": {"maxmemory": "0", "policy": "noeviction"}},
     "set maxmemory back to 0 bytes and maxmemory-policy to noeviction, and check both"),
    (RedisPause(), {"mode": "write", "pause_ms": 30000}, "CLIENT UNPAUSE, then check writes go through again"),
    (RedisPause(), {"mode": "all", "pause_ms": 30000},
     ("CLIENT UNPAUSE; under ALL it waits behind the pause itself, so the pause ends at its timeout (30000 ms after "
     "the inject); then check Redis answers")),
])
def test_each_built_in_driver_says_what_its_revert_puts_back(driver: object, data: dict[str, Any], words: str) -> None:
    assert describe_revert(driver, handle("k", data)) == words


def test_a_driver_without_its_own_words_is_described_by_what_it_did_not_by_undo_undo() -> None:
    class Quiet:
        pass

    assert describe_revert(Quiet(), handle("k", {}, "revoke LOGIN of role checkout")) == "revoke LOGIN of role checkout"
