"""dns_failure against this machine's real iptables, a real host-networked container and a real DNS server.

The container (the demo stack's base image: Debian's glibc resolver, as checkout's) asks a zone server the
test starts on a 127.0.0.x address of its own; the test process (the host) asks the same server directly.
Every rule is found by its comment; each test's finally removes whatever carries this test's run id.
"""

from __future__ import annotations

import importlib.util
import json
import random
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gameday.errors import GamedayError
from gameday.faults.base import FaultHandle
from gameday.faults.dns import DnsFailure
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.stack.images import base_tag
from gameday.stack.state import files_dir
from gameday.testing import on_free_loopback_address
from tests.faults.test_credentials import gameday, kill_harness_and_watchdog, wait_for_events
from tests.helpers import first_run_dir, harness_process, stack_file, write_scenario

NAME = "svc.dnstest.internal"
RUN_ID = f"dnsfault-test-{random.randrange(16**6):06x}"


def zone_dns() -> ModuleType:
    """The demo stack's zone server (standard library only), loaded from the shipped file."""
    spec = importlib.util.spec_from_file_location("zone_dns", files_dir() / "checkout" / "zone_dns.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ZONE = zone_dns()


def iptables_rules() -> list[str]:
    return subprocess.run(["iptables", "-w", "10", "-S"], check=True, capture_output=True, text=True).stdout.splitlines()


def ours(run_id: str = RUN_ID) -> list[str]:
    """Every live rule or chain of a run (this module's own by default)."""
    chains = {shlex.split(line)[-1] for line in iptables_rules() if run_id in line and " -j GAMEDAY-" in line}
    return [line for line in iptables_rules() if run_id in line or any(c in line.split()[:2] for c in chains)]


def sweep(run_id: str = RUN_ID) -> None:
    """Remove whatever a failed test left of a run: the jumps carrying its id and the chains they name."""
    for line in iptables_rules():
        parts = shlex.split(line)
        if parts[:1] == ["-A"] and parts[1] in ("INPUT", "OUTPUT") and run_id in line:
            subprocess.run(["iptables", "-w", "10", "-D", *parts[1:]], check=False, capture_output=True)
            subprocess.run(["iptables", "-w", "10", "-F", parts[-1]], check=False, capture_output=True)
            subprocess.run(["iptables", "-w", "10", "-X", parts[-1]], check=False, capture_output=True)


@pytest.fixture
def resolver() -> Iterator[Any]:
    """A zone server on an address of 127.0.0.0/8 no other test uses."""
    try:
        server, address = on_free_loopback_address(
            lambda address: ZONE.ZoneServer(address, {NAME: "127.0.0.1"}, "dnstest.internal").start())
    except OSError:
        pytest.fail("no free 127.0.0.x address for the test's DNS server")
    server.address = address
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def target(docker_client: Any, resolver: Any, tmp_path: Path) -> Iterator[Any]:
    """A host-networked container whose resolv.conf asks the test's server (1 s timeout, 1 attempt)."""
    import docker.errors

    try:
        docker_client.images.get(base_tag())
    except docker.errors.ImageNotFound:
        pytest.fail(f"the demo stack's base image {base_tag()} is needed (gameday stack build)")
    conf = tmp_path / "resolv.conf"
    conf.write_text(f"nameserver {resolver.address}\noptions timeout:1 attempts:1\n")
    container = docker_client.containers.run(
        base_tag(), ["sleep", "600"], detach=True, network_mode="host", labels={"gameday.allowed": "true"},
        name=f"gameday-dnstest-{random.randrange(16**6):06x}",
        volumes={str(conf): {"bind": "/etc/resolv.conf", "mode": "ro"}})
    try:
        yield container
    finally:
        container.remove(force=True)
        sweep()
        assert ours() == []


def lookup(container: Any) -> tuple[str, float]:
    """getaddrinfo in the container, as its programs call it: the address or the error, and how long it took."""
    code = ("import socket, time\nt = time.monotonic()\n"
            f"try:\n    r = socket.gethostbyname('{NAME}')\nexcept OSError as e:\n    r = 'error: ' + str(e)\n"
            "print(r + '|' + str(time.monotonic() - t))")
    out = container.exec_run(["python3", "-c", code]).output.decode().strip().splitlines()[-1]
    answer, seconds = out.rsplit("|", 1)
    return answer, float(seconds)


def stack(container: Any) -> StackSpec:
    return StackSpec.model_validate({"targets": {"app": {"container": container.name}}})


def stamped(container: Any, **args: Any) -> FaultHandle:
    spec = FaultSpec.model_validate({"kind": "dns_failure", "target": "app", "args": args, "duration": "5s"})
    return replace(DnsFailure().prepare(spec, stack(container)), run_id=RUN_ID, fault_id="dns")


def roundtrip(handle: FaultHandle) -> FaultHandle:
    """What the watchdog and `gameday cleanup` get: the handle as it was journalled."""
    return FaultHandle.from_json(json.loads(json.dumps(handle.to_json())))


@pytest.mark.docker
def test_fail_mode_makes_the_targets_lookups_fail_at_once_while_the_host_still_resolves(
    target: Any, resolver: Any
) -> None:
    assert lookup(target)[0] == "127.0.0.1"
    driver = DnsFailure()
    handle = stamped(target, mode="fail")
    assert resolver.address in handle.description and "cgroup" in handle.description
    driver.inject(handle)
    assert driver.check(handle)
    answer, seconds = lookup(target)
    assert answer.startswith("error") and seconds < 0.9  # refused at once, not the resolver's 1 s timeout
    assert ZONE.query(resolver.address, NAME) == "127.0.0.1"  # the host, asking the same server
    live = ours()
    assert live and all(f'--comment "gameday {RUN_ID} dns"' in line for line in live if line.startswith("-A"))
    driver.revert(roundtrip(handle))
    assert ours() == [] and not driver.check(handle)
    assert lookup(target)[0] == "127.0.0.1"


@pytest.mark.docker
def test_timeout_mode_lets_the_queries_out_and_drops_the_answers_so_the_resolver_waits(
    target: Any, resolver: Any
) -> None:
    driver = DnsFailure()
    handle = stamped(target, mode="timeout")
    driver.inject(handle)
    assert driver.check(handle)
    before = resolver.queries
    answer, seconds = lookup(target)
    assert answer.startswith("error") and seconds >= 0.9  # the resolver's whole timeout (1 s)
    assert resolver.queries > before  # the queries reached the server: only the answers were dropped
    assert ZONE.query(resolver.address, NAME) == "127.0.0.1"
    driver.revert(roundtrip(handle))
    assert ours() == []
    assert lookup(target)[0] == "127.0.0.1"


@pytest.mark.docker
def test_check_reads_the_live_rules_and_the_container_so_a_deleted_jump_or_a_restart_is_seen(target: Any) -> None:
    driver = DnsFailure()
    handle = stamped(target)
    driver.inject(handle)
    assert driver.check(handle)
    jump = next(line for line in ours() if line.startswith("-A OUTPUT"))
    subprocess.run(["iptables", "-w", "10", "-D", *shlex.split(jump)[1:]], check=True)
    assert not driver.check(handle)
    driver.inject(handle)  # an inject retried puts back what is missing, adds nothing twice
    assert driver.check(handle) and len([line for line in ours() if line.startswith("-A OUTPUT")]) == 2
    target.restart(timeout=1)  # a new cgroup, which the rules (resolved when added) never match
    assert not driver.check(handle)
    driver.revert(handle)
    driver.revert(handle)  # idempotent
    assert ours() == []


@pytest.mark.docker
def test_a_container_with_its_own_network_or_an_ipv6_resolver_is_refused(
    docker_client: Any, tmp_path: Path
) -> None:
    spec = FaultSpec.model_validate({"kind": "dns_failure", "target": "app", "duration": "5s"})
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver ::1\n")
    bridged = docker_client.containers.run(base_tag(), ["sleep", "600"], detach=True, network_mode="bridge")
    ipv6 = docker_client.containers.run(base_tag(), ["sleep", "600"], detach=True, network_mode="host",
                                        volumes={str(conf): {"bind": "/etc/resolv.conf", "mode": "ro"}})
    try:
        with pytest.raises(GamedayError, match="network_mode: host"):
            DnsFailure().prepare(spec, stack(bridged))
        with pytest.raises(GamedayError, match="IPv6 resolver ::1"):
            DnsFailure().prepare(spec, stack(ipv6))
    finally:
        bridged.remove(force=True)
        ipv6.remove(force=True)


def scenario(tmp_path: Path, container: Any) -> Path:
    return write_scenario(
        tmp_path / "dns.yaml", version=1, name="dns",
        stack=stack_file(tmp_path, "dns", {"targets": {"app": {"container": container.name}}},
                         {"docker": [container.name]}),
        faults=[{"kind": "dns_failure", "target": "app", "args": {"mode": "fail"}, "duration": "60s"}],
        expect={"recovers_within": "10s"},
    )


@pytest.mark.docker
def test_plan_says_what_the_machine_has_and_cleanup_removes_the_rules_a_killed_run_left(
    tmp_path: Path, target: Any
) -> None:
    env = {"GAMEDAY_STATE_DIR": str(tmp_path / "state")}
    out = gameday("plan", str(scenario(tmp_path, target)), cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    text = " ".join(out.stdout.split())
    assert "cgroup match (--path) available" in text and "docker/" + target.id in text
    reports = tmp_path / "reports"
    proc = harness_process("run", str(scenario(tmp_path, target)), "--reports", str(reports), cwd=tmp_path, env=env)
    run_id = ""
    try:
        wait_for_events(reports, "fault.injected", 1)
        run_id = json.loads((first_run_dir(reports) / "journal.jsonl").read_text().splitlines()[0])["run_id"]
        live = ours(run_id)
        assert len([line for line in live if line.startswith("-A OUTPUT")]) == 2
        assert lookup(target)[0].startswith("error")
        kill_harness_and_watchdog(proc, reports)
        assert ours(run_id) == live  # nobody is left to revert: the rules stay until cleanup
        out = gameday("cleanup", "--reports", str(reports), cwd=tmp_path, env=env)
        assert out.returncode == 0, out.stdout + out.stderr
        assert ours(run_id) == []
        assert lookup(target)[0] == "127.0.0.1"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
        if run_id:
            sweep(run_id)


def test_validate_refuses_a_kubernetes_target_in_one_located_line(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "k.yaml", version=1, name="k",
                          stack={"targets": {"web": {"platform": "kubernetes", "kind": "Deployment", "name": "web"}}},
                          faults=[{"kind": "dns_failure", "target": "web", "duration": "10s"}])
    out = gameday("validate", str(path), cwd=tmp_path, env={})
    assert out.returncode != 0
    assert "faults[0].target: fault kind 'dns_failure' acts on a target on platform compose or docker" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr
