"""The Toxiproxy client against a real toxiproxy server: CRUD, and every failure as one clear line."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gameday.errors import FaultError, TargetError, ToxiproxyUnavailable
from gameday.faults.toxiproxy_client import Proxy, ToxiproxyClient
from gameday.testing import free_port
from tests.faults.conftest import Upstream, echo_round_trip, start_toxiproxy


def test_version_names_the_server(toxiproxy: ToxiproxyClient) -> None:
    assert toxiproxy.version()


def test_proxy_create_show_list_update_delete(toxiproxy: ToxiproxyClient, echo_upstream: Upstream) -> None:
    created = toxiproxy.create_proxy("crud-proxy", listen="127.0.0.1:0", upstream=echo_upstream.address)
    try:
        assert created.enabled and created.upstream == echo_upstream.address and created.listen_port > 0
        assert toxiproxy.proxy("crud-proxy") == created
        assert "crud-proxy" in toxiproxy.proxies()
        assert echo_round_trip(created.listen_port) < 1.0

        disabled = toxiproxy.disable("crud-proxy")
        assert not disabled.enabled and disabled.listen == created.listen
        with pytest.raises(OSError):  # noqa: PT011 - refused, reset or timed out: each means the proxy is off
            echo_round_trip(created.listen_port, timeout=1.0)
        assert toxiproxy.enable("crud-proxy").enabled
        assert echo_round_trip(created.listen_port) < 1.0
    finally:
        toxiproxy.delete_proxy("crud-proxy")
    assert "crud-proxy" not in toxiproxy.proxies()


def test_populate_creates_proxies_in_one_call(toxiproxy: ToxiproxyClient, echo_upstream: Upstream) -> None:
    made = toxiproxy.populate([
        {"name": "pop-a", "listen": "127.0.0.1:0", "upstream": echo_upstream.address, "enabled": True},
        {"name": "pop-b", "listen": "127.0.0.1:0", "upstream": echo_upstream.address, "enabled": False},
    ])
    try:
        assert {p.name: p.enabled for p in made} == {"pop-a": True, "pop-b": False}
        assert {"pop-a", "pop-b"} <= set(toxiproxy.proxies())
    finally:
        toxiproxy.delete_proxy("pop-a")
        toxiproxy.delete_proxy("pop-b")


def test_toxic_add_returns_it_update_changes_it_remove_deletes_it(
    toxiproxy: ToxiproxyClient, make_proxy: Callable[[Upstream], Proxy], echo_upstream: Upstream
) -> None:
    proxy = make_proxy(echo_upstream)
    added = toxiproxy.add_toxic(proxy.name, name="slow", type="latency", attributes={"latency": 100}, stream="upstream")
    assert (added.name, added.type, added.stream, added.toxicity) == ("slow", "latency", "upstream", 1.0)
    assert added.attributes["latency"] == 100

    updated = toxiproxy.update_toxic(proxy.name, "slow", attributes={"jitter": 10})
    assert updated.attributes == {"latency": 100, "jitter": 10}, "a partial update keeps the other attributes"
    assert toxiproxy.update_toxic(proxy.name, "slow", toxicity=0.5).toxicity == 0.5
    assert toxiproxy.toxic(proxy.name, "slow").attributes["jitter"] == 10
    assert [t.name for t in toxiproxy.toxics(proxy.name)] == ["slow"]

    assert toxiproxy.remove_toxic(proxy.name, "slow") is True
    assert toxiproxy.toxics(proxy.name) == []
    assert toxiproxy.remove_toxic(proxy.name, "slow", missing_ok=True) is False


def test_unknown_proxy_is_a_target_error_naming_it(toxiproxy: ToxiproxyClient) -> None:
    with pytest.raises(TargetError) as err:
        toxiproxy.proxy("no-such-proxy")
    assert str(err.value) == f"Toxiproxy at {toxiproxy.base_url} has no proxy 'no-such-proxy'"
    assert err.value.target == "no-such-proxy"
    with pytest.raises(TargetError, match="no proxy 'no-such-proxy'"):
        toxiproxy.add_toxic("no-such-proxy", name="x", type="latency", attributes={"latency": 1})


def test_unknown_toxic_is_a_target_error(
    toxiproxy: ToxiproxyClient, make_proxy: Callable[[Upstream], Proxy], echo_upstream: Upstream
) -> None:
    proxy = make_proxy(echo_upstream)
    with pytest.raises(TargetError, match=f"proxy '{proxy.name}' has no toxic 'ghost'"):
        toxiproxy.remove_toxic(proxy.name, "ghost")
    with pytest.raises(TargetError, match="has no toxic 'ghost'"):
        toxiproxy.update_toxic(proxy.name, "ghost", attributes={"latency": 5})


@pytest.mark.parametrize(
    ("toxic", "message"),
    [
        ({"name": "dup", "type": "latency"}, "toxic already exists (409)"),
        ({"name": "bad", "type": "no_such_toxic"}, "invalid toxic type (400)"),
    ],
)
def test_refused_requests_are_fault_errors_in_one_line(
    toxiproxy: ToxiproxyClient, make_proxy: Callable[[Upstream], Proxy], echo_upstream: Upstream,
    toxic: dict[str, Any], message: str,
) -> None:
    proxy = make_proxy(echo_upstream)
    toxiproxy.add_toxic(proxy.name, name="dup", type="latency", attributes={"latency": 1})
    with pytest.raises(FaultError) as err:
        toxiproxy.add_toxic(proxy.name, attributes={}, **toxic)
    assert str(err.value).endswith(message)
    assert "\n" not in str(err.value)


def test_server_down_is_toxiproxy_unavailable_in_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    start = time.monotonic()
    with pytest.raises(ToxiproxyUnavailable) as err, ToxiproxyClient(url, timeout=60) as client:
        client.proxy("postgres")
    assert str(err.value) == f"cannot reach Toxiproxy at {url}: connection refused (is toxiproxy-server running?)"
    # A refusal is final at once: no retrying until the (here 60 s) timeout. Generous for a busy machine.
    assert time.monotonic() - start < 20


def test_a_server_that_never_answers_times_out() -> None:
    """A socket that accepts but never replies: the call gives up after its timeout, not never."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        start = time.monotonic()
        with pytest.raises(ToxiproxyUnavailable, match=r"did not answer GET /version within 0.5s"), \
                ToxiproxyClient(url, timeout=0.5) as client:
            client.version()
        assert time.monotonic() - start < 20  # gave up (after 0.5 s, the message says), generous for a busy machine


def test_one_process_drives_two_servers(toxiproxy: ToxiproxyClient, tmp_path: Path, echo_upstream: Upstream) -> None:
    """The base URL belongs to the client instance (toxiproxy-python keeps it in a class attribute)."""
    other = start_toxiproxy(tmp_path / "second.log")
    try:
        with ToxiproxyClient(other.url) as second:
            second.create_proxy("only-on-second", listen="127.0.0.1:0", upstream=echo_upstream.address)
            assert "only-on-second" in second.proxies()
            assert "only-on-second" not in toxiproxy.proxies()
    finally:
        other.stop()
