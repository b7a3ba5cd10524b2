"""Platform ``port``: a service on this machine's network, named by the port it serves on.

    {platform: port, port: 15432}

Network faults (``packet_loss``, ``partition``) act on it with netfilter rules in the host's network
namespace, scoped to the port: host-networked services (everything the demo stack and the tests start
listens on 127.0.0.1, each on a port of its own) are told apart by port alone. A stack file approves a
port under ``allow.port`` (entries are strings, ``"15432"``, or globs); an inline stack cannot (a port
has nowhere to carry an opt-in). The lock key is the port, whatever the fault: two rule sets on one port
at once would make neither's effect readable.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from gameday.handle import FaultHandle
from gameday.platforms.base import PlatformDefaults, Target


class PortTarget(Target):
    platform: Literal["port"] = "port"
    port: int = Field(ge=1, le=65535, description="the TCP/UDP port the service listens on, on this machine")

    @property
    def selector(self) -> str:
        return f"port={self.port}"


class PortPlatform(PlatformDefaults):
    """Services on this machine, by port (rules in the host's network namespace)."""

    name: ClassVar[str] = "port"
    target_model: ClassVar[type[Target]] = PortTarget

    def allow_name(self, target: Target) -> str | None:
        return str(target.port) if isinstance(target, PortTarget) else None

    def target_notes(self, handle: FaultHandle) -> list[str]:
        """What this machine's netfilter offers, as prepare found it (``handle.address``)."""
        found = handle.address.get("netfilter")
        return [str(found)] if found else []

    @staticmethod
    def resource(port: int) -> str:
        return f"port:{port}"
