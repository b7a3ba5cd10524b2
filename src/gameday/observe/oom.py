"""OOM kills of the scenario's containers, in the timeline: what ``expect.oom_kills`` is judged by.

An observer (entry point ``oom``), wanted when a scenario expects or forbids an OOM kill (``expect.oom_kills``)
or puts a container under ``memory_pressure``. From the steady-state phase until after recovery it reads each
such container every quarter second, two ways:

    runtime   Docker's ``State.OOMKilled`` with the exit it came with (``FinishedAt``, exit code 137): the main
              process was ended by the OOM killer. An exit already there when the watch began is not counted
    kernel    ``oom_kill`` of the container's memory cgroup (``memory.oom_control`` on cgroup v1,
              ``memory.events`` on v2), read through its main process in /proc: it also counts a kill of
              another process, when the container runs on. A restart makes a new cgroup, counted from its start

Each new kill is one ``container.oom_killed`` event, so the verdict (scoring/expectations.py) is a pure function
of the timeline. A kill and the revert's restart within one read (a quarter second) can hide the runtime's
record when the kill ends the main process; the kernel's count is read in the same pass while it runs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from gameday import events as ev
from gameday.contracts import Role, RunContext
from gameday.errors import GamedayError
from gameday.platforms.base import ContainerRuntime, ContainerState, HostProcessRuntime
from gameday.scenario.model import Scenario
from gameday.scoring.expectations import Verdict
from gameday.timeline import Event, Timeline

INTERVAL_S = 0.25
CGROUP_ROOT = Path("/sys/fs/cgroup")


def watched_targets(scenario: Scenario) -> list[str]:
    """The targets whose OOM kills the run records: those expect.oom_kills names, and memory_pressure's."""
    names = [e.target for e in scenario.expect.oom_kills]
    names += [f.target for f in scenario.faults if f.kind == "memory_pressure"]
    return list(dict.fromkeys(names))


def kernel_oom_kills(pid: int, container_id: str) -> int | None:
    """The ``oom_kill`` count of the memory cgroup of process ``pid``, if that cgroup names the container (so a pid
    reused by another process is never read as it) and the kernel says; None otherwise."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if container_id not in path:
            continue
        if "memory" in controllers.split(","):
            where, name = CGROUP_ROOT / "memory" / path.lstrip("/"), "memory.oom_control"
        elif controllers == "" and (CGROUP_ROOT / "cgroup.controllers").exists():  # cgroup v2 only
            where, name = CGROUP_ROOT / path.lstrip("/"), "memory.events"
        else:
            continue
        try:
            text = (where / name).read_text()
        except OSError:
            return None
        for row in text.splitlines():
            key, _, value = row.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
    return None


@dataclass
class _Watch:
    target: str
    name: str
    container_id: str
    runtime: ContainerRuntime
    first_finish: str
    """The exit the container had when the watch began: not a kill of this run."""
    seen_finishes: set[str] = field(default_factory=set)
    kernel: dict[str, int] = field(default_factory=dict)
    """The last oom_kill count read, per start of the container (each start has a cgroup of its own)."""
    errors: set[str] = field(default_factory=set)


class OomObserver:
    """Records the OOM kills of the scenario's containers (entry point group gameday.observers)."""

    name = "oom"
    role: Role = "watches"
    order = 25

    @staticmethod
    def wanted(scenario: Scenario) -> bool:
        return bool(watched_targets(scenario))

    def __init__(self) -> None:
        self._timeline: Timeline | None = None
        self._watches: list[_Watch] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, ctx: RunContext) -> None:
        if ctx.simulated:
            return  # a tabletop breaks nothing
        from gameday.platforms.registry import installed_platforms

        stack = ctx.scenario.stack
        platforms = installed_platforms()
        listed = []
        for target in watched_targets(ctx.scenario):
            spec = stack.targets.get(target)
            if spec is None:
                continue
            try:
                platform = platforms.containers(spec.platform, kind="expect.oom_kills", target=target)
                settings = stack.platform_settings(spec.platform)
                container = platform.find_container(spec, target, settings)
                runtime = platform.runtime(platform.address(container, settings))
            except GamedayError as exc:
                ctx.timeline.record(ev.OOM_WATCH_FAILED, target=target, error=str(exc))
                continue
            watch = _Watch(target, container.name, container.id, runtime, container.finished_at)
            kernel = self._kernel(watch, container)
            if kernel is not None:
                watch.kernel[container.started_at] = kernel
            self._watches.append(watch)
            listed.append({"target": target, "container": container.name, "kernel": kernel is not None})
        ctx.timeline.record(ev.OOM_WATCHING, targets=listed, interval_s=INTERVAL_S)
        self._timeline = ctx.timeline
        self._thread = threading.Thread(target=self._loop, name="gameday-oom", daemon=True)
        self._thread.start()

    def _kernel(self, watch: _Watch, state: ContainerState) -> int | None:
        if state.status != "running" or not isinstance(watch.runtime, HostProcessRuntime):
            return None
        try:
            pid = watch.runtime.host_pid(watch.container_id)
        except GamedayError:
            return None
        return kernel_oom_kills(pid, watch.container_id) if pid > 0 else None

    def _loop(self) -> None:
        while not self._stop.wait(INTERVAL_S):
            self._read_all()

    def _read_all(self) -> None:
        for watch in self._watches:
            try:
                self._read(watch)
            except GamedayError as exc:
                if str(exc) not in watch.errors and self._timeline is not None:
                    watch.errors.add(str(exc))
                    self._timeline.record(ev.OOM_WATCH_FAILED, target=watch.target, error=str(exc))

    def _read(self, watch: _Watch) -> None:
        timeline = self._timeline
        assert timeline is not None
        state = watch.runtime.inspect(watch.container_id)
        kernel = self._kernel(watch, state)
        if kernel is not None:
            before = watch.kernel.setdefault(state.started_at, kernel)
            if kernel > before:
                timeline.record(ev.CONTAINER_OOM_KILLED, target=watch.target, container=watch.name, source="kernel",
                                kills=kernel - before, status=state.status)
                watch.kernel[state.started_at] = kernel
        finish = state.finished_at
        if (state.oom_killed and finish and finish != watch.first_finish and finish not in watch.seen_finishes
                and not finish.startswith("0001-")):
            watch.seen_finishes.add(finish)
            timeline.record(ev.CONTAINER_OOM_KILLED, target=watch.target, container=watch.name, source="runtime",
                            exit_code=state.exit_code, finished_at=finish, status=state.status)

    def on_phase(self, phase: str) -> None:
        return None

    def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._thread = None  # stop is called twice (after recovery, and in the run's finally)
        self._stop.set()
        thread.join(timeout=10)
        self._read_all()  # one last read: a kill the revert's restart followed is still in State

    def verdicts(self, scenario: Scenario, events: list[Event]) -> list[Verdict]:
        return []
