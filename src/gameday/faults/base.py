"""What every fault driver is: a small interface with a lifecycle.

    prepare(fault, stack) -> FaultHandle   resolve the target and read its prior state; no side effect
    inject(handle)                          break it
    revert(handle)                          put it back; idempotent, safe to call after a crash
    check(handle) -> bool                   is the fault in effect right now (for timing)

Optional: ``target_problems(target, target_name, args) -> [(where, message)]``, a method (of a driver made
with no options) that finds mistakes without touching anything (``where`` is ``"target"`` or ``"args"``); ``gameday validate`` reports
them located in the file, so what ``plan`` would refuse is caught before it. Likewise
``window_problems(args, duration_s) -> [(argument, message)]`` for arguments that cannot fit the fault's window.

A ``FaultHandle`` (``gameday.handle``) holds everything revert needs and is plain JSON, so it is written to
the journal before the fault is injected and a later process (``gameday cleanup``) can revert from it alone.
Fault kinds are found through the ``gameday.faults`` entry point group; built-ins register there too.
The ``FaultDriver`` contract and its optional hooks live in gameday.contracts; each driver is checked
against them when it loads (gameday.plugins).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict

from gameday.contracts import DRIVER_HOOKS, FAULTS_GROUP, FaultDriver
from gameday.errors import FaultError, RevertError, UnknownFaultKind
from gameday.handle import FaultHandle
from gameday.plugins import PluginGroup

# FaultHandle lives in gameday.handle (below the platforms, which read it); drivers import it from here too.
__all__ = ["ENTRY_POINT_GROUP", "FaultArgs", "FaultDriver", "FaultHandle", "FaultRegistry", "UnknownFaultKind",
           "os_errors", "reverting"]

ENTRY_POINT_GROUP = FAULTS_GROUP


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

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def _driver_problems(name: str, cls: Any) -> list[str]:
    """What the protocol cannot say: the kind is the entry point's name, and the args model is pydantic's."""
    problems = []
    if getattr(cls, "kind", name) != name:
        problems.append(f"it declares kind '{cls.kind}'; the entry point name and the kind must be the same")
    model = getattr(cls, "args_model", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        problems.append("args_model must be a pydantic model class")
    return problems


class FaultRegistry:
    """Fault kinds by name, loaded lazily from entry points (importing a driver only when it is used)."""

    def __init__(self, extra: dict[str, type[FaultDriver]] | None = None) -> None:
        self._plugins = PluginGroup(FAULTS_GROUP, FaultDriver, what="fault driver", optional=DRIVER_HOOKS,
                                    check=_driver_problems, extra=dict(extra or {}))

    def kinds(self) -> list[str]:
        return self._plugins.names()

    def __contains__(self, kind: str) -> bool:
        return kind in self._plugins

    def driver_class(self, kind: str) -> type[FaultDriver]:
        """The driver of ``kind``, checked against its contract when first loaded; a broken plugin is a
        ``PluginError``, a kind nobody provides ``UnknownFaultKind`` (both exit 2)."""
        if kind not in self._plugins:
            raise UnknownFaultKind(f"unknown fault kind '{kind}' (known: {', '.join(self.kinds())})")
        cls: type[FaultDriver] = self._plugins.load(kind)
        return cls

    def create(self, kind: str, **options: Any) -> FaultDriver:
        return self.driver_class(kind)(**options)
