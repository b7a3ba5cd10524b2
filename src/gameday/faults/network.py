"""Network faults without netem: ``packet_loss`` and ``partition``, as netfilter rules scoped to a port.

The target is a service on this machine named by its port (``{platform: port, port: 15432}``); the rules
sit in the host's network namespace (gameday.faults.netfilter), so they reach host-networked services:

    direction ingress   packets *to* the port (INPUT, --dport): requests, new connections
              egress    packets *from* the port (OUTPUT, --sport): replies
              both      the two; on loopback each packet still crosses one rule, so a loss share is as asked
    protocol            tcp (default), udp, or all (both)
    peer                only packets from (ingress) or to (egress) this IPv4 address or network

``packet_loss`` drops each matching packet with probability ``percent``/100 (the ``statistic`` match,
mode random); ``partition`` drops them all (a blackhole: a peer's connect or write hangs until its own
timeout, as behind a cut cable, rather than failing fast). Only IPv4: a client that reaches the service
over ::1 is not cut.
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator

from gameday.errors import FaultError, TargetError
from gameday.faults.base import FaultArgs, FaultHandle
from gameday.faults.netfilter import Netfilter, machine_facts
from gameday.platforms.ports import PortPlatform, PortTarget
from gameday.scenario.model import FaultSpec, StackSpec

Direction = Literal["ingress", "egress", "both"]
Protocol = Literal["tcp", "udp", "all"]


class _NetworkArgs(FaultArgs):
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
    target_fields: ClassVar[tuple[str, ...]] = ("port",)
    target_platforms: ClassVar[tuple[type, ...]] = (PortPlatform,)
    needs_statistic: ClassVar[bool] = False

    def _what(self, args: Any) -> str:
        raise NotImplementedError

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        """Check the target and that this machine's iptables can do it; changes nothing."""
        target = stack.targets[fault.target]
        if not isinstance(target, PortTarget):
            raise TargetError(f"{self.kind} acts on a port target ({{platform: port, port: N}}), not on "
                              f"platform '{target.platform}'", target=fault.target)
        args = self.args_model.model_validate(fault.args)
        assert isinstance(args, _NetworkArgs), "each kind's args model is one"
        facts, has_statistic = _facts(fault.target)
        if self.needs_statistic and not has_statistic:
            raise FaultError(f"{self.kind} needs iptables' statistic match, which this machine lacks ({facts})",
                             target=fault.target)
        protocols: list[str] = ["tcp", "udp"] if args.protocol == "all" else [args.protocol]
        directions: list[str] = ["ingress", "egress"] if args.direction == "both" else [args.direction]
        data: dict[str, Any] = {"target": fault.target, "port": target.port, "protocols": protocols,
                                "directions": directions, "peer": args.peer,
                                "percent": getattr(args, "percent", None)}
        peer = f" with {args.peer}" if args.peer else ""
        description = (f"{self._what(args)} {'/'.join(protocols)} packets {_direction_words(directions)} port "
                       f"{target.port}{peer} (iptables rules in the host's network namespace)")
        return FaultHandle(kind=self.kind, target=fault.target, description=description, data=data,
                           platform=PortPlatform.name, resource=PortPlatform.resource(target.port),
                           address={"port": target.port, "netfilter": facts})

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
        Netfilter.of(handle).apply([_action(data)], jumps)

    def check(self, handle: FaultHandle) -> bool:
        """Read the live rule set: every jump in place and the chain holding its rule."""
        if not handle.run_id:
            return False
        jumps, rules = Netfilter.of(handle).live()
        data = handle.data
        return jumps == len(data["protocols"]) * len(data["directions"]) and rules >= 1

    def describe_revert(self, handle: FaultHandle) -> str:
        return ("delete every rule of INPUT/OUTPUT commented 'gameday <run id> <fault id>' and the fault's own "
                "chain GAMEDAY-<id>, then read iptables -S to confirm none is left")

    def revert(self, handle: FaultHandle) -> None:
        if not handle.run_id or not handle.fault_id:
            return  # never stamped, so never injected: no rule can carry its name
        Netfilter.of(handle, reverting=True).remove()


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
