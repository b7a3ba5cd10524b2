"""cpu_pressure and memory_pressure on real Docker containers: the kernel's own cgroup files show the limit
lowered, and revert puts back exactly what was there, from the journalled JSON alone."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from gameday.errors import FaultError, TargetError
from gameday.faults.base import FaultHandle
from gameday.faults.resources import CpuPressure, MemoryPressure
from gameday.platforms.memory import MemoryPlatform
from gameday.platforms.registry import PlatformRegistry
from gameday.scenario.model import FaultSpec, StackSpec
from tests.conftest import http_ok, wait_for

CGROUP = Path("/sys/fs/cgroup")


def stack_for(container: str) -> StackSpec:
    return StackSpec.model_validate({"targets": {"web": {"container": container}}})


def fault(kind: str, **args: object) -> FaultSpec:
    return FaultSpec.model_validate({"kind": kind, "target": "web", "duration": "1s", "args": args})


def cgroup(container, controller: str, name: str) -> int:
    """The kernel's live value (cgroup v1 with the cgroupfs driver, as on this machine)."""
    return int((CGROUP / controller / "docker" / container.id / name).read_text())


def throttled_periods(container) -> int:
    stat = (CGROUP / "cpu" / "docker" / container.id / "cpu.stat").read_text().split()
    return int(stat[stat.index("nr_throttled") + 1])


def shmem(container) -> int:
    stat = (CGROUP / "memory" / "docker" / container.id / "memory.stat").read_text().split()
    return int(stat[stat.index("total_shmem") + 1])


def host_config(container) -> dict:
    container.reload()
    return container.attrs["HostConfig"]


LIMIT_KEYS = ("NanoCpus", "CpuQuota", "CpuPeriod", "Memory", "MemorySwap", "MemoryReservation")


@pytest.mark.docker
def test_cpu_pressure_lowers_the_quota_and_revert_lifts_it(web_container) -> None:
    web = web_container()
    assert cgroup(web.container, "cpu", "cpu.cfs_quota_us") == -1
    driver = CpuPressure()
    handle = driver.prepare(fault("cpu_pressure", cpus=0.1), stack_for(web.name))
    assert driver.check(handle) is False

    driver.inject(handle)
    assert cgroup(web.container, "cpu", "cpu.cfs_quota_us") == 10_000
    assert cgroup(web.container, "cpu", "cpu.cfs_period_us") == 100_000
    assert driver.check(handle) is True
    assert http_ok(web.url)  # throttled, not down

    CpuPressure().revert(FaultHandle.from_json(handle.to_json()))
    assert cgroup(web.container, "cpu", "cpu.cfs_quota_us") == -1
    assert driver.check(handle) is False


@pytest.mark.docker
def test_cpu_pressure_on_nano_cpus_puts_the_exact_nano_cpus_back(web_container) -> None:
    web = web_container(nano_cpus=1_500_000_000)
    before = {k: host_config(web.container)[k] for k in LIMIT_KEYS}
    driver = CpuPressure()
    handle = driver.prepare(fault("cpu_pressure", cpus=0.25), stack_for(web.name))
    driver.inject(handle)
    assert host_config(web.container)["NanoCpus"] == 250_000_000
    assert cgroup(web.container, "cpu", "cpu.cfs_quota_us") == 25_000
    driver.revert(handle)
    driver.revert(handle)  # harmless twice
    assert {k: host_config(web.container)[k] for k in LIMIT_KEYS} == before
    assert cgroup(web.container, "cpu", "cpu.cfs_quota_us") == 150_000


@pytest.mark.docker
def test_cpu_pressure_refuses_a_limit_that_would_not_lower_anything(web_container) -> None:
    web = web_container(nano_cpus=200_000_000)
    with pytest.raises(TargetError, match=r"already use only 0\.2 CPUs"):
        CpuPressure().prepare(fault("cpu_pressure", cpus=0.5), stack_for(web.name))


@pytest.mark.docker
def test_a_starved_container_leaves_the_others_answering(web_container) -> None:
    """Bounded: the quota slows only the target; a probe of another container keeps answering at once."""
    web = web_container()
    other = web_container()
    driver = CpuPressure()
    handle = driver.prepare(fault("cpu_pressure", cpus=0.01), stack_for(web.name))
    driver.inject(handle)
    try:
        # A busy loop inside the target burns its quota; the other container must not notice.
        web.container.exec_run(["sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"], detach=True)
        for _ in range(20):
            assert httpx.get(other.url, timeout=2, trust_env=False).status_code == 200
        # ... while the target itself was held to its quota (the kernel's own count of throttled periods).
        wait_for(lambda: throttled_periods(web.container) > 0, timeout=60)
        assert throttled_periods(other.container) == 0
    finally:
        driver.revert(handle)
    assert cgroup(web.container, "cpu", "cpu.cfs_quota_us") == -1


@pytest.mark.docker
def test_memory_pressure_lowers_the_limit_and_puts_limit_swap_and_reservation_back(web_container) -> None:
    web = web_container(mem_limit="256m", mem_reservation="8m")
    before = {k: host_config(web.container)[k] for k in LIMIT_KEYS}
    driver = MemoryPressure()
    handle = driver.prepare(fault("memory_pressure", limit="32MiB"), stack_for(web.name))
    driver.inject(handle)
    assert cgroup(web.container, "memory", "memory.limit_in_bytes") == 32 * 2**20
    assert cgroup(web.container, "memory", "memory.memsw.limit_in_bytes") == 32 * 2**20
    assert driver.check(handle) is True
    assert http_ok(web.url)

    MemoryPressure().revert(FaultHandle.from_json(handle.to_json()))
    assert {k: host_config(web.container)[k] for k in LIMIT_KEYS} == before
    assert cgroup(web.container, "memory", "memory.limit_in_bytes") == 256 * 2**20
    assert cgroup(web.container, "memory", "memory.memsw.limit_in_bytes") == 512 * 2**20
    assert driver.check(handle) is False


@pytest.mark.docker
def test_a_hold_the_container_s_dev_shm_has_no_room_for_is_refused_before_anything_changes(web_container) -> None:
    web = web_container(mem_limit="128m", memswap_limit="128m", shm_size="8m")
    before = {k: host_config(web.container)[k] for k in LIMIT_KEYS}
    with pytest.raises(TargetError, match=r"hold 32.0 MiB: /dev/shm in container .* has 8.0 MiB free .*--shm-size"):
        MemoryPressure().prepare(fault("memory_pressure", limit="32MiB", hold="32MiB"), stack_for(web.name))
    assert {k: host_config(web.container)[k] for k in LIMIT_KEYS} == before


@pytest.mark.docker
def test_a_hold_the_writer_is_killed_for_is_deleted_by_revert_and_the_container_runs_on(web_container) -> None:
    """busybox httpd is smaller than the writer, so the OOM killer takes the writer: inject does not fail (a kill
    in the container is the outcome asked for), the kernel counts it, and revert deletes what was written (the
    container, full to its limit meanwhile, gets its limit back first: until then any exec in it is killed too)."""
    web = web_container(mem_limit="64m", memswap_limit="64m")
    driver = MemoryPressure()
    handle = driver.prepare(fault("memory_pressure", limit="16MiB", hold="32MiB", oom_kill="expected"),
                            stack_for(web.name))
    hold = handle.data["hold_file"]
    assert hold.startswith("/dev/shm/.gameday-hold-")
    driver.inject(handle)
    assert cgroup(web.container, "memory", "memory.limit_in_bytes") == 16 * 2**20
    oom = (CGROUP / "memory" / "docker" / web.container.id / "memory.oom_control").read_text()
    assert "oom_kill 1" in oom.splitlines()
    assert shmem(web.container) > 8 * 2**20
    web.container.reload()
    assert web.container.attrs["State"]["Status"] == "running"

    MemoryPressure().revert(FaultHandle.from_json(handle.to_json()))
    assert web.container.exec_run(["sh", "-c", f"test -e {hold}"]).exit_code == 1
    assert shmem(web.container) == 0
    assert cgroup(web.container, "memory", "memory.limit_in_bytes") == 64 * 2**20
    assert http_ok(web.url)


@pytest.mark.docker
def test_memory_pressure_refuses_unlimited_swap_it_could_not_put_back(web_container) -> None:
    web = web_container(mem_limit="128m", memswap_limit=-1)
    with pytest.raises(TargetError, match="unlimited swap"):
        MemoryPressure().prepare(fault("memory_pressure", limit="16MiB"), stack_for(web.name))
    assert host_config(web.container)["MemorySwap"] == -1


@pytest.mark.docker
def test_memory_pressure_refuses_a_container_without_a_limit(web_container) -> None:
    """Docker's update cannot take a memory limit away again, so 0 (unlimited) could not round-trip."""
    web = web_container()
    with pytest.raises(TargetError, match="has no memory limit, and Docker cannot take one away"):
        MemoryPressure().prepare(fault("memory_pressure", limit="32MiB"), stack_for(web.name))
    assert host_config(web.container)["Memory"] == 0


@pytest.mark.docker
def test_a_limit_below_what_the_container_holds_is_refused_and_changes_nothing(web_container) -> None:
    """cgroup v1 will not shrink below memory it cannot reclaim (no swap): the update fails, limits stay."""
    web = web_container(mem_limit="96m", memswap_limit="96m")
    # 40 MiB in the container's /dev/shm (tmpfs, charged to its memory cgroup; with no swap, not reclaimable).
    code, output = web.container.exec_run(["dd", "if=/dev/zero", "of=/dev/shm/hold", "bs=1M", "count=40"])
    assert code == 0, output
    assert shmem(web.container) >= 40 * 2**20
    before = {k: host_config(web.container)[k] for k in LIMIT_KEYS}
    driver = MemoryPressure()
    handle = driver.prepare(fault("memory_pressure", limit="8MiB"), stack_for(web.name))
    with pytest.raises(FaultError, match=r"refused to update the limits of .*unable to set memory limit to 8388608"):
        driver.inject(handle)
    driver.revert(handle)
    assert {k: host_config(web.container)[k] for k in LIMIT_KEYS} == before
    assert http_ok(web.url)


def test_the_memory_platform_records_the_update_calls() -> None:
    platform = MemoryPlatform()
    platform.memory.add("web", labels={"gameday.allowed": "true"})
    driver = CpuPressure(platforms=PlatformRegistry(extra={"memory": platform}))
    stack = StackSpec.model_validate({"targets": {"web": {"platform": "memory", "container": "web"}}},
                                     context={"platforms": PlatformRegistry(extra={"memory": platform})})
    handle = driver.prepare(fault("cpu_pressure", cpus=0.5), stack)
    driver.inject(handle)
    assert driver.check(handle) is True
    driver.revert(handle)
    assert driver.check(handle) is False
    assert [c[0] for c in platform.memory.calls] == ["update_resources", "update_resources"]


SCENARIO = """\
version: 1
name: starved
stack:
  targets:
    web: {target}
steady_state:
  probes:
    - name: web
      http: {{url: "http://127.0.0.1:1/"}}
faults:
  - kind: {kind}
    target: web
    duration: 30s
    args: {args}
"""


@pytest.mark.parametrize(("target", "kind", "args", "message"), [
    ("{platform: kubernetes, namespace: shop, kind: Deployment, name: web, container: web}", "cpu_pressure",
     "{cpus: 0.5}", "fault kind 'cpu_pressure' acts on a target on platform compose or docker; 'web' is on platform kubernetes"),
    ("{container: web}", "cpu_pressure", "{cpus: 0}", "greater than 0"),
    ("{container: web}", "memory_pressure", "{limit: lots}", "args.limit"),
    ("{container: web}", "memory_pressure", "{limit: 32MiB, oom_kill: sure}", "'possible' or 'expected'"),
    ("{container: web}", "memory_pressure", "{limit: 32MiB, hold: much}", "args.hold"),
], ids=["kubernetes", "zero-cpus", "bad-size", "bad-oom", "bad-hold"])
def test_validate_refuses_what_the_resource_faults_cannot_do(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              target: str, kind: str, args: str, message: str) -> None:
    from gameday.cli.main import main

    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO.format(target=target, kind=kind, args=args))
    code = main(["validate", "-q", str(path)])
    out = capsys.readouterr().out
    assert code != 0
    assert message in out
    assert "Traceback" not in out


def test_validate_refuses_an_oom_kill_expectation_on_a_target_whose_runtime_cannot_say(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gameday.cli.main import main

    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO.format(target="{platform: kubernetes, namespace: shop, kind: Deployment, name: web, "
                                           "container: web}", kind="container_kill", args="{}")
                    + "expect:\n  oom_kills:\n    - {target: web}\n")
    code = main(["validate", "-q", str(path)])
    out = capsys.readouterr().out
    assert code == 1
    assert ":17:" in out
    assert ("expect.oom_kills[0].target: expect.oom_kills acts on a target on platform compose or docker; 'web' is "
            "on platform kubernetes") in out


@pytest.mark.docker
def test_an_expected_oom_kill_ends_the_container_and_revert_starts_it_again(docker_client, test_image) -> None:
    """The main process asks for 48 MiB once /tmp/go exists; under a 16 MiB limit the kernel kills it, Docker
    says OOMKilled; revert puts the 128 MiB limit back, then starts the container."""
    import uuid

    name = f"gdtest-{uuid.uuid4().hex[:8]}"
    script = ("while [ ! -f /tmp/go ]; do sleep 0.1; done; "
              "exec awk 'BEGIN { s = sprintf(\"%48000000s\", \"\"); system(\"sleep 600\") }'")
    container = docker_client.containers.run(test_image, ["sh", "-c", script], name=name, detach=True,
                                             network_mode="none", mem_limit="128m", memswap_limit="128m",
                                             labels={"gameday.test": "1", "gameday.allowed": "true"})
    try:
        driver = MemoryPressure()
        handle = driver.prepare(fault("memory_pressure", limit="16MiB", oom_kill="expected"), stack_for(name))
        driver.inject(handle)
        container.exec_run(["touch", "/tmp/go"])
        wait_for(lambda: container.reload() or container.attrs["State"]["Status"] == "exited", timeout=30)
        assert container.attrs["State"]["OOMKilled"] is True
        assert driver.check(handle) is True

        driver.revert(FaultHandle.from_json(handle.to_json()))
        container.reload()
        assert container.attrs["State"]["Status"] == "running"
        assert container.attrs["HostConfig"]["Memory"] == 128 * 2**20
        assert cgroup(container, "memory", "memory.limit_in_bytes") == 128 * 2**20
    finally:
        container.remove(force=True)
