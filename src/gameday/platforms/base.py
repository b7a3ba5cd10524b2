"""What a platform is: where targets live, how they are named, and what keeps a run off the wrong ones.

A platform is to gameday what a transport is to httpx: the core (the engine, the scenario loader)
speaks only these protocols, and each platform plugs in through the ``gameday.platforms`` entry
point group, the built-ins exactly as a third party's would.

    Platform            name, target_model (its pydantic model of a target), and the safety methods:
      check_allowed(handle, policy)   refuse production and targets not approved: by the stack file's
                                      allowlist (``allow.<platform>``), or in an inline stack by the
                                      platform's own opt-in (a container's label)
      lock_key(handle) -> str         what the fault touches, as one lock key
      holder(key, locks) -> run id    who else holds it, for plans and "in use by run X" errors
    DescribesTarget     optional: target_notes(handle), what plan says about the target (Compose: its dependencies)
    ContainerPlatform   a Platform with containers: find_container(...) and runtime(address)
    ContainerRuntime    inspect, exec with a timeout, and the lifecycle calls container faults make
    ResourcePlatform    a ContainerPlatform whose runtime also reads and changes CPU and memory limits
                        (ResourceRuntime: resources, update_resources); Docker and the in-memory one today
    OwnContainerFaults  a platform that runs a container fault its own way: container_fault(kind) -> driver
                        (Kubernetes: a kill through the node's runtime is a crash its kubelet restarts)
    FilePlatform        a ContainerPlatform whose runtime reads and writes files inside a container (FileRuntime:
                        read_file, write_file, is_folder; Docker's archive API)
    HostProcessPlatform a ContainerPlatform whose containers run on this machine (HostProcessRuntime: host_pid,
                        so their cgroups are here)
    ExecPlatform        containers gameday only runs commands in (CommandRunner: exec), no lifecycle calls:
                        Kubernetes pods, through the API server's exec; disk_fill and revoke_credentials use it

This module sits below the scenario format (which validates each target with its platform's model),
so it imports nothing of gameday but the error tree and the handle.

Approval (issue 14). A stack file lists what may be faulted per platform (``allow: {docker: [...],
toxiproxy: [...]}``); each platform says which name of a target an entry matches (``allow_name``: a
container's name, a proxy's, a role's, a user's, a path). A scenario's inline ``stack:`` has no allowlist
(it cannot approve its own blast radius): there a target needs its platform's own opt-in, ``opt_in``
says what that is, and a platform with none (``opt_in = ""``) refuses inline targets.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from gameday.errors import TargetError
from gameday.handle import FaultHandle


class Target(BaseModel):
    """Base of every platform's target model; ``platform`` is the discriminator."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    platform: str
    description: str = ""

    @property
    def selector(self) -> str:
        """How the target is found, for people: ``container=checkout``, ``proxy=postgres``."""
        return self.platform


@dataclass(frozen=True)
class SafetyPolicy:
    """What the stack and the run say about which targets may be touched."""

    stack: str = "demo"
    environment: str = "staging"
    allow_label: str = "gameday.allowed=true"
    allow_production: bool = False
    allow: Mapping[str, tuple[str, ...]] | None = None
    """The stack file's allowlist, per platform name; None for an inline stack (the platform's opt-in rules)."""
    declared: Target | None = None
    """The stack's declaration of the handle's target (what ``allow_name`` reads); None if unknown."""
    stack_file: str = ""
    """Where the stack file is, for messages."""


class LockBook(Protocol):
    """The run's locks, as a platform sees them (``engine.safety.TargetLocks`` is one)."""

    def holder(self, resource: str) -> str | None: ...


@runtime_checkable
class Platform(Protocol):
    """One platform. Instances are made with no arguments by the registry."""

    name: ClassVar[str]
    target_model: ClassVar[type[Target]]

    def check_allowed(self, handle: FaultHandle, policy: SafetyPolicy) -> None:
        """Raise TargetError unless a fault may touch this target (production refusal, allowlist)."""
        ...

    def lock_key(self, handle: FaultHandle) -> str:
        """What the fault touches, as one string: two runs holding the same key never run at once."""
        ...

    def holder(self, key: str, locks: LockBook) -> str | None:
        """The live run holding this key, if any."""
        ...


@runtime_checkable
class DescribesTarget(Protocol):
    """Optional for a platform: what a person should know about a target before a fault on it (its
    dependencies, what restarts it), one sentence each; ``gameday plan`` shows them."""

    def target_notes(self, handle: FaultHandle) -> list[str]: ...


@runtime_checkable
class ChecksAllowEntries(Protocol):
    """Optional for a platform: what is wrong with one of a stack file's ``allow.<platform>`` entries as written
    (None when nothing is), so ``validate`` names a malformed entry instead of plan refusing every target."""

    def allow_entry_problem(self, entry: str) -> str | None: ...


def refuse_production(handle: FaultHandle, policy: SafetyPolicy) -> None:
    """Every platform's first rule: a production stack is refused unless the run says otherwise."""
    if policy.environment == "production" and not policy.allow_production:
        raise TargetError(
            f"stack '{policy.stack}' is marked environment: production; every fault is refused "
            "unless the run passes --allow-production (which is logged)",
            target=handle.target,
        )


def refuse_unlabelled(handle: FaultHandle, policy: SafetyPolicy, *, what: str, hint: str = "") -> None:
    """The allowlist by label: a target whose labels lack ``policy.allow_label`` is refused."""
    if handle.labels is None:
        return
    key, _, value = policy.allow_label.partition("=")
    if handle.labels.get(key) != value:
        name = str(handle.address.get("name") or handle.target)
        raise TargetError(
            f"{what} {name} (target '{handle.target}') is not allowed as a fault target: it lacks the label "
            f"{policy.allow_label}" + (f"; {hint}" if hint else ""),
            target=handle.target,
        )


def allowlist_matches(entries: Sequence[str], name: str) -> bool:
    """An allowlist entry is a name or a glob (``gameday-demo-*``); an entry that is an absolute path also
    allows everything below it."""
    for entry in entries:
        if fnmatch.fnmatchcase(name, entry):
            return True
        if entry.startswith("/") and name.startswith("/"):
            folder = posixpath.normpath(entry)
            if posixpath.normpath(name).startswith(folder.rstrip("/") + "/"):
                return True
    return False


def refuse_unlisted(handle: FaultHandle, policy: SafetyPolicy, *, platform: str, names: Sequence[str | None],
                    what: str = "target") -> None:
    """The stack file's allowlist: one of ``names`` (the target as declared, the container found) must match
    an entry under ``allow.<platform>``. Nothing to match (a selector not resolved) is refused too."""
    entries = (policy.allow or {}).get(platform, ())
    given = [n for n in names if n]
    if any(allowlist_matches(entries, n) for n in given):
        return
    where = f" ({policy.stack_file})" if policy.stack_file else ""
    shown = given[-1] if given else handle.target
    raise TargetError(
        f"{what} {shown} (target '{handle.target}') is not in stack '{policy.stack}''s allowlist: add it under "
        f"allow.{platform} in its stack file{where}",
        target=handle.target,
    )


def refuse_inline(handle: FaultHandle, policy: SafetyPolicy, *, platform: str) -> None:
    """A platform whose targets carry no opt-in of their own: in an inline stack only a stack file approves them."""
    raise TargetError(
        f"target '{handle.target}' is on platform '{platform}', whose targets carry no opt-in of their own; an "
        f"inline stack cannot approve it: put the stack in a stack file (stacks/{policy.stack}.yaml) and list it "
        f"under allow.{platform}",
        target=handle.target,
    )


class PlatformDefaults:
    """Behaviour a platform may inherit: production refusal, approval by the stack file's allowlist (and, in
    an inline stack, refusal: it has no opt-in of its own), the handle's resource as its lock key, and the
    run's own lock files for who holds it."""

    name: ClassVar[str]
    target_model: ClassVar[type[Target]]
    opt_in: ClassVar[str] = ""
    """What the platform's own opt-in is, for people (``the label gameday.allowed=true``); "" for none."""

    def allow_name(self, target: Target) -> str | None:
        """The name of a declared target an allowlist entry matches; None if known only once it is found."""
        return None

    def check_allowed(self, handle: FaultHandle, policy: SafetyPolicy) -> None:
        refuse_production(handle, policy)
        if policy.allow is not None:
            declared = self.allow_name(policy.declared) if policy.declared is not None else None
            refuse_unlisted(handle, policy, platform=self.name, names=[declared])
        elif not self.opt_in:
            refuse_inline(handle, policy, platform=self.name)

    def lock_key(self, handle: FaultHandle) -> str:
        return handle.resource or f"{handle.kind}:{handle.target}"

    def holder(self, key: str, locks: LockBook) -> str | None:
        return locks.holder(key)


class NoPlatform(PlatformDefaults):
    """For a handle that names no platform (a driver written before platforms, or a test's fake): no allowlist
    can name it, so only production is refused, as before platforms."""

    name: ClassVar[str] = ""
    target_model: ClassVar[type[Target]] = Target

    def check_allowed(self, handle: FaultHandle, policy: SafetyPolicy) -> None:
        refuse_production(handle, policy)


# --- containers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mount:
    destination: str
    type: str
    source: str = ""


@dataclass(frozen=True)
class ContainerState:
    """One container as its runtime reports it now."""

    id: str
    name: str
    status: str
    """``running``, ``exited``, ``created``...; a paused one says ``paused`` (Docker) or ``running``, and ``paused``."""
    paused: bool = False
    health: str | None = None
    """``healthy``, ``unhealthy`` or ``starting``; None when the container has no health check."""
    labels: Mapping[str, str] = field(default_factory=dict)
    mounts: tuple[Mount, ...] = ()
    oom_killed: bool = False
    """The kernel's OOM killer ended its main process (Docker's State.OOMKilled), since it last started."""
    network_mode: str = ""
    """``host`` when it shares the host's network namespace (Docker's HostConfig.NetworkMode); "" if unknown."""
    started_at: str = ""
    """When it last started, as the runtime says (a restart changes it)."""
    finished_at: str = ""
    """When it last exited, as the runtime says ("" or the zero time when it never has)."""
    exit_code: int | None = None
    """Its main process' exit code when it last exited (137: SIGKILL, the OOM killer's too); None if unknown."""

    @property
    def serving(self) -> bool:
        """Running and not paused: its processes can answer."""
        return self.status == "running" and not self.paused


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str
    """stdout and stderr together, decoded, stripped."""


class ContainerRuntime(Protocol):
    """How a platform reaches a container: Docker's Engine API today, Kubernetes' exec API later, and an
    in-memory runtime for tests. Errors are gameday errors (TargetError for a container that is gone,
    an EnvironmentProblem for a runtime that cannot be reached, FaultError for a call it refused)."""

    def inspect(self, container_id: str) -> ContainerState: ...

    def exec(self, container_id: str, argv: Sequence[str], *, timeout: float, user: str = "0") -> ExecResult:
        """Run a command inside the container as ``user``; FaultError if it does not finish within ``timeout``."""
        ...

    def signal(self, container_id: str, signal: str) -> None:
        """Send a signal (``SIGKILL``) to the container's main process."""
        ...

    def stop(self, container_id: str, *, timeout: int) -> None: ...

    def start(self, container_id: str) -> None: ...

    def pause(self, container_id: str) -> None: ...

    def unpause(self, container_id: str) -> None: ...


DEFAULT_CPU_PERIOD = 100_000
"""Microseconds: the kernel's CFS period when a container sets none."""


@dataclass(frozen=True)
class ContainerResources:
    """A container's CPU and memory limits as its runtime holds them now, in the Engine API's units and with its
    meaning of 0: no limit of that kind (``memory_swap`` 0 with a memory limit: twice it; -1: unlimited)."""

    nano_cpus: int = 0
    cpu_quota: int = 0
    """Microseconds of CPU per period; 0 or -1: none."""
    cpu_period: int = 0
    """Microseconds; 0: the default (100 ms)."""
    memory: int = 0
    memory_swap: int = 0
    memory_reservation: int = 0

    @property
    def cpus(self) -> float | None:
        """The CPUs the container may use, as one number (``nano_cpus`` or quota/period); None for no limit."""
        if self.nano_cpus > 0:
            return self.nano_cpus / 1e9
        if self.cpu_quota > 0:
            return self.cpu_quota / (self.cpu_period or DEFAULT_CPU_PERIOD)
        return None


class ResourceRuntime(ContainerRuntime, Protocol):
    """A runtime that reads and changes a container's limits while it runs (Docker's ``update``)."""

    def resources(self, container_id: str) -> ContainerResources:
        """The limits as the runtime holds them now (a fresh read, never a cache)."""
        ...

    def update_resources(self, container_id: str, changes: Mapping[str, int]) -> None:
        """Change the named fields of ``ContainerResources`` in one call; a field left out is left as it is.
        FaultError if the runtime refuses (a limit below what the container uses, a value it cannot take)."""
        ...


@dataclass(frozen=True)
class FileContent:
    """One regular file inside a container: its bytes and the mode and owner it had."""

    data: bytes
    mode: int = 0o644
    uid: int = 0
    gid: int = 0


@runtime_checkable
class FileRuntime(ContainerRuntime, Protocol):
    """A runtime that reads and writes files inside a container without a shell there (Docker's archive API),
    running or stopped: clock_skew writes the env file the container's entrypoint reads at start."""

    def read_file(self, container_id: str, path: str) -> FileContent | None:
        """The file at ``path`` (following no link), or None when there is none; a folder is a FaultError."""
        ...

    def is_folder(self, container_id: str, path: str) -> bool:
        """Whether ``path`` is a folder in the container (following links)."""
        ...

    def write_file(self, container_id: str, path: str, content: FileContent) -> None:
        """Create or replace the file at ``path`` (its folder must exist) with these bytes, mode and owner."""
        ...


@runtime_checkable
class HostProcessRuntime(ContainerRuntime, Protocol):
    """A runtime whose containers run on this machine: their processes are in this machine's /proc, so
    their cgroups are this machine's (io_pressure writes the block IO throttle there)."""

    def host_pid(self, container_id: str) -> int:
        """The main process's pid as this machine sees it; 0 when the container is not running."""
        ...


@runtime_checkable
class ContainerPlatform(Platform, Protocol):
    """A platform whose targets are containers (Docker today; Compose and Kubernetes later)."""

    def find_container(self, target: Target, target_name: str, settings: Mapping[str, Any]) -> ContainerState:
        """The one container a target names; ``settings`` is the stack's section for this platform
        (``stack.docker`` for Docker). No side effect."""
        ...

    def address(self, container: ContainerState, settings: Mapping[str, Any]) -> dict[str, Any]:
        """What goes into ``FaultHandle.address`` so ``runtime`` reaches the container again after a crash."""
        ...

    def resource(self, container: ContainerState) -> str:
        """The lock key of one container, e.g. ``docker:<container id>``."""
        ...

    def runtime(self, address: Mapping[str, Any]) -> ContainerRuntime:
        """The runtime that reaches the container at this address (made or reused)."""
        ...


@runtime_checkable
class ResourcePlatform(ContainerPlatform, Protocol):
    """A container platform whose runtime changes limits in place (cpu_pressure and memory_pressure need it)."""

    def resource_runtime(self, address: Mapping[str, Any]) -> ResourceRuntime:
        """``runtime(address)``, as a runtime that also reads and changes limits."""
        ...


@runtime_checkable
class OwnContainerFaults(Platform, Protocol):
    """A platform whose containers a container fault must treat its own way: on Kubernetes a killed container is
    restarted by the kubelet (revert waits for that, it never starts one), and its id changes when it is. The
    container faults hand every call on such a target to the driver this returns."""

    def container_fault(self, kind: str) -> Any | None:
        """The driver (a ``FaultDriver``) of the container fault ``kind`` on this platform's targets; None when the
        platform has none for that kind (validate and plan then refuse it in one line)."""
        ...


@runtime_checkable
class FilePlatform(ContainerPlatform, Protocol):
    """A container platform whose runtime reads and writes files in a container (clock_skew needs it)."""

    def file_runtime(self, address: Mapping[str, Any]) -> FileRuntime:
        """``runtime(address)``, as a runtime that also reads and writes files."""
        ...


@runtime_checkable
class HostProcessPlatform(ContainerPlatform, Protocol):
    """A container platform whose containers run on this machine (io_pressure needs their cgroups here)."""

    def process_runtime(self, address: Mapping[str, Any]) -> HostProcessRuntime:
        """``runtime(address)``, as a runtime that also says a container's main pid on this machine."""
        ...


class CommandRunner(Protocol):
    """What a fault needs to run commands in a container, and nothing else (a ContainerRuntime is one)."""

    def exec(self, container_id: str, argv: Sequence[str], *, timeout: float, user: str = "0") -> ExecResult:
        """Run a command inside the container; FaultError if it does not finish within ``timeout``. A runner
        that cannot choose the user (Kubernetes' exec runs as the container's own) ignores ``user``."""
        ...


@dataclass(frozen=True)
class FoundContainer:
    """One container an ExecPlatform found for a target, with the handle's fields that reach it again."""

    state: ContainerState
    fields: dict[str, Any]
    """``FaultHandle(..., **fields)``: platform, resource (the lock), labels, address (with the container's
    ``id`` for the runner, and whatever the platform's safety check reads)."""
    ephemeral: bool = False
    """The path asked about (``find_exec_container``'s ``path``) lives and dies with the container's pod: its
    writable layer or a pod-scoped volume. A file left there is gone once the pod is."""


@runtime_checkable
class ExecPlatform(Platform, Protocol):
    """A platform whose containers gameday reaches only to run commands in (Kubernetes: ``exec`` through the API
    server); no lifecycle calls, so the container faults that stop or pause do not apply to it."""

    def find_exec_container(self, target: Target, target_name: str, stack: Any, *, path: str | None = None
                            ) -> FoundContainer:
        """The one running container a target names (``stack`` is the StackSpec: the platform's settings and
        where the stack file is); ``path``, when given, a path inside it the fault will write to. No side effect."""
        ...

    def exec_runner(self, address: Mapping[str, Any]) -> CommandRunner:
        """The runner that reaches the container at this handle address (after a crash too)."""
        ...

    def container_exists(self, address: Mapping[str, Any]) -> bool:
        """Whether the container the address names is still there (a pod replaced since is not)."""
        ...


@runtime_checkable
class ChecksExecTarget(Protocol):
    """Optional for an ExecPlatform: why a target can have no container to run a command in (a Kubernetes Node or
    Secret), None when it can; drivers that exec (disk_fill, revoke_credentials) report it at validate."""

    def exec_target_problem(self, target: Target, target_name: str) -> str | None: ...


def check_container_allowed(platform: PlatformDefaults, handle: FaultHandle, policy: SafetyPolicy, *,
                            hint: str = "") -> None:
    """Docker's rules, for every container platform: production refused; with a stack file, the container (as
    declared or as found) must be in its ``allow.<platform>``; in an inline stack it must carry the label."""
    refuse_production(handle, policy)
    if policy.allow is not None:
        declared = platform.allow_name(policy.declared) if policy.declared is not None else None
        found = handle.address.get("name")
        refuse_unlisted(handle, policy, platform=platform.name, names=[declared, str(found) if found else None],
                        what="container")
    else:
        refuse_unlabelled(handle, policy, what="container", hint=hint)


def container_handle_fields(platform: ContainerPlatform, container: ContainerState,
                            settings: Mapping[str, Any]) -> dict[str, Any]:
    """The explicit FaultHandle fields for a fault on one container: ``FaultHandle(..., **fields)``."""
    return {"platform": platform.name, "resource": platform.resource(container),
            "labels": dict(container.labels), "address": platform.address(container, settings)}
