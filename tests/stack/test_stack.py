"""The demo stack, for real: built images, six containers, checkout through Toxiproxy, up/status/down.

One copy of the stack is brought up for the whole module (from a Docker with none of its containers)
and taken down by the last test, which checks that nothing is left.
"""

from __future__ import annotations

import re
import socket
import stat
import subprocess
import sys
import time
from typing import Any

import httpx
import psycopg
import pytest
import redis

from gameday.errors import EnvironmentProblem
from gameday.faults.toxiproxy_client import ToxiproxyClient
from gameday.stack.config import StackConfig
from gameday.stack.manager import DemoStack, PartStatus
from gameday.stack.parts import SPOOL, part_names, parts
from gameday.stack.state import PASSWORD_KEYS, read_env_file, stack_env

pytestmark = pytest.mark.docker


def labelled(docker_client: Any, config: StackConfig) -> list[Any]:
    return docker_client.containers.list(all=True, filters={"label": f"gameday.stack={config.stack}"})


def get(config: StackConfig, path: str, timeout: float = 5) -> httpx.Response:
    return httpx.get(config.url(config.checkout_port, path), timeout=timeout, trust_env=False)


def eventually(check: Any, timeout: float = 60.0, interval: float = 0.2) -> Any:
    """The first truthy result of check() within timeout, else the last result (for the assert). The deadline
    costs time only when the check never holds, so it is generous: a busy machine stretches seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def cli(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gameday", *args], env={**environ, "COLUMNS": "200"},
                          capture_output=True, text=True, timeout=180, check=False)


@pytest.fixture(scope="module")
def up(test_stack: DemoStack, docker_client: Any) -> list[PartStatus]:
    assert labelled(docker_client, test_stack.config) == [], "the test stack must start from a clean Docker"
    return test_stack.up(timeout=120)


def test_up_from_a_clean_docker_starts_every_part_healthy(up: list[PartStatus], test_stack: DemoStack,
                                                          docker_client: Any) -> None:
    config = test_stack.config
    assert [s.part for s in up] == part_names()
    assert all(s.state == "running" and s.health == "healthy" for s in up), up
    for container in labelled(docker_client, config):
        host = container.attrs["HostConfig"]
        assert host["NetworkMode"] == "host"
        assert host["RestartPolicy"]["Name"] in ("no", "")
        assert container.labels["gameday.allowed"] == "true"
        assert container.name == config.container_name(container.labels["gameday.part"])
        assert container.attrs["Config"]["Healthcheck"]["Test"][0] == "CMD-SHELL"


def _listeners(port: int) -> set[str]:
    """Local addresses (hex, as in /proc/net/tcp*) of sockets listening on port."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table, encoding="ascii") as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                addr, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:
                    found.add(addr)
    return found


def test_every_port_is_bound_on_loopback_only(up: list[PartStatus], stack_config: StackConfig) -> None:
    c = stack_config
    ports = [c.checkout_port, c.postgres_port, c.redis_port, c.toxiproxy_port, c.postgres_proxy_port,
             c.redis_proxy_port, c.prometheus_port, c.alertmanager_port]
    for port in ports:
        listeners = _listeners(port)
        # 0100007F is 127.0.0.1 in /proc/net/tcp's little-endian hex.
        assert listeners == {"0100007F"}, f"port {port} listens on {listeners}"


def test_checkout_is_healthy_and_reaches_its_dependencies_through_toxiproxy(up: list[PartStatus],
                                                                           stack_config: StackConfig) -> None:
    c = stack_config
    response = get(c, "/health")
    assert response.status_code == 200
    assert response.json()["checks"] == {"postgres": "ok", "redis": "ok", "spool": "ok"}
    with ToxiproxyClient(c.url(c.toxiproxy_port)) as toxiproxy:
        proxies = toxiproxy.proxies()
        assert proxies["postgres"].listen == f"127.0.0.1:{c.postgres_proxy_port}"
        assert proxies["postgres"].upstream == f"127.0.0.1:{c.postgres_port}"
        assert proxies["redis"].upstream == f"127.0.0.1:{c.redis_port}"
        # Cutting the proxy must cut checkout off: proof that it goes through Toxiproxy.
        for proxy in ("postgres", "redis"):
            toxiproxy.disable(proxy)
            try:
                failing = eventually(lambda: get(c, "/health").status_code == 503)
                assert failing, f"/health stayed green with the {proxy} proxy disabled"
                assert get(c, "/health").json()["checks"][proxy] != "ok"
            finally:
                toxiproxy.enable(proxy)
            assert eventually(lambda: get(c, "/health").status_code == 200)


def test_checkout_finds_postgres_by_name_through_its_zone_server_which_the_host_can_ask(
    up: list[PartStatus], docker_client: Any, stack_config: StackConfig
) -> None:
    from tests.faults.test_dns_failure import ZONE  # the demo's own zone_dns module, loaded from its file

    address = stack_config.dns_address  # the test's copy's own: never the default stack's 127.0.0.153
    assert address != "127.0.0.153" or stack_config.checkout_port == 18080
    checkout = docker_client.containers.get(stack_config.container_name("checkout"))
    assert f"nameserver {address}" in checkout.exec_run(["cat", "/etc/resolv.conf"]).output.decode()
    found = checkout.exec_run(["python3", "-c", "import socket; print(socket.gethostbyname('postgres.demo.internal'))"])
    assert found.output.decode().strip() == "127.0.0.1"
    assert ZONE.query(address, "postgres.demo.internal") == "127.0.0.1"
    assert ZONE.query(address, "nothing.demo.internal") is None


def test_orders_are_stored_in_postgres_and_spooled(up: list[PartStatus], stack_config: StackConfig,
                                                  docker_client: Any) -> None:
    c = stack_config
    products = get(c, "/products").json()
    assert [p["id"] for p in products] == [1, 2, 3, 4]
    created = httpx.post(c.url(c.checkout_port, "/orders"), json={"product_id": 2, "quantity": 3}, timeout=5,
                         trust_env=False)
    assert created.status_code == 201
    order = created.json()
    assert (order["product_id"], order["quantity"]) == (2, 3)
    assert get(c, f"/orders/{order['id']}").json() == order
    assert get(c, "/orders/999999").status_code == 404
    bad = httpx.post(c.url(c.checkout_port, "/orders"), json={"product_id": "x"}, timeout=5, trust_env=False)
    assert bad.status_code == 400
    checkout = docker_client.containers.get(c.container_name("checkout"))
    assert checkout.exec_run(["test", "-s", f"{SPOOL}/order-{order['id']}.json"]).exit_code == 0
    # The admin DSN from the stack's env file reaches the real database directly.
    with psycopg.connect(stack_env(c)["GAMEDAY_DEMO_PG_ADMIN_DSN"], connect_timeout=5) as conn:
        row = conn.execute("SELECT product_id, quantity FROM orders WHERE id = %s", (order["id"],)).fetchone()
    assert row == (2, 3)


def test_the_write_check_writes_to_both_stores_and_keeps_no_order(up: list[PartStatus], stack_config: StackConfig) -> None:
    c = stack_config
    admin = stack_env(c)["GAMEDAY_DEMO_PG_ADMIN_DSN"]
    with psycopg.connect(admin, connect_timeout=5) as conn:
        before = conn.execute("SELECT count(*) FROM orders").fetchone()
    answer = get(c, "/health/writes")
    assert answer.status_code == 200 and answer.json()["checks"] == {"postgres": "ok", "redis": "ok"}
    with psycopg.connect(admin, connect_timeout=5) as conn:
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == before  # rolled back
        # A read-only session is its own reason, which DatabaseReadOnly reads (not DatabaseUnreachable's).
        conn.execute("ALTER ROLE checkout SET default_transaction_read_only = on")
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'checkout'")
        conn.commit()
    try:
        failing = get(c, "/health/writes")
        assert failing.status_code == 503 and "read-only transaction" in failing.json()["checks"]["postgres"]
        assert 'checkout_dependency_errors_total{dependency="postgres",reason="read_only"} 0' not in \
            get(c, "/metrics").text
    finally:
        with psycopg.connect(admin, connect_timeout=5, autocommit=True) as conn:
            conn.execute("ALTER ROLE checkout RESET default_transaction_read_only")
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'checkout'")
    assert eventually(lambda: get(c, "/health/writes").status_code == 200)


def test_a_frozen_database_is_an_error_within_seconds_not_a_hang(up: list[PartStatus], stack_config: StackConfig,
                                                                 docker_client: Any) -> None:
    c = stack_config
    assert get(c, "/health").status_code == 200  # a pooled connection is open
    postgres = docker_client.containers.get(c.container_name("postgres"))
    postgres.pause()
    try:
        started = time.monotonic()
        response = get(c, "/health", timeout=60)
        elapsed = time.monotonic() - started
    finally:
        postgres.unpause()
    assert response.status_code == 503
    # A pooled connection meets the 3 s query deadline; a stale pooled one (from an earlier restart) is
    # replaced, and the fresh connect meets the 2 s connect timeout instead. Both are a timeout, not a hang.
    assert re.fullmatch(r"no answer within 3s|no connection within 2s", response.json()["checks"]["postgres"])
    # The deadline named is checkout's own; the wall clock only shows it was not cut short, nor a hang (a busy
    # machine stretches the 2-3 s, so the upper bound is generous).
    assert 1.5 < elapsed < 30, f"/health took {elapsed:.1f}s with the database frozen"
    assert 'checkout_dependency_errors_total{dependency="postgres",reason="timeout"} 0' not in get(c, "/metrics").text
    assert eventually(lambda: get(c, "/health").status_code == 200)


def test_metrics_are_in_the_prometheus_text_format(up: list[PartStatus], stack_config: StackConfig) -> None:
    c = stack_config
    get(c, "/products")
    text = get(c, "/metrics").text
    lines = text.splitlines()
    assert "# TYPE checkout_request_duration_seconds histogram" in lines
    assert "# TYPE checkout_requests_total counter" in lines
    assert 'checkout_dependency_errors_total{dependency="postgres",reason="connect"}' in text
    inf = next(line for line in lines if line.startswith('checkout_request_duration_seconds_bucket{endpoint="/products",le="+Inf"}'))
    count = next(line for line in lines if line.startswith('checkout_request_duration_seconds_count{endpoint="/products"}'))
    assert inf.split()[-1] == count.split()[-1] != "0"


def metric(config: StackConfig, series: str) -> float:
    """One series' value from checkout's /metrics (the whole line up to the value, labels included)."""
    line = next(ln for ln in get(config, "/metrics").text.splitlines() if ln.startswith(series + " "))
    return float(line.split()[-1])


def test_packets_lost_to_postgres_show_as_segments_sent_again_until_revert(up: list[PartStatus],
                                                                           stack_config: StackConfig) -> None:
    """packet_loss (30% both ways) on the port checkout reaches PostgreSQL on: each /health runs SELECT 1, and
    checkout's sockets count the segments they send again (what DatabasePacketLoss pages on); after revert none."""
    import uuid
    from dataclasses import replace

    from gameday.faults.network import PacketLoss
    from gameday.scenario.model import FaultSpec, StackSpec

    c = stack_config
    retransmits = 'checkout_dependency_tcp_retransmits_total{dependency="postgres"}'
    calls = 'checkout_dependency_duration_seconds_count{dependency="postgres"}'
    assert get(c, "/health").status_code == 200
    before, calls_before = metric(c, retransmits), metric(c, calls)
    driver = PacketLoss()
    spec = FaultSpec.model_validate({"kind": "packet_loss", "target": "db", "duration": "1m",
                                     "args": {"percent": 30, "direction": "both"}})
    stack = StackSpec.model_validate({"targets": {"db": {"platform": "port", "port": c.postgres_proxy_port}}})
    handle = replace(driver.prepare(spec, stack), run_id=f"stacktest-{uuid.uuid4().hex[:8]}", fault_id="f0")
    driver.inject(handle)
    try:
        for _ in range(40):
            get(c, "/health", timeout=30)
        during = metric(c, retransmits)
    finally:
        driver.revert(handle)
    assert during > before, "no segment was sent again with 30% of them dropped"
    assert metric(c, calls) >= calls_before + 40
    assert eventually(lambda: get(c, "/health").status_code == 200)
    after = metric(c, retransmits)
    for _ in range(20):
        get(c, "/health", timeout=30)
    assert metric(c, retransmits) == after


def test_the_cache_oom_killed_under_memory_pressure_is_back_with_its_limit(up: list[PartStatus],
                                                                          stack_config: StackConfig,
                                                                          docker_client: Any) -> None:
    """checkout-cache-oom-killed's fault on the test stack: Redis's 256 MiB limit lowered to 16 MiB with 32 MiB held
    in its /dev/shm; the kernel ends Redis (exit 137, OOMKilled), checkout's /health names redis and counts
    connect errors (what CacheUnreachable pages on); revert puts the limit back and starts Redis."""
    from gameday.faults.resources import MemoryPressure
    from gameday.handle import FaultHandle
    from gameday.scenario.model import FaultSpec, StackSpec

    c = stack_config
    name = c.container_name("redis")
    connect = 'checkout_dependency_errors_total{dependency="redis",reason="connect"}'
    assert get(c, "/health").status_code == 200
    errors_before = metric(c, connect)
    driver = MemoryPressure()
    spec = FaultSpec.model_validate({"kind": "memory_pressure", "target": "cache", "duration": "1m",
                                     "args": {"limit": "16MiB", "hold": "32MiB", "oom_kill": "expected"}})
    handle = driver.prepare(spec, StackSpec.model_validate({"targets": {"cache": {"container": name}}}))
    driver.inject(handle)
    try:
        # The kernel ends Redis within the inject call; Docker may say so a moment later.
        state = eventually(lambda: (s := docker_client.containers.get(name).attrs["State"])["Status"] == "exited" and s)
        assert state, "Redis was never seen exited"
        assert (state["OOMKilled"], state["ExitCode"]) == (True, 137)
        health = get(c, "/health", timeout=30)
        assert health.status_code == 503 and health.json()["checks"]["redis"] != "ok"
        assert metric(c, connect) > errors_before
    finally:
        driver.revert(FaultHandle.from_json(handle.to_json()))
    container = docker_client.containers.get(name)
    assert container.attrs["State"]["Status"] == "running"
    assert (container.attrs["HostConfig"]["Memory"], container.attrs["HostConfig"]["MemorySwap"]) == (256 * 2**20,) * 2
    assert eventually(lambda: get(c, "/health").status_code == 200)


def test_prometheus_scrapes_the_stack_and_alertmanager_calls_the_harness(up: list[PartStatus],
                                                                         stack_config: StackConfig) -> None:
    c = stack_config

    def targets_up() -> dict[str, str]:
        body = httpx.get(c.url(c.prometheus_port, "/api/v1/targets"), timeout=5, trust_env=False).json()
        health = {t["labels"]["job"]: t["health"] for t in body["data"]["activeTargets"]}
        return health if all(v == "up" for v in health.values()) else {}

    assert eventually(targets_up, interval=1) == {"checkout": "up", "toxiproxy": "up", "prometheus": "up",
                                                                "alertmanager": "up"}
    alertmanagers = httpx.get(c.url(c.prometheus_port, "/api/v1/alertmanagers"), timeout=5, trust_env=False).json()
    assert [a["url"] for a in alertmanagers["data"]["activeAlertmanagers"]] == [
        f"http://127.0.0.1:{c.alertmanager_port}/api/v2/alerts"]
    status = httpx.get(c.url(c.alertmanager_port, "/api/v2/status"), timeout=5, trust_env=False).json()
    assert f"url: http://127.0.0.1:{c.webhook_port}/alerts" in status["config"]["original"]


def test_secrets_stay_in_the_0600_env_file(up: list[PartStatus], stack_config: StackConfig,
                                          stack_environ: dict[str, str], docker_client: Any) -> None:
    c = stack_config
    assert stat.S_IMODE(c.env_file.stat().st_mode) == 0o600
    assert sorted(stack_env(c)) == ["GAMEDAY_DEMO_PG_ADMIN_DSN", "GAMEDAY_DEMO_REDIS_ADMIN_URL"]
    admin = redis.Redis.from_url(stack_env(c)["GAMEDAY_DEMO_REDIS_ADMIN_URL"], socket_timeout=5, decode_responses=True)
    try:
        assert admin.acl_whoami() == "admin"
        assert "checkout" in admin.acl_users()
    finally:
        admin.close()
    passwords = [read_env_file(c.env_file)[k] for k in PASSWORD_KEYS]
    assert all(len(p) >= 32 for p in passwords)
    shown = cli(stack_environ, "stack", "status").stdout
    for container in labelled(docker_client, c):
        attrs = str(container.attrs["Config"]) + container.logs().decode(errors="replace")
        for password in passwords:
            assert password not in attrs, f"a password shows in {container.name}'s config or log"
            assert password not in shown


def test_up_twice_changes_nothing(up: list[PartStatus], test_stack: DemoStack, docker_client: Any) -> None:
    before = {c.name: (c.id, c.attrs["State"]["StartedAt"]) for c in labelled(docker_client, test_stack.config)}
    again = test_stack.up(timeout=60)
    after = {c.name: (c.id, c.attrs["State"]["StartedAt"]) for c in labelled(docker_client, test_stack.config)}
    assert after == before
    assert all(s.healthy for s in again)


def test_up_starts_a_part_that_died(up: list[PartStatus], test_stack: DemoStack, docker_client: Any) -> None:
    redis_container = docker_client.containers.get(test_stack.config.container_name("redis"))
    redis_container.kill()
    statuses = {s.part: s for s in test_stack.status()}
    assert statuses["redis"].state == "exited"
    test_stack.up(timeout=60)
    redis_container.reload()
    assert redis_container.status == "running"
    assert all(s.healthy for s in test_stack.status())


def test_a_lost_env_file_is_restored_from_the_running_stack(up: list[PartStatus], test_stack: DemoStack,
                                                              docker_client: Any) -> None:
    """As when another state folder (a test's temporary one) meets a running stack: nothing is torn down."""
    c = test_stack.config
    before = {ct.name: ct.id for ct in labelled(docker_client, c)}
    old_env = read_env_file(c.env_file)
    c.env_file.unlink()
    assert all(s.healthy for s in test_stack.up(timeout=60))
    assert {ct.name: ct.id for ct in labelled(docker_client, c)} == before
    assert read_env_file(c.env_file) == old_env
    assert stat.S_IMODE(c.env_file.stat().st_mode) == 0o600


def test_containers_made_with_other_passwords_are_recreated(up: list[PartStatus], test_stack: DemoStack,
                                                            docker_client: Any) -> None:
    c = test_stack.config
    redis_container = docker_client.containers.get(c.container_name("redis"))
    # Forge a redis container that claims other passwords: the stack no longer agrees with itself.
    redis_container.remove(force=True)
    run_kwargs = next(p for p in parts(c) if p.name == "redis").run_kwargs(c, extra_labels={"gameday.secrets": "other"})
    docker_client.containers.create(**run_kwargs)
    before = {ct.name: ct.id for ct in labelled(docker_client, c)}
    old_dsn = stack_env(c)["GAMEDAY_DEMO_PG_ADMIN_DSN"]
    c.env_file.unlink()
    assert all(s.healthy for s in test_stack.up(timeout=120))
    after = {ct.name: ct.id for ct in labelled(docker_client, c)}
    assert sorted(after) == sorted(before) and not set(after.values()) & set(before.values())
    new_dsn = stack_env(c)["GAMEDAY_DEMO_PG_ADMIN_DSN"]
    assert new_dsn != old_dsn
    with psycopg.connect(new_dsn, connect_timeout=5) as conn:
        assert conn.execute("SELECT count(*) FROM products").fetchone() == (4,)
    assert eventually(lambda: get(c, "/health").status_code == 200)


def test_status_command_lists_every_part_and_its_health(up: list[PartStatus], stack_config: StackConfig,
                                                        stack_environ: dict[str, str]) -> None:
    result = cli(stack_environ, "stack", "status")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    by_part = {row[0]: row for row in rows if row and row[0] in part_names()}
    assert sorted(by_part) == sorted(part_names())
    for part, row in by_part.items():
        assert row[1:5] == [stack_config.container_name(part), str(getattr(stack_config, f"{part}_port")),
                            "running", "healthy"]


def test_down_leaves_nothing_and_is_idempotent(up: list[PartStatus], test_stack: DemoStack,
                                               stack_environ: dict[str, str], docker_client: Any) -> None:
    c = test_stack.config
    removed = test_stack.down()
    assert removed == sorted(c.container_name(p) for p in part_names())
    assert labelled(docker_client, c) == []
    assert c.volume_name not in [v.name for v in docker_client.volumes.list()]
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", c.checkout_port)) != 0
    assert test_stack.down() == []
    result = cli(stack_environ, "stack", "status")
    assert result.returncode == 1
    assert result.stdout.count("missing") == len(part_names())


def test_up_names_a_busy_port_in_one_line_and_starts_nothing(test_stack: DemoStack, stack_environ: dict[str, str],
                                                             docker_client: Any) -> None:
    c = test_stack.config
    with socket.socket() as squatter:
        # The stack's own connections may linger in TIME_WAIT on this port after down.
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", c.postgres_port))
        squatter.listen()
        with pytest.raises(EnvironmentProblem, match=f"port 127.0.0.1:{c.postgres_port} for postgres"):
            test_stack.up(timeout=10)
        result = cli(stack_environ, "stack", "up")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        (f"gameday: error: port 127.0.0.1:{c.postgres_port} for postgres is already in use by another process; "
         "free it or move the part with GAMEDAY_DEMO_POSTGRES_PORT")]
    assert labelled(docker_client, c) == []
