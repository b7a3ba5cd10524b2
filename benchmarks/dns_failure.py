"""Asked vs observed for dns_failure: the target's lookups fail (or time out), a neighbour's and the host's do not.

A zone server (the demo stack's zone_dns.py) answers on a 127.0.0.x address of its own. Two host-networked
containers of the demo's base image (glibc's resolver, `options timeout:1 attempts:1`) ask it: the target and a
neighbour. For each mode, the driver injects its rules on the target; then each container makes N lookups in one
`docker exec` (getaddrinfo, one after the other) and the host sends N queries to the same server. Observed: the
share of lookups that failed and how long each took, before, during and after the fault. Every rule is reverted
and the live rule set checked.

    python benchmarks/dns_failure.py --lookups 200 --timeout-lookups 20
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import docker

from gameday.faults.dns import DnsFailure
from gameday.handle import FaultHandle
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.stack.images import base_tag
from gameday.stack.state import files_dir
from gameday.testing import on_free_loopback_address

NAME = "svc.dnsbench.internal"
LOOKUPS = """
import json, socket, sys, time
out = []
for _ in range(int(sys.argv[1])):
    t = time.monotonic()
    try:
        socket.gethostbyname(sys.argv[2])
        ok = True
    except OSError:
        ok = False
    out.append([ok, time.monotonic() - t])
print(json.dumps(out))
"""


def zone_dns() -> ModuleType:
    spec = importlib.util.spec_from_file_location("zone_dns", files_dir() / "checkout" / "zone_dns.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lookups(container: Any, n: int) -> list[tuple[bool, float]]:
    result = container.exec_run(["python3", "-c", LOOKUPS, str(n), NAME])
    return [(bool(ok), float(s)) for ok, s in json.loads(result.output.decode().strip().splitlines()[-1])]


def host_queries(zone: ModuleType, address: str, n: int) -> list[tuple[bool, float]]:
    import time

    out = []
    for _ in range(n):
        t = time.monotonic()
        try:
            ok = zone.query(address, NAME, timeout=2.0) == "127.0.0.1"
        except OSError:
            ok = False
        out.append((ok, time.monotonic() - t))
    return out


def row(fault: str, who: str, results: list[tuple[bool, float]]) -> str:
    failed = sum(not ok for ok, _ in results)
    times = sorted(s * 1000 for _, s in results)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return (f"| {fault} | {who} | {len(results)} | {failed} ({100 * failed / len(results):.0f}%) | "
            f"{statistics.median(times):.1f} / {p95:.1f} / {times[-1]:.1f} ms |")


def rules_naming(container_id: str) -> list[str]:
    out = subprocess.run(["iptables", "-w", "10", "-S"], check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if container_id in line]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--timeout-lookups", type=int, default=20, help="each takes the resolver's 1 s timeout")
    opts = parser.parse_args()
    zone = zone_dns()
    try:
        server, address = on_free_loopback_address(
            lambda address: zone.ZoneServer(address, {NAME: "127.0.0.1"}, "dnsbench.internal").start())
    except OSError:
        raise AssertionError("no free 127.0.0.x address") from None
    client = docker.from_env()
    with tempfile.TemporaryDirectory(prefix="gddns-") as tmp:
        conf = Path(tmp) / "resolv.conf"
        conf.write_text(f"nameserver {address}\noptions timeout:1 attempts:1\n")
        conf.chmod(0o644)
        made = [client.containers.run(base_tag(), ["sleep", "3600"], detach=True, network_mode="host",
                                      labels={"gameday.allowed": "true"},
                                      volumes={str(conf): {"bind": "/etc/resolv.conf", "mode": "ro"}})
                for _ in range(2)]
        target, neighbour = made
        try:
            print("| fault | who | lookups | failed | time per lookup (median / p95 / max) |")
            print("|---|---|---|---|---|")
            print(row("none (before)", "target", lookups(target, opts.lookups)))
            for mode, n in (("fail", opts.lookups), ("timeout", opts.timeout_lookups)):
                spec = FaultSpec.model_validate({"kind": "dns_failure", "target": "app", "args": {"mode": mode},
                                                 "duration": "5m"})
                stack = StackSpec.model_validate({"targets": {"app": {"container": target.name}}})
                driver = DnsFailure()
                handle: FaultHandle = replace(driver.prepare(spec, stack), run_id=f"dnsbench-{mode}",
                                              fault_id="bench")
                driver.inject(handle)
                try:
                    assert driver.check(handle)
                    print(row(f"dns_failure {mode}", "target", lookups(target, n)))
                    print(row(f"dns_failure {mode}", "neighbour container", lookups(neighbour, opts.lookups)))
                    print(row(f"dns_failure {mode}", "host", host_queries(zone, address, opts.lookups)))
                finally:
                    driver.revert(handle)
                assert rules_naming(target.id) == [], "a rule was left behind"
                print(row(f"none (after {mode})", "target", lookups(target, opts.lookups)))
            print(f"\nthe zone server counted {server.queries} queries")
        finally:
            for container in made:
                container.remove(force=True)
            server.close()


if __name__ == "__main__":
    main()
