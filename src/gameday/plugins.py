"""Load plugins from entry point groups and check each against its contract when it loads.

As pluggy validates a hook implementation when it is registered, not when it is first called, a
plugin that fails to import, lacks a member of its contract (gameday.contracts), or whose methods do
not take the arguments the core passes is rejected here: one ``PluginError`` line naming the entry
point and what is wrong, before a drill starts and before anything is injected.

Built-in plugins are registered in gameday's own pyproject.toml exactly as a third party's are. This is
the plugin manager the core uses (as pytest uses pluggy's): the core imports this module and the
contracts, never a plugin module.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Collection
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, cast

from gameday.contracts import (
    OBSERVERS_GROUP,
    PROBES_GROUP,
    REPORT_SECTIONS_GROUP,
    Observer,
    ProbeKind,
    ReportSection,
    Role,
)
from gameday.errors import PluginError

if TYPE_CHECKING:
    from gameday.scenario.model import Scenario

DEFAULT_ORDER = 100
"""Where an observer or report section without an ``order`` goes (built-ins use 10..90)."""

_CHECKED_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "tuple[str, ...]": (tuple,)}
"""Attribute annotations (as written in the contract) whose value's type is checked at load time."""


def contract_problems(obj: Any, contract: type, *, optional: tuple[type, ...] = ()) -> list[str]:
    """What keeps ``obj`` (a class, an instance or a module) from meeting ``contract``; [] when it does.

    Every attribute and method the contract declares must be there, methods must accept the arguments
    the core passes them, and an optional hook (``optional``) must match its signature when it is there.
    """
    problems = _members_problems(obj, contract, required=True)
    for hook in optional:
        problems += _members_problems(obj, hook, required=False)
    return problems


def _members_problems(obj: Any, contract: type, *, required: bool) -> list[str]:
    problems: list[str] = []
    for name, annotation in _attributes(contract).items():
        if not hasattr(obj, name):
            if required:
                problems.append(f"no attribute {name}")
            continue
        types = _CHECKED_TYPES.get(annotation.removeprefix("ClassVar[").removesuffix("]"))
        if types is not None and not isinstance(getattr(obj, name), types):
            problems.append(f"{name} must be {annotation}, got {type(getattr(obj, name)).__name__}")
        if annotation == "Role" and getattr(obj, name) not in ("watches", "responds"):
            problems.append(f"{name} must be 'watches' or 'responds', got {getattr(obj, name)!r}")
    for name, spec in _methods(contract).items():
        if not hasattr(obj, name):
            if required:
                problems.append(f"no method {name}{_shown(spec)}")
            continue
        problem = _call_problem(obj, name, spec)
        if problem:
            problems.append(problem)
    return problems


def _attributes(contract: type) -> dict[str, str]:
    return {name: str(annotation) for name, annotation in inspect.get_annotations(contract).items()}


def _methods(contract: type) -> dict[str, tuple[bool, list[str]]]:
    """Each method the contract declares: (is static, the names of the arguments the core passes)."""
    out: dict[str, tuple[bool, list[str]]] = {}
    for name, raw in contract.__dict__.items():
        if name.startswith("_"):
            continue
        static = isinstance(raw, staticmethod | classmethod)
        func = raw.__func__ if static else raw
        if not inspect.isfunction(func):
            continue
        params = list(inspect.signature(func).parameters)
        out[name] = (static, params if isinstance(raw, staticmethod) else params[1:])
    return out


def _shown(spec: tuple[bool, list[str]]) -> str:
    return f"({', '.join(spec[1])})"


def _call_problem(obj: Any, name: str, spec: tuple[bool, list[str]]) -> str | None:
    static, args = spec
    value = getattr(obj, name)
    if not callable(value):
        return f"{name} is not a method"
    raw = inspect.getattr_static(obj, name, None)
    # A plain function looked up on a class still wants its instance: pass one stand-in for it.
    unbound = inspect.isclass(obj) and inspect.isfunction(raw)
    if static and unbound:
        return f"{name}{_shown(spec)} must be a staticmethod or classmethod: it is asked before an instance exists"
    try:
        signature = inspect.signature(value)
    except (TypeError, ValueError):
        return None  # a builtin without a signature: nothing to check
    try:
        signature.bind(*([None] if unbound else []), *args)
    except TypeError:
        return f"{name}({', '.join(signature.parameters)}) cannot be called as {name}{_shown(spec)}"
    return None


def group_entry_points(group: str) -> list[EntryPoint]:
    """The entry points of ``group``, as ``importlib.metadata.entry_points(group=group)`` gives them.

    Each such call reads every installed distribution's metadata (~6 ms with a hundred installed, more in a
    big environment) and a run asks for eight groups, so one reading serves them all while ``sys.path`` stays
    the same; a plugin installed the usual way for a test (a new folder on ``sys.path``) is seen at once."""
    return list(_entry_points_on(tuple(sys.path)).select(group=group))


@functools.lru_cache(maxsize=4)
def _entry_points_on(path: tuple[str, ...]) -> Any:
    # What entry_points(group=...) selects from, read once (3.11: SelectableGroups; 3.12: EntryPoints).
    return entry_points()


class PluginGroup:
    """The plugins of one entry point group, each loaded (and checked) once, when first asked for."""

    def __init__(self, group: str, contract: type, *, what: str, optional: tuple[type, ...] = (),
                 check: Callable[[str, Any], list[str]] | None = None, extra: dict[str, Any] | None = None) -> None:
        """``check(name, plugin)``: problems the contract cannot express (the name a plugin declares, say);
        ``extra``: plugins given directly (tests), taken as they are."""
        self.group = group
        self.contract = contract
        self.what = what
        self.optional = optional
        self.check = check
        self._entry_points: dict[str, EntryPoint] = {}
        for ep in group_entry_points(group):
            self._entry_points.setdefault(ep.name, ep)  # two with one name: the first on sys.path, as imports go
        self._loaded: dict[str, Any] = dict(extra or {})

    def names(self) -> list[str]:
        return sorted(set(self._entry_points) | set(self._loaded))

    def __contains__(self, name: str) -> bool:
        return name in self._loaded or name in self._entry_points

    def load(self, name: str) -> Any:
        """The plugin registered as ``name``; ``PluginError`` when it cannot load or breaks its contract."""
        if name not in self._loaded:
            ep = self._entry_points.get(name)
            if ep is None:
                raise PluginError(f"no {self.what} '{name}' in entry point group {self.group}")
            self._loaded[name] = self._checked(ep)
        return self._loaded[name]

    def load_all(self) -> dict[str, Any]:
        """Every plugin of the group, by name; the first broken one is a ``PluginError``."""
        return {name: self.load(name) for name in self.names()}

    def _checked(self, ep: EntryPoint) -> Any:
        where = f"{self.what} plugin '{ep.name}' ({ep.value}, entry point group {self.group})"
        try:
            obj = ep.load()
        except Exception as exc:  # any import-time failure of a third party's module is its, said in one line
            raise PluginError(f"{where} failed to load: {type(exc).__name__}: {exc}", plugin=ep.name) from exc
        problems = contract_problems(obj, self.contract, optional=self.optional)
        if not problems and self.check is not None:
            problems = self.check(ep.name, obj)
        if problems:
            raise PluginError(f"{where} is not a {self.what}: {'; '.join(problems)}", plugin=ep.name)
        return obj


def _in_order(plugins: dict[str, Any]) -> list[Any]:
    return [p for _, p in sorted(plugins.items(), key=lambda item: (getattr(item[1], "order", DEFAULT_ORDER), item[0]))]


def observer_classes() -> list[type[Observer]]:
    """Every installed observer (group ``gameday.observers``), checked, in start order (``order``, then name)."""
    return _in_order(PluginGroup(OBSERVERS_GROUP, Observer, what="observer", check=_named).load_all())


def build_observers(scenario: Scenario, *, roles: Collection[Role] = ("watches", "responds")) -> list[Observer]:
    """The observers the scenario asks for (each one's ``wanted``), of the given roles, made with no arguments.

    A facilitated drill asks only for those that watch: its people respond and follow the runbook.
    A broken observer plugin is a ``PluginError`` here, before the run starts.
    """
    return [cls() for cls in observer_classes() if cls.role in roles and cls.wanted(scenario)]


def report_sections() -> list[ReportSection]:
    """Every installed report section (group ``gameday.report_sections``), checked and made, in ``order``."""
    loaded = PluginGroup(REPORT_SECTIONS_GROUP, ReportSection, what="report section", check=_named).load_all()
    made: list[ReportSection] = []
    for plugin in _in_order(loaded):
        made.append(cast("ReportSection", plugin() if inspect.isclass(plugin) else plugin))  # a class, or an object
    return made


BUILT_IN_PROBE_KEYS = ("name", "interval", "http", "tcp")
"""What every probe may have already: a probe kind with one of these names would be shadowed by it."""


@functools.lru_cache(maxsize=1)
def installed_probe_kinds() -> PluginGroup:
    """The probe kinds installed here (group ``gameday.probes``), each loaded and checked when a probe first
    names it; looked up once per process (a test that installs one clears this cache)."""
    return PluginGroup(PROBES_GROUP, ProbeKind, what="probe kind", check=_probe_kind_problems)


def _probe_kind_problems(name: str, plugin: Any) -> list[str]:
    from pydantic import BaseModel

    problems = _named(name, plugin)
    if name in BUILT_IN_PROBE_KEYS:
        problems.append(f"'{name}' is a key every probe has already; name the kind otherwise")
    model = getattr(plugin, "check_model", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        problems.append("check_model must be a pydantic model (a subclass of pydantic.BaseModel)")
    return problems


def _named(name: str, plugin: Any) -> list[str]:
    if getattr(plugin, "name", name) != name:
        return [f"it is named '{plugin.name}'; the entry point name and its name must be the same"]
    return []
