"""cpu_pressure and memory_pressure: time from the call to the kernel's own limit, and back.

For each round: a fresh busybox httpd (128 MiB memory limit, 256 MiB with swap, no CPU limit); prepare, then
time ``inject`` until the cgroup file shows the lowered limit, and ``revert`` (from the journalled JSON, as
``gameday cleanup`` does) until the cgroup file shows the prior one. Meanwhile a second httpd, not faulted, is
asked for its page every 50 ms; its worst answer time is reported (the fault must not reach it).

    python benchmarks/resource_faults.py --rounds 10
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import docker
import httpx

from gameday.faults.base import FaultHandle
from gameday.faults.resources import CpuPressure, MemoryPressure
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.testing import free_port

IMAGE = "gameday/busybox:test"
CGROUP = Path("/sys/fs/cgroup")
CASES: dict[str, tuple[Any, dict[str, Any], str, int, int]] = {
    "cpu_pressure": (CpuPressure, {"cpus": 0.1}, "cpu/cpu.cfs_quota_us", 10_000, -1),
    "memory_pressure": (MemoryPressure, {"limit": "32MiB"}, "memory/memory.limit_in_bytes", 32 * 2**20, 128 * 2**20),
}


def httpd(client: docker.DockerClient, **kwargs: Any) -> tuple[Any, str]:
    port = free_port()
    container = client.containers.run(IMAGE, ["httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", "/www"],
                                      name=f"gdres-{uuid.uuid4().hex[:6]}", detach=True, network_mode="host",
                                      labels={"gameday.allowed": "true", "gameday.bench": "resource_faults"}, **kwargs)
    url = f"http://127.0.0.1:{port}/"
    wait(lambda: _ok(url))
    return container, url


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def wait(predicate: Any, timeout: float = 15.0) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise RuntimeError("condition not met")
        time.sleep(0.005)
    return time.monotonic() - start


def read(container: Any, key: str) -> int:
    controller, name = key.split("/")
    return int((CGROUP / controller / "docker" / container.id / name).read_text())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    client = docker.from_env()
    other, other_url = httpd(client)
    worst: list[float] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            start = time.monotonic()
            ok = _ok(other_url)
            worst.append(time.monotonic() - start if ok else float("inf"))
            stop.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    time.sleep(3)  # a baseline: the same requests with no fault anywhere (a benchmark, not a test)
    baseline = list(worst)
    results: dict[str, dict[str, list[float]]] = {k: {"effect": [], "restore": []} for k in CASES}
    try:
        for _ in range(args.rounds):
            for kind, (cls, fault_args, key, lowered, prior) in CASES.items():
                container, _url = httpd(client, mem_limit="128m", memswap_limit="256m")
                try:
                    stack = StackSpec.model_validate({"targets": {"web": {"container": container.name}}})
                    spec = FaultSpec.model_validate({"kind": kind, "target": "web", "duration": "1s", "args": fault_args})
                    handle = cls().prepare(spec, stack)
                    start = time.monotonic()
                    cls().inject(handle)
                    wait(lambda c=container, k=key, v=lowered: read(c, k) == v)
                    results[kind]["effect"].append(time.monotonic() - start)
                    start = time.monotonic()
                    cls().revert(FaultHandle.from_json(handle.to_json()))
                    wait(lambda c=container, k=key, v=prior: read(c, k) == v)
                    results[kind]["restore"].append(time.monotonic() - start)
                finally:
                    container.remove(force=True)
    finally:
        stop.set()
        watcher.join()
        other.remove(force=True)
    print("| kind | inject -> kernel limit lowered, ms (median / max) | revert -> prior limit, ms (median / max) | rounds |")
    print("|---|---|---|---|")
    for kind, r in results.items():
        print(f"| `{kind}` | {statistics.median(r['effect']) * 1000:.0f} / {max(r['effect']) * 1000:.0f} | "
              f"{statistics.median(r['restore']) * 1000:.0f} / {max(r['restore']) * 1000:.0f} | {len(r['effect'])} |")
    during = worst[len(baseline):]
    for what, times in (("before any fault", baseline), ("while the rounds ran", during)):
        print(f"the other container, {what}: {len(times)} requests, median {statistics.median(times) * 1000:.1f} ms, "
              f"worst {max(times) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
