"""free_port(s): ports below the kernel's ephemeral range, a slice of them per pytest-xdist worker, none handed out
twice by a process before the rest of its slice."""

from __future__ import annotations

import socket

from gameday.testing.network import HIGH, LOW, free_port, free_ports, worker_ports


def test_each_xdist_worker_has_a_slice_of_its_own_and_without_xdist_the_whole_range_is_used() -> None:
    slices = [worker_ports({"PYTEST_XDIST_WORKER": f"gw{k}", "PYTEST_XDIST_WORKER_COUNT": "4"}) for k in range(4)]
    assert [(s.start, s.stop) for s in slices] == [(20000, 23000), (23000, 26000), (26000, 29000), (29000, 32000)]
    assert worker_ports({}) == range(LOW, HIGH)
    assert worker_ports({"PYTEST_XDIST_WORKER": "gw1", "PYTEST_XDIST_WORKER_COUNT": "x"}) == range(LOW, HIGH)


def test_ports_come_from_the_workers_slice_below_the_ephemeral_range() -> None:
    env = {"PYTEST_XDIST_WORKER": "gw2", "PYTEST_XDIST_WORKER_COUNT": "3"}
    ports = [*free_ports(5, environ=env), free_port(environ=env)]
    assert all(28000 <= p < 32000 for p in ports), ports
    assert len(set(ports)) == 6


def test_a_port_chosen_is_not_chosen_again_while_its_server_has_not_bound_it_yet() -> None:
    # A slice of 400 ports (30 workers): 300 picks in a row are all different, though none of them was bound.
    env = {"PYTEST_XDIST_WORKER": "gw0", "PYTEST_XDIST_WORKER_COUNT": "30"}
    picked = [free_port(environ=env) for _ in range(300)]
    assert len(set(picked)) == 300


def test_a_port_something_listens_on_is_skipped() -> None:
    env = {"PYTEST_XDIST_WORKER": "gw29", "PYTEST_XDIST_WORKER_COUNT": "30"}  # 31600-31999
    held = []
    try:
        for port in range(31600, 32000):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            held.append(s)
        free = set(range(31600, 32000)) - {s.getsockname()[1] for s in held}
        released = held.pop()
        free.add(released.getsockname()[1])
        released.close()
        assert free_port(environ=env) in free
    finally:
        for s in held:
            s.close()
