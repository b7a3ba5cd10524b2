"""The contracts every plugin meets, in one leaf module at the bottom of the import graph.

    entry point group          contract          what the core calls
    gameday.faults             FaultDriver       prepare(fault, stack) -> handle, inject, revert, check
      optional hooks           Observes          observations(handle, phase) -> [(kind, details)]
                               DescribesRevert   describe_revert(handle) -> str   (``gameday plan``)
    gameday.platforms          Platform          (gameday.platforms.base) allowlist, lock key, lock holder
    gameday.observers          Observer          wanted(scenario), role, start(ctx), on_phase, stop, verdicts
    gameday.report_sections    ReportSection     name, order, build(events) -> data | None
    gameday.probes             ProbeKind         name, check_model, check(check, stack) -> why red | None

The core depends on these protocols, never on a plugin module: plugins arrive through entry points and
are loaded and checked against their contract by the plugin manager (gameday.plugins), which the engine
asks for what a scenario wants (tests/test_import_graph.py holds the core to this). This module imports
only the standard library at run time; the types it names are imported for type checkers only, so any
module may import it without a cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:  # names for annotations only: importing them here would put this module above them
    from pydantic import BaseModel

    from gameday.clock import Clock
    from gameday.faults.base import FaultArgs
    from gameday.handle import FaultHandle
    from gameday.scenario.model import FaultSpec, Scenario, StackSpec
    from gameday.scoring.expectations import Verdict
    from gameday.timeline import Event, Timeline

FAULTS_GROUP = "gameday.faults"
OBSERVERS_GROUP = "gameday.observers"
REPORT_SECTIONS_GROUP = "gameday.report_sections"
PROBES_GROUP = "gameday.probes"

Role = Literal["watches", "responds"]
"""An observer that watches records what it sees (load, alerts, guards); one that responds acts for a team
(a scripted responder, a runbook follower), so a drill with a real team at the screen leaves it out."""


# --- fault drivers ------------------------------------------------------------------------------


@runtime_checkable
class FaultDriver(Protocol):
    """A fault kind: a small interface with a lifecycle (see gameday.faults.base)."""

    kind: ClassVar[str]
    args_model: ClassVar[type[FaultArgs]]
    target_fields: ClassVar[tuple[str, ...]]
    """Which target fields this kind can act on, e.g. ('container', 'labels'), whatever the platform. A driver
    may also declare ``target_platforms`` (platform classes, or a capability such as ContainerPlatform):
    validate then asks the target's platform instead, so a new platform with containers needs no new field."""

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle: ...

    def inject(self, handle: FaultHandle) -> None: ...

    def revert(self, handle: FaultHandle) -> None: ...

    def check(self, handle: FaultHandle) -> bool: ...


@runtime_checkable
class Observes(Protocol):
    """Optional: what a driver reports about its target before inject, after inject and after revert
    (phase ``before``, ``during``, ``after``), as timeline events, e.g. ``disk.usage``."""

    def observations(self, handle: FaultHandle, phase: str) -> Sequence[tuple[str, dict[str, Any]]]: ...


@runtime_checkable
class DescribesRevert(Protocol):
    """Optional: what revert would do, in words, for ``gameday plan``."""

    def describe_revert(self, handle: FaultHandle) -> str: ...


DRIVER_HOOKS: tuple[type, ...] = (Observes, DescribesRevert)
"""The optional hooks: a driver need not have them, but one it has must match its signature. What a fault
locks is not a driver's hook: it is its target platform's ``lock_key(handle)``, one answer per target."""


# --- observers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunContext:
    """What an observer is given when the run's steady-state phase begins."""

    scenario: Scenario
    timeline: Timeline
    clock: Clock
    run_dir: Path
    scenario_dir: Path
    """Folder of the scenario file: relative paths in the scenario (locustfile, runbook) start here."""
    request_abort: Callable[[str], None] = lambda reason: None
    """Stop injecting and revert at once (guards); safe to call from any thread."""
    end_fault_phase: Callable[[], None] = lambda: None
    """End the fault window early, as when the team's all-clear is accepted; faults are reverted as usual."""
    simulated: bool = False
    """A tabletop: nothing real is injected or probed, and the clock runs on scenario time."""


class Observer(Protocol):
    """Watches a run while it goes (load, alerts, ...) or responds for a team, and may add verdicts.

        wanted(scenario)  does this scenario ask for me? (a static or class method: asked before one is made)
        start(ctx)        when the steady-state phase begins (load warms up, alert receivers listen)
        on_phase(phase)   each phase change: steady_state, fault, recovery, evaluation
        stop()            after recovery, and always in the run's finally; must be idempotent
        verdicts(...)     extra expectation verdicts computed from the timeline (pure)

    Observers record what they see as timeline events; they never print. One that fails records an
    ``observer.failed`` event; the run and its reverts go on. Those from entry points are made with no
    arguments and started in ``order`` (an optional class attribute, default 100), then by name.
    """

    name: str
    role: Role

    @staticmethod
    def wanted(scenario: Scenario) -> bool: ...

    def start(self, ctx: RunContext) -> None: ...

    def on_phase(self, phase: str) -> None: ...

    def stop(self) -> None: ...

    def verdicts(self, scenario: Scenario, events: list[Event]) -> list[Verdict]: ...


# --- report sections ---------------------------------------------------------------------------


class ReportSection(Protocol):
    """An optional part of the postmortem, computed from the timeline alone.

    ``build(events)`` returns the data its template reads, or None to leave the section out. The
    template is ``_<name>.md.j2`` (and optionally ``_<name>.html.j2``), looked up in gameday's report
    templates and then in a ``templates/`` folder of the section's own package. Sections appear in
    ``order``, then by name.
    """

    name: str
    order: int

    def build(self, events: list[Event]) -> Any | None: ...


# --- probe kinds -------------------------------------------------------------------------------


class ProbeKind(Protocol):
    """A kind of probe beyond the built-in ``http`` and ``tcp``, named by its key in a probe: in
    ``{name: web-ready, kubernetes: {target: web, ...}}`` the kind is ``kubernetes``.

        check_model            the pydantic model of what is under its key, validated where probes are
                               (steady state, guards) with the loader's context: ``context["stack"]`` is
                               the scenario's StackSpec, so a name it refers to is checked at its line
        check(check, stack)    one check of a validated ``check_model``: None when green, else why it
                               is red, in one line; it raises nothing but a GamedayError (counted red)

    Made with no arguments, once per prober (each probe loop's thread has its own), so it may keep a
    client between checks. How long a check took is measured around it, as for http and tcp.
    """

    name: str
    check_model: ClassVar[type[BaseModel]]

    def check(self, check: Any, stack: StackSpec) -> str | None: ...
