"""packet_loss and partition against this machine's real iptables, on loopback ports of the tests' own.

Every rule a test makes is scoped to a port from free_port(); each test's finally sweeps away any rule
carrying a gameday comment on its ports and the chains they jump to, so a failing test leaves nothing
behind for other tests on the machine.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from benchmarks.network_faults import dropped, udp_received
from gameday.errors import GamedayError
from gameday.faults.base import FaultHandle
from gameday.faults.network import PacketLoss, Partition
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.testing.network import free_port
from tests.faults.test_credentials import gameday, kill_harness_and_watchdog, wait_for_events
from tests.helpers import first_run_dir, harness_process, stack_file, write_scenario


def iptables(*args: str) -> str:
    return subprocess.run(["iptables", "-w", "10", *args], check=True, capture_output=True, text=True).stdout


def rules_on(port: int) -> list[str]:
    """Every rule of the live rule set that names ``port`` or a chain a rule naming it jumps to."""
    lines = iptables("-S").splitlines()
    chains = {shlex.split(line)[-1] for line in lines if f"port {port} " in line and "gameday" in line}
    return [line for line in lines if (f"port {port} " in line and "gameday" in line)
            or any(c in shlex.split(line)[:2] for c in chains)]


def sweep(port: int) -> None:
    """Remove any gameday rule on ``port`` and its chain, whatever a failed test left."""
    lines = iptables("-S").splitlines()
    for builtin in ("INPUT", "OUTPUT"):
        for line in lines:
            parts = shlex.split(line)
            if parts[:2] == ["-A", builtin] and f"port {port} " in line and "gameday" in line:
                subprocess.run(["iptables", "-w", "10", "-D", builtin, *parts[2:]], check=False, capture_output=True)
                chain = parts[-1]
                if chain.startswith("GAMEDAY-"):
                    subprocess.run(["iptables", "-w", "10", "-F", chain], check=False, capture_output=True)
                    subprocess.run(["iptables", "-w", "10", "-X", chain], check=False, capture_output=True)


@pytest.fixture
def port() -> Iterator[int]:
    p = free_port()
    try:
        yield p
    finally:
        sweep(p)
        assert rules_on(p) == []


def stack(port: int) -> StackSpec:
    return StackSpec.model_validate({"targets": {"svc": {"platform": "port", "port": port}}})


def stamped(driver: PacketLoss | Partition, port: int, **args: Any) -> FaultHandle:
    spec = FaultSpec.model_validate({"kind": driver.kind, "target": "svc", "args": args, "duration": "5s"})
    # A run id of its own: the chain is named from it, and two test runs on one machine (xdist workers, other
    # suites) must not share a chain.
    return replace(driver.prepare(spec, stack(port)), run_id=f"netfault-{uuid.uuid4().hex[:8]}", fault_id="test")


def roundtrip(handle: FaultHandle) -> FaultHandle:
    """What the watchdog and `gameday cleanup` get: the handle as it was journalled."""
    return FaultHandle.from_json(json.loads(json.dumps(handle.to_json())))


def test_packet_loss_drops_the_asked_share_of_10000_datagrams_within_3_points(port: int) -> None:
    driver = PacketLoss()
    handle = stamped(driver, port, percent=30, protocol="udp")
    driver.inject(handle)
    assert driver.check(handle)
    received = udp_received(port, handle, 10_000)
    assert abs((10_000 - received) / 10_000 - 0.30) <= 0.03
    driver.revert(roundtrip(handle))
    assert rules_on(port) == [] and not driver.check(handle)


def test_rules_carry_the_comment_live_in_their_own_chain_and_only_name_the_targets_port(port: int) -> None:
    driver = Partition()
    handle = stamped(driver, port, protocol="all")
    driver.inject(handle)
    live = rules_on(port)
    assert all(f'--comment "gameday {handle.run_id} test"' in line for line in live if line.startswith("-A"))
    jumps = [line for line in live if line.startswith(("-A INPUT", "-A OUTPUT"))]
    assert len(jumps) == 4 and all(line.split()[-1].startswith("GAMEDAY-") and line.endswith("-test")
                                   for line in jumps)
    driver.inject(handle)  # an inject retried adds nothing twice
    assert rules_on(port) == live
    driver.revert(handle)
    driver.revert(handle)  # idempotent
    assert rules_on(port) == []


def tcp_connects(port: int, timeout: float = 0.5) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
        return True
    except OSError:
        return False


def test_a_partition_blackholes_new_connections_and_revert_lets_them_through(port: int) -> None:
    with socket.create_server(("127.0.0.1", port)) as server:
        server.settimeout(5)
        driver = Partition()
        handle = stamped(driver, port)
        assert tcp_connects(port)
        driver.inject(handle)
        started = time.monotonic()
        assert not tcp_connects(port, timeout=0.5)
        assert time.monotonic() - started >= 0.45  # a timeout (blackhole), not a refusal
        driver.revert(roundtrip(handle))
        assert tcp_connects(port)


@pytest.mark.parametrize("direction", ["ingress", "egress", "both"])
def test_a_partition_in_one_direction_drops_all_of_that_direction_and_none_of_the_other(
    port: int, direction: str
) -> None:
    """A UDP echo server on the port: ingress cuts what reaches it, egress only its replies."""
    driver = Partition()
    handle = stamped(driver, port, protocol="udp", direction=direction)
    arrived = 0
    stop = threading.Event()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        server.bind(("127.0.0.1", port))
        server.settimeout(0.05)
        client.bind(("127.0.0.1", 0))
        client.setblocking(False)

        def echo() -> None:
            nonlocal arrived
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    data, peer = server.recvfrom(64)
                    arrived += 1
                    with contextlib.suppress(PermissionError):  # a local sender sees EPERM for a dropped egress
                        server.sendto(data, peer)

        driver.inject(handle)
        thread = threading.Thread(target=echo)
        thread.start()
        try:
            def accounted() -> int:  # egress drops the replies: every request must arrive
                return arrived if direction == "egress" else arrived + dropped(handle)

            for batch in range(0, 2000, 100):  # in batches, so no socket buffer overflows uncounted
                for i in range(batch, batch + 100):
                    client.sendto(i.to_bytes(4, "big"), ("127.0.0.1", port))
                deadline = time.monotonic() + 10
                while accounted() < batch + 100 and time.monotonic() < deadline:
                    time.sleep(0.005)
            replies = 0
            with contextlib.suppress(BlockingIOError):
                while True:
                    client.recv(64)
                    replies += 1
        finally:
            stop.set()
            thread.join(timeout=10)
            driver.revert(handle)
    if direction == "egress":
        assert arrived == 2000 and replies == 0
    else:
        assert arrived == 0 and replies == 0


def test_check_reads_the_live_rules_so_a_jump_deleted_by_hand_is_seen(port: int) -> None:
    driver = PacketLoss()
    handle = stamped(driver, port, percent=10)
    driver.inject(handle)
    assert driver.check(handle)
    line = next(line for line in rules_on(port) if line.startswith("-A INPUT"))
    subprocess.run(["iptables", "-w", "10", "-D", *shlex.split(line)[1:]], check=True)
    assert not driver.check(handle)
    driver.revert(handle)
    assert rules_on(port) == []


def test_a_handle_never_stamped_reverts_to_nothing_and_a_non_port_target_is_refused(port: int) -> None:
    driver = Partition()
    spec = FaultSpec.model_validate({"kind": "partition", "target": "svc", "duration": "5s"})
    handle = driver.prepare(spec, stack(port))
    driver.revert(handle)
    with pytest.raises(GamedayError, match="run id"):
        driver.inject(handle)
    other = StackSpec.model_validate({"targets": {"svc": {"platform": "host", "path": "/tmp"}}})
    with pytest.raises(GamedayError, match="port target"):
        driver.prepare(spec, other)
    assert rules_on(port) == []


def scenario(tmp_path: Path, port: int, allowed: str, duration: str = "60s") -> Path:
    return write_scenario(
        tmp_path / "net.yaml", version=1, name="net",
        stack=stack_file(tmp_path, "net", {"targets": {"svc": {"platform": "port", "port": port}}},
                         {"port": [allowed]}),
        faults=[{"kind": "partition", "target": "svc", "args": {"protocol": "all"}, "duration": duration}],
        expect={"recovers_within": "10s"},
    )


def test_plan_says_what_the_machine_has_and_a_port_not_allowed_is_refused(tmp_path: Path, port: int) -> None:
    env = {"GAMEDAY_STATE_DIR": str(tmp_path / "state")}
    out = gameday("plan", str(scenario(tmp_path, port, str(port))), cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    text = " ".join(out.stdout.split())
    assert "statistic match available" in text and f"port {port}" in text
    out = gameday("plan", str(scenario(tmp_path, port, "1")), cwd=tmp_path, env=env)
    assert out.returncode != 0 and "allow" in out.stdout + out.stderr
    assert rules_on(port) == []


def test_with_the_harness_and_its_watchdog_killed_cleanup_removes_the_rules_from_the_journal_alone(
    tmp_path: Path, port: int
) -> None:
    reports = tmp_path / "reports"
    env = {"GAMEDAY_STATE_DIR": str(tmp_path / "state")}
    proc = harness_process("run", str(scenario(tmp_path, port, str(port))), "--reports", str(reports),
                           cwd=tmp_path, env=env)
    try:
        wait_for_events(reports, "fault.injected", 1)
        assert len([line for line in rules_on(port) if line.startswith(("-A INPUT", "-A OUTPUT"))]) == 4
        kill_harness_and_watchdog(proc, reports)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
    assert rules_on(port) != []
    out = gameday("cleanup", "--reports", str(reports), cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert rules_on(port) == []
    assert "netfault" not in (first_run_dir(reports) / "journal.jsonl").read_text()
