"""Network fault drivers against a real toxiproxy in front of a real loopback echo server.

Latency is measured at the client, through new connections, as the median of a few round trips.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from gameday.errors import RevertError, TargetError, ToxiproxyUnavailable
from gameday.faults.base import FaultDriver, FaultHandle, FaultRegistry
from gameday.faults.toxiproxy import Bandwidth, Latency, ProxyDown, ResetPeer, Timeout
from gameday.faults.toxiproxy_client import Proxy, ToxiproxyClient
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.testing import free_port
from tests.faults.conftest import Upstream, echo_round_trip, median_round_trip

ProxyMaker = Callable[[Upstream], Proxy]


def spec_for(url: str | None, proxy: str, kind: str, args: dict[str, Any] | None = None) -> tuple[FaultSpec, StackSpec]:
    stack: dict[str, Any] = {"targets": {"path": {"proxy": proxy}}}
    if url is not None:
        stack["toxiproxy"] = {"url": url}
    fault = FaultSpec.model_validate({"kind": kind, "target": "path", "args": args or {}, "duration": "2s"})
    return fault, StackSpec.model_validate(stack)


def test_latency_adds_what_was_asked_and_revert_takes_it_away(
    toxiproxy: ToxiproxyClient, make_proxy: ProxyMaker, echo_upstream: Upstream
) -> None:
    proxy = make_proxy(echo_upstream)
    baseline = median_round_trip(proxy.listen_port)
    driver = Latency()
    handle = driver.prepare(*spec_for(toxiproxy.base_url, proxy.name, "latency", {"latency": "300ms"}))
    assert not driver.check(handle), "prepare must not change anything"

    driver.inject(handle)
    assert driver.check(handle)
    added = median_round_trip(proxy.listen_port) - baseline
    assert abs(added - 0.300) <= max(0.050, 0.25 * 0.300), f"asked 300 ms, measured {added * 1000:.0f} ms added"

    driver.revert(handle)
    assert not driver.check(handle)
    assert toxiproxy.toxics(proxy.name) == []
    after = median_round_trip(proxy.listen_port)
    assert after - baseline < 0.050, f"latency not back to baseline: {after * 1000:.1f} ms vs {baseline * 1000:.1f} ms"


def test_upstream_direction_and_jitter_reach_the_toxic(toxiproxy: ToxiproxyClient, make_proxy: ProxyMaker,
                                                       echo_upstream: Upstream) -> None:
    proxy = make_proxy(echo_upstream)
    driver = Latency()
    handle = driver.prepare(*spec_for(toxiproxy.base_url, proxy.name, "latency",
                                      {"latency": "1s", "jitter": "50ms", "direction": "upstream", "toxicity": 0.5}))
    driver.inject(handle)
    try:
        toxic = toxiproxy.toxic(proxy.name, handle.data["toxic"])
        assert (toxic.type, toxic.stream, toxic.toxicity) == ("latency", "upstream", 0.5)
        assert toxic.attributes == {"latency": 1000, "jitter": 50}
        assert handle.description == f"add 1000ms +-50ms latency upstream on proxy {proxy.name}"
    finally:
        driver.revert(handle)


def test_revert_removes_only_our_toxic_never_a_foreign_one(
    toxiproxy: ToxiproxyClient, make_proxy: ProxyMaker, echo_upstream: Upstream
) -> None:
    proxy = make_proxy(echo_upstream)
    toxiproxy.add_toxic(proxy.name, name="someone-elses", type="latency", attributes={"latency": 5})
    driver = Latency()
    handle = driver.prepare(*spec_for(toxiproxy.base_url, proxy.name, "latency", {"latency": "100ms"}))
    driver.inject(handle)
    assert {t.name for t in toxiproxy.toxics(proxy.name)} == {"someone-elses", handle.data["toxic"]}

    driver.revert(handle)
    driver.revert(handle)  # idempotent: the second finds it gone and is fine
    assert [t.name for t in toxiproxy.toxics(proxy.name)] == ["someone-elses"]


def test_two_faults_of_one_kind_get_their_own_toxics(toxiproxy: ToxiproxyClient, make_proxy: ProxyMaker,
                                                     echo_upstream: Upstream) -> None:
    proxy = make_proxy(echo_upstream)
    driver = Latency()
    first = driver.prepare(*spec_for(toxiproxy.base_url, proxy.name, "latency", {"latency": "10ms"}))
    second = driver.prepare(*spec_for(toxiproxy.base_url, proxy.name, "latency", {"latency": "20ms"}))
    assert first.data["toxic"] != second.data["toxic"]
    assert first.data["toxic"].startswith("gameday-latency-")
    driver.inject(first)
    driver.inject(second)
    driver.revert(first)
    assert [t.name for t in toxiproxy.toxics(proxy.name)] == [second.data["toxic"]]
    driver.revert(second)


def test_revert_from_the_json_handle_in_a_new_driver(toxiproxy: ToxiproxyClient, make_proxy: ProxyMaker,
                                                     echo_upstream: Upstream) -> None:
    """As `gameday cleanup` does after a crash: only the journalled JSON, a fresh driver from the registry."""
    proxy = make_proxy(echo_upstream)
    first = Latency()
    handle = first.prepare(*spec_for(toxiproxy.base_url, proxy.name, "latency", {"latency": "200ms"}))
    first.inject(handle)
    first.close()
    raw = json.loads(json.dumps(handle.to_json()))

    fresh = FaultRegistry().create("latency")
    restored = FaultHandle.from_json(raw)
    assert fresh.check(restored)
    fresh.revert(restored)
    assert toxiproxy.toxics(proxy.name) == []
    assert echo_round_trip(proxy.listen_port) < 0.150


def test_the_handle_holds_url_proxy_and_toxic_and_no_secret(toxiproxy: ToxiproxyClient, make_proxy: ProxyMaker,
                                                            echo_upstream: Upstream) -> None:
    proxy = make_proxy(echo_upstream)
    handle = Latency().prepare(*spec_for(toxiproxy.base_url, proxy.name, "latency", {"latency": "1s"}))
    assert handle.data["url"] == toxiproxy.base_url and handle.data["proxy"] == proxy.name
    assert handle.data["attributes"] == {"latency": 1000, "jitter": 0}
    fault, stack = spec_for("http://admin:hunter2@127.0.0.1:1", proxy.name, "latency", {"latency": "1s"})
    with pytest.raises(TargetError, match="must not contain credentials") as err:
        Latency().prepare(fault, stack)
    assert "hunter2" not in str(err.value)


def test_proxy_down_refuses_connections_and_revert_restores_them(
    toxiproxy: ToxiproxyClient, make_proxy: ProxyMaker, echo_upstream: Upstream
) -> None:
    proxy = make_proxy(echo_upstream)
    driver = ProxyDown()
    handle = driver.prepare(*spec_for(toxiproxy.base_url, proxy.name, "proxy_down"))
    assert handle.data["was_enabled"] is True
    driver.inject(handle)
    assert driver.check(handle)
    with pytest.raises(ConnectionRefusedError):
        echo_round_trip(proxy.listen_port, timeout=1.0)

    driver.revert(handle)
    driver.revert(handle)
    assert not driver.check(handle)
    assert echo_round_trip(proxy.listen_port) < 0.150


def test_proxy_down_leaves_a_proxy_disabled_before_it_disabled(toxiproxy: ToxiproxyClient, make_proxy: ProxyMaker,
                                                               echo_upstream: Upstream) -> None:
    proxy = make_proxy(echo_upstream)
    toxiproxy.disable(proxy.name)
    with pytest.raises(TargetError, match=f"proxy {proxy.name} is already disabled"):
        ProxyDown().prepare(*spec_for(toxiproxy.base_url, proxy.name, "proxy_down"))
    handle = FaultHandle("proxy_down", "path", "", {"url": toxiproxy.base_url, "proxy": proxy.name, "was_enabled": False})
    ProxyDown().revert(handle)
    assert not toxiproxy.proxy(proxy.name).enabled


def test_reset_peer_breaks_connections_until_reverted(toxiproxy: ToxiproxyClient, make_proxy: ProxyMaker,
                                                      echo_upstream: Upstream) -> None:
    proxy = make_proxy(echo_upstream)
    driver = ResetPeer()
    handle = driver.prepare(*spec_for(toxiproxy.base_url, proxy.name, "reset_peer", {"timeout": "0ms"}))
    driver.inject(handle)
    with pytest.raises((ConnectionError, OSError)):
        echo_round_trip(proxy.listen_port, timeout=2.0)
    driver.revert(handle)
    assert echo_round_trip(proxy.listen_port) < 0.150


def test_timeout_holds_data_then_closes(toxiproxy: ToxiproxyClient, make_proxy: ProxyMaker,
                                        echo_upstream: Upstream) -> None:
    proxy = make_proxy(echo_upstream)
    driver = Timeout()
    handle = driver.prepare(*spec_for(toxiproxy.base_url, proxy.name, "timeout", {"timeout": "300ms"}))
    driver.inject(handle)
    start = time.perf_counter()
    with pytest.raises(ConnectionError):
        echo_round_trip(proxy.listen_port, timeout=3.0)
    held = time.perf_counter() - start
    assert 0.2 <= held <= 1.5, f"connection closed after {held:.2f}s, asked 0.3s"
    driver.revert(handle)
    assert echo_round_trip(proxy.listen_port) < 0.150


def test_bandwidth_slows_a_transfer(toxiproxy: ToxiproxyClient, make_proxy: ProxyMaker, echo_upstream: Upstream) -> None:
    proxy = make_proxy(echo_upstream)
    payload = b"x" * 200_000
    fast = echo_round_trip(proxy.listen_port, payload)
    driver = Bandwidth()
    handle = driver.prepare(*spec_for(toxiproxy.base_url, proxy.name, "bandwidth", {"rate_kb": 400}))
    driver.inject(handle)
    slow = echo_round_trip(proxy.listen_port, payload)
    driver.revert(handle)
    # 200 KB at 400 KB/s is about half a second; unthrottled it is milliseconds.
    assert slow >= 0.3 > fast, f"throttled {slow:.3f}s vs free {fast:.3f}s"


def test_missing_toxiproxy_url_is_an_error_at_prepare(make_proxy: ProxyMaker, echo_upstream: Upstream) -> None:
    proxy = make_proxy(echo_upstream)
    with pytest.raises(TargetError, match=r"fault latency@path needs stack.toxiproxy.url"):
        Latency().prepare(*spec_for(None, proxy.name, "latency", {"latency": "1s"}))


def test_unknown_proxy_is_an_error_at_prepare(toxiproxy: ToxiproxyClient) -> None:
    with pytest.raises(TargetError, match="has no proxy 'postgres-typo'"):
        Latency().prepare(*spec_for(toxiproxy.base_url, "postgres-typo", "latency", {"latency": "1s"}))
    with pytest.raises(TargetError, match="has no proxy 'postgres-typo'"):
        ProxyDown().prepare(*spec_for(toxiproxy.base_url, "postgres-typo", "proxy_down"))


def test_server_down_is_one_line_at_prepare_and_at_revert() -> None:
    """At revert it stays ToxiproxyUnavailable (an EnvironmentProblem), which the engine retries for a while."""
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ToxiproxyUnavailable, match=f"^cannot reach Toxiproxy at {url}: connection refused"):
        Latency().prepare(*spec_for(url, "postgres", "latency", {"latency": "1s"}))
    handle = FaultHandle("latency", "path", "", {"url": url, "proxy": "postgres", "toxic": "gameday-latency-x"})
    with pytest.raises(ToxiproxyUnavailable, match=f"^cannot reach Toxiproxy at {url}"):
        Latency().revert(handle)
    down = FaultHandle("proxy_down", "path", "", {"url": url, "proxy": "postgres", "was_enabled": True})
    with pytest.raises(ToxiproxyUnavailable):
        ProxyDown().revert(down)


def test_a_refused_revert_is_a_revert_error(toxiproxy: ToxiproxyClient, echo_upstream: Upstream) -> None:
    """proxy_down cannot enable a proxy that was deleted meanwhile: loud, as a RevertError naming it."""
    toxiproxy.create_proxy("deleted-meanwhile", listen="127.0.0.1:0", upstream=echo_upstream.address)
    driver = ProxyDown()
    handle = driver.prepare(*spec_for(toxiproxy.base_url, "deleted-meanwhile", "proxy_down"))
    driver.inject(handle)
    toxiproxy.delete_proxy("deleted-meanwhile")
    with pytest.raises(RevertError, match=r"could not enable proxy deleted-meanwhile again: .*has no proxy"):
        driver.revert(handle)


def test_revert_when_the_proxy_itself_is_gone_is_fine(toxiproxy: ToxiproxyClient, echo_upstream: Upstream) -> None:
    toxiproxy.create_proxy("short-lived", listen="127.0.0.1:0", upstream=echo_upstream.address)
    driver = Latency()
    handle = driver.prepare(*spec_for(toxiproxy.base_url, "short-lived", "latency", {"latency": "1s"}))
    driver.inject(handle)
    toxiproxy.delete_proxy("short-lived")
    driver.revert(handle)  # the toxic went with its proxy


def test_built_in_kinds_are_registered_through_entry_points() -> None:
    registry = FaultRegistry()
    built_in: list[tuple[str, type[FaultDriver]]] = [("latency", Latency), ("bandwidth", Bandwidth),
                                                     ("timeout", Timeout), ("reset_peer", ResetPeer),
                                                     ("proxy_down", ProxyDown)]
    for kind, cls in built_in:
        assert registry.driver_class(kind) is cls
        assert cls.target_fields == ("proxy",)


def test_connections_open_before_the_fault_are_slowed_too(toxiproxy: ToxiproxyClient, make_proxy: ProxyMaker,
                                                          echo_upstream: Upstream) -> None:
    """A pooled connection (as an app's DB pool holds) is affected, not only new ones."""
    proxy = make_proxy(echo_upstream)
    with socket.create_connection(("127.0.0.1", proxy.listen_port), timeout=5) as sock:
        sock.sendall(b"a")
        assert sock.recv(1) == b"a"
        driver = Latency()
        handle = driver.prepare(*spec_for(toxiproxy.base_url, proxy.name, "latency", {"latency": "250ms"}))
        driver.inject(handle)
        try:
            start = time.perf_counter()
            sock.sendall(b"b")
            assert sock.recv(1) == b"b"
            assert time.perf_counter() - start >= 0.2
        finally:
            driver.revert(handle)


def test_every_fault_on_one_proxy_takes_the_same_lock_and_another_proxy_another(
        toxiproxy: ToxiproxyClient, make_proxy: ProxyMaker, echo_upstream: Upstream, tmp_path: Any) -> None:
    from gameday.engine.safety import TargetLocks, resource_key

    proxy, other = make_proxy(echo_upstream), make_proxy(echo_upstream)
    localhost = toxiproxy.base_url.replace("127.0.0.1", "localhost")
    keys = {resource_key(Latency().prepare(*spec_for(toxiproxy.base_url, proxy.name, "latency", {"latency": "1s"}))),
            resource_key(ProxyDown().prepare(*spec_for(localhost, proxy.name, "proxy_down"))),
            resource_key(Bandwidth().prepare(*spec_for(toxiproxy.base_url, proxy.name, "bandwidth", {"rate_kb": 1})))}
    assert len(keys) == 1, keys
    (key,) = keys
    other_key = resource_key(Latency().prepare(*spec_for(toxiproxy.base_url, other.name, "latency", {"latency": "1s"})))
    assert other_key != key
    # So a second run cannot put its toxic on the proxy while the first holds it. The first run is a live
    # process of its own (a lock held by this very process would count as this run's).
    first = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "gameday-first-run"])
    try:
        locks = TargetLocks(run_id="first", scenario="a", state_dir=tmp_path)
        locks.acquire(key)
        record = json.loads(locks.held[0].path.read_text())
        locks.held[0].path.write_text(json.dumps({**record, "pid": first.pid}))
        with pytest.raises(TargetError, match="is in use by run first"):
            TargetLocks(run_id="second", scenario="b", state_dir=tmp_path).acquire(key)
        TargetLocks(run_id="second", scenario="b", state_dir=tmp_path).acquire(other_key)
    finally:
        first.kill()
        first.wait()
