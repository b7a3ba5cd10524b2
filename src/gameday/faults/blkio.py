"""io_pressure: a container's block IO throttled by the kernel (cgroup v1 ``blkio.throttle.*``).

Docker cannot do it in place here: its update call answers 200 to ``BlkioDeviceReadBps``/``WriteBps`` and
changes nothing (those are set only at create), and it discards a blkio weight. The kernel can: the
container's blkio cgroup has ``blkio.throttle.{read,write}_{bps,iops}_device``, one ``MAJOR:MINOR value``
line per device. So this driver writes them itself, for the one disk under a path of the container (its
root filesystem by default: the disk under overlayfs' upper folder; or a volume's):

    prepare  finds the container's blkio cgroup through its main process (/proc/<pid>/cgroup: the folder
             must name the container's id), the disk (a partition counts as its whole disk: the throttle
             lives on the disk's queue) and the lines those four files hold for it now: the prior limits
    inject   writes ``MAJOR:MINOR value`` to each file asked
    revert   writes the prior value back, or ``MAJOR:MINOR 0`` (no rule) where there was none, and reads the
             files again; a container restarted meanwhile has a new cgroup with only its own configured
             limits, which are the prior ones, so nothing is written
    check    the four files: our values are there

Only the container's own IO waits: nothing else on the machine shares its cgroup, and a throttle burns no
CPU. What cgroup v1 throttles is IO the container's processes issue: direct IO, reads that miss the page
cache, and writes they sync (fsync, O_SYNC); background writeback of dirty pages is the kernel's, not theirs,
and page-cache hits are not IO at all. cgroup v2 (``io.max``) is not implemented: this machine has v1, so
it could not be tested; prepare refuses it saying so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, model_validator

from gameday.errors import EnvironmentProblem, RevertError, TargetError
from gameday.faults.base import FaultArgs, os_errors, reverting
from gameday.handle import FaultHandle
from gameday.platforms.base import HostProcessPlatform, container_handle_fields
from gameday.platforms.registry import PlatformRegistry, installed_platforms
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.scenario.sizes import Size, format_size

BLKIO_ROOT = Path("/sys/fs/cgroup/blkio")
MIN_BPS = 64 * 1024
"""Below this a container could not even page its own binaries in (an exec, a health check) in time."""
MIN_IOPS = 10
FILES = {"read_bps": "blkio.throttle.read_bps_device", "write_bps": "blkio.throttle.write_bps_device",
         "read_iops": "blkio.throttle.read_iops_device", "write_iops": "blkio.throttle.write_iops_device"}


class IoPressureArgs(FaultArgs):
    read_bps: Size | None = Field(None, description="bytes per second the container may read from the disk, e.g. 1MiB")
    write_bps: Size | None = Field(None, description="bytes per second it may write, e.g. 512KiB")
    read_iops: int | None = Field(None, ge=MIN_IOPS, le=10_000_000, description="read operations per second")
    write_iops: int | None = Field(None, ge=MIN_IOPS, le=10_000_000, description="write operations per second")
    path: str = Field("/", description="a path in the container: the disk under its filesystem is throttled "
                      "(default /, the container's own layer; a volume's mount point for its disk)")

    @model_validator(mode="after")
    def _some_limit(self) -> IoPressureArgs:
        asked = self.limits()
        if not asked:
            raise ValueError("io_pressure needs at least one of read_bps, write_bps, read_iops, write_iops")
        for name in ("read_bps", "write_bps"):
            if name in asked and asked[name] < MIN_BPS:
                raise ValueError(f"{name} {format_size(asked[name])}/s is below the floor of 64KiB/s")
        if not self.path.startswith("/"):
            raise ValueError(f"path must be absolute in the container, got {self.path!r}")
        return self

    def limits(self) -> dict[str, int]:
        return {name: int(value) for name in FILES if (value := getattr(self, name)) is not None}


def parse_throttle(text: str) -> dict[str, int]:
    """``254:0 1048576`` lines -> {"254:0": 1048576}."""
    rules = {}
    for line in text.splitlines():
        device, _, value = line.strip().partition(" ")
        if device and value.strip().isdigit():
            rules[device] = int(value)
    return rules


def _mountinfo_entry(pid: int, device: str) -> tuple[str, str]:
    """The filesystem type and super options of the mount whose device is ``device`` in the process's namespace."""
    for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[2] == device and "-" in fields:
            dash = fields.index("-")
            return fields[dash + 1], fields[dash + 3] if len(fields) > dash + 3 else ""
    return "", ""


def whole_disk(device: str) -> str:
    """A partition's disk (``254:1`` -> ``254:0``): blk-throttle limits a disk's queue, not a partition."""
    sys_dev = Path("/sys/dev/block") / device
    if (sys_dev / "partition").exists():
        return (sys_dev.resolve().parent / "dev").read_text().strip()
    return device


def disk_under(pid: int, path: str, target: str) -> tuple[str, str]:
    """``(MAJOR:MINOR of the disk, what it is)`` under ``path`` as the container's main process sees it."""
    st = os.stat(f"/proc/{pid}/root{path}")
    device = f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
    fstype, options = _mountinfo_entry(pid, device)
    if fstype == "overlay":
        upper = next((o.partition("=")[2] for o in options.split(",") if o.startswith("upperdir=")), "")
        if not upper:
            raise TargetError(f"io_pressure: cannot find the upper folder of the overlay under {path}", target=target)
        st = os.stat(upper)
        device, what = f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}", f"the disk under {upper}"
    else:
        what = f"the {fstype or 'filesystem'} at {path}"
    if os.major(int(st.st_dev)) == 0:
        raise TargetError(f"io_pressure: {path} in the container is on {fstype or 'a filesystem'} with no block "
                          "device (tmpfs, overlay on tmpfs...): there is no disk IO to throttle", target=target)
    disk = whole_disk(device)
    if not (Path("/sys/dev/block") / disk).exists():
        raise TargetError(f"io_pressure: device {disk} under {path} is not a block device of this machine",
                          target=target)
    return disk, what


def blkio_cgroup(pid: int, container_id: str, target: str) -> Path:
    """The container's blkio cgroup folder (cgroup v1), named after its id."""
    lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "blkio" in controllers.split(","):
            if container_id not in path:
                raise TargetError(f"io_pressure: the blkio cgroup of pid {pid} ({path}) does not name container "
                                  f"{container_id[:12]}; gameday writes only the container's own", target=target)
            return BLKIO_ROOT / path.lstrip("/")
    raise EnvironmentProblem("io_pressure needs cgroup v1's blkio controller; this machine runs cgroup v2 (io.max), "
                             "which gameday does not drive yet (it could not be tested here)")


class IoPressure:
    """Throttle the block IO of a container on the disk under one of its paths, in its blkio cgroup."""

    kind: ClassVar[str] = "io_pressure"
    args_model: ClassVar[type[FaultArgs]] = IoPressureArgs
    target_fields: ClassVar[tuple[str, ...]] = ("container", "labels")
    one_per_target: ClassVar[bool] = True
    """Restores a prior setting: two at once on one target would both read it (engine.safety)."""
    lost_on_restart: ClassVar[bool] = True
    """The throttle is in the running container's cgroup: a restart makes a new one without it."""
    target_platforms: ClassVar[tuple[type, ...]] = (HostProcessPlatform,)
    """Platforms whose containers run on this machine (Docker, Compose); Kubernetes is refused at validate."""

    def __init__(self, *, platforms: PlatformRegistry | None = None) -> None:
        self._platforms = platforms

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        """Find the cgroup and the disk, read the prior limits; refuse what would not lower one. Changes nothing."""
        target = stack.targets[fault.target]
        platform = (self._platforms or installed_platforms()).containers(target.platform, kind=self.kind,
                                                                          target=fault.target)
        if not isinstance(platform, HostProcessPlatform):
            raise TargetError(f"io_pressure writes the container's cgroup on this machine; platform "
                              f"'{target.platform}' of target '{fault.target}' cannot", target=fault.target)
        settings = stack.platform_settings(target.platform)
        container = platform.find_container(target, fault.target, settings)
        fields = container_handle_fields(platform, container, settings)
        if not container.serving:
            raise TargetError(f"container {container.name} is {'paused' if container.paused else container.status}, "
                              "not running; its cgroup exists only while it runs", target=fault.target,
                              resource=platform.resource(container))
        runtime = platform.process_runtime(fields["address"])
        args = IoPressureArgs.model_validate(fault.args)
        pid = runtime.host_pid(container.id)
        with os_errors(fault.target, f"reading container {container.name}'s process {pid} in /proc"):
            if pid <= 0 or not Path(f"/proc/{pid}").exists():
                raise TargetError(f"io_pressure: container {container.name}'s main process is not on this machine "
                                  "(a remote Docker daemon?); its cgroup must be local", target=fault.target)
            cgroup = blkio_cgroup(pid, container.id, fault.target)
            disk, what = disk_under(pid, args.path, fault.target)
            prior = {name: parse_throttle((cgroup / FILES[name]).read_text()).get(disk) for name in FILES}
        for name in FILES:
            if not os.access(cgroup / FILES[name], os.W_OK):
                raise EnvironmentProblem(f"io_pressure: cannot write {cgroup / FILES[name]} (root is needed)")
        limits = args.limits()
        for name, value in limits.items():
            before = prior[name]
            if before and value >= before:
                raise TargetError(f"container {container.name} is already limited to {before} for {name} on "
                                  f"{disk}; {value} would not lower it", target=fault.target)
        return FaultHandle(
            kind=self.kind, target=fault.target,
            description=f"throttle {container.name}'s block IO on disk {disk} ({what}): {_shown(limits)}",
            data={"container_name": container.name, "args": args.model_dump(), "cgroup": str(cgroup), "disk": disk,
                  "limits": limits, "prior": prior},
            **fields,
        )

    def describe_revert(self, handle: FaultHandle) -> str:
        prior = {k: v for k, v in handle.data["prior"].items() if k in handle.data["limits"] and v}
        back = f"back to {_shown(prior)}" if prior else "removed"
        return f"the throttle on disk {handle.data['disk']} in {handle.data['container_name']}'s blkio cgroup {back}"

    def _live(self, handle: FaultHandle) -> dict[str, int | None] | None:
        """The four files' values for the disk now; None when the cgroup is gone (the container stopped)."""
        cgroup = Path(handle.data["cgroup"])
        if not cgroup.is_dir():
            return None
        try:
            return {name: parse_throttle((cgroup / FILES[name]).read_text()).get(handle.data["disk"]) for name in FILES}
        except FileNotFoundError:
            return None

    def _write(self, handle: FaultHandle, name: str, value: int) -> None:
        path = Path(handle.data["cgroup"]) / FILES[name]
        with os_errors(handle.target, f"writing {path}"):
            path.write_text(f"{handle.data['disk']} {value}\n")

    def inject(self, handle: FaultHandle) -> None:
        for name, value in handle.data["limits"].items():
            self._write(handle, name, int(value))

    def check(self, handle: FaultHandle) -> bool:
        """True while the container's cgroup holds every limit asked."""
        live = self._live(handle)
        return live is not None and all(live[name] == value for name, value in handle.data["limits"].items())

    def revert(self, handle: FaultHandle) -> None:
        """The prior value of each file asked (0 removes a rule), then read back; harmless twice or after a restart."""
        prior: dict[str, Any] = handle.data["prior"]
        with reverting():
            live = self._live(handle)
            if live is None:
                return  # the cgroup went with the container; a new one starts from its configured limits
            for name in handle.data["limits"]:
                if live[name] != prior[name]:
                    self._write(handle, name, int(prior[name] or 0))
            live = self._live(handle)
            if live is not None and any(live[name] != prior[name] for name in handle.data["limits"]):
                raise RevertError(f"io_pressure on {handle.data['container_name']}: the throttle on "
                                  f"{handle.data['disk']} reads back {live}, not the prior {prior}", target=handle.target)


def _shown(limits: dict[str, Any]) -> str:
    parts = []
    for name, value in limits.items():
        parts.append(f"{name.replace('_', ' ')} {format_size(value)}/s" if name.endswith("bps")
                     else f"{name.replace('_', ' ')} {value}/s")
    return ", ".join(parts)
