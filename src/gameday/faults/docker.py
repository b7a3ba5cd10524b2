"""Container faults: kill, stop, pause, on any container platform (Docker today).

The target's platform finds the container and hands back a runtime that reaches it (``gameday.platforms``);
this module never speaks to Docker itself. Revert brings the container back to the state it had before
(running), and waits until it is running, and healthy where it has a health check.

A platform that treats a container fault its own way (``OwnContainerFaults``: on Kubernetes the kubelet
restarts a killed container, so revert waits rather than starts) gets every call on its targets handed to
the driver it names; the kinds it has none for are refused at validate.
"""

from __future__ import annotations

import signal as signal_module
import time
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from gameday.errors import RevertError, TargetError
from gameday.faults.base import FaultArgs, reverting
from gameday.handle import FaultHandle
from gameday.platforms.base import (
    ContainerPlatform,
    ContainerRuntime,
    OwnContainerFaults,
    Target,
    container_handle_fields,
)
from gameday.platforms.registry import PlatformRegistry, installed_platforms
from gameday.scenario.model import FaultSpec, StackSpec

REVERT_READY_TIMEOUT = 60.0


class _ContainerFault:
    kind: ClassVar[str]
    args_model: ClassVar[type[FaultArgs]]
    target_fields: ClassVar[tuple[str, ...]] = ("container", "labels")
    target_platforms: ClassVar[tuple[type, ...]] = (ContainerPlatform, OwnContainerFaults)
    """Any platform with containers (Docker, Compose, Kubernetes...): validate asks the platform, not the field
    names."""

    def __init__(self, *, platforms: PlatformRegistry | None = None) -> None:
        self._platforms = platforms

    def _platform(self, name: str, target: str) -> ContainerPlatform:
        return (self._platforms or installed_platforms()).containers(name, kind=self.kind, target=target)

    def _own(self, platform_name: str | None, target: str) -> Any | None:
        """The platform's own driver of this kind, when its containers need one (OwnContainerFaults); else None.
        TargetError when the platform has its own container faults but none of this kind."""
        if not platform_name:
            return None
        platform = (self._platforms or installed_platforms()).get(platform_name)
        if not isinstance(platform, OwnContainerFaults):
            return None
        driver = platform.container_fault(self.kind)
        if driver is None:
            raise TargetError(f"{self.kind} is not available on platform '{platform_name}' (target '{target}')",
                              target=target)
        return driver

    def target_problems(self, target: Target, target_name: str, args: Any) -> list[tuple[str, str]]:
        """A platform with its own container faults that has none of this kind is refused at validate."""
        try:
            own = self._own(target.platform, target_name)
        except TargetError as exc:
            return [("target", str(exc))]
        problems = getattr(own, "target_problems", None)
        return list(problems(target, target_name, args)) if problems is not None else []

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        target = stack.targets[fault.target]
        own = self._own(target.platform, fault.target)
        if own is not None:
            handle: FaultHandle = own.prepare(fault, stack)
            return handle
        platform = self._platform(target.platform, fault.target)
        settings = stack.platform_settings(target.platform)
        container = platform.find_container(target, fault.target, settings)
        if not container.serving:
            raise TargetError(
                f"container {container.name} is {'paused' if container.paused else container.status}, "
                "not running; nothing to break",
                target=fault.target,
                resource=platform.resource(container),
            )
        args = self.args_model.model_validate(fault.args)
        return FaultHandle(
            kind=self.kind,
            target=fault.target,
            description=self.describe(container.name, args),
            data={"container_name": container.name, "has_healthcheck": container.health is not None,
                  "args": args.model_dump()},
            **container_handle_fields(platform, container, settings),
        )

    def describe(self, name: str, args: Any) -> str:
        return f"{self.kind} {name}"

    def describe_revert(self, handle: FaultHandle) -> str:
        own = self._own(handle.platform, handle.target)
        if own is not None:
            return str(own.describe_revert(handle))
        wait = "running and healthy" if handle.data.get("has_healthcheck") else "running"
        return f"start or unpause {handle.data['container_name']} and wait until it is {wait}"

    def observations(self, handle: FaultHandle, phase: str) -> list[tuple[str, dict[str, Any]]]:
        """What the platform's own driver reports about its container (Kubernetes: restartCount, last state);
        nothing for Docker's containers."""
        own = self._own(handle.platform, handle.target)
        observe = getattr(own, "observations", None)
        return list(observe(handle, phase)) if observe is not None else []

    def _runtime(self, handle: FaultHandle) -> tuple[ContainerRuntime, str]:
        platform = self._platform(handle.platform, handle.target)
        return platform.runtime(handle.address), str(handle.address["id"])

    def inject(self, handle: FaultHandle) -> None:
        own = self._own(handle.platform, handle.target)
        if own is not None:
            own.inject(handle)
            return
        runtime, container_id = self._runtime(handle)
        self._break(runtime, container_id, handle.data["args"])

    def _break(self, runtime: ContainerRuntime, container_id: str, args: dict[str, Any]) -> None:
        raise NotImplementedError

    def check(self, handle: FaultHandle) -> bool:
        """True while the container is not serving (not running, or paused)."""
        own = self._own(handle.platform, handle.target)
        if own is not None:
            return bool(own.check(handle))
        runtime, container_id = self._runtime(handle)
        return not runtime.inspect(container_id).serving

    def revert(self, handle: FaultHandle) -> None:
        """Bring the container back to running (and healthy); harmless when it already is."""
        own = self._own(handle.platform, handle.target)
        if own is not None:
            own.revert(handle)
            return
        runtime, container_id = self._runtime(handle)
        with reverting():
            state = runtime.inspect(container_id)
            if state.paused:
                runtime.unpause(container_id)
            elif state.status not in ("running", "restarting"):  # restarting: its restart policy brings it back
                runtime.start(container_id)
            wait_until_ready(runtime, container_id, handle.data["container_name"],
                             healthcheck=handle.data.get("has_healthcheck", False))


def wait_until_ready(runtime: ContainerRuntime, container_id: str, name: str, *, healthcheck: bool,
                     timeout: float = REVERT_READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    last = "unknown"
    while time.monotonic() < deadline:
        state = runtime.inspect(container_id)
        last = state.status + (f", {state.health}" if state.health else "")
        if state.serving and (not healthcheck or state.health == "healthy"):
            return
        time.sleep(0.1)
    raise RevertError(f"container {name} did not come back within {timeout:.0f}s (last seen: {last})", target=name)


class KillArgs(FaultArgs):
    signal: str = Field("SIGKILL", description="signal name, e.g. SIGKILL or SIGTERM")

    @field_validator("signal")
    @classmethod
    def _known_signal(cls, value: str) -> str:
        name = value.upper() if value.upper().startswith("SIG") else "SIG" + value.upper()
        if name not in signal_module.Signals.__members__:
            raise ValueError(f"unknown signal '{value}'")
        return name


class ContainerKill(_ContainerFault):
    """Send a signal (default SIGKILL) to the container's main process."""

    kind = "container_kill"
    args_model: ClassVar[type[FaultArgs]] = KillArgs

    def describe(self, name: str, args: Any) -> str:
        return f"kill {name} with {args.signal}"

    def _break(self, runtime: ContainerRuntime, container_id: str, args: dict[str, Any]) -> None:
        runtime.signal(container_id, args["signal"])


class StopArgs(FaultArgs):
    timeout: int = Field(10, ge=0, le=600, description="seconds between SIGTERM and SIGKILL")


class ContainerStop(_ContainerFault):
    kind = "container_stop"
    args_model: ClassVar[type[FaultArgs]] = StopArgs

    def describe(self, name: str, args: Any) -> str:
        return f"stop {name}"

    def _break(self, runtime: ContainerRuntime, container_id: str, args: dict[str, Any]) -> None:
        runtime.stop(container_id, timeout=args["timeout"])


class PauseArgs(FaultArgs):
    mode: Literal["freeze"] = "freeze"


class ContainerPause(_ContainerFault):
    """Freeze every process of the container (cgroup freezer): it holds connections but answers nothing."""

    kind = "container_pause"
    args_model: ClassVar[type[FaultArgs]] = PauseArgs

    def describe(self, name: str, args: Any) -> str:
        return f"pause {name}"

    def _break(self, runtime: ContainerRuntime, container_id: str, args: dict[str, Any]) -> None:
        runtime.pause(container_id)
