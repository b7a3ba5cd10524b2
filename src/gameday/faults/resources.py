"""Resource faults: a container's CPU or memory limit lowered in place, through its runtime (Docker's update).

    cpu_pressure      the CPU quota lowered to ``cpus`` (e.g. 0.1 of one CPU): its processes are throttled,
                      nothing else on the machine is (the quota is a ceiling, not a burner)
    memory_pressure   the memory limit (and memory+swap) lowered to ``limit``; the kernel reclaims, and
                      if the container needs more, its OOM killer ends a process there. A scenario that
                      wants that says ``oom_kill: expected``; revert then starts the container again.
                      ``hold`` makes it need more: a file of that size in its /dev/shm (a tmpfs, charged
                      to the container's memory cgroup and never reclaimed without swap), written after
                      the limit is lowered and deleted at revert; an OOM kill of the main process takes
                      it too (Docker unmounts the container's /dev/shm when it exits)

The prior limits are read in ``prepare`` and kept in the handle, so the journal has them before the
inject and revert (the run's finally, the watchdog, ``gameday cleanup``) puts them back from the handle
alone and reads them again to check. ``check()`` reads the live limits.

What Docker cannot take back is refused before anything changes: the Engine's update reads 0 as "leave it",
so a memory limit cannot be removed again once set (memory_pressure needs a container that already has a
memory limit), and a CPU limit on a container with none is set as a quota, put back as quota -1 (no limit:
HostConfig then says -1 and period 100000 where it said 0 and 0, which the kernel reads the same way).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from gameday.errors import FaultError, GamedayError, RevertError, TargetError
from gameday.faults.base import FaultArgs, reverting
from gameday.faults.docker import wait_until_ready
from gameday.handle import FaultHandle
from gameday.platforms.base import (
    DEFAULT_CPU_PERIOD,
    ContainerResources,
    ContainerState,
    HostProcessRuntime,
    ResourcePlatform,
    ResourceRuntime,
    container_handle_fields,
)
from gameday.platforms.registry import PlatformRegistry, installed_platforms
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.scenario.sizes import Size, format_size

MIN_MEMORY = 6 * 2**20
"""Docker refuses a memory limit below 6 MiB."""
SHM = "/dev/shm"
"""Where memory_pressure's hold is written: a container's own tmpfs, charged to its memory cgroup."""
HOLD_TIMEOUT = 60.0
SETTLE_TIMEOUT = 10.0
"""How long revert waits for the runtime to notice that a container's main process has died."""


class _ResourceFault:
    kind: ClassVar[str]
    args_model: ClassVar[type[FaultArgs]]
    target_fields: ClassVar[tuple[str, ...]] = ("container", "labels")
    one_per_target: ClassVar[bool] = True
    """Restores a prior setting: two at once on one target would both read it (engine.safety)."""
    target_platforms: ClassVar[tuple[type, ...]] = (ResourcePlatform,)
    """Platforms whose runtime changes limits in place (Docker, Compose); Kubernetes is refused at validate."""

    def __init__(self, *, platforms: PlatformRegistry | None = None) -> None:
        self._platforms = platforms

    def _platform(self, name: str, target: str) -> ResourcePlatform:
        platform = (self._platforms or installed_platforms()).containers(name, kind=self.kind, target=target)
        if not isinstance(platform, ResourcePlatform):
            raise TargetError(f"{self.kind} changes a container's limits in place; platform '{name}' of target "
                              f"'{target}' cannot", target=target)
        return platform

    def _runtime(self, handle: FaultHandle) -> tuple[ResourceRuntime, str]:
        runtime = self._platform(handle.platform, handle.target).resource_runtime(handle.address)
        return runtime, str(handle.address["id"])

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        """Find the container and read its limits; refuse what could not be put back exactly. Changes nothing."""
        target = stack.targets[fault.target]
        platform = self._platform(target.platform, fault.target)
        settings = stack.platform_settings(target.platform)
        container = platform.find_container(target, fault.target, settings)
        if not container.serving:
            raise TargetError(f"container {container.name} is {'paused' if container.paused else container.status}, "
                              "not running; nothing to put under pressure", target=fault.target,
                              resource=platform.resource(container))
        args = self.args_model.model_validate(fault.args)
        prior = platform.resource_runtime(platform.address(container, settings)).resources(container.id)
        changes = self._changes(prior, args, fault.target, container.name)
        return FaultHandle(
            kind=self.kind, target=fault.target, description=self.describe(container.name, args, prior),
            data={"container_name": container.name, "has_healthcheck": container.health is not None,
                  "args": args.model_dump(), "prior": _as_dict(prior), "changes": changes,
                  "restore": self._restore(prior, changes)},
            **container_handle_fields(platform, container, settings),
        )

    # --- per kind ---------------------------------------------------------------------------

    def _changes(self, prior: ContainerResources, args: Any, target: str, name: str) -> dict[str, int]:
        raise NotImplementedError

    def _restore(self, prior: ContainerResources, changes: dict[str, int]) -> list[dict[str, int]]:
        """The updates, in order, that put the prior limits back (0 is "leave it" to Docker, so never sent)."""
        raise NotImplementedError

    def describe(self, name: str, args: Any, prior: ContainerResources) -> str:
        raise NotImplementedError

    @staticmethod
    def _same(live: ContainerResources, wanted: ContainerResources) -> bool:
        raise NotImplementedError

    @staticmethod
    def _own(r: ContainerResources) -> str:
        """The settings this kind changes, in words (another fault on the target may change the others)."""
        raise NotImplementedError

    # --- lifecycle ----------------------------------------------------------------------------

    def inject(self, handle: FaultHandle) -> None:
        runtime, container_id = self._runtime(handle)
        runtime.update_resources(container_id, handle.data["changes"])

    def check(self, handle: FaultHandle) -> bool:
        """True while the live limits are the lowered ones (or an expected OOM kill has the container down)."""
        runtime, container_id = self._runtime(handle)
        live = runtime.resources(container_id)
        return not self._same(live, ContainerResources(**handle.data["prior"]))

    def revert(self, handle: FaultHandle) -> None:
        """Put the prior limits back, read them again, and start a container the OOM killer ended; harmless twice."""
        runtime, container_id = self._runtime(handle)
        name = handle.data["container_name"]
        prior = ContainerResources(**handle.data["prior"])
        with reverting():
            if not self._same(runtime.resources(container_id), prior):
                for step in handle.data["restore"]:
                    runtime.update_resources(container_id, step)
            live = runtime.resources(container_id)
            if not self._same(live, prior):
                raise RevertError(f"{self.kind} on {name}: the limits read back are {self._own(live)}, not the prior "
                                  f"{self._own(prior)}", target=handle.target)
            self._start_if_oom_killed(runtime, container_id, handle)

    @staticmethod
    def _start_if_oom_killed(runtime: ResourceRuntime, container_id: str, handle: FaultHandle) -> None:
        state = _settled(runtime, container_id)
        if state.status not in ("running", "restarting") and state.oom_killed:
            runtime.start(container_id)
            wait_until_ready(runtime, container_id, handle.data["container_name"],
                             healthcheck=handle.data.get("has_healthcheck", False))

    def describe_revert(self, handle: FaultHandle) -> str:
        prior = ContainerResources(**handle.data["prior"])
        return (f"set {handle.data['container_name']}'s {self._own(prior)} back through the runtime and read "
                "it again; start it if the OOM killer ended it")


def _settled(runtime: ResourceRuntime, container_id: str, timeout: float = SETTLE_TIMEOUT) -> ContainerState:
    """The container's state once its runtime has caught up with its main process: an OOM kill ends it in the kernel
    at once and in Docker's inspect a moment later, so "running" is believed only while that process lives."""
    deadline = time.monotonic() + timeout
    while True:
        state = runtime.inspect(container_id)
        if state.status != "running" or not isinstance(runtime, HostProcessRuntime) or time.monotonic() > deadline:
            return state
        if _alive(runtime.host_pid(container_id)):
            return state
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    """A process of this machine that has not exited (a zombie has)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return pid <= 0  # no pid to check (not on this machine's /proc): believe the runtime
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _as_dict(resources: ContainerResources) -> dict[str, int]:
    return {name: getattr(resources, name) for name in ContainerResources.__dataclass_fields__}


def _shown_cpus(r: ContainerResources) -> str:
    return f"CPU limit ({r.cpus:g} CPUs)" if r.cpus is not None else "CPU limit (none)"


def _shown_memory(r: ContainerResources) -> str:
    return f"memory limit ({format_size(r.memory)})" if r.memory > 0 else "memory limit (none)"


# --- cpu_pressure -------------------------------------------------------------------------------


class CpuPressureArgs(FaultArgs):
    cpus: float = Field(gt=0.0, le=64.0, description="the CPUs the container may use meanwhile, e.g. 0.1")


class CpuPressure(_ResourceFault):
    """Lower a container's CPU quota: its processes get ``cpus`` of CPU time, and wait for the rest."""

    kind: ClassVar[str] = "cpu_pressure"
    args_model: ClassVar[type[FaultArgs]] = CpuPressureArgs

    def describe(self, name: str, args: Any, prior: ContainerResources) -> str:
        now = f"{prior.cpus:g}" if prior.cpus is not None else "no limit"
        return f"throttle {name} to {args.cpus:g} CPUs (now {now})"

    def _changes(self, prior: ContainerResources, args: Any, target: str, name: str) -> dict[str, int]:
        if prior.cpus is not None and args.cpus >= prior.cpus:
            raise TargetError(f"container {name} may already use only {prior.cpus:g} CPUs; cpu_pressure with "
                              f"cpus {args.cpus:g} would not lower it", target=target)
        if prior.nano_cpus > 0:  # Docker refuses a quota beside NanoCpus
            return {"nano_cpus": max(1, round(args.cpus * 1e9))}
        period = prior.cpu_period or DEFAULT_CPU_PERIOD
        quota = max(1000, round(args.cpus * period))  # the kernel's floor is 1 ms
        return {"cpu_quota": quota, "cpu_period": period}

    def _restore(self, prior: ContainerResources, changes: dict[str, int]) -> list[dict[str, int]]:
        if "nano_cpus" in changes:
            return [{"nano_cpus": prior.nano_cpus}]
        return [{"cpu_quota": prior.cpu_quota if prior.cpu_quota > 0 else -1,
                 "cpu_period": prior.cpu_period or DEFAULT_CPU_PERIOD}]

    @staticmethod
    def _same(live: ContainerResources, wanted: ContainerResources) -> bool:
        return live.cpus == wanted.cpus

    @staticmethod
    def _own(r: ContainerResources) -> str:
        return _shown_cpus(r)


# --- memory_pressure ----------------------------------------------------------------------------


class MemoryPressureArgs(FaultArgs):
    limit: Size = Field(description="the memory limit meanwhile, e.g. 32MiB (at least 6MiB)")
    oom_kill: Literal["possible", "expected"] = Field(
        "possible", description="expected: the scenario means the limit to be below what the container uses, "
        "so the kernel's OOM killer ends it (plan says so; expect.oom_kills judges it); revert starts it again "
        "either way")
    hold: Size | None = Field(
        None, description="memory held in the container meanwhile: a file of this size in its /dev/shm (tmpfs, "
        "charged to its memory), written once the limit is lowered and deleted at revert; over the limit, the "
        "kernel's OOM killer ends the container's biggest process")


class MemoryPressure(_ResourceFault):
    """Lower a container's memory limit, swap included; its processes reclaim, or are OOM-killed."""

    kind: ClassVar[str] = "memory_pressure"
    args_model: ClassVar[type[FaultArgs]] = MemoryPressureArgs

    def describe(self, name: str, args: Any, prior: ContainerResources) -> str:
        oom = "; an OOM kill is expected" if args.oom_kill == "expected" else ""
        hold = f", then hold {format_size(args.hold)} in its {SHM}" if args.hold else ""
        return (f"lower {name}'s memory limit to {format_size(args.limit)} (now {format_size(prior.memory)})"
                f"{hold}{oom}")

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        """As every resource fault; with ``hold``, also check that /dev/shm is a tmpfs with room for it."""
        handle = super().prepare(fault, stack)
        hold = MemoryPressureArgs.model_validate(fault.args).hold
        if hold is None:
            return handle
        runtime, container_id = self._runtime(handle)
        name = handle.data["container_name"]
        mounts = runtime.exec(container_id, ["cat", "/proc/mounts"], timeout=HOLD_TIMEOUT)
        kind = next((f[2] for f in (line.split() for line in mounts.output.splitlines()) if len(f) > 2 and f[1] == SHM),
                    None)
        if mounts.exit_code != 0 or kind != "tmpfs":
            raise TargetError(f"memory_pressure hold: {SHM} in container {name} is "
                              f"{'not mounted' if kind is None else kind}, not a tmpfs (what it writes there must be "
                              "charged to the container's memory)", target=fault.target)
        df = runtime.exec(container_id, ["df", "-k", SHM], timeout=HOLD_TIMEOUT)
        fields = df.output.splitlines()[-1].split() if df.exit_code == 0 and df.output else []
        free = int(fields[3]) * 1024 if len(fields) > 3 and fields[3].isdigit() else None
        if free is None or free < hold:
            raise TargetError(f"memory_pressure hold {format_size(hold)}: {SHM} in container {name} has "
                              f"{'an unknown amount' if free is None else format_size(free)} free (Docker's "
                              "--shm-size, compose shm_size, sets its size)", target=fault.target)
        return replace(handle, data={**handle.data, "hold_file": f"{SHM}/.gameday-hold-{secrets.token_hex(4)}",
                                     "hold": int(hold)})

    def inject(self, handle: FaultHandle) -> None:
        """Lower the limits, then write the hold; an OOM kill it causes is the outcome asked for, not a failure."""
        super().inject(handle)
        hold_file = handle.data.get("hold_file")
        if not hold_file:
            return
        runtime, container_id = self._runtime(handle)
        try:
            result = runtime.exec(container_id, ["sh", "-c", 'head -c "$1" /dev/zero > "$2"', "sh",
                                                 str(handle.data["hold"]), hold_file], timeout=HOLD_TIMEOUT)
        except GamedayError:
            result = None  # the container went away under the exec: inspect says whether the OOM killer did it
        state = runtime.inspect(container_id)
        if not state.serving:
            if state.oom_killed:
                return
            raise FaultError(f"memory_pressure hold: container {handle.data['container_name']} is {state.status} "
                             "after the hold was written, not OOM-killed", target=handle.target)
        # 137: the OOM killer chose the writer itself (the container's own processes were smaller): a kill in the
        # container all the same, which the kernel's count shows; revert deletes what it wrote.
        if result is None or result.exit_code not in (0, 137):
            said = result.output[:200] if result is not None else "the exec failed"
            raise FaultError(f"memory_pressure hold: writing {hold_file} in {handle.data['container_name']} failed: "
                             f"{said or f'exit code {result.exit_code if result else None}'}", target=handle.target)

    def revert(self, handle: FaultHandle) -> None:
        """As every resource fault, then delete the hold where the container still runs and check it is gone. The
        limit first: a container full to its limit has no memory for the exec that deletes it."""
        super().revert(handle)
        hold_file = handle.data.get("hold_file")
        if hold_file:
            self._remove_hold(handle, hold_file)
            runtime, container_id = self._runtime(handle)
            with reverting():  # an OOM kill from before the limit went back may have ended it meanwhile
                self._start_if_oom_killed(runtime, container_id, handle)

    def _remove_hold(self, handle: FaultHandle, hold_file: str) -> None:
        runtime, container_id = self._runtime(handle)
        name = handle.data["container_name"]
        with reverting():
            if not runtime.inspect(container_id).serving:
                return  # stopped: Docker unmounted its /dev/shm, and the hold went with it
            try:
                result = runtime.exec(container_id, ["sh", "-c", 'rm -f -- "$1"; test ! -e "$1"', "sh", hold_file],
                                      timeout=HOLD_TIMEOUT)
            except GamedayError:
                if not runtime.inspect(container_id).serving:
                    return  # the OOM killer ended it under the exec: the hold went with its /dev/shm
                raise
            if result.exit_code != 0:
                raise RevertError(f"memory_pressure on {name}: the hold {hold_file} is still there "
                                  f"({result.output[:200] or 'rm failed'})", target=handle.target)

    def describe_revert(self, handle: FaultHandle) -> str:
        text = super().describe_revert(handle)
        hold_file = handle.data.get("hold_file")
        return f"{text}; then delete {hold_file} in it (gone with its /dev/shm if it stopped)" if hold_file else text

    def _changes(self, prior: ContainerResources, args: Any, target: str, name: str) -> dict[str, int]:
        if prior.memory <= 0:
            raise TargetError(
                f"container {name} has no memory limit, and Docker cannot take one away once it is set (its update "
                "reads 0 as 'leave it'), so revert could not put it back: give the container a memory limit "
                "(docker run --memory, compose mem_limit) to use memory_pressure", target=target)
        if prior.memory_swap < 0:
            raise TargetError(
                f"container {name} has unlimited swap (memory-swap -1); on this cgroup v1 host runc does not write -1 "
                "back after a lower memory+swap limit, so revert could not put it back: give it a memory-swap limit "
                "to use memory_pressure", target=target)
        if args.limit < MIN_MEMORY:
            raise TargetError(f"memory_pressure limit {format_size(args.limit)} is below Docker's minimum, 6MiB",
                              target=target)
        if args.limit >= prior.memory:
            raise TargetError(f"container {name}'s memory limit is {format_size(prior.memory)} already; a limit of "
                              f"{format_size(args.limit)} would not lower it", target=target)
        if prior.memory_reservation > args.limit:
            raise TargetError(f"container {name} reserves {format_size(prior.memory_reservation)}, more than the "
                              f"limit {format_size(args.limit)}; Docker refuses a limit below the reservation",
                              target=target)
        return {"memory": int(args.limit), "memory_swap": int(args.limit)}  # no swap: the pressure is real

    def _restore(self, prior: ContainerResources, changes: dict[str, int]) -> list[dict[str, int]]:
        # Swap first: runc writes the memory limit before memory+swap, and the kernel refuses a memory limit
        # above memory+swap. memory_swap 0 (twice the limit) cannot be sent as 0; twice it is what Docker stores.
        swap = prior.memory_swap or 2 * prior.memory
        return [{"memory_swap": swap}, {"memory": prior.memory, "memory_swap": swap}]

    @staticmethod
    def _same(live: ContainerResources, wanted: ContainerResources) -> bool:
        swap = wanted.memory_swap or 2 * wanted.memory
        return (live.memory, live.memory_swap or 2 * live.memory, live.memory_reservation) == (
            wanted.memory, swap, wanted.memory_reservation)

    @staticmethod
    def _own(r: ContainerResources) -> str:
        return _shown_memory(r)
