"""Container faults: time from the fault step to the container being down, and from revert to running.

Run on demand (needs dockerd and the busybox test image, see tests/conftest.py):
    python benchmarks/docker_faults.py [--trials 10]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

import docker

from gameday.faults.docker import ContainerKill, ContainerPause, ContainerStop
from gameday.scenario.model import FaultSpec, StackSpec

IMAGE = "gameday/busybox:test"


def measure(driver_cls: type, args: dict, trials: int, client: docker.DockerClient) -> tuple[list[float], list[float]]:
    down, up = [], []
    name = f"gdbench-{uuid.uuid4().hex[:6]}"
    container = client.containers.run(IMAGE, ["sleep", "3600"], name=name, detach=True, network_mode="host")
    try:
        stack = StackSpec.model_validate({"targets": {"t": {"container": name}}}, strict=False)
        spec = FaultSpec.model_validate({"kind": driver_cls.kind, "target": "t", "duration": "1s", "args": args})
        driver = driver_cls()
        for _ in range(trials):
            handle = driver.prepare(spec, stack)
            start = time.perf_counter()
            driver.inject(handle)
            while not driver.check(handle):
                time.sleep(0.001)
            down.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            driver.revert(handle)  # returns once the container is running again
            up.append((time.perf_counter() - start) * 1000)
    finally:
        container.remove(force=True)
    return down, up


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    client = docker.from_env()
    print("| fault | fault step -> down, median (min-max) ms | revert -> running, median (min-max) ms | trials |")
    print("|---|---|---|---|")
    for cls, fargs in [(ContainerKill, {}), (ContainerStop, {"timeout": 0}), (ContainerPause, {})]:
        down, up = measure(cls, fargs, args.trials, client)
        print(f"| {cls.kind} | {statistics.median(down):.0f} ({min(down):.0f}-{max(down):.0f}) | "
              f"{statistics.median(up):.0f} ({min(up):.0f}-{max(up):.0f}) | {args.trials} |")


if __name__ == "__main__":
    main()
