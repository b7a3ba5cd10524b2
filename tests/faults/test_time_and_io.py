"""clock_skew and io_pressure on real Docker containers: the clock as the container's main process reads it,
the kernel's own blkio files and the throughput dd measures inside the container; revert from the journalled
JSON alone puts back exactly what was there."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gameday.errors import FaultError, TargetError
from gameday.faults.base import FaultHandle
from gameday.faults.blkio import IoPressure
from gameday.faults.clock import ClockSkew, parse_offset
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.stack.images import base_tag, image_exists
from gameday.testing import free_port
from tests.conftest import wait_for
from tests.faults.test_resource_faults import SCENARIO

ENTRYPOINT = ("mkdir -p /run/gameday; if [ -r /run/gameday/clock.env ]; then set -a; . /run/gameday/clock.env; "
              "set +a; fi; exec python3 -m http.server --bind 127.0.0.1 {port}")


def stack_for(container: str) -> StackSpec:
    return StackSpec.model_validate({"targets": {"web": {"container": container}}})


def fault(kind: str, **args: object) -> FaultSpec:
    return FaultSpec.model_validate({"kind": kind, "target": "web", "duration": "1s", "args": args})


@pytest.fixture
def debian_container(docker_client) -> Iterator[Callable[..., Any]]:
    """Containers of the demo stack's Debian image (glibc and Python: what libfaketime preloads into)."""
    if not image_exists(docker_client, base_tag()):
        pytest.fail(f"the demo stack's base image {base_tag()} is needed: gameday stack build (scripts/setup.sh)")
    made: list[Any] = []

    def make(command: list[str], **kwargs: Any) -> Any:
        container = docker_client.containers.run(
            base_tag(), command, name=f"gdtest-{uuid.uuid4().hex[:8]}", detach=True, network_mode="host",
            labels={"gameday.test": "1", "gameday.allowed": "true"}, **kwargs)
        made.append(container)
        return container

    yield make
    for container in made:
        try:
            container.remove(force=True)
        except Exception:  # noqa: BLE001 - already gone is fine
            pass


def served_offset(port: int) -> tuple[float, float]:
    """How far the container's main process's wall clock is ahead of ours, as the range its HTTP Date header allows
    (whole seconds, stamped while the request ran), once it answers: without a health check, the restart is done
    when the container runs, not when it listens."""
    from email.utils import parsedate_to_datetime

    wait_for(lambda: _answers(port), timeout=120)
    before = time.time()
    header = httpx.get(f"http://127.0.0.1:{port}/", timeout=30, trust_env=False).headers["date"]
    after = time.time()
    served = parsedate_to_datetime(header).timestamp()
    return served - after, served + 1 - before


def near(offset: tuple[float, float], expected: float) -> bool:
    return offset[0] - 2 <= expected <= offset[1] + 2


def http_server(debian_container) -> tuple[Any, int]:
    port = free_port()
    container = debian_container(["sh", "-c", ENTRYPOINT.format(port=port)])
    wait_for(lambda: _answers(port), timeout=120)  # a Python start on a machine shared by several test runs
    return container, port


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/", timeout=1, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


# --- clock_skew ---------------------------------------------------------------------------------


def test_an_offset_is_a_signed_duration() -> None:
    assert parse_offset("+2h") == 7200
    assert parse_offset("-90s") == -90
    assert parse_offset("1h30m") == 5400
    for bad in ("", "+", "2 hours", "-0.5s"):
        with pytest.raises(ValueError, match=r"offset|duration"):
            parse_offset(bad)


@pytest.mark.docker
def test_clock_skew_restarts_the_container_with_its_clock_moved_and_revert_puts_it_back(debian_container) -> None:
    container, port = http_server(debian_container)
    container.reload()
    started_before = container.attrs["State"]["StartedAt"]
    driver = ClockSkew()
    handle = driver.prepare(fault("clock_skew", offset="+2h", stop_timeout=1), stack_for(container.name))
    assert "restart" in handle.description and "+2h" in handle.description
    assert driver.check(handle) is False

    driver.inject(handle)
    assert near(served_offset(port), 7200)  # the main process's own clock
    assert driver.check(handle) is True
    container.reload()
    assert container.attrs["State"]["StartedAt"] != started_before  # restarted, not recreated
    assert container.attrs["Id"] == handle.address["id"]

    ClockSkew().revert(FaultHandle.from_json(handle.to_json()))
    assert near(served_offset(port), 0)
    assert driver.check(handle) is False
    assert container.exec_run(["ls", "/run/gameday"]).output.decode().split() == []  # no file of ours left
    ClockSkew().revert(FaultHandle.from_json(handle.to_json()))  # harmless twice
    assert near(served_offset(port), 0)


@pytest.mark.docker
def test_clock_skew_waits_for_an_entrypoint_that_is_slow_to_exec_its_main_process(debian_container) -> None:
    # "running" comes while PID 1 is still the shell sourcing the env file; inject must wait for its exec.
    port = free_port()
    container = debian_container(["sh", "-c", ENTRYPOINT.replace("fi; exec", "fi; sleep 3; exec").format(port=port)])
    wait_for(lambda: _answers(port), timeout=120)
    driver = ClockSkew()
    handle = driver.prepare(fault("clock_skew", offset="+1h", stop_timeout=1), stack_for(container.name))
    try:
        driver.inject(handle)
        assert near(served_offset(port), 3600)
    finally:
        ClockSkew().revert(FaultHandle.from_json(handle.to_json()))
    assert near(served_offset(port), 0)


@pytest.mark.docker
def test_a_negative_offset_moves_the_clock_back_and_a_python_timed_wait_still_returns(debian_container) -> None:
    container, port = http_server(debian_container)
    driver = ClockSkew()
    handle = driver.prepare(fault("clock_skew", offset="-90s", stop_timeout=1), stack_for(container.name))
    driver.inject(handle)
    try:
        assert near(served_offset(port), -90)
        # Monotonic time is not faked: a threaded timed wait returns on time (libfaketime would make it hang or spin).
        result = container.exec_run(["sh", "-c", (". /run/gameday/clock.env; export LD_PRELOAD FAKETIME "
                                     "FAKETIME_DONT_FAKE_MONOTONIC; timeout 5 python3 -c 'import threading,time; "
                                     "t=time.monotonic(); threading.Event().wait(0.3); print(time.monotonic()-t)'")])
        # Neither at once (a deadline in the past: the wait would spin) nor hours (timeout kills it at 5 s).
        assert result.exit_code == 0 and 0.3 <= float(result.output.decode().strip()) < 4.5
    finally:
        driver.revert(handle)
    assert near(served_offset(port), 0)


@pytest.mark.docker
def test_revert_after_a_crash_between_the_files_and_the_restart_removes_them_and_restarts_nothing(
        debian_container) -> None:
    container, _port = http_server(debian_container)
    driver = ClockSkew()
    handle = driver.prepare(fault("clock_skew", offset="+1h", stop_timeout=1), stack_for(container.name))
    # What inject writes before its restart, written here the way a killed harness would leave it.
    container.exec_run(["sh", "-c", f"cp {handle.data['library_source']} {handle.data['library']} 2>/dev/null || true"])
    runtime = driver._handle_runtime(handle)[0]
    from gameday.platforms.base import FileContent
    runtime.write_file(container.id, "/run/gameday/clock.env", FileContent(data=b"FAKETIME=+3600\n"))
    container.reload()
    started = container.attrs["State"]["StartedAt"]
    ClockSkew().revert(FaultHandle.from_json(handle.to_json()))
    container.reload()
    assert container.attrs["State"]["StartedAt"] == started  # the main process never had it: no restart
    assert container.exec_run(["ls", "/run/gameday"]).output.decode().split() == []


@pytest.mark.docker
def test_clock_skew_refuses_an_env_file_that_is_there_already(debian_container) -> None:
    container, _ = http_server(debian_container)
    container.exec_run(["sh", "-c", "echo TZ=UTC > /run/gameday/clock.env"])
    with pytest.raises(TargetError, match=r"clock\.env already exists"):
        ClockSkew().prepare(fault("clock_skew", offset="+2h"), stack_for(container.name))


@pytest.mark.docker
def test_clock_skew_on_a_static_binary_fails_before_any_restart_and_leaves_nothing(web_container) -> None:
    """busybox is static: libfaketime cannot load, and inject says so before it restarts anything."""
    web = web_container()
    web.container.exec_run(["mkdir", "-p", "/run/gameday"])
    driver = ClockSkew()
    handle = driver.prepare(fault("clock_skew", offset="+2h"), stack_for(web.name))
    web.container.reload()
    started = web.container.attrs["State"]["StartedAt"]
    with pytest.raises(FaultError, match="libfaketime does not move the clock"):
        driver.inject(handle)
    driver.revert(handle)
    web.container.reload()
    assert web.container.attrs["State"]["StartedAt"] == started
    assert web.container.exec_run(["ls", "/run/gameday"]).output.decode().split() == []


@pytest.mark.docker
def test_clock_skew_says_what_the_container_needs_when_its_folder_is_missing(web_container) -> None:
    web = web_container()
    with pytest.raises(TargetError, match=r"/run/gameday is not a folder .* must source /run/gameday/clock\.env"):
        ClockSkew().prepare(fault("clock_skew", offset="+2h"), stack_for(web.name))


# --- io_pressure --------------------------------------------------------------------------------


def cgroup_file(container: Any, name: str) -> str:
    return (Path("/sys/fs/cgroup/blkio/docker") / container.id / f"blkio.throttle.{name}").read_text()


def dd_rate(container: Any, flags: str, count: int = 32) -> float:
    """Bytes per second dd reports for ``count`` 64 KiB blocks written inside the container."""
    out = container.exec_run(["sh", "-c", (f"dd if=/dev/zero of=/var/tmp/gd-dd bs=64k count={count} {flags} 2>&1 "
                              "| tail -1; rm -f /var/tmp/gd-dd")]).output.decode()
    match = re.search(r"copied, ([\d.]+) s", out)
    assert match, out
    return 64 * 1024 * count / float(match.group(1))


@pytest.mark.docker
def test_io_pressure_throttles_direct_and_synced_writes_in_the_container_and_revert_lifts_it(
        debian_container) -> None:
    container = debian_container(["sleep", "600"])
    other = debian_container(["sleep", "600"])
    driver = IoPressure()
    handle = driver.prepare(fault("io_pressure", write_bps="1MiB", read_iops=200), stack_for(container.name))
    disk = handle.data["disk"]
    assert cgroup_file(container, "write_bps_device") == ""
    assert driver.check(handle) is False

    driver.inject(handle)
    assert cgroup_file(container, "write_bps_device").split() == [disk, str(2**20)]
    assert cgroup_file(container, "read_iops_device").split() == [disk, "200"]
    assert driver.check(handle) is True
    # Never above the limit; below it only as far as a disk shared with other test runs is slow by itself.
    assert 0.3 * 2**20 < dd_rate(container, "oflag=direct") < 1.25 * 2**20
    assert 0.3 * 2**20 < dd_rate(container, "conv=fsync") < 1.25 * 2**20
    assert dd_rate(other, "oflag=direct") > 2 * 2**20  # only the target waits (unthrottled: 20-400 MiB/s here)

    IoPressure().revert(FaultHandle.from_json(handle.to_json()))
    assert cgroup_file(container, "write_bps_device") == ""
    assert cgroup_file(container, "read_iops_device") == ""
    assert dd_rate(container, "oflag=direct") > 2 * 2**20
    IoPressure().revert(FaultHandle.from_json(handle.to_json()))  # harmless twice


@pytest.mark.docker
def test_io_pressure_puts_a_limit_docker_set_at_create_back_exactly(debian_container) -> None:
    container = debian_container(["sleep", "600"], device_write_bps=[{"Path": "/dev/vda", "Rate": 8 * 2**20}])
    before = cgroup_file(container, "write_bps_device")
    driver = IoPressure()
    handle = driver.prepare(fault("io_pressure", write_bps="512KiB"), stack_for(container.name))
    assert before.split() == [handle.data["disk"], str(8 * 2**20)]
    driver.inject(handle)
    assert cgroup_file(container, "write_bps_device").split() == [handle.data["disk"], str(512 * 1024)]
    driver.revert(FaultHandle.from_json(handle.to_json()))
    assert cgroup_file(container, "write_bps_device") == before
    with pytest.raises(TargetError, match="would not lower it"):
        driver.prepare(fault("io_pressure", write_bps="16MiB"), stack_for(container.name))


@pytest.mark.docker
def test_io_pressure_refuses_a_path_with_no_disk_under_it(debian_container) -> None:
    container = debian_container(["sleep", "600"], tmpfs={"/scratch": "size=8m"})
    with pytest.raises(TargetError, match="no block device"):
        IoPressure().prepare(fault("io_pressure", write_bps="1MiB", path="/scratch"), stack_for(container.name))


@pytest.mark.docker
def test_revert_after_the_container_restarted_writes_nothing(debian_container) -> None:
    container = debian_container(["sleep", "600"])
    driver = IoPressure()
    handle = driver.prepare(fault("io_pressure", write_bps="1MiB"), stack_for(container.name))
    driver.inject(handle)
    container.restart(timeout=0)
    assert cgroup_file(container, "write_bps_device") == ""  # a new cgroup, from the container's own config
    assert driver.check(handle) is False
    driver.revert(handle)
    assert cgroup_file(container, "write_bps_device") == ""


def test_io_pressure_needs_a_limit_above_its_floor() -> None:
    from pydantic import ValidationError

    from gameday.faults.blkio import IoPressureArgs

    with pytest.raises(ValidationError, match="at least one of"):
        IoPressureArgs.model_validate({})
    with pytest.raises(ValidationError, match="floor of 64KiB/s"):
        IoPressureArgs.model_validate({"write_bps": "4KiB"})



@pytest.mark.parametrize(("target", "kind", "args", "message"), [
    ("{platform: kubernetes, namespace: shop, kind: Deployment, name: web, container: web}", "clock_skew",
     "{offset: +2h}", ("fault kind 'clock_skew' acts on a target on platform compose or docker; 'web' is on platform "
     "kubernetes")),
    ("{platform: kubernetes, namespace: shop, kind: Deployment, name: web, container: web}", "io_pressure",
     "{write_bps: 1MiB}", "fault kind 'io_pressure' acts on a target on platform compose or docker"),
    ("{container: web}", "clock_skew", "{offset: soon}", "cannot parse duration 'soon'"),
    ("{container: web}", "clock_skew", "{offset: +2h, env_file: clock.env}", "env_file must be an absolute"),
    ("{container: web}", "io_pressure", "{path: /data}", "at least one of read_bps"),
], ids=["clock-kubernetes", "io-kubernetes", "bad-offset", "relative-env-file", "no-limit"])
def test_validate_refuses_what_clock_skew_and_io_pressure_cannot_do(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                    target: str, kind: str, args: str,
                                                                    message: str) -> None:
    from gameday.cli.main import main

    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO.format(target=target, kind=kind, args=args))
    code = main(["validate", "-q", str(path)])
    out = capsys.readouterr().out
    assert code != 0
    assert message in out
    assert "Traceback" not in out


def plan_of(tmp_path: Path, container: str, faults: str) -> Any:
    from gameday.engine.plan import make_plan
    from gameday.scenario.loader import load_scenario

    path = tmp_path / "scenario.yaml"
    path.write_text(f"""
version: 1
name: shared
stack:
  targets:
    web: {{container: {container}}}
steady_state:
  probes:
    - name: web
      tcp: {{host: 127.0.0.1, port: 1}}
faults:
{faults}
""")
    return make_plan(load_scenario(path), state_dir=tmp_path / "state")


@pytest.mark.docker
def test_two_faults_on_one_container_plan_ok_when_they_change_separate_settings_and_say_so(
        tmp_path: Path, web_container) -> None:
    web = web_container(mem_limit="128m", memswap_limit="256m")
    plan = plan_of(tmp_path, web.name, """
  - {kind: cpu_pressure, target: web, duration: 30s, args: {cpus: 0.1}}
  - {kind: memory_pressure, target: web, duration: 30s, args: {limit: 64MiB}}
""")
    cpu, memory = plan.faults
    assert cpu.problem is None and memory.problem is None
    assert any("shares docker:" in note and "its revert puts back only that" in note for note in memory.notes)
    # Each says what its own revert puts back, and only that.
    assert "CPU limit (none) back" in cpu.undo and "memory" not in cpu.undo, cpu.undo
    assert "memory limit (128.0 MiB) back" in memory.undo and "CPU" not in memory.undo, memory.undo


@pytest.mark.docker
def test_plan_refuses_two_of_a_kind_at_once_and_a_restart_over_a_throttle_but_not_one_after_the_other(
        tmp_path: Path, debian_container) -> None:
    container, _ = http_server(debian_container)
    twice = plan_of(tmp_path, container.name, """
  - {kind: io_pressure, target: web, duration: 30s, args: {write_bps: 1MiB}}
  - {kind: io_pressure, target: web, at: 10s, duration: 30s, args: {read_bps: 1MiB}}
""")
    assert twice.faults[0].problem is None
    assert "another io_pressure on the same target" in (twice.faults[1].problem or "")
    restart = plan_of(tmp_path, container.name, """
  - {kind: io_pressure, target: web, duration: 30s, args: {write_bps: 1MiB}}
  - {kind: clock_skew, target: web, duration: 30s, args: {offset: +1h}}
""")
    assert "clock_skew restarts it, which undoes io_pressure" in (restart.faults[1].problem or "")
    assert not restart.ok
    lookups = plan_of(tmp_path, container.name, """
  - {kind: dns_failure, target: web, duration: 30s}
  - {kind: clock_skew, target: web, duration: 30s, args: {offset: +1h}}
""")
    assert "clock_skew restarts it, which undoes dns_failure" in (lookups.faults[1].problem or ""), lookups
    apart = plan_of(tmp_path, container.name, """
  - {kind: io_pressure, target: web, duration: 30s, args: {write_bps: 1MiB}}
  - {kind: clock_skew, target: web, at: 30s, duration: 30s, args: {offset: +1h}}
""")
    assert all(f.problem is None and not f.notes for f in apart.faults)


@pytest.mark.docker
def test_a_run_refuses_a_restart_over_a_throttle_before_touching_anything(tmp_path: Path, debian_container,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from gameday.cli.main import main

    container, port = http_server(debian_container)
    path = tmp_path / "scenario.yaml"
    path.write_text(f"""
version: 1
name: shared-run
stack:
  targets:
    web: {{container: {container.name}}}
steady_state:
  probes:
    - name: web
      http: {{url: "http://127.0.0.1:{port}/"}}
faults:
  - {{kind: io_pressure, target: web, duration: 5s, args: {{write_bps: 1MiB}}}}
  - {{kind: clock_skew, target: web, duration: 5s, args: {{offset: +1h}}}}
""")
    container.reload()
    started = container.attrs["State"]["StartedAt"]
    code = main(["run", str(path), "--reports", str(tmp_path / "reports")])
    out = capsys.readouterr()
    assert code == 2
    assert "clock_skew restarts it, which undoes io_pressure" in out.out + out.err
    container.reload()
    assert container.attrs["State"]["StartedAt"] == started
    assert cgroup_file(container, "write_bps_device") == ""
