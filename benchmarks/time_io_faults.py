"""io_pressure and clock_skew: asked vs observed, inside the target.

io_pressure: a container of the demo stack's Debian image; for each limit asked, dd inside it measures the rate
(64 KiB blocks for bytes per second, 4 KiB blocks for operations per second): writes with ``oflag=direct`` and
with ``conv=fsync``, reads of a file with ``iflag=direct``; and a neighbour container's direct writes meanwhile.

clock_skew: a Python HTTP server behind an entrypoint that sources /run/gameday/clock.env; for each offset
asked, the offset its HTTP Date header shows, and the time inject and revert take (each a restart).

    python benchmarks/time_io_faults.py
"""

from __future__ import annotations

import re
import time
import uuid
from email.utils import parsedate_to_datetime
from typing import Any

import docker
import httpx

from gameday.faults.base import FaultHandle
from gameday.faults.blkio import IoPressure
from gameday.faults.clock import ClockSkew
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.stack.images import base_tag
from gameday.testing import free_port

ENTRYPOINT = ("mkdir -p /run/gameday; if [ -r /run/gameday/clock.env ]; then set -a; . /run/gameday/clock.env; "
              "set +a; fi; exec python3 -m http.server --bind 127.0.0.1 {port}")


def spec(kind: str, **args: Any) -> FaultSpec:
    return FaultSpec.model_validate({"kind": kind, "target": "t", "duration": "1s", "args": args})


def stack(name: str) -> StackSpec:
    return StackSpec.model_validate({"targets": {"t": {"container": name}}})


def dd(container: Any, command: str) -> float:
    out = container.exec_run(["sh", "-c", command + " 2>&1 | tail -1"]).output.decode()
    match = re.search(r"^(\d+) bytes.*copied, ([\d.]+) s", out, re.M)
    if not match:
        raise RuntimeError(out)
    return int(match.group(1)) / float(match.group(2))


def io_rounds(client: docker.DockerClient) -> None:
    labels = {"gameday.allowed": "true", "gameday.bench": "time_io"}
    target = client.containers.run(base_tag(), ["sleep", "3600"], name=f"gdio-{uuid.uuid4().hex[:6]}", detach=True,
                                   labels=labels)
    other = client.containers.run(base_tag(), ["sleep", "3600"], name=f"gdio-{uuid.uuid4().hex[:6]}", detach=True,
                                  labels=labels)
    write = "dd if=/dev/zero of=/var/tmp/w bs=64k count={n} {flags}; rm -f /var/tmp/w"
    try:
        target.exec_run(["sh", "-c", "dd if=/dev/urandom of=/var/tmp/r bs=64k count=128 oflag=direct"])
        print("| asked | observed in the target (dd) | the neighbour's direct writes meanwhile |")
        print("|---|---|---|")
        for asked, args, n in (("write_bps 256KiB/s", {"write_bps": "256KiB"}, 8),
                               ("write_bps 1MiB/s", {"write_bps": "1MiB"}, 32),
                               ("write_bps 4MiB/s", {"write_bps": "4MiB"}, 128)):
            handle = IoPressure().prepare(spec("io_pressure", **args), stack(target.name))
            IoPressure().inject(handle)
            try:
                direct = dd(target, write.format(n=n, flags="oflag=direct"))
                synced = dd(target, write.format(n=n, flags="conv=fsync"))
                buffered = dd(target, write.format(n=n, flags=""))
                neighbour = dd(other, write.format(n=n, flags="oflag=direct"))
            finally:
                IoPressure().revert(FaultHandle.from_json(handle.to_json()))
            print(f"| {asked} | direct {direct / 2**20:.2f} MiB/s, fsync {synced / 2**20:.2f} MiB/s, buffered "
                  f"{buffered / 2**20:.0f} MiB/s | {neighbour / 2**20:.0f} MiB/s |")
        handle = IoPressure().prepare(spec("io_pressure", read_bps="1MiB"), stack(target.name))
        IoPressure().inject(handle)
        try:
            read = dd(target, "dd if=/var/tmp/r of=/dev/null bs=64k count=48 iflag=direct")
        finally:
            IoPressure().revert(FaultHandle.from_json(handle.to_json()))
        print(f"| read_bps 1MiB/s | direct reads {read / 2**20:.2f} MiB/s | - |")
        handle = IoPressure().prepare(spec("io_pressure", write_iops=50), stack(target.name))
        IoPressure().inject(handle)
        try:
            ops = dd(target, "dd if=/dev/zero of=/var/tmp/w bs=4k count=150 oflag=direct; rm -f /var/tmp/w") / 4096
        finally:
            IoPressure().revert(FaultHandle.from_json(handle.to_json()))
        print(f"| write_iops 50/s | {ops:.1f} direct 4 KiB writes/s | - |")
        after = dd(target, write.format(n=128, flags="oflag=direct"))
        print(f"| (after revert) | direct {after / 2**20:.0f} MiB/s | - |")
    finally:
        target.remove(force=True)
        other.remove(force=True)


def served_offset(port: int) -> float:
    deadline = time.monotonic() + 30
    while True:
        try:
            before = time.time()
            header = httpx.get(f"http://127.0.0.1:{port}/", timeout=2, trust_env=False).headers["date"]
            return parsedate_to_datetime(header).timestamp() - (before + time.time()) / 2
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def clock_rounds(client: docker.DockerClient) -> None:
    port = free_port()
    container = client.containers.run(base_tag(), ["sh", "-c", ENTRYPOINT.format(port=port)],
                                      name=f"gdclk-{uuid.uuid4().hex[:6]}", detach=True, network_mode="host",
                                      labels={"gameday.allowed": "true", "gameday.bench": "time_io"})
    try:
        served_offset(port)
        print("| offset asked | offset served (HTTP Date, 1 s resolution) | inject (restart) | revert (restart) | after |")
        print("|---|---|---|---|---|")
        for offset in ("+2h", "-90s", "+1h30m", "-1h"):
            handle = ClockSkew().prepare(spec("clock_skew", offset=offset, stop_timeout=1), stack(container.name))
            start = time.monotonic()
            ClockSkew().inject(handle)
            injected = time.monotonic() - start
            seen = served_offset(port)
            start = time.monotonic()
            ClockSkew().revert(FaultHandle.from_json(handle.to_json()))
            reverted = time.monotonic() - start
            print(f"| {offset} | {seen:+.0f} s | {injected:.1f} s | {reverted:.1f} s | {served_offset(port):+.0f} s |")
    finally:
        container.remove(force=True)


def main() -> None:
    client = docker.from_env()
    io_rounds(client)
    print()
    clock_rounds(client)


if __name__ == "__main__":
    main()
