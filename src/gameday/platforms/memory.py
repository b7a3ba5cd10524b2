"""An in-memory container platform, for tests that need containers but not Docker (as httpx's MockTransport
stands in for the network).

    runtime = MemoryRuntime()
    runtime.add("web", labels={"gameday.allowed": "true"})
    platform = MemoryPlatform(runtime)          # target: {platform: memory, container: web}

The containers are plain records: ``signal`` and ``stop`` make one ``exited``, ``pause`` pauses it,
``start`` and ``unpause`` bring it back, and every call is appended to ``runtime.calls`` for a test to
assert on. ``exec`` answers through the ``exec_handler`` a test gives (default: no such command).
Its rules are Docker's: a container is a fault target only with the stack's ``allow_label``, and
its lock key is ``memory:<container id>``.

It is not installed as an entry point (a real scenario has no use for it): a test registers it, either
through ``PlatformRegistry(extra={"memory": platform})`` or an entry point of its own whose object is a
factory returning the platform it wants the run to see.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from gameday.errors import FaultError, TargetError
from gameday.handle import FaultHandle
from gameday.platforms.base import (
    ContainerResources,
    ContainerState,
    ExecResult,
    Mount,
    PlatformDefaults,
    SafetyPolicy,
    Target,
    check_container_allowed,
)


class MemoryTarget(Target):
    """An in-memory container, by name or by labels that select exactly one."""

    platform: Literal["memory"] = "memory"
    container: str | None = Field(None, description="container name")
    labels: dict[str, str] | None = Field(None, description="labels that select exactly one container")

    @model_validator(mode="after")
    def _one_selector(self) -> MemoryTarget:
        if (self.container is None) == (self.labels is None):
            raise ValueError("a memory target names exactly one of container, labels")
        return self

    @property
    def selector(self) -> str:
        if self.labels is not None:
            return "labels=" + ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return f"container={self.container}"


ExecHandler = Callable[[ContainerState, list[str]], ExecResult]


def no_commands(container: ContainerState, argv: list[str]) -> ExecResult:
    """The default ``exec``: the container has no such command."""
    return ExecResult(exit_code=127, output=f"exec: {argv[0] if argv else ''!r}: executable file not found")


@dataclass
class _Record:
    state: ContainerState
    history: list[str] = field(default_factory=list)
    limits: ContainerResources = field(default_factory=ContainerResources)


class MemoryRuntime:
    """Containers kept in a dict; safe to call from several threads."""

    def __init__(self, *, exec_handler: ExecHandler = no_commands) -> None:
        self.exec_handler = exec_handler
        self.calls: list[tuple[str, ...]] = []
        """Every call made, in order: ``("signal", "web", "SIGKILL")``, ``("start", "web")``..."""
        self._containers: dict[str, _Record] = {}
        self._lock = threading.Lock()

    # --- for tests ---------------------------------------------------------------------------

    def add(self, name: str, *, labels: Mapping[str, str] | None = None, status: str = "running",
            health: str | None = None, mounts: Sequence[Mount] = ()) -> ContainerState:
        """A new container (id ``memory-<n>``); ``health`` gives it a health check in that state."""
        with self._lock:
            state = ContainerState(id=f"memory-{len(self._containers) + 1:04d}", name=name, status=status,
                                   health=health, labels=dict(labels or {}), mounts=tuple(mounts))
            self._containers[state.id] = _Record(state)
            return state

    def remove(self, name: str) -> None:
        """The container vanishes, as one removed behind the run's back."""
        with self._lock:
            self._containers = {cid: r for cid, r in self._containers.items() if r.state.name != name}

    def containers(self) -> list[ContainerState]:
        with self._lock:
            return [r.state for r in self._containers.values()]

    def by_name(self, name: str) -> ContainerState:
        found = [c for c in self.containers() if c.name == name]
        if not found:
            raise TargetError(f"container {name} not found (it vanished or never existed)", target=name)
        return found[0]

    # --- the ContainerRuntime protocol ---------------------------------------------------------

    def _change(self, call: str, container_id: str, *args: str, **changes: Any) -> None:
        with self._lock:
            record = self._get(container_id)
            self.calls.append((call, record.state.name, *args))
            record.state = replace(record.state, **changes)

    def _get(self, container_id: str) -> _Record:
        record = self._containers.get(container_id)
        if record is None:
            raise TargetError(f"container {container_id} not found (it vanished or never existed)",
                              target=container_id)
        return record

    def inspect(self, container_id: str) -> ContainerState:
        with self._lock:
            return self._get(container_id).state

    def exec(self, container_id: str, argv: Sequence[str], *, timeout: float, user: str = "0") -> ExecResult:
        state = self.inspect(container_id)
        if not state.serving:
            raise FaultError(f"container {state.name} is not running; cannot exec in it", target=state.name)
        with self._lock:
            self.calls.append(("exec", state.name, *argv))
        return self.exec_handler(state, list(argv))

    def signal(self, container_id: str, signal: str) -> None:
        self._change("signal", container_id, signal, status="exited", paused=False)

    def stop(self, container_id: str, *, timeout: int) -> None:
        self._change("stop", container_id, status="exited", paused=False)

    def start(self, container_id: str) -> None:
        health = self.inspect(container_id).health
        self._change("start", container_id, status="running", health="healthy" if health else None)

    def pause(self, container_id: str) -> None:
        self._change("pause", container_id, paused=True)

    def resources(self, container_id: str) -> ContainerResources:
        with self._lock:
            return self._get(container_id).limits

    def update_resources(self, container_id: str, changes: Mapping[str, int]) -> None:
        """Docker's rules: 0 leaves a field as it is, and a memory limit needs at least 6 MiB."""
        with self._lock:
            record = self._get(container_id)
            self.calls.append(("update_resources", record.state.name,
                               *(f"{k}={v}" for k, v in sorted(changes.items()))))
            if 0 < changes.get("memory", 0) < 6 * 2**20 or changes.get("memory", 0) < 0:
                raise FaultError("Minimum memory limit allowed is 6MB", target=record.state.name)
            record.limits = replace(record.limits, **{k: int(v) for k, v in changes.items() if v != 0})

    def unpause(self, container_id: str) -> None:
        self._change("unpause", container_id, paused=False)


class MemoryPlatform(PlatformDefaults):
    """Containers of one MemoryRuntime, with Docker's rules (allow label, one lock per container)."""

    name: ClassVar[str] = "memory"
    target_model: ClassVar[type[Target]] = MemoryTarget

    def __init__(self, runtime: MemoryRuntime | None = None) -> None:
        self.memory = runtime or MemoryRuntime()

    opt_in: ClassVar[str] = "the container's label (the stack's allow_label)"

    def allow_name(self, target: Target) -> str | None:
        return target.container if isinstance(target, MemoryTarget) else None

    def check_allowed(self, handle: FaultHandle, policy: SafetyPolicy) -> None:
        check_container_allowed(self, handle, policy)

    def lock_key(self, handle: FaultHandle) -> str:
        container_id = handle.address.get("id")
        return f"memory:{container_id}" if container_id else super().lock_key(handle)

    def resource(self, container: ContainerState) -> str:
        return f"memory:{container.id}"

    def find_container(self, target: Target, target_name: str, settings: Mapping[str, Any]) -> ContainerState:
        if not isinstance(target, MemoryTarget):
            raise TargetError(f"target '{target_name}' is not a memory target", target=target_name)
        if target.container is not None:
            found = [c for c in self.memory.containers() if c.name == target.container]
        else:
            wanted = (target.labels or {}).items()
            found = [c for c in self.memory.containers() if all(c.labels.get(k) == v for k, v in wanted)]
        if len(found) != 1:
            raise TargetError(f"target '{target_name}' ({target.selector}) matches {len(found)} containers; "
                              "it must match one", target=target_name)
        return found[0]

    def address(self, container: ContainerState, settings: Mapping[str, Any]) -> dict[str, Any]:
        return {"id": container.id, "name": container.name}

    def runtime(self, address: Mapping[str, Any]) -> MemoryRuntime:
        return self.memory

    def resource_runtime(self, address: Mapping[str, Any]) -> MemoryRuntime:
        return self.memory
