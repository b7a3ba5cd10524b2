"""Asked vs observed for packet_loss and partition, on this machine's real iptables, over loopback.

For each asked share, the driver injects its rules on a free port of its own; UDP datagrams (4 bytes each)
are sent to a socket bound there, in batches of 200, and each batch is waited for until every datagram is
either received or counted by the fault's DROP rule (so a socket buffer overflow would show as a mismatch,
never as loss). Observed loss = 1 - received / sent, end to end. A partition is also tried with TCP connects
(SYNs to a listening socket, 0.2 s timeout each). Every rule is reverted and the live rule set checked.

    python benchmarks/network_faults.py --packets 2000 --repeats 3
"""

from __future__ import annotations

import argparse
import contextlib
import select
import socket
import statistics
import subprocess
import time
from dataclasses import replace
from typing import Any

from gameday.faults.netfilter import chain_name
from gameday.faults.network import PacketLoss, Partition
from gameday.handle import FaultHandle
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.testing.network import free_port


def stamped(driver: PacketLoss | Partition, port: int, run: str, **args: Any) -> FaultHandle:
    spec = FaultSpec.model_validate({"kind": driver.kind, "target": "svc", "args": args, "duration": "5s"})
    stack = StackSpec.model_validate({"targets": {"svc": {"platform": "port", "port": port}}})
    return replace(driver.prepare(spec, stack), run_id=run, fault_id="bench")


def dropped(handle: FaultHandle) -> int:
    out = subprocess.run(["iptables", "-w", "10", "-L", chain_name(handle.run_id, handle.fault_id), "-n", "-v", "-x"],
                         check=False, capture_output=True, text=True).stdout
    return sum(int(line.split()[0]) for line in out.splitlines()[2:] if line.strip())


def udp_received(port: int, handle: FaultHandle, sent: int) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        rx.bind(("127.0.0.1", port))
        rx.setblocking(False)
        received, base = 0, dropped(handle)
        for batch in range(0, sent, 200):
            for i in range(batch, min(sent, batch + 200)):
                tx.sendto(i.to_bytes(4, "big"), ("127.0.0.1", port))
            deadline = time.monotonic() + 10
            while received + dropped(handle) - base < min(sent, batch + 200) and time.monotonic() < deadline:
                if select.select([rx], [], [], 0.05)[0]:
                    with contextlib.suppress(BlockingIOError):
                        while True:
                            rx.recv(64)
                            received += 1
        if received + dropped(handle) - base != sent:
            raise SystemExit(f"unaccounted datagrams: {sent} sent, {received} received, {dropped(handle) - base} dropped")
        return received


def tcp_connects(port: int, tries: int) -> int:
    ok = 0
    with socket.create_server(("127.0.0.1", port), backlog=tries):
        for _ in range(tries):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                ok += 1
            except OSError:
                pass
    return ok


def left_behind(port: int) -> bool:
    return f"port {port} " in subprocess.run(["iptables", "-S"], check=True, capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packets", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--percents", default="1,5,10,30,50,90")
    opts = parser.parse_args()
    print("| fault | asked | datagrams per trial | observed loss, median (min-max) | worst error, points | trials |")
    print("|---|---|---|---|---|---|")
    for percent in [float(p) for p in opts.percents.split(",")]:
        shares = []
        for r in range(opts.repeats):
            port = free_port()
            driver = PacketLoss()
            handle = stamped(driver, port, f"bench-{r}", percent=percent, protocol="udp")
            driver.inject(handle)
            try:
                shares.append(100 * (1 - udp_received(port, handle, opts.packets) / opts.packets))
            finally:
                driver.revert(handle)
            assert not left_behind(port)
        worst = max(abs(s - percent) for s in shares)
        print(f"| packet_loss | {percent:g}% | {opts.packets} UDP | {statistics.median(shares):.2f}% "
              f"({min(shares):.2f}-{max(shares):.2f}) | {worst:.2f} | {len(shares)} |")
    for direction in ("both", "ingress", "egress"):
        port = free_port()
        partition = Partition()
        handle = stamped(partition, port, "bench-p", protocol="all", direction=direction)
        partition.inject(handle)
        try:
            received = udp_received(port, handle, opts.packets) if direction != "egress" else None
            connects = tcp_connects(port, 50)
        finally:
            partition.revert(handle)
        assert not left_behind(port)
        udp = f"{100 * (1 - received / opts.packets):.2f}% of {opts.packets} UDP" if received is not None else "-"
        print(f"| partition ({direction}) | 100% | {udp} | TCP connects: {50 - connects}/50 failed | - | 1 |")


if __name__ == "__main__":
    main()
