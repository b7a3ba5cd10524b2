"""Asked vs observed for packet_loss inside a container's own network namespace (``network_mode: none``).

A container of the demo stack's base image gets the fault on a UDP port inside its namespace; the benchmark's
counted sender and receiver (benchmarks/network_faults.py, ``udp_received``: batches of 200, each waited for
until every datagram is received or counted by the fault's DROP rule) run in that namespace under
``nsenter -n``, so the traffic stays on the container's own 127.0.0.1. Each trial also sends 200 datagrams to
the same port on the host's 127.0.0.1, which must all arrive. Every rule is reverted and the namespace's rule
set checked.

    python benchmarks/network_netns.py --packets 2000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import docker

from gameday.faults.network import PacketLoss
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.stack.images import base_tag
from gameday.testing.network import free_port

ROOT = Path(__file__).resolve().parents[1]
COUNT = ("import json, sys\nfrom benchmarks.network_faults import udp_received\nfrom gameday.handle import FaultHandle\n"
         "print(udp_received(int(sys.argv[1]), FaultHandle.from_json(json.loads(sys.argv[2])), int(sys.argv[3])))")


def host_untouched(port: int, count: int = 200) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        rx.bind(("127.0.0.1", port))
        rx.settimeout(5)
        try:
            for _ in range(count):
                tx.sendto(b"x", ("127.0.0.1", port))
                rx.recv(8)
        except TimeoutError:
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packets", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--percents", default="10,30,50")
    opts = parser.parse_args()
    client = docker.from_env()
    box = client.containers.run(base_tag(), ["sleep", "3600"], detach=True, network_mode="none",
                                labels={"gameday.allowed": "true"}, name=f"gameday-netnsbench-{uuid.uuid4().hex[:6]}")
    try:
        box.reload()
        pid = str(box.attrs["State"]["Pid"])
        stack = StackSpec.model_validate({"targets": {"box": {"container": box.name}}})
        print("| asked | datagrams per trial | observed loss inside, median (min-max) | worst error, points | "
              "host's same port | trials |")
        print("|---|---|---|---|---|---|")
        for percent in [float(p) for p in opts.percents.split(",")]:
            shares, host_ok = [], True
            for r in range(opts.repeats):
                port = free_port()
                driver = PacketLoss()
                spec = FaultSpec.model_validate({"kind": "packet_loss", "target": "box", "duration": "5s",
                                                 "args": {"port": port, "percent": percent, "protocol": "udp"}})
                handle = replace(driver.prepare(spec, stack), run_id=f"netnsbench-{r}", fault_id="bench")
                driver.inject(handle)
                try:
                    out = subprocess.run(["nsenter", "-t", pid, "-n", "--", sys.executable, "-c", COUNT, str(port),
                                          json.dumps(handle.to_json()), str(opts.packets)], capture_output=True,
                                         text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
                    shares.append(100 * (1 - int(out.stdout.split()[-1]) / opts.packets))
                    host_ok = host_ok and host_untouched(port)
                finally:
                    driver.revert(handle)
                left = subprocess.run(["nsenter", "-t", pid, "-n", "--", "iptables", "-S"], check=True,
                                      capture_output=True, text=True).stdout
                assert "GAMEDAY-" not in left, left
            worst = max(abs(s - percent) for s in shares)
            print(f"| {percent:g}% | {opts.packets} UDP | {statistics.median(shares):.2f}% ({min(shares):.2f}-"
                  f"{max(shares):.2f}) | {worst:.2f} | {'all 200 arrived' if host_ok else 'LOSS'} | {len(shares)} |")
    finally:
        box.remove(force=True)


if __name__ == "__main__":
    main()
