"""The in-memory platform and runtime: containers without Docker, for tests; the container faults and
disk_fill work on it because they reach containers only through the runtime protocol."""

from __future__ import annotations

import posixpath

import pytest

from gameday.errors import FaultError, RevertError, TargetError
from gameday.faults.disk import DiskFill
from gameday.faults.docker import ContainerKill, ContainerPause, ContainerStop
from gameday.platforms.base import ContainerPlatform, ContainerState, ExecResult
from gameday.platforms.memory import MemoryPlatform, MemoryRuntime
from gameday.platforms.registry import PlatformRegistry
from gameday.scenario.model import FaultSpec, StackSpec

ALLOWED = {"gameday.allowed": "true"}


def fault(kind: str, **args: object) -> FaultSpec:
    return FaultSpec.model_validate({"kind": kind, "target": "web", "duration": "1s", "args": args})


def memory_stack(**target: object) -> StackSpec:
    return StackSpec.model_validate({"targets": {"web": {"platform": "memory", **(target or {"container": "web"})}}},
                                    context={"platforms": PlatformRegistry(extra={"memory": MemoryPlatform()})})


def registry(runtime: MemoryRuntime) -> PlatformRegistry:
    return PlatformRegistry(extra={"memory": MemoryPlatform(runtime)})


def test_the_runtime_changes_and_reports_a_containers_state() -> None:
    runtime = MemoryRuntime()
    web = runtime.add("web", health="healthy")
    runtime.signal(web.id, "SIGKILL")
    assert runtime.inspect(web.id).status == "exited" and not runtime.inspect(web.id).serving
    runtime.start(web.id)
    runtime.pause(web.id)
    assert runtime.inspect(web.id).paused and not runtime.inspect(web.id).serving
    runtime.unpause(web.id)
    assert runtime.inspect(web.id) == ContainerState(id=web.id, name="web", status="running", health="healthy")
    assert runtime.calls == [("signal", "web", "SIGKILL"), ("start", "web"), ("pause", "web"), ("unpause", "web")]


def test_exec_answers_through_the_tests_handler_and_has_no_commands_by_default() -> None:
    plain = MemoryRuntime()
    web = plain.add("web")
    assert plain.exec(web.id, ["uptime"], timeout=1).exit_code == 127
    echo = MemoryRuntime(exec_handler=lambda c, argv: ExecResult(0, f"{c.name}: {' '.join(argv[1:])}"))
    web = echo.add("web")
    assert echo.exec(web.id, ["echo", "hi"], timeout=1) == ExecResult(0, "web: hi")
    echo.stop(web.id, timeout=1)
    with pytest.raises(FaultError, match="container web is not running; cannot exec in it"):
        echo.exec(web.id, ["echo"], timeout=1)


def test_a_removed_container_is_a_target_error() -> None:
    runtime = MemoryRuntime()
    web = runtime.add("web")
    runtime.remove("web")
    with pytest.raises(TargetError, match=f"container {web.id} not found"):
        runtime.inspect(web.id)


def test_the_memory_platform_is_a_container_platform() -> None:
    assert isinstance(MemoryPlatform(), ContainerPlatform)


@pytest.mark.parametrize(("driver_cls", "args", "calls"), [
    (ContainerKill, {"signal": "SIGTERM"}, [("signal", "web", "SIGTERM"), ("start", "web")]),
    (ContainerStop, {"timeout": 1}, [("stop", "web"), ("start", "web")]),
    (ContainerPause, {}, [("pause", "web"), ("unpause", "web")]),
], ids=["kill", "stop", "pause"])
def test_the_container_faults_break_and_revert_through_the_runtime(
    driver_cls: type[ContainerKill | ContainerStop | ContainerPause], args: dict[str, object],
    calls: list[tuple[str, ...]],
) -> None:
    runtime = MemoryRuntime()
    web = runtime.add("web", labels=ALLOWED)
    driver = driver_cls(platforms=registry(runtime))
    handle = driver.prepare(fault(driver_cls.kind, **args), memory_stack())
    assert (handle.platform, handle.resource, handle.labels) == ("memory", f"memory:{web.id}", ALLOWED)
    driver.inject(handle)
    assert driver.check(handle) is True
    driver.revert(handle)
    assert driver.check(handle) is False
    driver.revert(handle)  # idempotent: nothing more to do
    assert runtime.calls == calls


def test_a_container_that_vanished_before_revert_is_a_clear_error() -> None:
    runtime = MemoryRuntime()
    runtime.add("web")
    driver = ContainerKill(platforms=registry(runtime))
    handle = driver.prepare(fault("container_kill"), memory_stack())
    driver.inject(handle)
    runtime.remove("web")
    with pytest.raises(TargetError, match="not found"):
        driver.revert(handle)


def test_a_stopped_container_is_not_a_target() -> None:
    runtime = MemoryRuntime()
    runtime.add("web", status="exited")
    with pytest.raises(TargetError, match="container web is exited, not running; nothing to break"):
        ContainerKill(platforms=registry(runtime)).prepare(fault("container_kill"), memory_stack())


def test_labels_that_match_two_containers_are_refused() -> None:
    runtime = MemoryRuntime()
    runtime.add("a", labels={"app": "web"})
    runtime.add("b", labels={"app": "web"})
    with pytest.raises(TargetError, match="matches 2 containers"):
        ContainerKill(platforms=registry(runtime)).prepare(fault("container_kill"), memory_stack(labels={"app": "web"}))


def test_a_container_fault_on_a_platform_without_containers_says_so() -> None:
    stack = StackSpec.model_validate({"targets": {"web": {"proxy": "postgres"}}})
    with pytest.raises(TargetError, match="container_kill acts on a container; target 'web' is on platform "
                                          "'toxiproxy', which has none"):
        ContainerKill().prepare(fault("container_kill"), stack)


class FakeDisk:
    """Enough of a container's shell for disk_fill: ``stat``, ``test``, ``fallocate``, ``rm`` on one 100 MB disk."""

    SIZE, BLOCK = 100 * 1024 * 1024, 4096

    def __init__(self) -> None:
        self.dirs = {"/", "/data"}
        self.files: dict[str, int] = {}
        self.used = 10 * 1024 * 1024

    def __call__(self, container: ContainerState, argv: list[str]) -> ExecResult:
        match argv:
            case ["stat", "-f", "-c", "%S %b %f %a", _]:
                free = (self.SIZE - self.used - sum(self.files.values())) // self.BLOCK
                return ExecResult(0, f"{self.BLOCK} {self.SIZE // self.BLOCK} {free} {free}")
            case ["stat", "-c", "%d", path]:
                return ExecResult(0, "1" if path == "/" else "2")  # /data is a volume of its own
            case ["stat", "-c", "%s", path]:
                return ExecResult(0, str(self.files[path])) if path in self.files else ExecResult(1, "no such file")
            case ["sh", "-c", script, "sh", path]:
                flag = script.split()[1]
                found = path in self.dirs if flag == "-d" else (path in self.dirs or path in self.files)
                return ExecResult(0 if found else 1, "")
            case ["fallocate", "-l", size, path] if posixpath.dirname(path) in self.dirs:
                self.files[path] = int(size)
                return ExecResult(0, "")
            case ["rm", "-f", "--", path]:
                self.files.pop(path, None)
                return ExecResult(0, "")
        return ExecResult(127, f"exec: {argv[0]!r}: executable file not found")


def test_disk_fill_fills_a_container_through_the_runtime() -> None:
    disk = FakeDisk()
    runtime = MemoryRuntime(exec_handler=disk)
    runtime.add("web", labels=ALLOWED)
    driver = DiskFill(platforms=registry(runtime))
    handle = driver.prepare(fault("disk_fill", path="/data", write="20MB"), memory_stack())
    assert handle.platform == "memory" and handle.data["where"] == "container"
    assert "fill /data in web" in handle.description
    driver.inject(handle)
    assert list(disk.files.values()) == [20_000_000 - 20_000_000 % 4096]
    assert driver.check(handle) is True
    [usage] = driver.observations(handle, "during")
    assert usage[1]["fill_bytes"] == sum(disk.files.values())
    driver.revert(handle)
    assert disk.files == {} and driver.check(handle) is False


def test_disk_fill_refuses_the_containers_root_filesystem() -> None:
    runtime = MemoryRuntime(exec_handler=FakeDisk())
    runtime.add("web")
    with pytest.raises(FaultError, match="/ is on the container's root filesystem"):
        DiskFill(platforms=registry(runtime)).prepare(fault("disk_fill", path="/", write="1MB"), memory_stack())


def test_a_revert_the_runtime_refuses_is_a_revert_error() -> None:
    disk = FakeDisk()
    runtime = MemoryRuntime(exec_handler=disk)
    runtime.add("web")
    driver = DiskFill(platforms=registry(runtime))
    handle = driver.prepare(fault("disk_fill", path="/data", write="1MB"), memory_stack())
    driver.inject(handle)
    runtime.stop(handle.address["id"], timeout=1)
    with pytest.raises(RevertError, match="not running; cannot exec"):
        driver.revert(handle)
