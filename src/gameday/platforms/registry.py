"""Platforms by name, loaded lazily from the ``gameday.platforms`` entry point group and checked when loaded.

A target names its platform (``{platform: docker, container: checkout}``) and that platform's own model
validates the rest, a discriminated union whose members arrive through entry points. Version 1 files
wrote a target without ``platform:``; the key they used says which built-in platform they mean
(``SHORT_FORMS``), so every existing scenario still loads. A new platform always names itself.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Mapping
from importlib.metadata import EntryPoint
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from gameday.errors import TargetError, UnknownPlatform
from gameday.handle import FaultHandle
from gameday.platforms.base import ChecksExecTarget, ContainerPlatform, NoPlatform, Platform, Target
from gameday.plugins import contract_problems, group_entry_points

ENTRY_POINT_GROUP = "gameday.platforms"

SHORT_FORMS: Mapping[str, str] = {
    "container": "docker",
    "labels": "docker",
    "proxy": "toxiproxy",
    "path": "host",
    "postgres_role": "postgres",
    "redis_user": "redis",
}
"""Version 1's targets without ``platform:``: the one selector key given says which built-in platform."""


class PlatformRegistry:
    """Platforms by name; ``extra`` adds instances directly (tests, an embedding program)."""

    def __init__(self, extra: Mapping[str, Platform] | None = None) -> None:
        self._entry_points = {ep.name: ep for ep in group_entry_points(ENTRY_POINT_GROUP)}
        self._loaded: dict[str, Platform] = dict(extra or {})

    def names(self) -> list[str]:
        return sorted(set(self._entry_points) | set(self._loaded))

    def __contains__(self, name: object) -> bool:
        return name in self._loaded or name in self._entry_points

    def get(self, name: str) -> Platform:
        """The platform called ``name``; UnknownPlatform (one line) if none is installed or it is broken."""
        if name not in self._loaded:
            ep = self._entry_points.get(name)
            if ep is None:
                raise UnknownPlatform(f"unknown platform '{name}' (known: {', '.join(self.names()) or 'none'})")
            self._loaded[name] = _load(ep)
        return self._loaded[name]

    def for_handle(self, handle: FaultHandle) -> Platform:
        """The platform a handle's target is on; the defaults for a handle that names none."""
        return self.get(handle.platform) if handle.platform else NoPlatform()

    def containers(self, name: str, *, kind: str, target: str) -> ContainerPlatform:
        """The platform ``name``, which a fault of ``kind`` on ``target`` needs to have containers."""
        platform = self.get(name)
        if not isinstance(platform, ContainerPlatform):
            raise TargetError(f"{kind} acts on a container; target '{target}' is on platform '{name}', which has none",
                              target=target)
        return platform

    def exec_target_problem(self, target: Target, target_name: str) -> str | None:
        """Why the target's platform can run no command in it (``ChecksExecTarget``), else None; a platform that
        is not installed, or has no such hook, says nothing (validate reports an unknown platform elsewhere)."""
        if target.platform not in self:
            return None
        platform = self.get(target.platform)
        return platform.exec_target_problem(target, target_name) if isinstance(platform, ChecksExecTarget) else None

    def target_models(self) -> dict[str, type[Target]]:
        """Every installed platform's target model (loads them all: for the JSON Schema)."""
        return {name: self.get(name).target_model for name in self.names()}

    def validate_target(self, raw: Any) -> Target:
        """A target as written (long or short form) -> its platform's model; errors are located under it."""
        if isinstance(raw, Target) and type(raw) is not Target:
            return raw
        if not isinstance(raw, dict):
            # A ValueError, not a TypeError: pydantic turns only the former into a located error.
            raise ValueError(f"a target is a mapping such as {{platform: docker, container: checkout}}, "  # noqa: TRY004
                             f"not {type(raw).__name__}")
        name = raw.get("platform")
        if name is None:
            chosen = [key for key in SHORT_FORMS if raw.get(key)]
            if len(chosen) != 1:
                raise ValueError(
                    "a target names its platform (platform: docker) or exactly one of "
                    + ", ".join(SHORT_FORMS) + (f" (got {', '.join(chosen)})" if chosen else "")
                )
            name = SHORT_FORMS[chosen[0]]
            raw = {"platform": name, **raw}
        if not isinstance(name, str):
            raise _located("platform", f"must be a platform name, got {type(name).__name__} {name!r}"[:200], name)
        try:
            model = self.get(name).target_model
        except UnknownPlatform as exc:
            raise _located("platform", str(exc), name) from None
        return model.model_validate(raw)


def _located(field: str, message: str, value: Any) -> ValidationError:
    """An error at ``<target>.<field>`` (a ValueError would point at the whole target)."""
    error = PydanticCustomError("platform", "{error}", {"error": message})
    return ValidationError.from_exception_data("Target", [InitErrorDetails(type=error, loc=(field,), input=value)])


def _load(ep: EntryPoint) -> Platform:
    """Load and check one entry point: a Platform class, or a factory with no arguments that returns one."""
    where = f"platform '{ep.name}' from {ep.value}"
    try:
        factory = ep.load()
        platform: Any = factory() if callable(factory) else factory
    except Exception as exc:  # a broken plugin is one line before the drill starts, never a traceback
        raise UnknownPlatform(f"{where} failed to load: {type(exc).__name__}: {exc}"[:300]) from exc
    problems = contract_problems(platform, Platform)  # the one contract check every plugin group uses
    if problems:
        raise UnknownPlatform(f"{where} is not a platform: {'; '.join(problems)}")
    if platform.name != ep.name:
        raise UnknownPlatform(f"{where} calls itself '{platform.name}'; the entry point name and the platform's "
                              "name must be the same")
    model = platform.target_model
    if not (isinstance(model, type) and issubclass(model, Target)):
        raise UnknownPlatform(f"{where}: target_model must be a subclass of gameday.platforms.base.Target")
    field = model.model_fields.get("platform")
    if field is None or typing.get_args(field.annotation) != (ep.name,):
        raise UnknownPlatform(f"{where}: its target model's platform field must be Literal['{ep.name}']")
    checked: Platform = platform
    return checked


@functools.lru_cache(maxsize=1)
def installed_platforms() -> PlatformRegistry:
    """The platforms installed in this environment, looked up once per process (entry points do not change
    while it runs; a test that installs one clears this cache)."""
    return PlatformRegistry()
