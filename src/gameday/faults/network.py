"""Network faults without netem: ``packet_loss`` and ``partition``, as netfilter rules scoped to a port.

Where the rules go (gameday.faults.netfilter), by target:

    {platform: port, port: 15432}      the host's network namespace: host-networked services, told apart
                                       by their port
    a container (docker, compose)      with ``args.port``. A container with a network namespace of its own
                                       (``network_mode`` none, bridge, a network): the rules go inside it
                                       (``nsenter -t <its pid> -n iptables ...``), so only its traffic is
                                       touched. On the host's network (``network_mode: host``): the host's
                                       namespace, scoped by the port, as a port target. One sharing another
                                       container's namespace (``container:<id>``) is refused: name that one.

A container's namespace lives as long as the container runs: a restart (or stop) makes a new one without
the rules, so the fault is then over; ``check()`` sees it (the container's start time or its namespace
changed) and revert has nothing left to remove. The namespace is identified at prepare by the container's
start time and the namespace's inode (``/proc/<pid>/ns/net``), journalled in the handle, so revert never
enters a namespace other than the one the rules were added in.

    direction ingress   packets *to* the port (INPUT, --dport): requests, new connections
              egress    packets *from* the port (OUTPUT, --sport): replies
              both      the two; on loopback each packet still crosses one rule, so a loss share is as asked
    protocol            tcp (default), udp, or all (both)
    peer                only packets from (ingress) or to (egress) this IPv4 address or network

``packet_loss`` drops each matching packet with probability ``percent``/100 (the ``statistic`` match,
mode random); ``partition`` drops them all (a blackhole: a peer's connect or write hangs until its own
timeout, as behind a cut cable, rather than failing fast). Only IPv4 (``plan`` says so): a client that
reaches the service over ::1 is not cut.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from gameday.errors import FaultError, GamedayError, RevertError, TargetError
from gameday.faults.base import FaultArgs, FaultHandle
from gameday.faults.netfilter import Netfilter, machine_facts
from gameday.platforms.base import ContainerState, HostProcessPlatform, container_handle_fields
from gameday.platforms.ports import PortPlatform, PortTarget
from gameday.platforms.registry import PlatformRegistry, installed_platforms
from gameday.scenario.model import FaultSpec, StackSpec

PROC = Path("/proc")
Direction = Literal["ingress", "egress", "both"]
Protocol = Literal["tcp", "udp", "all"]


class _NetworkArgs(FaultArgs):
    port: int | None = Field(None, ge=1, le=65535,
                             description="the port, for a container target (a port target names its own)")
    protocol: Protocol = Field("tcp", description="tcp, udp, or all (both)")
    peer: str | None = Field(None, description="only traffic with this IPv4 address or network (CIDR)")
    direction: Direction = Field("both", description="both (default), ingress (to the port) or egress (from it)")

    @field_validator("peer")
    @classmethod
    def _ipv4(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(ipaddress.IPv4Network(value, strict=False))
        except ValueError as exc:
            raise ValueError(f"peer must be an IPv4 address or network, got {value!r}") from exc


class PacketLossArgs(_NetworkArgs):
    percent: float = Field(gt=0, lt=100, description="share of matching packets dropped, in percent (e.g. 30)")
    direction: Direction = Field("ingress", description="ingress (to the port), egress (from it), or both")


class PartitionArgs(_NetworkArgs):
    """A blackhole: every matching packet dropped."""


class _PortRules:
    """What packet_loss and partition share: the target, the rules' shape, and their lifecycle."""

    kind: ClassVar[str]
    args_model: ClassVar[type[FaultArgs]]
    target_fields: ClassVar[tuple[str, ...]] = ("port", "container", "labels")
    target_platforms: ClassVar[tuple[type, ...]] = (PortPlatform, HostProcessPlatform)
    needs_statistic: ClassVar[bool] = False
    lost_on_restart: ClassVar[bool] = True
    """In a container's own namespace, the rules go with it when it restarts."""

    def __init__(self, *, platforms: PlatformRegistry | None = None, proc: Path = PROC) -> None:
        self._platforms = platforms
        self._proc = proc

    def _what(self, args: Any) -> str:
        raise NotImplementedError

    def _platform(self, name: str, target: str) -> HostProcessPlatform:
        platform = (self._platforms or installed_platforms()).get(name)
        if not isinstance(platform, HostProcessPlatform):
            raise TargetError(f"{self.kind} acts on a port target ({{platform: port, port: N}}) or a container on "
                              f"this machine (docker, compose), not on platform '{name}'", target=target)
        return platform

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        """Check the target, where its rules would go and that this machine's iptables can do it; changes nothing."""
        target = stack.targets[fault.target]
        args = self.args_model.model_validate(fault.args)
        assert isinstance(args, _NetworkArgs), "each kind's args model is one"
        facts, has_statistic = _facts(fault.target)
        if self.needs_statistic and not has_statistic:
            raise FaultError(f"{self.kind} needs iptables' statistic match, which this machine lacks ({facts})",
                             target=fault.target)
        protocols: list[str] = ["tcp", "udp"] if args.protocol == "all" else [args.protocol]
        directions: list[str] = ["ingress", "egress"] if args.direction == "both" else [args.direction]
        peer = f" with {args.peer}" if args.peer else ""
        data: dict[str, Any] = {"target": fault.target, "protocols": protocols, "directions": directions,
                                "peer": args.peer, "percent": getattr(args, "percent", None)}
        if isinstance(target, PortTarget):
            if args.port is not None and args.port != target.port:
                raise TargetError(f"target '{fault.target}' is port {target.port}; args.port {args.port} would name "
                                  "another: leave args.port out", target=fault.target)
            data["port"] = target.port
            description = (f"{self._what(args)} {'/'.join(protocols)} packets {_direction_words(directions)} listening port "
                           f"{target.port}{peer} (iptables rules in the host's network namespace)")
            return FaultHandle(kind=self.kind, target=fault.target, description=description, data=data,
                               platform=PortPlatform.name, resource=PortPlatform.resource(target.port),
                               address={"port": target.port, "netfilter": facts})
        platform = self._platform(target.platform, fault.target)
        settings = stack.platform_settings(target.platform)
        container = platform.find_container(target, fault.target, settings)
        resource = platform.resource(container)
        if args.port is None:
            raise TargetError(f"{self.kind} on container {container.name} needs args.port: the port its rules are "
                              "scoped to", target=fault.target, resource=resource)
        if not container.serving:
            raise TargetError(f"container {container.name} is {'paused' if container.paused else container.status}, "
                              "not running", target=fault.target, resource=resource)
        data["port"] = args.port
        data["netns"] = self._namespace(platform, container, settings, fault.target, resource)
        where = ("the host's network namespace, scoped by the port (the container is on the host's network)"
                 if data["netns"] is None else
                 f"{container.name}'s own network namespace {data['netns']['inode']}, entered with nsenter -t "
                 f"{data['netns']['pid']} -n; gone with it if the container restarts")
        description = (f"{self._what(args)} {'/'.join(protocols)} packets {_direction_words(directions)} listening port "
                       f"{args.port} of {container.name}{peer} (iptables rules in {where}; {facts})")
        return FaultHandle(kind=self.kind, target=fault.target, description=description, data=data,
                           **container_handle_fields(platform, container, settings))

    def _namespace(self, platform: HostProcessPlatform, container: ContainerState, settings: Any, target: str,
                   resource: str) -> dict[str, Any] | None:
        """Where a container's rules go: None for the host's namespace, else its own (pid, inode, start time)."""
        mode = container.network_mode
        if mode == "host":
            return None
        if not mode or mode.startswith("container:"):
            why = ("its runtime does not say its network mode" if not mode else
                   f"it shares the network namespace of {mode.removeprefix('container:')[:12]}: name that container")
            raise TargetError(f"{self.kind} cannot tell where {container.name}'s rules would go: {why}",
                              target=target, resource=resource)
        pid = platform.process_runtime(platform.address(container, settings)).host_pid(container.id)
        inode = _netns_inode(self._proc, pid)
        if not pid or inode is None:
            raise TargetError(f"cannot read the network namespace of {container.name}'s process {pid or '?'} on this "
                              f"machine; {self.kind} runs where its Docker Engine runs", target=target,
                              resource=resource)
        if inode == _netns_inode(self._proc, "self"):
            return None  # it reports a mode of its own, yet shares ours: the host's rules reach it
        return {"pid": pid, "inode": inode, "container": container.name, "started_at": container.started_at}

    def _rules(self, handle: FaultHandle, *, reverting: bool = False) -> Netfilter | None:
        """The fault's rules where they live; None when the container's namespace they were in is gone."""
        netns = handle.data.get("netns")
        if not netns:
            return Netfilter.of(handle, reverting=reverting)
        platform = self._platform(handle.platform, handle.target)
        container_id = str(handle.address["id"])
        try:
            state = platform.runtime(handle.address).inspect(container_id)
        except FaultError:
            raise  # Docker refused the call: no sign the container is gone
        except TargetError:
            return None  # the container is gone, and its namespace with it
        if state.status != "running" or state.started_at != netns["started_at"]:
            return None  # stopped or restarted: a new namespace, without the rules
        pid = platform.process_runtime(handle.address).host_pid(container_id)
        if pid != netns["pid"] or _netns_inode(self._proc, pid) != netns["inode"]:
            error = RevertError if reverting else FaultError
            raise error(f"{netns['container']}'s main process is {pid}, in network namespace "
                        f"{_netns_inode(self._proc, pid)}, not the {netns['inode']} of process {netns['pid']} the rules "
                        "were added in: not entering it", target=handle.target)
        return Netfilter.of(handle, reverting=reverting, netns_pid=pid)

    def inject(self, handle: FaultHandle) -> None:
        data = handle.data
        port = str(data["port"])
        peer = data.get("peer")
        jumps: list[tuple[str, list[str]]] = []
        for protocol in data["protocols"]:
            if "ingress" in data["directions"]:
                jumps.append(("INPUT", ["-p", protocol, "--dport", port, *(["-s", peer] if peer else [])]))
            if "egress" in data["directions"]:
                jumps.append(("OUTPUT", ["-p", protocol, "--sport", port, *(["-d", peer] if peer else [])]))
        rules = self._rules(handle)
        if rules is None:
            raise FaultError(f"{handle.data['netns']['container']} restarted or stopped since prepare: its network "
                             "namespace is a new one", target=handle.target)
        rules.apply([_action(data)], jumps)

    def check(self, handle: FaultHandle) -> bool:
        """Read the live rule set (in the container's namespace, if it has its own): every jump in place and the
        chain holding its rule. A container restarted since prepare has a new namespace: not in effect."""
        if not handle.run_id:
            return False
        try:
            rules = self._rules(handle)
        except GamedayError:
            return False
        if rules is None:
            return False
        jumps, count = rules.live()
        data = handle.data
        return jumps == len(data["protocols"]) * len(data["directions"]) and count >= 1

    def describe_revert(self, handle: FaultHandle) -> str:
        where = ("in the container's network namespace (nothing to do if it restarted or stopped: its namespace "
                 "went with the rules) " if handle.data.get("netns") else "")
        return (f"delete every rule of INPUT/OUTPUT {where}commented 'gameday <run id> <fault id>' and the fault's "
                "own chain GAMEDAY-<id>, then read iptables -S to confirm none is left")

    def revert(self, handle: FaultHandle) -> None:
        if not handle.run_id or not handle.fault_id:
            return  # never stamped, so never injected: no rule can carry its name
        rules = self._rules(handle, reverting=True)
        if rules is not None:
            rules.remove()


def _netns_inode(proc: Path, pid: int | str) -> str | None:
    """``net:[4026532293]``: which network namespace a process is in; None if it cannot be read."""
    try:
        return os.readlink(proc / str(pid) / "ns" / "net")
    except OSError:
        return None


def _facts(target: str) -> tuple[str, bool]:
    try:
        return machine_facts()
    except FaultError as exc:
        raise FaultError(str(exc), target=target) from exc


def _direction_words(directions: list[str]) -> str:
    if directions == ["ingress"]:
        return "to"
    if directions == ["egress"]:
        return "from"
    return "to and from"


def _action(data: dict[str, Any]) -> list[str]:
    percent = data.get("percent")
    if percent is None:
        return ["-j", "DROP"]
    return ["-m", "statistic", "--mode", "random", "--probability", f"{float(percent) / 100:.6f}", "-j", "DROP"]


class PacketLoss(_PortRules):
    """Drop a share of a port's packets at random (iptables statistic match)."""

    kind: ClassVar[str] = "packet_loss"
    args_model: ClassVar[type[FaultArgs]] = PacketLossArgs
    needs_statistic: ClassVar[bool] = True

    def _what(self, args: Any) -> str:
        return f"drop {args.percent:g}% of"


class Partition(_PortRules):
    """Drop every packet to and/or from a port: a blackhole."""

    kind: ClassVar[str] = "partition"
    args_model: ClassVar[type[FaultArgs]] = PartitionArgs

    def _what(self, args: Any) -> str:
        return "drop all"
