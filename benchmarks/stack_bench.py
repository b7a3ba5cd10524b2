"""Demo stack timings: image build, stack up from a clean Docker, idempotent up, down, and how fast
checkout recovers after its database is killed. Run on demand:

    python benchmarks/stack_bench.py [--trials 3] [--rebuild]

It runs its own copy of the stack (``GAMEDAY_DEMO_STACK=stackbench``, free ports, a temporary state
folder), so a demo stack in use on the default ports is not touched. ``--rebuild`` removes the cached
images first and times the debootstrap build (minutes). Prints a Markdown table for RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable

import docker
import httpx

from gameday.stack.config import StackConfig
from gameday.stack.images import base_tag, toxiproxy_tag
from gameday.stack.manager import DemoStack
from gameday.testing import free_ports

PORTS = ("CHECKOUT", "POSTGRES", "REDIS", "TOXIPROXY", "POSTGRES_PROXY", "REDIS_PROXY", "PROMETHEUS", "ALERTMANAGER",
         "WEBHOOK")


def timed(call: Callable[[], object]) -> float:
    start = time.monotonic()
    call()
    return time.monotonic() - start


def kill_to_recovered(stack: DemoStack, client: docker.DockerClient) -> tuple[float, float]:
    """(kill -> /health red, start -> /health green) in seconds, polling every 10 ms."""
    c = stack.config
    url = c.url(c.checkout_port, "/health")
    postgres = client.containers.get(c.container_name("postgres"))
    with httpx.Client(trust_env=False, timeout=5) as http:
        start = time.monotonic()
        postgres.kill()
        while http.get(url).status_code == 200:
            time.sleep(0.01)
        red = time.monotonic() - start
        start = time.monotonic()
        postgres.start()
        while http.get(url).status_code != 200:
            time.sleep(0.01)
        green = time.monotonic() - start
    stack.wait_healthy(timeout=60)
    return red, green


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    environ = {k: v for k, v in os.environ.items() if not k.startswith("GAMEDAY_DEMO_")}
    environ["GAMEDAY_DEMO_STACK"] = "stackbench"
    environ["GAMEDAY_STATE_DIR"] = tempfile.mkdtemp(prefix="stackbench-")
    environ.update({f"GAMEDAY_DEMO_{name}_PORT": str(p) for name, p in zip(PORTS, free_ports(len(PORTS)), strict=True)})
    client = docker.from_env()
    stack = DemoStack(StackConfig.from_env(environ), environ=environ, client=client)
    rows: list[tuple[str, list[float]]] = []
    if args.rebuild:
        stack.down()
        for tag in (toxiproxy_tag(stack.config), base_tag()):
            try:
                client.images.remove(tag)
            except docker.errors.ImageNotFound:
                pass
        results = stack.build()
        rows += [(f"build {r.tag}", [r.seconds]) for r in results]
    up, again, down, red, green = [], [], [], [], []
    try:
        for _ in range(args.trials):
            stack.down()
            up.append(timed(stack.up))
            again.append(timed(stack.up))
            r, g = kill_to_recovered(stack, client)
            red.append(r)
            green.append(g)
            down.append(timed(stack.down))
    finally:
        stack.down()
    rows += [("stack up from a clean Docker (images cached) until all healthy", up),
             ("stack up again (nothing to do)", again),
             ("postgres killed -> checkout /health 503", red),
             ("postgres started -> checkout /health 200", green),
             ("stack down", down)]
    print(f"Machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}, "
          f"Docker {client.version()['Version']}; date: {time.strftime('%Y-%m-%d')}\n")
    print("| step | median s | min-max s | trials |\n|---|---|---|---|")
    for name, values in rows:
        print(f"| {name} | {statistics.median(values):.2f} | {min(values):.2f}-{max(values):.2f} | {len(values)} |")


if __name__ == "__main__":
    main()
