"""SIGKILL the harness at random points of a run, then check that nothing is left broken.

For each trial: start `python -m gameday run scenario.yaml --reports DIR` on a real target, SIGKILL it
after a random delay, then leave the watchdog (the dead-man's switch) to revert; no `gameday cleanup` is
run. One run of each kind, not killed, first measures when its inject and revert come; then the kill
moments of each kind take turns: anywhere from the run's start to just after its revert (preflight,
steady state, inject, observe, revert), aimed at the inject call, anywhere, aimed at the revert call.
Where the run really was at the kill is read from its own timeline. Trials rotate over every fault kind:

    container_kill / container_stop / container_pause   a fresh busybox httpd container per trial
    cpu_pressure / memory_pressure                      the same, with a 128 MiB memory limit; judged by the
                                                        kernel's cgroup files (CFS quota, memory and memsw limits)
    memory_pressure/oom                                 the same, PID 1 an awk holding 12 MB that runs httpd; 16 MiB
                                                        and a 32 MiB hold in /dev/shm: the kernel OOM-kills a process
                                                        there; judged as above, plus running again and no shmem left
    clock_skew / io_pressure                            a Python HTTP server in the demo stack's Debian image whose
                                                        entrypoint sources /run/gameday/clock.env; judged by the files
                                                        there, PID 1's maps and the blkio cgroup's throttle files
    latency / bandwidth / timeout / reset_peer / proxy_down
                                                        one proxy of one real toxiproxy server, in front
                                                        of a small loopback HTTP server
    disk_fill                                           a busybox container with a 16 MiB tmpfs at /data
    revoke_credentials/pg                               a login role of a real PostgreSQL cluster
    revoke_credentials/redis                            an ACL user of a real redis-server
    revoke_credentials/file                             a token file (bytes, mode and mtime compared)
    db_connections_exhausted / db_lock / db_read_only   a role and a table of a real PostgreSQL (its own cluster)
    redis_maxmemory / redis_pause                       a real redis-server with maxmemory 100mb, allkeys-lru
    packet_loss / partition                             iptables rules on a fresh loopback port per trial
    packet_loss/netns / partition/netns                 a fresh busybox container with network_mode: none per trial,
                                                        the rules in its own namespace; judged by that namespace's
                                                        live rule set (nsenter -n iptables -S)
    dns_failure                                         a fresh host-networked busybox httpd per trial, mode fail
                                                        and timeout in turn; judged by the live rule set

The fault is judged by observing the real thing, never the journal: the container running and not
paused; no toxic on the proxy and the proxy enabled; no fill file and the free space back; the role
can log in; the Redis user can AUTH; the file's bytes, mode and mtime as before; the role gets a connection, writes
the table without waiting, starts read-write, no session gameday held is left and the role and database
settings are as before; Redis's maxmemory and policy as before, and a PUBLISH answers at once (no pause);
the live rule set (`iptables -S`) names the trial's port (or, for dns_failure, the container's cgroup) nowhere and
holds no GAMEDAY-* chain it did not hold before. A trial fails if, 25 s
after the kill, the fault is still there, or if it is there again once the watchdog has left (it
re-checks what it reverted for 6 s), or if a journal still holds a pending fault. For trials where the
fault was live at the kill, the time from the kill to the observed restore is reported.

Run on demand (needs dockerd, the image gameday/busybox:test from tests/conftest.py, root for
/proc/<pid>/root, PostgreSQL and redis-server binaries, a toxiproxy server binary):
    python benchmarks/kill_harness.py --trials 72
    python benchmarks/kill_harness.py --trials 10 --kinds container_stop,disk_fill
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import docker
import httpx
import yaml

from gameday.engine.journal import pending_faults
from gameday.testing import free_port

CONTAINER_KINDS = ["container_kill", "container_stop", "container_pause"]
PROXY_KINDS = ["latency", "bandwidth", "timeout", "reset_peer", "proxy_down"]
CREDENTIAL_KINDS = ["revoke_credentials/pg", "revoke_credentials/redis", "revoke_credentials/file"]
DATASTORE_KINDS = ["db_connections_exhausted", "db_lock", "db_read_only", "redis_maxmemory", "redis_pause"]
RESOURCE_KINDS = ["cpu_pressure", "memory_pressure", "memory_pressure/oom"]
CLOCK_IO_KINDS = ["clock_skew", "io_pressure"]
NETWORK_KINDS = ["packet_loss", "partition"]
NETNS_KINDS = ["packet_loss/netns", "partition/netns"]
DNS_KINDS = ["dns_failure"]
KINDS = [*CONTAINER_KINDS, *RESOURCE_KINDS, *CLOCK_IO_KINDS, *PROXY_KINDS, "disk_fill", *CREDENTIAL_KINDS, *DATASTORE_KINDS,
         *NETWORK_KINDS, *NETNS_KINDS, *DNS_KINDS]
IMAGE = "gameday/busybox:test"
RESTORE_DEADLINE = 25.0
WATCHDOG_EXIT_DEADLINE = 40.0
PG_ENV = "GDKILL_PG_ADMIN_DSN"
REDIS_ENV = "GDKILL_REDIS_ADMIN_URL"
ROLE = "gdkill_app"
DS_PG_ENV = "GDKILL_DS_PG_ADMIN_DSN"
DS_REDIS_ENV = "GDKILL_DS_REDIS_ADMIN_URL"
DS_TABLE = "gdkill_orders"
DS_STACK = "kill-datastores"
FAULT = {"duration": "2s"}


def httpd(client: docker.DockerClient, name: str, port: int, **kwargs: Any) -> Any:
    return client.containers.run(IMAGE, ["httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", "/www"], name=name,
                                 detach=True, network_mode="host",
                                 labels={"gameday.allowed": "true", "gameday.bench": "kill_harness"}, **kwargs)


def http_probe(port: int) -> dict[str, Any]:
    return {"name": "web", "http": {"url": f"http://127.0.0.1:{port}/", "timeout": "1s"}, "interval": "200ms"}


def tcp_probe(port: int) -> dict[str, Any]:
    return {"name": "port", "tcp": {"port": port, "timeout": "1s"}, "interval": "200ms"}


def wait_until(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError("condition not met")
        time.sleep(0.05)


def http_ok(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/", timeout=1, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


# --- targets: how to set one up for a trial, how to see it broken, how to mend it by hand -----------------


class Target:
    """One trial's victim. ``broken()`` looks at the real thing; ``mend()`` fixes it by hand after a failure."""

    def scenario(self, kind: str, name: str) -> dict[str, Any]:
        raise NotImplementedError

    def broken(self) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        return ""

    def mend(self) -> None:
        pass

    def close(self) -> None:
        pass


class ContainerTarget(Target):
    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.port = free_port()
        self.name = f"gdkill-{uuid.uuid4().hex[:6]}"
        self.container = httpd(client, self.name, self.port)
        wait_until(lambda: http_ok(self.port))

    def scenario(self, kind: str, name: str) -> dict[str, Any]:
        args = {"timeout": 0} if kind == "container_stop" else {}
        return {"stack": {"name": "kill-bench", "targets": {"web": {"container": self.name}}},
                "steady_state": {"probes": [http_probe(self.port)]},
                "faults": [{"kind": kind, "target": "web", "args": args, **FAULT}]}

    def _state(self) -> dict[str, Any]:
        self.container.reload()
        return dict(self.container.attrs["State"])

    def broken(self) -> bool:
        state = self._state()
        return state["Status"] != "running" or bool(state["Paused"])

    def describe(self) -> str:
        state = self._state()
        return f"container {state['Status']}{', paused' if state['Paused'] else ''}"

    def close(self) -> None:
        self.container.remove(force=True)


class ResourceTarget(ContainerTarget):
    """A busybox httpd with a 128 MiB memory limit (256 MiB with swap) and no CPU limit, judged by the kernel's
    own cgroup files (cgroup v1, the cgroupfs driver): CFS quota -1, the memory limits as they were."""

    ARGS: ClassVar[dict[str, dict[str, Any]]] = {"cpu_pressure": {"cpus": 0.1}, "memory_pressure": {"limit": "32MiB"}}
    EXPECTED: ClassVar[dict[str, int]] = {"cpu/cpu.cfs_quota_us": -1, "memory/memory.limit_in_bytes": 128 * 2**20,
                                          "memory/memory.memsw.limit_in_bytes": 256 * 2**20}

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.port = free_port()
        self.name = f"gdkill-{uuid.uuid4().hex[:6]}"
        self.container = httpd(client, self.name, self.port, mem_limit="128m", memswap_limit="256m")
        wait_until(lambda: http_ok(self.port))

    def scenario(self, kind: str, name: str) -> dict[str, Any]:
        return {"stack": {"name": "kill-bench", "targets": {"web": {"container": self.name}}},
                "steady_state": {"probes": [http_probe(self.port)]},
                "faults": [{"kind": kind, "target": "web", "args": self.ARGS[kind], **FAULT}]}

    def _limits(self) -> dict[str, int]:
        root = Path("/sys/fs/cgroup")
        return {key: int((root / key.split("/")[0] / "docker" / self.container.id / key.split("/")[1]).read_text())
                for key in self.EXPECTED}

    def broken(self) -> bool:
        return super().broken() or self._limits() != self.EXPECTED

    def describe(self) -> str:
        return f"{super().describe()}, limits {self._limits()}"


class OomTarget(ResourceTarget):
    """memory_pressure with an expected OOM kill: the limit lowered to 16 MiB and 32 MiB held in /dev/shm. PID 1 is an
    awk holding 12 MB (the biggest process, so usually the one killed, and the container exits) that runs httpd;
    revert must put the limits back, start the container if it exited, and leave no hold in its /dev/shm."""

    ARGS: ClassVar[dict[str, dict[str, Any]]] = {"memory_pressure": {"limit": "16MiB", "hold": "32MiB",
                                                                     "oom_kill": "expected"}}

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.port = free_port()
        self.name = f"gdkill-{uuid.uuid4().hex[:6]}"
        script = ("exec awk 'BEGIN { s = sprintf(\"%12000000s\", \"\"); "
                  f"system(\"httpd -f -p 127.0.0.1:{self.port} -h /www\") }}'")
        self.container = client.containers.run(IMAGE, ["sh", "-c", script], name=self.name, detach=True,
                                               network_mode="host", mem_limit="128m", memswap_limit="256m",
                                               labels={"gameday.allowed": "true", "gameday.bench": "kill_harness"})
        wait_until(lambda: http_ok(self.port))

    def scenario(self, kind: str, name: str) -> dict[str, Any]:
        return {"stack": {"name": "kill-bench", "targets": {"web": {"container": self.name}}},
                "steady_state": {"probes": [http_probe(self.port)]},
                "faults": [{"kind": "memory_pressure", "target": "web", "args": self.ARGS[kind], **FAULT}]}

    def _shmem(self) -> int:
        self.container.reload()
        if self.container.attrs["State"]["Status"] != "running":
            return 0
        stat = (Path("/sys/fs/cgroup/memory/docker") / self.container.id / "memory.stat").read_text().split()
        return int(stat[stat.index("total_shmem") + 1])

    def broken(self) -> bool:
        return super().broken() or self._shmem() > 0

    def describe(self) -> str:
        return f"{super().describe()}, shmem {self._shmem()}, OOMKilled {self._state().get('OOMKilled')}"


class ClockIoTarget(ContainerTarget):
    """A container of the demo stack's Debian image (glibc, for libfaketime) whose entrypoint sources
    /run/gameday/clock.env, running Python's HTTP server. Judged by the real thing: running; no env file and no
    library of ours in /run/gameday; PID 1 without libfaketime mapped; every blkio.throttle file of its cgroup
    empty, as Docker made it."""

    ARGS: ClassVar[dict[str, dict[str, Any]]] = {"clock_skew": {"offset": "+2h", "stop_timeout": 1},
                                                 "io_pressure": {"write_bps": "1MiB", "read_iops": 100}}
    THROTTLES = ("read_bps_device", "write_bps_device", "read_iops_device", "write_iops_device")

    def __init__(self, client: docker.DockerClient) -> None:
        from gameday.stack.images import base_tag

        self.client = client
        self.port = free_port()
        self.name = f"gdkill-{uuid.uuid4().hex[:6]}"
        command = ("mkdir -p /run/gameday; if [ -r /run/gameday/clock.env ]; then set -a; . /run/gameday/clock.env; "
                   f"set +a; fi; exec python3 -m http.server --bind 127.0.0.1 {self.port}")
        self.container = client.containers.run(base_tag(), ["sh", "-c", command], name=self.name, detach=True,
                                               network_mode="host",
                                               labels={"gameday.allowed": "true", "gameday.bench": "kill"})
        wait_until(lambda: http_ok(self.port), timeout=30)

    def scenario(self, kind: str, name: str) -> dict[str, Any]:
        return {"stack": {"name": "kill-bench", "targets": {"web": {"container": self.name}}},
                "steady_state": {"probes": [http_probe(self.port)]},
                "faults": [{"kind": kind, "target": "web", "args": self.ARGS[kind], **FAULT}]}

    def _left(self) -> list[str]:
        """What is not as Docker made it; a container caught in a restart counts as not restored yet."""
        try:
            return self._read_left()
        except (docker.errors.APIError, FileNotFoundError) as exc:
            return [f"restarting ({type(exc).__name__})"]

    def _read_left(self) -> list[str]:
        left = []
        if self._state()["Status"] != "running":
            return ["not running"]
        files = self.container.exec_run(["ls", "/run/gameday"]).output.decode().split()
        left += [f"/run/gameday/{f}" for f in files]
        if "faketime" in self.container.exec_run(["cat", "/proc/1/maps"]).output.decode():
            left.append("libfaketime in PID 1")
        cgroup = Path("/sys/fs/cgroup/blkio/docker") / self.container.id
        left += [f"{name}: {text.strip()}" for name in self.THROTTLES
                 if (text := (cgroup / f"blkio.throttle.{name}").read_text()).strip()]
        return left

    def broken(self) -> bool:
        return bool(self._left())

    def describe(self) -> str:
        return ", ".join(self._left()) or "clean"


class DiskTarget(ContainerTarget):
    """A busybox container with a small tmpfs; read from the host through /proc/<pid>/root (fast, no exec)."""

    PATH = "/data"

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.port = free_port()
        self.name = f"gdkill-disk-{uuid.uuid4().hex[:6]}"
        self.container = httpd(client, self.name, self.port, tmpfs={self.PATH: "size=16m"})
        wait_until(lambda: http_ok(self.port))
        self.root = Path(f"/proc/{self._state()['Pid']}/root{self.PATH}")
        self.free_before = self._free()

    def _free(self) -> int:
        st = os.statvfs(self.root)
        return st.f_bavail * st.f_frsize

    def _fills(self) -> list[str]:
        return [n for n in os.listdir(self.root) if n.startswith(".gameday-fill-")]

    def scenario(self, kind: str, name: str) -> dict[str, Any]:
        return {"stack": {"name": "kill-bench", "targets": {"spool": {"container": self.name}}},
                "steady_state": {"probes": [http_probe(self.port)]},
                "faults": [{"kind": "disk_fill", "target": "spool",
                            "args": {"path": self.PATH, "percent_used": 90, "floor_bytes": "1MiB"}, **FAULT}]}

    def broken(self) -> bool:
        return bool(self._fills()) or self._free() < self.free_before

    def describe(self) -> str:
        return f"fill files {self._fills()}, free {self._free()} of {self.free_before} before"


@dataclass
class ProxyServices:
    url: str
    proxy: str
    listen_port: int
    upstream_port: int


class ProxyTarget(Target):
    ARGS: ClassVar[dict[str, dict[str, Any]]] = {"latency": {"latency": "500ms"}, "bandwidth": {"rate_kb": 1}, "timeout": {"timeout": "0s"},
            "reset_peer": {}, "proxy_down": {}}

    def __init__(self, services: ProxyServices) -> None:
        self.s = services
        self.http = httpx.Client(base_url=services.url, timeout=2, trust_env=False)
        # A proxy is approved only by a stack file's allow.toxiproxy (an inline stack approves no proxy).
        self.stack_path = Path(tempfile.mkdtemp(prefix="gdkill-proxy-")) / "kill-bench.yaml"
        self.stack_path.write_text(yaml.safe_dump({
            "version": 1, "name": "kill-bench", "toxiproxy": {"url": services.url},
            "targets": {"path": {"proxy": services.proxy}}, "allow": {"toxiproxy": [services.proxy]}}))

    def scenario(self, kind: str, name: str) -> dict[str, Any]:
        return {"stack": {"file": str(self.stack_path)},
                "steady_state": {"probes": [http_probe(self.s.listen_port)]},
                "faults": [{"kind": kind, "target": "path", "args": self.ARGS[kind], **FAULT}]}

    def _proxy(self) -> dict[str, Any]:
        return dict(self.http.get(f"/proxies/{self.s.proxy}").raise_for_status().json())

    def broken(self) -> bool:
        proxy = self._proxy()
        return bool(proxy.get("toxics")) or not proxy.get("enabled")

    def describe(self) -> str:
        proxy = self._proxy()
        return f"toxics {[t['name'] for t in proxy.get('toxics') or []]}, enabled {proxy.get('enabled')}"

    def mend(self) -> None:
        for toxic in self._proxy().get("toxics") or []:
            self.http.delete(f"/proxies/{self.s.proxy}/toxics/{toxic['name']}")
        self.http.post(f"/proxies/{self.s.proxy}", json={"enabled": True})

    def close(self) -> None:
        self.http.close()


class PgTarget(Target):
    def __init__(self, pg: Any, password: str) -> None:
        self.pg = pg
        self.url = pg.url_for(ROLE, password)

    def scenario(self, kind: str, name: str) -> dict[str, Any]:
        return {"stack": {"name": "kill-bench", "targets": {"db": {"postgres_role": ROLE, "dsn_env": PG_ENV}}},
                "steady_state": {"probes": [tcp_probe(self.pg.port)]},
                "faults": [{"kind": "revoke_credentials", "target": "db", **FAULT}]}

    def broken(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.url, connect_timeout=2):
                return False
        except psycopg.OperationalError:
            return True

    def describe(self) -> str:
        return f"rolcanlogin {self.pg.sql('SELECT rolcanlogin FROM pg_roles WHERE rolname = %s', (ROLE,))}"

    def mend(self) -> None:
        self.pg.sql(f"ALTER ROLE {ROLE} LOGIN")


class RedisTarget(Target):
    def __init__(self, rs: Any) -> None:
        self.rs = rs

    def scenario(self, kind: str, name: str) -> dict[str, Any]:
        return {"stack": {"name": "kill-bench", "targets": {"cache": {"redis_user": ROLE, "dsn_env": REDIS_ENV}}},
                "steady_state": {"probes": [tcp_probe(self.rs.port)]},
                "faults": [{"kind": "revoke_credentials", "target": "cache", **FAULT}]}

    def broken(self) -> bool:
        import redis

        try:
            with self.rs.client(ROLE) as client:
                return not client.ping()
        except redis.exceptions.RedisError:
            return True

    def describe(self) -> str:
        with self.rs.client() as admin:
            line = next((x for x in admin.execute_command("ACL", "LIST") if x.startswith(f"user {ROLE} ")), "")
        return f"ACL flag {line.split()[2] if line else 'missing'}"

    def mend(self) -> None:
        with self.rs.client() as admin:
            admin.execute_command("ACL", "SETUSER", ROLE, "on")


class FileTarget(Target):
    def __init__(self, folder: Path, upstream_port: int) -> None:
        self.path = folder / f"token-{uuid.uuid4().hex[:6]}"
        self.content = f"secret-token-{uuid.uuid4().hex}\n".encode()
        self.path.write_bytes(self.content)
        self.path.chmod(0o640)
        os.utime(self.path, ns=(1_700_000_000_000_000_000, 1_700_000_000_123_456_789))
        self.stat = self.path.stat()
        self.upstream_port = upstream_port

    def scenario(self, kind: str, name: str) -> dict[str, Any]:
        return {"stack": {"name": "kill-bench", "targets": {"token": {"path": str(self.path)}}},
                "steady_state": {"probes": [tcp_probe(self.upstream_port)]},
                "faults": [{"kind": "revoke_credentials", "target": "token", **FAULT}]}

    def broken(self) -> bool:
        try:
            st = self.path.stat()
            return (self.path.read_bytes() != self.content or st.st_mode != self.stat.st_mode
                    or st.st_mtime_ns != self.stat.st_mtime_ns)
        except OSError:
            return True

    def describe(self) -> str:
        st = self.path.stat()
        return f"same bytes {self.path.read_bytes() == self.content}, mode {oct(st.st_mode)}, mtime {st.st_mtime_ns}"

    def close(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass
class DataStores:
    """The data-store kinds' servers: a PostgreSQL cluster of their own (the exhaustion takes every ordinary
    slot) with a role and its table, and a redis-server whose limit and policy are not the defaults."""

    pg: Any
    password: str
    redis: Any

    def pg_role(self, timeout: int = 2) -> Any:
        import psycopg

        return psycopg.connect(self.pg.url_for(ROLE, self.password, "checkout"), connect_timeout=timeout,
                               autocommit=True)

    def stack_file(self, folder: Path) -> str:
        """Roles and users need a stack file's allowlist: written beside the trial's scenarios."""
        (folder / "stacks").mkdir(exist_ok=True)
        (folder / "stacks" / f"{DS_STACK}.yaml").write_text(yaml.safe_dump({
            "version": 1, "name": DS_STACK,
            "targets": {"db": {"postgres_role": ROLE, "dsn_env": DS_PG_ENV},
                        "cache": {"redis_user": ROLE, "dsn_env": DS_REDIS_ENV}},
            "allow": {"postgres": [ROLE], "redis": [ROLE]}}))
        return DS_STACK


class DataStoreTarget(Target):
    """A PostgreSQL or Redis server fault; broken() asks the servers, as the app would see them."""

    ARGS: ClassVar[dict[str, dict[str, Any]]] = {
        "db_connections_exhausted": {}, "db_lock": {"table": DS_TABLE}, "db_read_only": {},
        "redis_maxmemory": {}, "redis_pause": {"mode": "write"}}

    def __init__(self, stores: DataStores, kind: str, folder: Path) -> None:
        self.s = stores
        self.kind = kind
        self.folder = folder
        self.settings = self._settings()
        self.config = self._config()

    def scenario(self, kind: str, name: str) -> dict[str, Any]:
        on_pg = kind.startswith("db_")
        port = self.s.pg.port if on_pg else self.s.redis.port
        return {"stack": self.s.stack_file(self.folder), "steady_state": {"probes": [tcp_probe(port)]},
                "faults": [{"kind": kind, "target": "db" if on_pg else "cache", "args": self.ARGS[kind], **FAULT}]}

    def _settings(self) -> list[str]:
        return sorted(map(repr, self.s.pg.sql("SELECT setdatabase, setrole, setconfig FROM pg_db_role_setting")))

    def _held(self) -> int:
        return int(self.s.pg.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE %s",
                                 ("gameday-hold %",))[0][0])

    def _config(self) -> tuple[str, str]:
        with self.s.redis.client() as admin:
            return (admin.config_get("maxmemory")["maxmemory"], admin.config_get("maxmemory-policy")["maxmemory-policy"])

    def _role_problem(self) -> str | None:
        """What the role meets: no connection, a read-only session, or a write that waits on a lock."""
        import psycopg

        try:
            with self.s.pg_role() as conn:
                if conn.execute("SHOW default_transaction_read_only").fetchone() != ("off",):
                    return "read-only"
                conn.execute("SET lock_timeout = '100ms'")
                with conn.transaction(force_rollback=True):
                    conn.execute(f"INSERT INTO {DS_TABLE} VALUES (1)")
        except psycopg.errors.LockNotAvailable:
            return "write waits on a lock"
        except psycopg.Error as exc:
            return " ".join(str(exc).split())[:80]
        return None

    def _paused(self) -> bool:
        import redis

        try:
            with self.s.redis.client() as admin:
                admin.connection_pool.connection_kwargs["socket_timeout"] = 0.3
                admin.publish("gdkill:pause-check", "1")
        except redis.exceptions.TimeoutError:
            return True
        return False

    def broken(self) -> bool:
        if self.kind.startswith("db_"):
            return self._role_problem() is not None or self._held() > 0 or self._settings() != self.settings
        return self._config() != self.config or self._paused()

    def describe(self) -> str:
        if self.kind.startswith("db_"):
            return (f"role: {self._role_problem() or 'ok'}, {self._held()} held sessions, settings "
                    f"{'same' if self._settings() == self.settings else 'changed'}")
        return f"maxmemory/policy {self._config()} (before {self.config}), paused {self._paused()}"

    def mend(self) -> None:
        self.s.pg.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE %s",
                      ("gameday-hold %",))
        self.s.pg.sql(f"ALTER ROLE {ROLE} RESET default_transaction_read_only")
        with self.s.redis.client() as admin:
            admin.execute_command("CLIENT", "UNPAUSE")
            admin.config_set("maxmemory", self.config[0])
            admin.config_set("maxmemory-policy", self.config[1])


class RulesLeft(Target):
    """A target judged by the rules a network fault leaves in the live rule set: a rule naming the target
    (``names``), or a GAMEDAY-* chain that was not there when the trial began. ``mend()`` deletes both."""

    chains_before: set[str]

    def names(self, rule: str) -> bool:
        raise NotImplementedError

    @staticmethod
    def _rules() -> list[str]:
        return subprocess.run(["iptables", "-w", "10", "-S"], check=True, capture_output=True,
                              text=True).stdout.splitlines()

    def _chains(self) -> set[str]:
        return {line.split()[1] for line in self._rules() if line.startswith("-N GAMEDAY-")}

    def _left(self) -> list[str]:
        new = self._chains() - self.chains_before
        return [line for line in self._rules() if self.names(line) or any(c in line.split()[:2] for c in new)]

    def broken(self) -> bool:
        return bool(self._left())

    def describe(self) -> str:
        return "; ".join(self._left()) or "no rule left"

    def mend(self) -> None:
        for line in self._left():
            if line.startswith(("-A INPUT ", "-A OUTPUT ")):
                subprocess.run(["iptables", "-w", "10", "-D", *shlex.split(line)[1:]], check=False)
        for chain in self._chains() - self.chains_before:
            subprocess.run(["iptables", "-w", "10", "-F", chain], check=False)
            subprocess.run(["iptables", "-w", "10", "-X", chain], check=False)


class NetworkTarget(RulesLeft):
    """A fresh loopback port per trial (nothing listens: the rules are what is judged); a rule naming the port
    is left by the fault."""

    def __init__(self, folder: Path, upstream_port: int) -> None:
        self.port = free_port()
        self.folder = folder
        self.upstream_port = upstream_port
        self.chains_before = self._chains()

    def names(self, rule: str) -> bool:
        return f"port {self.port} " in rule

    def scenario(self, kind: str, name: str) -> dict[str, Any]:
        stack = f"kill-net-{self.port}"
        (self.folder / "stacks").mkdir(exist_ok=True)
        (self.folder / "stacks" / f"{stack}.yaml").write_text(yaml.safe_dump({
            "version": 1, "name": stack, "targets": {"svc": {"platform": "port", "port": self.port}},
            "allow": {"port": [str(self.port)]}}))
        args = {"percent": 30, "protocol": "all", "direction": "both"} if kind == "packet_loss" else {"protocol": "all"}
        return {"stack": stack, "steady_state": {"probes": [tcp_probe(self.upstream_port)]},
                "faults": [{"kind": kind, "target": "svc", "args": args, **FAULT}]}


class DnsTarget(RulesLeft, ContainerTarget):
    """A fresh host-networked busybox httpd; a rule naming the container's cgroup is left by the fault (and the
    container's own state is not judged: RulesLeft's broken/describe/mend come first). Trials take fail and
    timeout in turn."""

    modes: ClassVar[list[str]] = ["fail", "timeout"]
    made: ClassVar[int] = 0

    def __init__(self, client: docker.DockerClient) -> None:
        ContainerTarget.__init__(self, client)
        self.chains_before = self._chains()
        self.mode = self.modes[DnsTarget.made % 2]
        DnsTarget.made += 1

    def names(self, rule: str) -> bool:
        return self.container.id in rule

    def scenario(self, kind: str, name: str) -> dict[str, Any]:
        return {"stack": {"name": "kill-bench", "targets": {"web": {"container": self.name}}},
                "steady_state": {"probes": [http_probe(self.port)]},
                "faults": [{"kind": kind, "target": "web", "args": {"mode": self.mode}, **FAULT}]}


class NetnsTarget(Target):
    """A fresh busybox container with a network namespace of its own (``network_mode: none``) per trial. Nothing
    from outside can reach it, so the probe is the upstream port's; ``broken()`` reads the live rule set inside
    its namespace: any rule carrying a gameday comment, or a GAMEDAY-* chain (it starts with none)."""

    def __init__(self, client: docker.DockerClient, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.name = f"gdkill-ns-{uuid.uuid4().hex[:6]}"
        self.container = client.containers.run(IMAGE, ["sleep", "3600"], name=self.name, detach=True,
                                               network_mode="none",
                                               labels={"gameday.allowed": "true", "gameday.bench": "kill_harness"})
        self.container.reload()
        self.pid = str(self.container.attrs["State"]["Pid"])

    def scenario(self, kind: str, name: str) -> dict[str, Any]:
        args: dict[str, Any] = {"port": 8080, "protocol": "all"}
        if kind == "packet_loss":
            args |= {"percent": 30, "direction": "both"}
        return {"stack": {"name": "kill-bench", "targets": {"box": {"container": self.name}}},
                "steady_state": {"probes": [tcp_probe(self.upstream_port)]},
                "faults": [{"kind": kind, "target": "box", "args": args, **FAULT}]}

    def _left(self) -> list[str]:
        rules = subprocess.run(["nsenter", "-t", self.pid, "-n", "--", "iptables", "-w", "10", "-S"], check=True,
                               capture_output=True, text=True).stdout.splitlines()
        return [line for line in rules if "GAMEDAY-" in line or "gameday " in line]

    def broken(self) -> bool:
        return bool(self._left())

    def describe(self) -> str:
        return "; ".join(self._left()) or "no rule left"

    def mend(self) -> None:
        pass  # close() removes the container, and its namespace with every rule in it

    def close(self) -> None:
        self.container.remove(force=True)


# --- the shared services ------------------------------------------------------------------------------


@dataclass
class Services:
    stack: contextlib.ExitStack
    folder: Path
    env: dict[str, str] = field(default_factory=dict)
    client: docker.DockerClient | None = None
    proxy: ProxyServices | None = None
    pg: Any = None
    pg_password: str = ""
    redis: Any = None
    stores: DataStores | None = None
    upstream_port: int = 0

    def target(self, kind: str) -> Target:
        if kind in CONTAINER_KINDS:
            assert self.client is not None
            return ContainerTarget(self.client)
        if kind == "memory_pressure/oom":
            assert self.client is not None
            return OomTarget(self.client)
        if kind in RESOURCE_KINDS:
            assert self.client is not None
            return ResourceTarget(self.client)
        if kind in CLOCK_IO_KINDS:
            assert self.client is not None
            return ClockIoTarget(self.client)
        if kind == "disk_fill":
            assert self.client is not None
            return DiskTarget(self.client)
        if kind in PROXY_KINDS:
            assert self.proxy is not None
            return ProxyTarget(self.proxy)
        if kind in DATASTORE_KINDS:
            assert self.stores is not None
            return DataStoreTarget(self.stores, kind, self.folder)
        if kind in NETWORK_KINDS:
            return NetworkTarget(self.folder, self.upstream_port)
        if kind in DNS_KINDS:
            assert self.client is not None
            return DnsTarget(self.client)
        if kind in NETNS_KINDS:
            assert self.client is not None
            return NetnsTarget(self.client, self.upstream_port)
        if kind.endswith("/pg"):
            return PgTarget(self.pg, self.pg_password)
        if kind.endswith("/redis"):
            return RedisTarget(self.redis)
        return FileTarget(self.folder, self.upstream_port)


class _QuietOk(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, format: str, *args: object) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # reset_peer and timeout toxics cut the probes' connections on purpose


@contextlib.contextmanager
def http_upstream() -> Iterator[int]:
    """A loopback HTTP server answering 200 to every GET (behind the proxy); yields its port."""
    server = _QuietServer(("127.0.0.1", 0), _QuietOk)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def start_services(kinds: list[str], stack: contextlib.ExitStack, folder: Path) -> Services:
    """Start only what the chosen kinds need; everything binds 127.0.0.1 and stops with the stack."""
    from gameday.testing.services import postgres_server, redis_server

    services = Services(stack, folder)
    services.env["GAMEDAY_STATE_DIR"] = str(folder / "state")
    services.upstream_port = stack.enter_context(http_upstream())
    if any(k in CONTAINER_KINDS or k in RESOURCE_KINDS or k in CLOCK_IO_KINDS or k in DNS_KINDS or k in NETNS_KINDS
           or k == "disk_fill" for k in kinds):
        services.client = docker.from_env()
        stack.callback(services.client.close)
    if any(k in PROXY_KINDS for k in kinds):
        # toxiproxy_env is beside this file: run it as python benchmarks/kill_harness.py
        from toxiproxy_env import toxiproxy_server

        url = stack.enter_context(toxiproxy_server())
        listen = free_port()
        httpx.post(f"{url}/proxies", json={"name": "gdkill-web", "listen": f"127.0.0.1:{listen}",
                                           "upstream": f"127.0.0.1:{services.upstream_port}", "enabled": True},
                   timeout=5, trust_env=False).raise_for_status()
        services.proxy = ProxyServices(url, "gdkill-web", listen, services.upstream_port)
    if "revoke_credentials/pg" in kinds:
        services.pg = stack.enter_context(postgres_server())
        services.pg_password = uuid.uuid4().hex
        services.pg.sql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{services.pg_password}'")
        services.env[PG_ENV] = services.pg.admin_url
    if "revoke_credentials/redis" in kinds:
        services.redis = stack.enter_context(redis_server(users={ROLE: uuid.uuid4().hex}))
        services.env[REDIS_ENV] = services.redis.admin_url
    if any(k in DATASTORE_KINDS for k in kinds):
        password = uuid.uuid4().hex
        pg = stack.enter_context(postgres_server(database="checkout"))
        pg.sql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{password}'")
        pg.sql(f"CREATE TABLE {DS_TABLE} (id int)", database="checkout")
        pg.sql(f"GRANT SELECT, INSERT ON {DS_TABLE} TO {ROLE}", database="checkout")
        rs = stack.enter_context(redis_server(users={ROLE: uuid.uuid4().hex}))
        with rs.client() as admin:
            admin.config_set("maxmemory", "100mb")
            admin.config_set("maxmemory-policy", "allkeys-lru")
        services.stores = DataStores(pg, password, rs)
        services.env[DS_PG_ENV] = pg.url_for(pg.admin_user, pg.admin_password, "checkout")
        services.env[DS_REDIS_ENV] = rs.admin_url
    return services


# --- one trial ---------------------------------------------------------------------------------------


@dataclass
class Trial:
    kind: str
    delay: float
    phase: str = "?"
    ok: bool = False
    live: bool = False
    restore_s: float | None = None
    note: str = ""
    aim: str = "spread"


def _events(run_dir: Path | None) -> list[dict[str, Any]]:
    if run_dir is None:
        return []
    events = []
    with contextlib.suppress(OSError):
        for line in (run_dir / "timeline.jsonl").read_text().splitlines():
            with contextlib.suppress(ValueError):
                events.append(json.loads(line))
    return events


PHASES = ["startup", "preflight", "steady_state", "fault phase, before inject", "inject", "observe", "revert",
          "after revert", "?"]


def phase_at(events: list[dict[str, Any]], killed_at: datetime) -> str:
    """Where the run was when it was killed, from its own timeline (wall clock, ms precision)."""
    before = [e for e in events if datetime.fromisoformat(e["at"]) <= killed_at]
    phases = [e["details"]["phase"] for e in before if e["kind"] == "phase.changed"]
    if not phases:
        return "startup" if not before else "preflight"
    phase = phases[-1]
    if phase != "fault":
        return str({"recovery": "after revert", "evaluation": "after revert", "done": "after revert"}.get(phase, phase))
    kinds = [e["kind"] for e in before]
    if "fault.intended" not in kinds:
        return "fault phase, before inject"
    if "fault.injected" not in kinds:
        return "inject"
    if "fault.reverted" in kinds:
        return "revert"
    # The run reverts at (fault phase start + at + duration), whenever the inject call returned.
    fault_phase = next(e for e in before if e["kind"] == "phase.changed" and e["details"]["phase"] == "fault")
    fault = events[0]["details"]["faults"][0]
    revert_at = float(fault.get("at_s") or 0.0) + float(fault.get("duration_s") or 0.0)
    if (killed_at - datetime.fromisoformat(fault_phase["at"])).total_seconds() < revert_at:
        return "observe"
    return "revert"


def watchdogs_of(folder: Path) -> list[int]:
    """Watchdog processes whose command line names a journal under this trial's reports folder."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            if "gameday.engine.watchdog" in cmdline and str(folder) in cmdline:
                found.append(int(entry.name))
    return found


def start_run(services: Services, target: Target, kind: str, work: Path, reports: Path) -> subprocess.Popen[bytes]:
    name = f"gdkill-{kind.replace('/', '-').replace('_', '-')}-{uuid.uuid4().hex[:4]}"
    scenario = work / f"{name}.yaml"
    scenario.write_text(yaml.safe_dump({"version": 1, "name": name, "expect": {"recovers_within": "10s"},
                                        **target.scenario(kind.split("/")[0], name)}))
    return subprocess.Popen([sys.executable, "-m", "gameday", "run", str(scenario), "--reports", str(reports)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **services.env})


@dataclass(frozen=True)
class Timings:
    """Seconds from spawning `gameday run` to its milestones, from one run that was not killed."""

    started: float
    fault_phase: float
    intended: float
    injected: float
    revert_starts: float
    reverted: float

    def plan(self, aim: str, rng: random.Random) -> KillPlan:
        """When to kill: anywhere in the run, or aimed at the inject call or the revert call.

        Runs vary by a few hundred ms (interpreter start, Docker), more than an inject call lasts, so aimed
        kills are timed from the run's own timeline event, not from the spawn."""
        if aim == "inject":  # fault.intended is written just before the inject call
            return KillPlan("fault.intended", rng.uniform(0.0, self.injected - self.intended + 0.03))
        if aim == "revert":  # the revert starts at the fault phase's start + at + duration
            start = self.revert_starts - self.fault_phase
            return KillPlan("fault phase", start + rng.uniform(-0.03, self.reverted - self.revert_starts + 0.03))
        return KillPlan(None, max(0.05, rng.uniform(self.started - 0.3, self.reverted + 0.3)))


@dataclass(frozen=True)
class KillPlan:
    trigger: str | None
    """None: ``offset`` counts from the spawn; else from when this timeline event appeared."""
    offset: float


def wait_for_trigger(reports: Path, trigger: str, proc: subprocess.Popen[bytes], limit: float) -> bool:
    """Poll the run's timeline (flushed per event) until the trigger event is there; False if it never came."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        for path in reports.glob("*/timeline.jsonl"):
            with contextlib.suppress(OSError):
                text = path.read_text()
                if (trigger == "fault phase" and '"phase": "fault"' in text) or f'"kind": "{trigger}"' in text:
                    return True
        time.sleep(0.003)
    return False


def calibrate(services: Services, kind: str, work: Path) -> Timings:
    """Run the kind's scenario once to the end, and read when each phase came from its timeline."""
    target = services.target(kind)
    reports = work / f"calibrate-{uuid.uuid4().hex[:6]}"
    try:
        spawned = datetime.now().astimezone()
        code = start_run(services, target, kind, work, reports).wait(timeout=120)
        run_dir = next(p for p in reports.glob("*") if p.is_dir())
        events = _events(run_dir)
        if code != 0:
            raise SystemExit(f"calibration run of {kind} exited with {code}; see {run_dir}")

        def at(kind_: str, phase: str | None = None) -> float:
            event = next(e for e in events if e["kind"] == kind_ and (phase is None or e["details"]["phase"] == phase))
            return (datetime.fromisoformat(event["at"]) - spawned).total_seconds()

        fault = events[0]["details"]["faults"][0]
        return Timings(at("run.started"), at("phase.changed", "fault"), at("fault.intended"), at("fault.injected"),
                       at("phase.changed", "fault") + float(fault["at_s"]) + float(fault["duration_s"]),
                       at("fault.reverted"))
    finally:
        target.close()


def trial(services: Services, kind: str, plan: KillPlan, work: Path, max_delay: float) -> Trial:
    result = Trial(kind, 0.0)
    target = services.target(kind)
    reports = work / f"reports-{uuid.uuid4().hex[:6]}"
    try:
        spawned = time.monotonic()
        proc = start_run(services, target, kind, work, reports)
        if plan.trigger is None or not wait_for_trigger(reports, plan.trigger, proc, max_delay):
            time.sleep(max(0.0, min(plan.offset, max_delay) - (time.monotonic() - spawned)))
        else:
            time.sleep(plan.offset)
        result.delay = time.monotonic() - spawned
        broken_before = target.broken()
        killed_wall = datetime.now().astimezone()
        killed = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        first = True
        while time.monotonic() < killed + RESTORE_DEADLINE:
            broken = target.broken()
            if first:
                result.live = broken_before or broken
                first = False
            if not broken:
                result.restore_s = time.monotonic() - killed
                break
            time.sleep(0.02)
        # The watchdog re-checks what it reverted (for 6 s) and then leaves: judge only after that.
        deadline = time.monotonic() + WATCHDOG_EXIT_DEADLINE
        while watchdogs_of(reports) and time.monotonic() < deadline:
            time.sleep(0.1)
        lingering = watchdogs_of(reports)
        run_dirs = sorted(p for p in reports.glob("*") if p.is_dir())
        result.phase = phase_at(_events(run_dirs[0] if run_dirs else None), killed_wall)
        pending = [f for j in reports.glob("*/journal.jsonl") for f in pending_faults(j)]
        still_broken = target.broken()
        result.ok = result.restore_s is not None and not still_broken and not pending and not lingering
        if not result.ok:
            notes = []
            if result.restore_s is None:
                notes.append(f"not restored within {RESTORE_DEADLINE:.0f}s")
            if still_broken:
                notes.append(f"broken at the end: {target.describe()}")
            if pending:
                notes.append(f"{len(pending)} pending in the journal")
            if lingering:
                notes.append(f"watchdog still running (pid {lingering})")
            log = run_dirs[0] / "watchdog.log" if run_dirs else None
            if log is not None and log.exists():
                notes.append("watchdog.log: " + " | ".join(log.read_text().strip().splitlines()[-4:]))
            result.note = "; ".join(notes)
            target.mend()
        if not result.live:
            result.restore_s = None
        return result
    finally:
        target.close()


# --- the report -----------------------------------------------------------------------------------------


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def ms(values: list[float]) -> str:
    if not values:
        return "-"
    return (f"{statistics.median(values) * 1000:.0f} / {quantile(values, 0.95) * 1000:.0f} / "
            f"{max(values) * 1000:.0f} ms")


def table(trials: list[Trial], kinds: list[str]) -> str:
    rows = ["| kind | trials | left broken | kills while live | kill -> restored (median / p95 / max) |",
            "|---|---|---|---|---|"]
    for kind in [*kinds, "all"]:
        chosen = [t for t in trials if kind in ("all", t.kind)]
        if not chosen:
            continue
        times = [t.restore_s for t in chosen if t.restore_s is not None]
        broken = sum(not t.ok for t in chosen)
        label = "**all**" if kind == "all" else f"`{kind}`"
        rows.append(f"| {label} | {len(chosen)} | {f'**{broken}**' if broken else 0} | "
                    f"{sum(t.live for t in chosen)} | {ms(times)} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--max-delay", type=float, default=10.0,
                        help="kill at the latest this many seconds after the start (or after an aimed-at event)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--kinds", default=",".join(KINDS),
                        help=f"comma-separated, in rotation (default: all): {', '.join(KINDS)}; "
                             "revoke_credentials means its three backends")
    args = parser.parse_args()
    kinds: list[str] = []
    for word in (w.strip() for w in args.kinds.split(",") if w.strip()):
        chosen = CREDENTIAL_KINDS if word == "revoke_credentials" else [word]
        unknown = [k for k in chosen if k not in KINDS]
        if unknown:
            parser.error(f"unknown kind {word!r}; known: {', '.join(KINDS)}")
        kinds.extend(k for k in chosen if k not in kinds)
    rng = random.Random(args.seed)
    trials: list[Trial] = []
    with tempfile.TemporaryDirectory(prefix="gdkill-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        services = start_services(kinds, stack, work)
        # Each kind's run has its own pace (Docker calls, docker exec, a database login): one run of each,
        # not killed, says when its inject and revert come. Then, per kind, trials take turns: kill anywhere
        # from the run's start to just after its revert; aimed at the inject call; anywhere; aimed at the revert.
        timings = {kind: calibrate(services, kind, work) for kind in kinds}
        for kind, t in timings.items():
            print(f"calibrated {kind:25s} started {t.started:4.2f}s, inject {t.intended:4.2f}-{t.injected:4.2f}s, "
                  f"revert {t.revert_starts:4.2f}-{t.reverted:4.2f}s", flush=True)
        aims = ["spread", "inject", "spread", "revert"]
        for i in range(args.trials):
            kind = kinds[i % len(kinds)]
            aim = aims[(i // len(kinds)) % len(aims)]
            result = trial(services, kind, timings[kind].plan(aim, rng), work, args.max_delay)
            result.aim = aim
            trials.append(result)
            print(f"trial {i + 1:3d} {kind:25s} {aim:6s} kill at {result.delay:4.2f}s ({result.phase}): "
                  f"{'ok' if result.ok else 'LEFT BROKEN'}"
                  + (f", restored {result.restore_s * 1000:.0f} ms after the kill" if result.restore_s is not None else "")
                  + (f"  [{result.note}]" if result.note else ""), flush=True)
    print(f"\n{len(trials)} trials, {sum(not t.ok for t in trials)} left a fault behind\n")
    print(table(trials, kinds))
    print("\n| killed during | trials | fault live at the kill | left broken |\n|---|---|---|---|")
    for phase in PHASES:
        in_phase = [t for t in trials if t.phase == phase]
        if in_phase:
            print(f"| {phase} | {len(in_phase)} | {sum(t.live for t in in_phase)} | {sum(not t.ok for t in in_phase)} |")


if __name__ == "__main__":
    main()
