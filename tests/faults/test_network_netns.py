"""packet_loss and partition inside a container's own network namespace, on this machine's real iptables.

The target is a container with ``network_mode: none``: a namespace of its own with only loopback, so every
packet the tests send stays on 127.0.0.1 inside it. Datagrams are counted by a process of this test entered
into that namespace (``nsenter -n``: the benchmark's sender and receiver, which also read the fault's DROP
counter there) and connections are made by the container's own processes (``docker exec``). The host's
namespace is checked to hold none of the fault's rules and to serve the same port untouched.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gameday.errors import GamedayError
from gameday.faults.base import FaultHandle
from gameday.faults.network import PacketLoss, Partition
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.stack.images import base_tag
from gameday.testing.network import free_port
from tests.faults.test_credentials import gameday, kill_harness_and_watchdog, wait_for_events
from tests.helpers import first_run_dir, harness_process, write_scenario

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.docker


def pid_of(container: Any) -> int:
    container.reload()
    return int(container.attrs["State"]["Pid"])


def rules_in(container: Any) -> list[str]:
    """The live rule set of the container's own namespace."""
    return subprocess.run(["nsenter", "-t", str(pid_of(container)), "-n", "--", "iptables", "-w", "10", "-S"],
                          check=True, capture_output=True, text=True).stdout.splitlines()


def host_rules(run_id: str) -> list[str]:
    return [line for line in subprocess.run(["iptables", "-w", "10", "-S"], check=True, capture_output=True,
                                            text=True).stdout.splitlines() if run_id in line]


@pytest.fixture
def boxed(docker_client: Any) -> Iterator[Any]:
    """A container of the demo stack's base image with a network namespace of its own and only loopback."""
    import docker.errors

    try:
        docker_client.images.get(base_tag())
    except docker.errors.ImageNotFound:
        pytest.fail(f"the demo stack's base image {base_tag()} is needed (gameday stack build)")
    container = docker_client.containers.run(
        base_tag(), ["sleep", "600"], detach=True, network_mode="none", labels={"gameday.allowed": "true"},
        name=f"gameday-netnstest-{random.randrange(16**6):06x}")
    try:
        yield container
    finally:
        container.remove(force=True)  # its namespace, and any rule in it, goes with it


def stamped(driver: PacketLoss | Partition, container: Any, **args: Any) -> FaultHandle:
    spec = FaultSpec.model_validate({"kind": driver.kind, "target": "box", "args": args, "duration": "5s"})
    stack = StackSpec.model_validate({"targets": {"box": {"container": container.name}}})
    return replace(driver.prepare(spec, stack), run_id=f"netns-{uuid.uuid4().hex[:8]}", fault_id="test")


def roundtrip(handle: FaultHandle) -> FaultHandle:
    """What the watchdog and `gameday cleanup` get: the handle as it was journalled."""
    return FaultHandle.from_json(json.loads(json.dumps(handle.to_json())))


def datagrams_received(container: Any, handle: FaultHandle, port: int, sent: int) -> int:
    """The benchmark's counted UDP send and receive on 127.0.0.1:port, run inside the container's namespace."""
    code = ("import json, sys\nfrom benchmarks.network_faults import udp_received\n"
            "from gameday.handle import FaultHandle\n"
            "print(udp_received(int(sys.argv[1]), FaultHandle.from_json(json.loads(sys.argv[2])), int(sys.argv[3])))")
    out = subprocess.run(["nsenter", "-t", str(pid_of(container)), "-n", "--", sys.executable, "-c", code, str(port),
                          json.dumps(handle.to_json()), str(sent)], capture_output=True, text=True, timeout=300,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    return int(out.stdout.split()[-1])


def connects_inside(container: Any, port: int) -> str:
    """The container's own processes: a server and a client on 127.0.0.1:port; 'ok' or the client's error."""
    code = (f"import socket\ns = socket.create_server(('127.0.0.1', {port}))\n"
            f"try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=1).close(); print('ok')\n"
            "except OSError as e:\n    print('error', e)\n")
    return container.exec_run(["python3", "-c", code]).output.decode().strip().splitlines()[-1]


def test_packet_loss_goes_in_the_containers_own_namespace_and_drops_the_asked_share_there_only(boxed: Any) -> None:
    port = free_port()
    driver = PacketLoss()
    handle = stamped(driver, boxed, port=port, percent=30, protocol="udp")
    assert handle.data["netns"]["inode"] == os.readlink(f"/proc/{pid_of(boxed)}/ns/net")
    assert f"{boxed.name}'s own network namespace net:[" in handle.description
    driver.inject(handle)
    try:
        assert driver.check(handle)
        inside = [line for line in rules_in(boxed) if handle.run_id in line]
        assert len(inside) == 2, inside  # the jump from INPUT and the chain's DROP
        assert host_rules(handle.run_id) == []  # nothing in the host's namespace
        received = datagrams_received(boxed, handle, port, 10_000)  # 3 points is 6.5 standard deviations
        assert abs((10_000 - received) / 10_000 - 0.30) <= 0.03, received
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:  # the host's 127.0.0.1, same port
            rx.bind(("127.0.0.1", port))
            rx.settimeout(10)
            for _ in range(200):
                tx.sendto(b"x", ("127.0.0.1", port))
                rx.recv(8)
    finally:
        driver.revert(roundtrip(handle))
    assert [line for line in rules_in(boxed) if handle.run_id in line or "GAMEDAY-" in line] == []
    assert not driver.check(handle)


def test_a_partition_inside_cuts_the_containers_own_connections_until_revert(boxed: Any) -> None:
    port = free_port()
    driver = Partition()
    handle = stamped(driver, boxed, port=port)
    assert connects_inside(boxed, port) == "ok"
    driver.inject(handle)
    try:
        assert connects_inside(boxed, port).startswith("error")
        assert driver.check(handle)
    finally:
        driver.revert(handle)
    assert connects_inside(boxed, port) == "ok"
    assert not [line for line in rules_in(boxed) if handle.run_id in line]


def test_a_restart_makes_a_new_namespace_so_check_says_over_and_revert_has_nothing_to_remove(boxed: Any) -> None:
    port = free_port()
    driver = Partition()
    handle = stamped(driver, boxed, port=port)
    driver.inject(handle)
    before = pid_of(boxed)
    boxed.restart(timeout=1)
    assert pid_of(boxed) != before
    assert not driver.check(handle)
    assert rules_in(boxed) == ["-P INPUT ACCEPT", "-P FORWARD ACCEPT", "-P OUTPUT ACCEPT"]
    driver.revert(roundtrip(handle))  # the old namespace is gone with its rules: nothing to do, no error
    with pytest.raises(GamedayError, match="restarted or stopped since prepare"):
        driver.inject(handle)
    assert rules_in(boxed) == ["-P INPUT ACCEPT", "-P FORWARD ACCEPT", "-P OUTPUT ACCEPT"]


def test_a_container_needs_a_port_and_one_sharing_anothers_namespace_is_refused(boxed: Any, docker_client: Any) -> None:
    spec = FaultSpec.model_validate({"kind": "partition", "target": "box", "duration": "5s"})
    with pytest.raises(GamedayError, match=r"needs args\.port"):
        Partition().prepare(spec, StackSpec.model_validate({"targets": {"box": {"container": boxed.name}}}))
    sharing = docker_client.containers.run(base_tag(), ["sleep", "600"], detach=True,
                                           network_mode=f"container:{boxed.id}")
    try:
        spec = FaultSpec.model_validate({"kind": "partition", "target": "box", "args": {"port": 80},
                                         "duration": "5s"})
        with pytest.raises(GamedayError, match="shares the network namespace of"):
            Partition().prepare(spec, StackSpec.model_validate({"targets": {"box": {"container": sharing.name}}}))
    finally:
        sharing.remove(force=True)


def scenario(tmp_path: Path, container: Any, port: int) -> Path:
    return write_scenario(
        tmp_path / "netns.yaml", version=1, name="netns",
        stack={"targets": {"box": {"container": container.name}}},
        faults=[{"kind": "partition", "target": "box", "args": {"port": port, "protocol": "all"},
                 "duration": "60s"}],
        expect={"recovers_within": "10s"},
    )


def test_plan_says_which_namespace_and_what_the_machine_has_and_cleanup_removes_what_a_killed_run_left(
    tmp_path: Path, boxed: Any
) -> None:
    port = free_port()
    env = {"GAMEDAY_STATE_DIR": str(tmp_path / "state")}
    out = gameday("plan", str(scenario(tmp_path, boxed, port)), cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    text = " ".join(out.stdout.split())
    assert f"{boxed.name}'s own network namespace net:[" in text and f"nsenter -t {pid_of(boxed)} -n" in text
    assert "statistic match available, REJECT target available" in text
    assert "netem not built, TBF built in" in text and "IPv6 not covered" in text
    assert "in the container's network namespace" in text  # what revert does
    reports = tmp_path / "reports"
    proc = harness_process("run", str(scenario(tmp_path, boxed, port)), "--reports", str(reports), cwd=tmp_path,
                           env=env)
    try:
        wait_for_events(reports, "fault.injected", 1)
        run_id = json.loads((first_run_dir(reports) / "journal.jsonl").read_text().splitlines()[0])["run_id"]
        live = [line for line in rules_in(boxed) if run_id in line]
        assert len(live) == 5, live  # 4 jumps and the chain's DROP
        kill_harness_and_watchdog(proc, reports)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
    assert [line for line in rules_in(boxed) if run_id in line] == live  # nobody left to revert
    out = gameday("cleanup", "--reports", str(reports), cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert [shlex.split(line) for line in rules_in(boxed) if run_id in line or "GAMEDAY-" in line] == []
    assert connects_inside(boxed, port) == "ok"


@pytest.mark.parametrize("kind", ["packet_loss", "partition"])
def test_validate_refuses_a_kubernetes_target_in_one_located_line(tmp_path: Path, kind: str) -> None:
    path = write_scenario(tmp_path / "k.yaml", version=1, name="k",
                          stack={"targets": {"web": {"platform": "kubernetes", "kind": "Deployment", "name": "web"}}},
                          faults=[{"kind": kind, "target": "web", "args": {"port": 80, "percent": 10},
                                   "duration": "10s"}])
    out = gameday("validate", str(path), cwd=tmp_path, env={})
    assert out.returncode != 0
    assert f"faults[0].target: fault kind '{kind}' acts on a target on platform compose or docker or port; 'web' is on platform kubernetes" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr


def test_a_host_networked_container_gets_its_rules_in_the_hosts_namespace_scoped_by_the_port(
    docker_client: Any,
) -> None:
    host = docker_client.containers.run(base_tag(), ["sleep", "600"], detach=True, network_mode="host",
                                        labels={"gameday.allowed": "true"},
                                        name=f"gameday-netnstest-{random.randrange(16**6):06x}")
    port = free_port()
    driver = Partition()
    try:
        handle = stamped(driver, host, port=port, protocol="udp", direction="ingress")
        assert handle.data["netns"] is None
        assert "the host's network namespace, scoped by the port" in handle.description
        driver.inject(handle)
        try:
            live = host_rules(handle.run_id)
            assert len(live) == 2 and any(f"--dport {port} " in line for line in live), live
            assert driver.check(handle)
        finally:
            driver.revert(roundtrip(handle))
        assert host_rules(handle.run_id) == [] and not driver.check(handle)
    finally:
        host.remove(force=True)
