"""What every fault driver is: a small interface with a lifecycle.

    prepare(fault, stack) -> FaultHandle   resolve the target and read its prior state; no side effect
    inject(handle)                          break it
    revert(handle)                          put it back; idempotent, safe to call after a crash
    check(handle) -> bool                   is the fault in effect right now (for timing)

A ``FaultHandle`` (``gameday.handle``) holds everything revert needs and is plain JSON, so it is written to
the journal before the fault is injected and a later process (``gameday cleanup``) can revert from it alone.
Fault kinds are found through the ``gameday.faults`` entry point group; built-ins register there too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from gameday.errors import FaultError, GamedayError, RevertError
from gameday.handle import FaultHandle
from gameday.scenario.model import FaultSpec, StackSpec

# FaultHandle lives in gameday.handle (below the platforms, which read it); drivers import it from here too.
__all__ = ["ENTRY_POINT_GROUP", "FaultArgs", "FaultDriver", "FaultHandle", "FaultRegistry", "UnknownFaultKind",
           "os_errors", "reverting"]

ENTRY_POINT_GROUP = "gameday.faults"


@contextlib.contextmanager
def os_errors(target: str, what: str, *, reverting: bool = False) -> Iterator[None]:
    """Translate OSError from file and filesystem calls into FaultError (or RevertError while reverting)."""
    error_cls = RevertError if reverting else FaultError
    try:
        yield
    except PermissionError as exc:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) not in what else ""
        raise error_cls(f"{what}: permission denied{where}", target=target) from exc
    except OSError as exc:
        raise error_cls(f"{what}: {exc.strerror or exc}", target=target) from exc


@contextlib.contextmanager
def reverting() -> Iterator[None]:
    """A call refused while reverting is a RevertError (loud, exit 3), not a FaultError."""
    try:
        yield
    except RevertError:
        raise
    except FaultError as exc:
        raise RevertError(str(exc), target=exc.target) from exc


class FaultArgs(BaseModel):
    """Base of each fault kind's arguments model."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


@runtime_checkable
class FaultDriver(Protocol):
    kind: ClassVar[str]
    args_model: ClassVar[type[FaultArgs]]
    target_fields: ClassVar[tuple[str, ...]]
    """Which target fields this kind can act on, e.g. ('container', 'labels'), whatever the platform."""

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle: ...

    def inject(self, handle: FaultHandle) -> None: ...

    def revert(self, handle: FaultHandle) -> None: ...

    def check(self, handle: FaultHandle) -> bool: ...


class UnknownFaultKind(GamedayError):
    exit_code = 1


class FaultRegistry:
    """Fault kinds by name, loaded lazily from entry points (importing a driver only when it is used)."""

    def __init__(self, extra: dict[str, type[FaultDriver]] | None = None) -> None:
        self._entry_points = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
        self._loaded: dict[str, type[FaultDriver]] = dict(extra or {})

    def kinds(self) -> list[str]:
        return sorted(set(self._entry_points) | set(self._loaded))

    def __contains__(self, kind: str) -> bool:
        return kind in self._loaded or kind in self._entry_points

    def driver_class(self, kind: str) -> type[FaultDriver]:
        if kind not in self._loaded:
            ep = self._entry_points.get(kind)
            if ep is None:
                raise UnknownFaultKind(f"unknown fault kind '{kind}' (known: {', '.join(self.kinds())})")
            try:
                cls = ep.load()
            except Exception as exc:  # a broken plugin is rejected before the drill starts
                raise UnknownFaultKind(f"fault kind '{kind}' from {ep.value} failed to load: {exc}") from exc
            if not isinstance(getattr(cls, "kind", None), str) or not hasattr(cls, "args_model"):
                raise UnknownFaultKind(f"fault kind '{kind}' from {ep.value} is not a fault driver")
            self._loaded[kind] = cls
        return self._loaded[kind]

    def create(self, kind: str, **options: Any) -> FaultDriver:
        return self.driver_class(kind)(**options)
