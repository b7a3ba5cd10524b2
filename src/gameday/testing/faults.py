"""An in-memory fault kind: the whole lifecycle (prepare, inject, check, revert) with nothing real broken.

    faults = MemoryFaults()                      # what is broken, and every call made
    registry = faults.registry()                 # the kind "memory", for RunOptions(registry=...)
    faults.fail("revert", "the target said no")  # the next revert raises RevertError
    ...run a scenario with {kind: memory, target: web, duration: 5s}...
    assert faults.calls == [("prepare", "web"), ("inject", "web"), ("revert", "web")]

A test that needs a fault to exist (an observer, a guard, the run's phases, the journal) uses this
instead of breaking a container. It acts on any target the stack declares: the target itself is never
reached, the fault's state lives in the ``MemoryFaults`` it was made from. Its handles name no platform,
so the engine applies only the rules every platform shares (production refusal) and locks
``memory:<target>``.
"""

from __future__ import annotations

import threading
from typing import ClassVar, Literal

from pydantic import Field

from gameday.errors import FaultError, RevertError, TargetError
from gameday.faults.base import FaultArgs, FaultRegistry
from gameday.handle import FaultHandle
from gameday.scenario.model import FaultSpec, StackSpec

Operation = Literal["prepare", "inject", "revert"]

_ERRORS: dict[Operation, type[TargetError | FaultError | RevertError]] = {
    "prepare": TargetError, "inject": FaultError, "revert": RevertError,
}


class MemoryFaultArgs(FaultArgs):
    effective: bool = Field(True, description="whether check() sees the fault in effect once injected")


class MemoryFaults:
    """The in-memory world a memory fault acts on; safe to use from the run's threads.

    ``calls`` lists ``(operation, target)`` for prepare, inject and revert, in order; ``checks`` counts
    check() calls (the engine polls it); ``live`` holds the targets broken right now.
    """

    def __init__(self, kind: str = "memory") -> None:
        self.kind = kind
        self.calls: list[tuple[str, str]] = []
        self.checks = 0
        self.live: set[str] = set()
        self._failures: dict[Operation, list[str]] = {}
        self._lock = threading.Lock()
        faults, name = self, kind

        class Bound(MemoryFault):
            kind: ClassVar[str] = name
            world: ClassVar[MemoryFaults] = faults

        Bound.__name__ = Bound.__qualname__ = f"MemoryFault[{kind}]"
        self.driver: type[MemoryFault] = Bound
        """The driver class of this kind, bound to this world (made with no arguments, as the engine does)."""

    def registry(self) -> FaultRegistry:
        """The installed fault kinds plus this one."""
        return FaultRegistry(extra={self.kind: self.driver})

    def fail(self, operation: Operation, message: str | None = None, *, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` raise what a real driver would (TargetError, FaultError,
        RevertError) with ``message``, without changing anything."""
        with self._lock:
            self._failures.setdefault(operation, []).extend([message or f"{operation} refused on request"] * times)

    def _call(self, operation: Operation, target: str) -> None:
        with self._lock:
            self.calls.append((operation, target))
            pending = self._failures.get(operation)
            message = pending.pop(0) if pending else None
        if message is not None:
            raise _ERRORS[operation](message, target=target)


class MemoryFault:
    """A fault of the kind a ``MemoryFaults`` was made for; use ``MemoryFaults().driver``, not this class."""

    kind: ClassVar[str] = "memory"
    args_model: ClassVar[type[FaultArgs]] = MemoryFaultArgs
    target_fields: ClassVar[tuple[str, ...]] = ()
    world: ClassVar[MemoryFaults]

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        args = MemoryFaultArgs.model_validate(fault.args)
        if fault.target not in stack.targets:
            raise TargetError(f"target '{fault.target}' is not in the stack", target=fault.target)
        self.world._call("prepare", fault.target)
        return FaultHandle(kind=self.kind, target=fault.target, description=f"break {fault.target} (in memory)",
                           data={"effective": args.effective}, resource=f"memory:{fault.target}")

    def inject(self, handle: FaultHandle) -> None:
        self.world._call("inject", handle.target)
        with self.world._lock:
            self.world.live.add(handle.target)

    def check(self, handle: FaultHandle) -> bool:
        with self.world._lock:
            self.world.checks += 1
            return handle.target in self.world.live and bool(handle.data.get("effective", True))

    def revert(self, handle: FaultHandle) -> None:
        self.world._call("revert", handle.target)
        with self.world._lock:
            self.world.live.discard(handle.target)

    def describe_revert(self, handle: FaultHandle) -> str:
        return f"put {handle.target} back (in memory)"
