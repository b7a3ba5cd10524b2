"""clock_skew: a container's wall clock offset (``offset: +2h``, ``-90s``) through libfaketime, by a restart.

A container's environment cannot change in place (Docker fixes it when the container is created), and
recreating the container would give it a new id and lose what its writable layer holds. So the target's
entrypoint does the one thing needed: it sources an env file at start when the file is there (three lines;
the demo stack's checkout does, ``files/checkout/entrypoint.sh``). The fault:

    inject   copies this machine's libfaketime (Debian's ``libfaketime``) into the env file's folder, checks it
             loads there, writes the env file (LD_PRELOAD, FAKETIME, FAKETIME_DONT_FAKE_MONOTONIC) and
             restarts the container: its main process starts with the clock offset
    revert   removes the env file (prepare refuses a container that has one already: it may hold secrets,
             and the journal is plain JSON) and the library, and restarts the container without them: the
             same container, its id, writable layer and volumes kept
    check    the live clock as the main process sees it: ``date`` run with PID 1's own preload variables
             (read from /proc/1/environ, and the library mapped in /proc/1/maps), compared with this machine's

Monotonic time is left alone (FAKETIME_DONT_FAKE_MONOTONIC): libfaketime 0.9.10 offsets it too, but does not
wrap ``sem_clockwait``, so a Python thread's timed wait under an offset clock of +2h waits two hours.
"""

from __future__ import annotations

import glob
import posixpath
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, field_validator

from gameday.errors import EnvironmentProblem, FaultError, RevertError, TargetError
from gameday.faults.base import FaultArgs, reverting
from gameday.faults.docker import wait_until_ready
from gameday.handle import FaultHandle
from gameday.platforms.base import FileContent, FilePlatform, FileRuntime, container_handle_fields
from gameday.platforms.registry import PlatformRegistry, installed_platforms
from gameday.scenario.durations import format_duration, parse_duration
from gameday.scenario.model import FaultSpec, StackSpec

LIBRARY_GLOB = "/usr/lib/*/faketime/libfaketime.so.1"
"""Where Debian's libfaketime puts the library (the multiarch folder)."""
DEFAULT_ENV_FILE = "/run/gameday/clock.env"
TOLERANCE_S = 5.0
"""How far the clock read may be from the one asked (an exec's own latency, and a busy machine's)."""
EXEC_TIMEOUT_S = 30.0
"""docker exec on a machine under load (load average 400 was seen here while several test runs shared it) is slow."""
READY_TIMEOUT_S = 120.0
PRELOAD_WAIT_S = 30.0
"""How long after the restart PID 1 may take to become the preloaded main process (an entrypoint's exec)."""
_OFFSET = re.compile(r"^\s*([+-]?)\s*(.+)$")


def parse_offset(value: str) -> float:
    """``+2h`` -> 7200.0, ``-90s`` -> -90.0; a ValueError fit for a user otherwise."""
    match = _OFFSET.match(value)
    if match is None:
        raise ValueError(f"cannot parse offset {value!r}: use a signed duration such as +2h or -90s")
    sign, rest = match.groups()
    seconds = parse_duration(rest)
    if seconds < 1:
        raise ValueError(f"offset {value!r} is under a second; libfaketime's offset is whole seconds")
    return -seconds if sign == "-" else seconds


def format_offset(seconds: float) -> str:
    return ("-" if seconds < 0 else "+") + format_duration(abs(seconds))


class ClockSkewArgs(FaultArgs):
    offset: str = Field(description="how far the container's wall clock is moved: a signed duration, +2h or -90s")
    env_file: str = Field(DEFAULT_ENV_FILE, description="the file the container's entrypoint sources at start "
                          "when it is there (set -a; . FILE); its folder must exist in the container")
    stop_timeout: int = Field(10, ge=0, le=300, description="seconds the restart waits for the container to stop "
                              "before SIGKILL")

    @field_validator("offset")
    @classmethod
    def _offset(cls, value: str) -> str:
        parse_offset(value)
        return value.strip()

    @field_validator("env_file")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/") or posixpath.normpath(value) != value or value.endswith("/"):
            raise ValueError(f"env_file must be an absolute, normalised file path in the container, got {value!r}")
        return value


def find_library() -> Path | None:
    found = sorted(glob.glob(LIBRARY_GLOB))
    return Path(found[0]) if found else None


class ClockSkew:
    """Restart a container with its wall clock offset by libfaketime; revert restarts it without."""

    kind: ClassVar[str] = "clock_skew"
    args_model: ClassVar[type[FaultArgs]] = ClockSkewArgs
    target_fields: ClassVar[tuple[str, ...]] = ("container", "labels")
    one_per_target: ClassVar[bool] = True
    """Restores a prior setting: two at once on one target would both read it (engine.safety)."""
    restarts_target: ClassVar[bool] = True
    """A restart undoes a fault that lives in the running container (engine.safety.shared_target_problems)."""
    target_platforms: ClassVar[tuple[type, ...]] = (FilePlatform,)
    """Platforms that write files into a container (Docker, Compose); Kubernetes is refused at validate."""

    def __init__(self, *, platforms: PlatformRegistry | None = None, library: Path | None = None,
                 now: Callable[[], float] = time.time) -> None:
        self._platforms = platforms
        self._library = library
        self._now = now  # this machine's wall clock, the one the target's is compared with

    def _platform(self, name: str, target: str) -> FilePlatform:
        platform = (self._platforms or installed_platforms()).containers(name, kind=self.kind, target=target)
        if not isinstance(platform, FilePlatform):
            raise TargetError(f"clock_skew writes a file into the container; platform '{name}' of target "
                              f"'{target}' cannot", target=target)
        return platform

    def _runtime(self, platform: str, target: str, address: dict[str, Any]) -> FileRuntime:
        return self._platform(platform, target).file_runtime(address)

    def _handle_runtime(self, handle: FaultHandle) -> tuple[FileRuntime, str]:
        return self._runtime(handle.platform, handle.target, handle.address), str(handle.address["id"])

    # --- prepare ------------------------------------------------------------------------------------

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        """Find the container, read the env file as it is now, and check what inject needs; changes nothing."""
        target = stack.targets[fault.target]
        platform = self._platform(target.platform, fault.target)
        settings = stack.platform_settings(target.platform)
        container = platform.find_container(target, fault.target, settings)
        fields = container_handle_fields(platform, container, settings)
        if not container.serving:
            raise TargetError(f"container {container.name} is {'paused' if container.paused else container.status}, "
                              "not running; clock_skew restarts a running container", target=fault.target,
                              resource=platform.resource(container))
        args = ClockSkewArgs.model_validate(fault.args)
        library = self._library or find_library()
        if library is None or not library.is_file():
            raise EnvironmentProblem("clock_skew needs libfaketime on this machine (apt-get install libfaketime; "
                                     f"looked for {LIBRARY_GLOB})")
        runtime = self._runtime(target.platform, fault.target, fields["address"])
        folder = posixpath.dirname(args.env_file)
        if not runtime.is_folder(container.id, folder):
            raise TargetError(f"clock_skew: {folder} is not a folder in container {container.name}; its entrypoint "
                              f"must source {args.env_file} at start (docs/faults.md)", target=fault.target)
        if runtime.read_file(container.id, args.env_file) is not None:
            # Refused rather than saved: the file may hold secrets, and a handle is journalled in plain JSON.
            raise TargetError(f"clock_skew: {args.env_file} already exists in container {container.name}; gameday "
                              "writes that file and removes it at revert, so it must not be there (a crashed run's? "
                              "`gameday cleanup` removes it)", target=fault.target)
        offset = parse_offset(args.offset)
        return FaultHandle(
            kind=self.kind, target=fault.target,
            description=(f"restart {container.name} with its wall clock {format_offset(offset)} (libfaketime "
                         f"preloaded through {args.env_file}, which its entrypoint sources); "
                         f"{'running and healthy' if container.health else 'running'} again after the restart"),
            data={"container_name": container.name, "has_healthcheck": container.health is not None,
                  "args": args.model_dump(), "offset_s": offset, "library_source": str(library),
                  "library": posixpath.join(folder, f"gameday-faketime-{secrets.token_hex(4)}.so.1")},
            **fields,
        )

    def describe_revert(self, handle: FaultHandle) -> str:
        return (f"{handle.data['args']['env_file']} and the library removed, and {handle.data['container_name']} restarted "
                "without libfaketime (the same container: its layer and volumes kept)")

    # --- inject -------------------------------------------------------------------------------------

    def inject(self, handle: FaultHandle) -> None:
        runtime, container_id = self._handle_runtime(handle)
        name = handle.data["container_name"]
        env_file = handle.data["args"]["env_file"]
        library = handle.data["library"]
        offset = float(handle.data["offset_s"])
        runtime.write_file(container_id, library,
                           FileContent(data=Path(handle.data["library_source"]).read_bytes(), mode=0o644))
        variables = _variables(library, offset)
        seen = self._clock_with(runtime, container_id, variables)
        if not _near(seen, offset):
            shown = "nothing" if seen is None else f"an offset of {round(sum(seen) / 2)} s"
            raise FaultError(f"libfaketime does not move the clock in container {name} (a glibc image is needed; "
                             f"date read {shown}); nothing restarted", target=handle.target)
        text = (f"# clock_skew, gameday run {handle.run_id or '-'} fault {handle.fault_id or '-'}: removed at revert\n"
                + "".join(f"{k}={v}\n" for k, v in variables.items()))
        runtime.write_file(container_id, env_file, FileContent(data=text.encode(), mode=0o644))
        self._restart(runtime, container_id, handle)
        if not self._preloaded_within(handle, PRELOAD_WAIT_S):
            raise FaultError(f"container {name} restarted, but its main process does not run with libfaketime: its "
                             f"entrypoint must source {env_file} at start (docs/faults.md)", target=handle.target)

    def _preloaded_within(self, handle: FaultHandle, seconds: float) -> bool:
        """check() until it holds: "running" can come while PID 1 is still the entrypoint's shell, before its exec."""
        deadline = time.monotonic() + seconds
        while not self.check(handle):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.25)
        return True

    def _restart(self, runtime: FileRuntime, container_id: str, handle: FaultHandle) -> None:
        name = handle.data["container_name"]
        if runtime.inspect(container_id).status in ("running", "restarting"):
            runtime.stop(container_id, timeout=int(handle.data["args"]["stop_timeout"]))
        runtime.start(container_id)
        wait_until_ready(runtime, container_id, name, healthcheck=bool(handle.data.get("has_healthcheck")),
                         timeout=READY_TIMEOUT_S)

    # --- check --------------------------------------------------------------------------------------

    def check(self, handle: FaultHandle) -> bool:
        """True while the container's main process reads a clock within 5 s of the offset asked (plus the exec's own time)."""
        runtime, container_id = self._handle_runtime(handle)
        if not runtime.inspect(container_id).serving:
            return False
        return _near(self.main_process_offset(runtime, container_id), float(handle.data["offset_s"]))

    def main_process_offset(self, runtime: FileRuntime, container_id: str) -> tuple[float, float] | None:
        """How far PID 1's wall clock is ahead of this machine's, as the range the reading allows: ``date`` run with
        PID 1's libfaketime variables, if it has the library mapped; (0, 0) for a process without it; None if it
        cannot be read."""
        environ = runtime.exec(container_id, ["cat", "/proc/1/environ"], timeout=EXEC_TIMEOUT_S)
        maps = runtime.exec(container_id, ["cat", "/proc/1/maps"], timeout=EXEC_TIMEOUT_S)
        if environ.exit_code != 0 or maps.exit_code != 0:
            return None
        pairs = (item.partition("=") for item in environ.output.split("\0"))
        variables = {k: v for k, _, v in pairs if k == "LD_PRELOAD" or k.startswith("FAKETIME")}
        preloads = [p for p in re.split(r"[ :]", variables.get("LD_PRELOAD", "")) if "faketime" in p]
        if not any(p in maps.output for p in preloads):
            return (0.0, 0.0)
        return self._clock_with(runtime, container_id, variables)

    def _clock_with(self, runtime: FileRuntime, container_id: str,
                    variables: dict[str, str]) -> tuple[float, float] | None:
        """The offset of ``date`` run with these variables, as a range: it ran somewhere between the two readings
        of this machine's clock (an exec on a busy machine can take seconds), and prints whole seconds."""
        before = self._now()
        result = runtime.exec(container_id, ["env", *(f"{k}={v}" for k, v in variables.items()), "date", "+%s"],
                              timeout=EXEC_TIMEOUT_S)
        after = self._now()
        try:
            seen = int(result.output.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return None
        return (seen - after, seen + 1 - before)

    # --- revert -------------------------------------------------------------------------------------

    def revert(self, handle: FaultHandle) -> None:
        """Remove the env file and the library, restart without libfaketime if the main process has it;
        then read all three again. Harmless twice, and from the journalled handle alone."""
        runtime, container_id = self._handle_runtime(handle)
        name = handle.data["container_name"]
        env_file = handle.data["args"]["env_file"]
        library = handle.data["library"]
        with reverting():
            if not runtime.inspect(container_id).serving:
                # It was running when prepared; exec (the file removal, the check) needs it running again.
                runtime.start(container_id)
                wait_until_ready(runtime, container_id, name, healthcheck=False, timeout=READY_TIMEOUT_S)
            self._remove(runtime, container_id, env_file, name)  # prepare saw none there: any is ours
            self._remove(runtime, container_id, library, name)
            if self._preloaded(runtime, container_id, library):
                self._restart(runtime, container_id, handle)
            else:
                wait_until_ready(runtime, container_id, name, healthcheck=bool(handle.data.get("has_healthcheck")),
                                 timeout=READY_TIMEOUT_S)
            if runtime.read_file(container_id, env_file) is not None:
                raise RevertError(f"clock_skew on {name}: {env_file} is still there", target=handle.target)
            if runtime.read_file(container_id, library) is not None or self._preloaded(runtime, container_id, library):
                raise RevertError(f"clock_skew on {name}: libfaketime is still there after the restart",
                                  target=handle.target)

    @staticmethod
    def _remove(runtime: FileRuntime, container_id: str, path: str, name: str) -> None:
        result = runtime.exec(container_id, ["rm", "-f", path], timeout=EXEC_TIMEOUT_S)
        if result.exit_code != 0:
            raise RevertError(f"cannot remove {path} in container {name}: {result.output[:200]}", target=name)

    @staticmethod
    def _preloaded(runtime: FileRuntime, container_id: str, library: str) -> bool:
        """The main process has this fault's library mapped (still, after the file is gone: "(deleted)")."""
        maps = runtime.exec(container_id, ["cat", "/proc/1/maps"], timeout=EXEC_TIMEOUT_S)
        if maps.exit_code != 0:
            raise RevertError(f"cannot read the main process's maps in container {container_id[:12]}: "
                              f"{maps.output[:200]}", target=container_id[:12])
        return library in maps.output


def _variables(library: str, offset: float) -> dict[str, str]:
    return {"LD_PRELOAD": library, "FAKETIME": f"{int(offset):+d}", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def _near(seen: tuple[float, float] | None, offset: float) -> bool:
    """The offset read (a range) is within TOLERANCE_S of the one asked."""
    return seen is not None and seen[0] - TOLERANCE_S <= offset <= seen[1] + TOLERANCE_S
