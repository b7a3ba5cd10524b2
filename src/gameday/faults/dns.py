"""``dns_failure``: one container's DNS lookups fail (``mode: fail``) or time out (``mode: timeout``).

Scoped to the target alone, never the host's own resolution: the rules sit in the host's network
namespace (gameday.faults.netfilter: a chain of the fault's own, every rule commented with the run id and
fault id) and match only packets sent by a process of the container's cgroup (iptables' ``cgroup`` match,
``--path``, on the cgroup v2 group the runtime put it in). So the target must share the host's network
namespace (``network_mode: host``, as every part of the demo stack does) and have a cgroup v2 group of its
own: true with cgroup v2, and with cgroup v1 in hybrid mode (the unified hierarchy mounted beside v1, where
runc still places each container). Neither net_cls (not mounted on hybrid machines such as this one) nor
the owner match (the demo containers run as uid 0, as the harness does) could tell the target apart.

    fail      queries to port 53 (UDP and TCP) from the container are rejected as they leave (OUTPUT):
              the resolver's send fails at once, so a lookup fails within milliseconds
              ("Temporary failure in name resolution")
    timeout   the queries leave, each connection is marked (conntrack mark bit 0x10000000), and the
              answers coming back to a marked connection (INPUT, source port 53) are dropped: the resolver
              waits its whole timeout (``options timeout:`` in its resolv.conf, 5 s x 2 by default)

What the resolver asks is read from the container's own resolv.conf (through /proc/<pid>/root): an IPv6
nameserver would not be cut (IPv4 rules only), so it is refused in ``plan``. A lookup the container
answers from /etc/hosts, or that goes over a unix socket (nscd), is not DNS and is not cut.

``check()`` reads the live rule set and the container: if it restarted since prepare, its cgroup is a new
one the rule never matched (the kernel resolves ``--path`` when the rule is added), so the fault is not in
effect; revert removes the rules from the handle alone either way.
"""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field

from gameday.errors import FaultError, GamedayError, TargetError
from gameday.faults.base import FaultArgs, FaultHandle
from gameday.faults.netfilter import IPTABLES, TIMEOUT, Netfilter, machine_facts
from gameday.platforms.base import ContainerState, HostProcessPlatform, container_handle_fields
from gameday.platforms.registry import PlatformRegistry, installed_platforms
from gameday.scenario.model import FaultSpec, StackSpec

CT_MARK = "0x10000000/0x10000000"
"""The conntrack mark bit a ``timeout`` fault puts on its target's DNS connections (no known tool here uses it:
Docker none, kube-proxy packet marks 0x4000/0x8000)."""
PROC = Path("/proc")


class DnsFailureArgs(FaultArgs):
    mode: Literal["fail", "timeout"] = Field(
        "fail", description="fail: lookups fail at once; timeout: queries go unanswered until the resolver gives up")


class DnsFailure:
    """A container's DNS lookups fail or time out; the host and other containers resolve as before."""

    kind: ClassVar[str] = "dns_failure"
    args_model: ClassVar[type[FaultArgs]] = DnsFailureArgs
    target_fields: ClassVar[tuple[str, ...]] = ("container", "labels")
    lost_on_restart: ClassVar[bool] = True
    """The rules match the running container's cgroup: a restart makes a new one they never match."""
    target_platforms: ClassVar[tuple[type, ...]] = (HostProcessPlatform,)
    """Platforms whose containers run on this machine (Docker, Compose): their cgroups are this machine's.
    Kubernetes is refused at validate (a pod's containers run on a node, in a network namespace of their own)."""

    def __init__(self, *, platforms: PlatformRegistry | None = None, proc: Path = PROC) -> None:
        self._platforms = platforms
        self._proc = proc

    def _platform(self, name: str, target: str) -> HostProcessPlatform:
        platform = (self._platforms or installed_platforms()).containers(name, kind=self.kind, target=target)
        if not isinstance(platform, HostProcessPlatform):
            raise TargetError(f"dns_failure matches a container's cgroup on this machine; platform '{name}' of "
                              f"target '{target}' cannot say where its processes are", target=target)
        return platform

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        """Find the container, its cgroup and its resolvers, and what this machine's iptables can do. Changes nothing."""
        target = stack.targets[fault.target]
        platform = self._platform(target.platform, fault.target)
        settings = stack.platform_settings(target.platform)
        container = platform.find_container(target, fault.target, settings)
        resource = platform.resource(container)
        if not container.serving:
            raise TargetError(f"container {container.name} is {'paused' if container.paused else container.status}, "
                              "not running; it makes no lookups", target=fault.target, resource=resource)
        if container.network_mode != "host":
            mode = container.network_mode or "unknown to its runtime"
            raise TargetError(f"dns_failure needs a container on the host's network (network_mode: host); "
                              f"{container.name}'s is {mode}: its packets never cross the host's OUTPUT chain",
                              target=fault.target, resource=resource)
        pid = platform.process_runtime(platform.address(container, settings)).host_pid(container.id)
        cgroup = self._cgroup(container, pid, fault.target)
        resolvers = self._resolvers(container, pid, fault.target)
        args = DnsFailureArgs.model_validate(fault.args)
        facts = _facts(fault.target, needs_connmark=args.mode == "timeout")
        what = "fail at once (queries rejected)" if args.mode == "fail" else "time out (answers dropped)"
        asks = ", ".join(resolvers) if resolvers else "127.0.0.1 (no nameserver line: the resolver's default)"
        description = (f"{container.name}'s DNS lookups {what}: port 53 traffic of its cgroup {cgroup}, asking "
                       f"{asks}; iptables rules in the host's network namespace ({facts})")
        return FaultHandle(kind=self.kind, target=fault.target, description=description,
                           data={"container_name": container.name, "cgroup": cgroup, "mode": args.mode,
                                 "resolvers": resolvers, "started_at": container.started_at},
                           **container_handle_fields(platform, container, settings))

    def _cgroup(self, container: ContainerState, pid: int, target: str) -> str:
        """The container's cgroup v2 group, read from its main process; it must name the container."""
        try:
            lines = (self._proc / str(pid) / "cgroup").read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise TargetError(f"cannot read the cgroup of {container.name}'s process {pid} on this "
                              f"machine ({exc.strerror or exc}); dns_failure runs where its Docker Engine runs",
                              target=target) from exc
        unified = [line[3:] for line in lines if line.startswith("0::")]
        path = unified[0].strip("/") if unified else ""
        if not path or container.id not in path:
            found = f"'/{path}'" if unified else "none"
            raise TargetError(f"{container.name} has no cgroup v2 group of its own (found {found}): the iptables "
                              "cgroup match could not tell it from the host. It needs cgroup v2, or v1 with the "
                              "unified hierarchy (hybrid)", target=target)
        return path

    def _resolvers(self, container: ContainerState, pid: int, target: str) -> list[str]:
        """The nameservers of the container's resolv.conf, as its processes see it; an IPv6 one is refused."""
        path = self._proc / str(pid) / "root" / "etc" / "resolv.conf"
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise TargetError(f"cannot read {container.name}'s /etc/resolv.conf ({exc.strerror or exc})",
                              target=target) from exc
        found = [line.split()[1] for line in text.splitlines() if line.split()[:1] == ["nameserver"]
                 and len(line.split()) > 1]
        ipv6 = [n for n in found if _is_ipv6(n)]
        if ipv6:
            raise TargetError(f"{container.name} asks the IPv6 resolver {ipv6[0]}, which dns_failure's IPv4 "
                              "rules would not cut", target=target)
        return found

    def inject(self, handle: FaultHandle) -> None:
        Netfilter.of(handle).apply(*_shape(handle.data))

    def check(self, handle: FaultHandle) -> bool:
        """The live rules are all there and the container is the one they match (not restarted since prepare)."""
        if not handle.run_id:
            return False
        action, jumps = _shape(handle.data)
        live_jumps, live_rules = Netfilter.of(handle).live()
        if live_jumps != len(jumps) or live_rules < len(action):
            return False
        try:
            state = self._platform(handle.platform, handle.target).runtime(handle.address).inspect(
                str(handle.address["id"]))
        except GamedayError:
            return False
        return state.serving and state.started_at == handle.data.get("started_at")

    def describe_revert(self, handle: FaultHandle) -> str:
        return ("delete every rule of INPUT/OUTPUT commented 'gameday <run id> <fault id>' and the fault's own "
                "chain GAMEDAY-<id>, then read iptables -S to confirm none is left")

    def revert(self, handle: FaultHandle) -> None:
        if not handle.run_id or not handle.fault_id:
            return  # never stamped, so never injected: no rule can carry its name
        Netfilter.of(handle, reverting=True).remove()


def _shape(data: dict[str, Any]) -> tuple[list[list[str]], list[tuple[str, list[str]]]]:
    """The chain's rules and the jumps to it, for this fault's mode."""
    cgroup = ["-m", "cgroup", "--path", str(data["cgroup"])]
    queries = [("OUTPUT", ["-p", protocol, "--dport", "53", *cgroup]) for protocol in ("udp", "tcp")]
    if data["mode"] == "fail":
        return ([["-p", "udp", "-j", "REJECT", "--reject-with", "icmp-port-unreachable"],
                 ["-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"]], queries)
    answers = [("INPUT", ["-p", protocol, "--sport", "53", "-m", "connmark", "--mark", CT_MARK])
               for protocol in ("udp", "tcp")]
    # Only answers jump in from INPUT (source port 53) and only queries from OUTPUT (destination port 53).
    return ([["-p", "udp", "--sport", "53", "-j", "DROP"], ["-p", "tcp", "--sport", "53", "-j", "DROP"],
             ["-j", "CONNMARK", "--set-xmark", CT_MARK]], [*queries, *answers])


def _is_ipv6(address: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(address.split("%")[0]), ipaddress.IPv6Address)
    except ValueError:
        return False


def _facts(target: str, *, needs_connmark: bool) -> str:
    """This machine's iptables, and the cgroup (and for timeout, connmark) extensions; FaultError if one is missing."""
    try:
        facts, _ = machine_facts()
    except FaultError as exc:
        raise FaultError(str(exc), target=target) from exc
    wanted = [("-m", "cgroup", "--path")] + ([("-m", "connmark", "--mark"), ("-j", "CONNMARK", "--set-xmark")]
                                             if needs_connmark else [])
    for flag, name, option in wanted:
        try:
            found = subprocess.run([IPTABLES, flag, name, "-h"], capture_output=True, text=True, timeout=TIMEOUT,
                                   check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise FaultError(f"{IPTABLES} {flag} {name} -h failed: {exc}", target=target) from exc
        if found.returncode != 0 or option not in found.stdout:
            raise FaultError(f"dns_failure needs iptables' {name} {'match' if flag == '-m' else 'target'} with "
                             f"{option}, which this machine lacks ({facts})", target=target)
    extensions = "cgroup match (--path)" + (", connmark match and CONNMARK target" if needs_connmark else "")
    return facts.replace("; no netem needed", f", {extensions} available")
