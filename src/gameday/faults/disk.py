"""``disk_fill``: fill a filesystem to a target, on a host path or inside a container.

One of three targets: ``percent_used`` (e.g. 95), ``free_left`` (e.g. ``8MB``) or ``write`` (bytes to
add). A safety floor is kept unless the scenario lowers it explicitly: at least ``floor_percent`` (1)
of the filesystem and ``floor_bytes`` (64MB) stay free. The host's root filesystem (and, in a
container, the container's root filesystem, whose writes land in Docker's storage on the host) is
never filled unless ``allow_root_filesystem: true``.

The fault creates one file named ``.gameday-fill-<token>`` in the target directory (fallocate, or
``dd`` where the filesystem cannot preallocate); its path is in the handle before it exists, so
revert deletes exactly that file and then checks the space came back, within ``revert_tolerance``
(default: the larger of 1 MiB and 1% of the filesystem).

Through the engine's observation hook this driver adds ``disk.usage`` events before, during and after
the fault (details in the event catalogue, gameday/events.py).
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import secrets
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from pydantic import Field, model_validator

from gameday import events as ev
from gameday.errors import FaultError, RevertError, TargetError
from gameday.faults.base import FaultArgs, os_errors, reverting
from gameday.handle import FaultHandle
from gameday.platforms.base import (
    CommandRunner,
    ContainerPlatform,
    ExecPlatform,
    Mount,
    Target,
    container_handle_fields,
)
from gameday.platforms.registry import PlatformRegistry, installed_platforms
from gameday.platforms.resources import HostPlatform, HostTarget
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.scenario.sizes import Size, format_size

FILL_PREFIX = ".gameday-fill-"
DEFAULT_FLOOR_BYTES = 64 * 1000**2
DEFAULT_FLOOR_PERCENT = 1.0
_CHUNK = 1024 * 1024
EXEC_TIMEOUT = 30.0
"""How long a stat, test or rm inside a container may take."""
FILL_TIMEOUT = 600.0
"""How long writing the fill file inside a container may take (dd writes real blocks where fallocate cannot)."""


class DiskFillArgs(FaultArgs):
    path: str | None = Field(None, description="directory inside the container (container targets only)")
    percent_used: float | None = Field(None, gt=0, le=100, description="fill until the filesystem is this % used")
    free_left: Size | None = Field(None, description="fill until only this much is free, e.g. 8MB")
    write: Size | None = Field(None, description="write this much, e.g. 100MB")
    floor_percent: float = Field(DEFAULT_FLOOR_PERCENT, ge=0, le=100, description="always keep this % free")
    floor_bytes: Size = Field(DEFAULT_FLOOR_BYTES, description="always keep this much free")
    allow_root_filesystem: bool = Field(False, description="allow filling the filesystem of / (host or container)")
    revert_tolerance: Size | None = Field(None, description="space that may stay missing after revert")

    @model_validator(mode="after")
    def _one_goal(self) -> DiskFillArgs:
        chosen = [k for k in ("percent_used", "free_left", "write") if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise ValueError(
                "give exactly one of percent_used, free_left, write" + (f" (got {', '.join(chosen)})" if chosen else "")
            )
        return self

    def goal(self) -> str:
        if self.percent_used is not None:
            return f"{self.percent_used:g}% used"
        if self.free_left is not None:
            return f"{format_size(self.free_left)} free"
        return f"+{format_size(self.write)}"


@dataclass(frozen=True)
class Usage:
    """A filesystem's space, as statvfs says: ``free`` is what an unprivileged writer may still use."""

    size: int
    used: int
    free: int

    @property
    def percent_used(self) -> float:
        # df's definition: used / (used + available), so reserved blocks do not count as free.
        total = self.used + self.free
        return 100.0 if total == 0 else round(100.0 * self.used / total, 2)

    def to_json(self) -> dict[str, Any]:
        return {"size_bytes": self.size, "used_bytes": self.used, "free_bytes": self.free,
                "percent_used": self.percent_used}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Usage:
        return cls(size=int(raw["size_bytes"]), used=int(raw["used_bytes"]), free=int(raw["free_bytes"]))


def plan_fill(usage: Usage, args: DiskFillArgs, *, block: int = 4096) -> int:
    """Bytes to write to reach the goal, whole blocks; raises FaultError if that crosses the floor."""
    floor = max(args.floor_bytes, math.ceil(args.floor_percent / 100.0 * usage.size))
    floor_text = f"{format_size(floor)} (floor_percent {args.floor_percent:g}%, floor_bytes {format_size(args.floor_bytes)})"
    if usage.free <= floor and (floor > 0 or usage.free == 0):
        raise FaultError(
            f"only {format_size(usage.free)} free ({usage.percent_used:g}% used), already at or past the safety "
            f"floor of {floor_text}; nothing done"
        )
    if args.write is not None:
        want = args.write
    elif args.free_left is not None:
        want = usage.free - args.free_left
    else:
        assert args.percent_used is not None
        want = math.ceil(args.percent_used / 100.0 * (usage.used + usage.free)) - usage.used
    want -= want % max(block, 1)
    if want <= 0:
        raise FaultError(
            f"already {usage.percent_used:g}% used with {format_size(usage.free)} free: the goal {args.goal()} "
            "needs nothing written; nothing done"
        )
    if usage.free - want < floor:
        raise FaultError(
            f"filling to {args.goal()} would leave {format_size(usage.free - want)} free, below the safety floor of "
            f"{floor_text}; lower floor_bytes / floor_percent in the scenario to go further; nothing done"
        )
    return want


class Filesystem(Protocol):
    """Where the fill happens: a host directory or a directory inside a container."""

    where: str

    def usage(self, path: str) -> Usage: ...

    def block_size(self, path: str) -> int: ...

    def device(self, path: str) -> str: ...

    def is_dir(self, path: str) -> bool: ...

    def exists(self, path: str) -> bool: ...

    def writable(self, path: str) -> bool: ...

    def file_size(self, path: str) -> int | None: ...

    def fill(self, path: str, nbytes: int) -> None: ...

    def remove(self, path: str) -> None: ...


class HostFilesystem:
    def __init__(self, target: str, *, reverting: bool = False) -> None:
        self.target = target
        self.where = "host"
        self.reverting = reverting

    def _stat(self, path: str) -> os.statvfs_result:
        with os_errors(self.target, f"cannot read the filesystem of {path}", reverting=self.reverting):
            return os.statvfs(path)

    def usage(self, path: str) -> Usage:
        st = self._stat(path)
        return Usage(size=st.f_blocks * st.f_frsize, used=(st.f_blocks - st.f_bfree) * st.f_frsize,
                     free=st.f_bavail * st.f_frsize)

    def block_size(self, path: str) -> int:
        return int(self._stat(path).f_frsize)

    def device(self, path: str) -> str:
        with os_errors(self.target, f"cannot stat {path}", reverting=self.reverting):
            return str(os.stat(path).st_dev)

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)

    def writable(self, path: str) -> bool:
        return os.access(path, os.W_OK | os.X_OK)

    def file_size(self, path: str) -> int | None:
        try:
            return os.lstat(path).st_size
        except FileNotFoundError:
            return None

    def fill(self, path: str, nbytes: int) -> None:
        with os_errors(self.target, f"cannot create {path}"):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            try:
                os.posix_fallocate(fd, 0, nbytes)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSPC):
                    raise
                _write_zeros(fd, nbytes)  # the filesystem cannot preallocate: write real blocks
            os.fsync(fd)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:  # a full disk is the point; anything else is a failure
                raise FaultError(f"cannot fill {path}: {exc.strerror}", target=self.target) from exc
        finally:
            os.close(fd)

    def remove(self, path: str) -> None:
        with os_errors(self.target, f"cannot delete {path}", reverting=True), contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _write_zeros(fd: int, nbytes: int) -> None:
    zeros = bytes(_CHUNK)
    left = nbytes
    os.lseek(fd, 0, os.SEEK_SET)
    while left > 0:
        left -= os.write(fd, zeros[: min(left, _CHUNK)])


class ContainerFilesystem:
    """A directory inside a running container, reached through its platform's runtime (``exec`` of
    busybox/coreutils tools), so Docker's containers and Kubernetes' pods fill the same way."""

    def __init__(self, runtime: CommandRunner, container_id: str, name: str, target: str, *,
                 reverting: bool = False) -> None:
        self.runtime = runtime
        self.container_id = container_id
        self.target = target
        self.where = f"container {name}"
        self.reverting = reverting

    def _exec(self, argv: list[str], *, timeout: float = EXEC_TIMEOUT) -> tuple[int, str]:
        code, out = self._run(argv, timeout)
        if code in (126, 127) and "executable file not found" in out:
            # A busybox image without the applet's symlink: ask busybox itself.
            busybox_code, busybox_out = self._run(["busybox", *argv], timeout)
            if "executable file not found" not in busybox_out:
                return busybox_code, busybox_out
        return code, out

    def _run(self, argv: list[str], timeout: float) -> tuple[int, str]:
        if self.reverting:
            with reverting():
                result = self.runtime.exec(self.container_id, argv, timeout=timeout, user="0")
        else:
            result = self.runtime.exec(self.container_id, argv, timeout=timeout, user="0")
        return result.exit_code, result.output
    def _must(self, argv: list[str], what: str) -> str:
        code, out = self._exec(argv)
        if code != 0:
            error_cls = RevertError if self.reverting else FaultError
            raise error_cls(f"{what} in {self.where}: {' '.join(out.split())[:200] or f'exit {code}'}",
                            target=self.target)
        return out

    def _statfs(self, path: str) -> list[int]:
        out = self._must(["stat", "-f", "-c", "%S %b %f %a", path], f"cannot read the filesystem of {path}")
        try:
            return [int(x) for x in out.split()[:4]]
        except ValueError as exc:
            raise FaultError(f"unexpected `stat -f` output in {self.where}: {out[:100]}", target=self.target) from exc

    def usage(self, path: str) -> Usage:
        frsize, blocks, bfree, bavail = self._statfs(path)
        return Usage(size=blocks * frsize, used=(blocks - bfree) * frsize, free=bavail * frsize)

    def block_size(self, path: str) -> int:
        return self._statfs(path)[0]

    def device(self, path: str) -> str:
        return self._must(["stat", "-c", "%d", path], f"cannot stat {path}")

    def _test(self, flag: str, path: str) -> bool:
        # The shell's builtin test: minimal images have sh but not always a test binary. The path is
        # passed as an argument, never spliced into the script.
        return self._exec(["sh", "-c", f'test {flag} "$1"', "sh", path])[0] == 0

    def is_dir(self, path: str) -> bool:
        return self._test("-d", path)

    def exists(self, path: str) -> bool:
        return self._test("-e", path)

    def writable(self, path: str) -> bool:
        return self._test("-w", path)

    def file_size(self, path: str) -> int | None:
        code, out = self._exec(["stat", "-c", "%s", path])
        return int(out) if code == 0 and out.isdigit() else None

    def fill(self, path: str, nbytes: int) -> None:
        code, out = self._exec(["fallocate", "-l", str(nbytes), path], timeout=FILL_TIMEOUT)
        if code == 0:
            return
        # No preallocation here (or no fallocate binary): write zeros; a full disk ends dd, which is fine.
        self._exec(["rm", "-f", "--", path])
        code, out = self._exec(["dd", "if=/dev/zero", f"of={path}", "bs=4096", f"count={nbytes // 4096}"],
                               timeout=FILL_TIMEOUT)
        if code != 0 and "space" not in out.lower():
            raise FaultError(f"cannot fill {path} in {self.where}: {' '.join(out.split())[:200]}", target=self.target)

    def remove(self, path: str) -> None:
        self._must(["rm", "-f", "--", path], f"cannot delete {path}")


def _refuse_host_root_mount(mounts: tuple[Mount, ...], path: str, target: str) -> None:
    """A bind mount or volume in a container may sit on the host's root filesystem: refuse that too."""
    covering = [m for m in mounts if path == m.destination or path.startswith(m.destination.rstrip("/") + "/")]
    if not covering:
        return
    mount = max(covering, key=lambda m: len(m.destination))
    if mount.type not in ("bind", "volume"):
        return  # tmpfs and the like live in memory; a Kubernetes claim is storage of its own
    source = mount.source
    try:
        on_root = os.stat(source).st_dev == os.stat("/").st_dev
    except OSError:
        raise FaultError(
            f"{path} is a {mount.type} mount of {source or '?'}, which is not visible from here to check it is "
            "not on the host's root filesystem; set allow_root_filesystem: true if it is safe", target=target,
        ) from None
    if on_root:
        raise FaultError(
            f"{path} is a {mount.type} mount of {source}, on the host's root filesystem; refusing to fill it "
            "unless the scenario sets allow_root_filesystem: true", target=target,
        )


class DiskFill:
    """Fill a filesystem to a goal; revert deletes exactly the file it made and checks the space is back."""

    kind: ClassVar[str] = "disk_fill"
    args_model: ClassVar[type[FaultArgs]] = DiskFillArgs
    target_fields: ClassVar[tuple[str, ...]] = ("container", "labels", "path")
    target_platforms: ClassVar[tuple[type, ...]] = (ContainerPlatform, HostPlatform, ExecPlatform)

    def __init__(self, *, platforms: PlatformRegistry | None = None) -> None:
        self._platforms = platforms

    # --- where ------------------------------------------------------------------------------

    def _container_platform(self, name: str, target: str) -> ContainerPlatform:
        return (self._platforms or installed_platforms()).containers(name, kind=self.kind, target=target)

    def target_problems(self, target: Target, target_name: str, args: FaultArgs) -> list[tuple[str, str]]:
        """What validate can tell without the target: a platform's target that has no container to exec in."""
        problem = (self._platforms or installed_platforms()).exec_target_problem(target, target_name)
        return [("target", problem)] if problem else []

    def _exec_platform(self, name: str, target: str) -> ExecPlatform:
        platform = (self._platforms or installed_platforms()).get(name)
        if not isinstance(platform, ExecPlatform):
            raise FaultError(f"platform '{name}' of target '{target}' runs no commands in containers", target=target)
        return platform

    def _filesystem(self, handle: FaultHandle, *, reverting: bool = False) -> Filesystem:
        data = handle.data
        if data["where"] == "host":
            return HostFilesystem(data["target"], reverting=reverting)
        if data["where"] == "pod":
            runner = self._exec_platform(handle.platform, handle.target).exec_runner(handle.address)
            return ContainerFilesystem(runner, str(handle.address["id"]), data["container_name"], data["target"],
                                       reverting=reverting)
        runtime = self._container_platform(handle.platform, handle.target).runtime(handle.address)
        return ContainerFilesystem(runtime, str(handle.address["id"]), data["container_name"], data["target"],
                                   reverting=reverting)

    # --- lifecycle ----------------------------------------------------------------------------

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        """Resolve the directory, measure it and check the goal against the floor; changes nothing."""
        target = stack.targets[fault.target]
        args = DiskFillArgs.model_validate(fault.args)
        name = fault.target
        data: dict[str, Any] = {"target": name, "args": args.model_dump()}
        fields: dict[str, Any]
        fs: Filesystem
        mounts: tuple[Mount, ...] = ()
        platform = (self._platforms or installed_platforms()).get(target.platform)
        if isinstance(target, HostTarget):
            if args.path is not None:
                raise FaultError(f"target '{name}' is a host path ({target.path}); args.path is for containers only",
                                 target=name)
            path = os.path.abspath(target.path)
            fs = HostFilesystem(name)
            data.update(where="host")
            fields = {"platform": target.platform}
        elif isinstance(platform, ContainerPlatform):
            if not args.path:
                raise FaultError(f"disk_fill on container target '{name}' needs args.path (a directory inside it)",
                                 target=name)
            if not args.path.startswith("/"):
                raise FaultError(f"args.path must be absolute inside the container, got '{args.path}'", target=name)
            settings = stack.platform_settings(target.platform)
            container = platform.find_container(target, name, settings)
            if container.status != "running":
                raise TargetError(f"container {container.name} is not running; cannot fill a disk in it", target=name)
            path = os.path.normpath(args.path)
            fields = container_handle_fields(platform, container, settings)
            fs = ContainerFilesystem(platform.runtime(fields["address"]), container.id, container.name, name)
            mounts = container.mounts
            data.update(where="container", container_name=container.name)
        elif isinstance(platform, ExecPlatform):
            for _, problem in self.target_problems(target, name, args)[:1]:
                raise TargetError(problem, target=name)
            if not args.path or not args.path.startswith("/"):
                raise FaultError(f"disk_fill on target '{name}' needs args.path, an absolute directory inside its "
                                 "container", target=name)
            path = os.path.normpath(args.path)
            found = platform.find_exec_container(target, name, stack, path=path)
            if found.state.status != "running":
                raise TargetError(f"container {found.state.name} is not running; cannot fill a disk in it", target=name)
            fields = dict(found.fields)
            fs = ContainerFilesystem(platform.exec_runner(fields["address"]), found.state.id, found.state.name, name)
            mounts = found.state.mounts
            # A file on a pod's own volume (or its writable layer) goes with the pod: a revert that finds the pod
            # replaced has nothing left to delete.
            data.update(where="pod", container_name=found.state.name, ephemeral=found.ephemeral)
        else:
            raise FaultError(f"disk_fill acts on a container or a host path; '{name}' has {target.selector}",
                             target=name)

        if not fs.exists(path):
            raise TargetError(f"{path} does not exist ({fs.where})", target=name)
        if not fs.is_dir(path):
            raise TargetError(f"{path} is not a directory ({fs.where}); disk_fill needs a directory", target=name)
        if not fs.writable(path):
            raise FaultError(f"no permission to write in {path} ({fs.where})", target=name)
        if not args.allow_root_filesystem and fs.device(path) == fs.device("/"):
            where = {"host": "the host's root filesystem",
                     "pod": "the container's root filesystem (its writes land in the node's container storage)",
                     }.get(data["where"], "the container's root filesystem (its writes land in Docker's storage on "
                                          "the host)")
            raise FaultError(
                f"{path} is on {where}; refusing to fill it unless the scenario sets allow_root_filesystem: true",
                target=name,
            )
        if data["where"] in ("container", "pod") and not args.allow_root_filesystem:
            _refuse_host_root_mount(mounts, path, name)
        usage = fs.usage(path)
        planned = plan_fill(usage, args, block=fs.block_size(path))
        if data["where"] == "host":
            fields["resource"] = HostPlatform.filesystem_resource(fs.device(path))
        fill_file = f"{path.rstrip('/')}/{FILL_PREFIX}{secrets.token_hex(6)}"
        data.update(path=path, files=[fill_file], before=usage.to_json(), planned_bytes=planned)
        where = "" if data["where"] == "host" else f" in {data['container_name']}"
        return FaultHandle(
            kind=self.kind,
            target=name,
            description=(
                f"fill {path}{where} to {args.goal()}: write {format_size(planned)} "
                f"({usage.percent_used:g}% used, {format_size(usage.free)} free before)"
            ),
            data=data,
            **fields,
        )

    def inject(self, handle: FaultHandle) -> None:
        """Measure again (the disk may have changed since prepare) and write the fill file."""
        data = handle.data
        args = DiskFillArgs.model_validate(data["args"])
        fs = self._filesystem(handle)
        path = data["path"]
        nbytes = plan_fill(fs.usage(path), args, block=fs.block_size(path))
        for fill_file in data["files"]:
            if fs.exists(fill_file):
                continue  # injected already (a retried inject must not fill twice)
            fs.fill(fill_file, nbytes)

    def check(self, handle: FaultHandle) -> bool:
        fs = self._filesystem(handle)
        return all(fs.exists(f) for f in handle.data["files"])

    def describe_revert(self, handle: FaultHandle) -> str:
        files = ", ".join(handle.data["files"])
        gone = " (nothing to do if the pod was replaced meanwhile: the file went with it)" \
            if handle.data.get("ephemeral") else ""
        return f"delete {files} (only the file it wrote) and check the free space is back{gone}"

    def revert(self, handle: FaultHandle) -> None:
        """Delete exactly the files this fault made; then the free space must be back within tolerance."""
        data = handle.data
        if data.get("ephemeral") and not self._exec_platform(handle.platform, handle.target).container_exists(
                handle.address):
            return  # the pod is gone (or replaced), and the file with it: its volume was the pod's own
        fs = self._filesystem(handle, reverting=True)
        path = data["path"]
        for fill_file in data["files"]:
            if not os.path.basename(fill_file).startswith(FILL_PREFIX):
                raise RevertError(f"refusing to delete {fill_file}: not a gameday fill file", target=handle.target)
            fs.remove(fill_file)
        left = [f for f in data["files"] if fs.exists(f)]
        if left:
            raise RevertError(f"{', '.join(left)} still exist(s) after delete ({fs.where})", target=handle.target)
        before = Usage.from_json(data["before"])
        now = fs.usage(path)
        args = DiskFillArgs.model_validate(data["args"])
        tolerance = args.revert_tolerance if args.revert_tolerance is not None else max(1024 * 1024, before.size // 100)
        if now.free < before.free - tolerance:
            raise RevertError(
                f"{path} ({fs.where}): fill file deleted but only {format_size(now.free)} free, "
                f"{format_size(before.free)} before (tolerance {format_size(tolerance)}); "
                "is a process holding the deleted file open?",
                target=handle.target,
            )

    # --- what the report shows ----------------------------------------------------------------

    def observations(self, handle: FaultHandle, phase: str) -> list[tuple[str, dict[str, Any]]]:
        """One ``disk.usage`` event for the engine to record at this phase (before, during, after)."""
        data = handle.data
        if data.get("ephemeral") and not self._exec_platform(handle.platform, handle.target).container_exists(
                handle.address):
            return []  # the pod was replaced: what its volume held is gone, and its replacement is another volume
        fs = self._filesystem(handle, reverting=phase == "after")
        usage = fs.usage(data["path"])
        fill = sum(fs.file_size(f) or 0 for f in data["files"])
        return [(
            ev.DISK_USAGE,
            {"target": handle.target, "where": fs.where, "path": data["path"], "phase": phase, **usage.to_json(),
             "fill_bytes": fill},
        )]
