"""SIGKILL the harness at random points of a run, then check that nothing is left broken.

For each trial: start `gameday run` on a fresh busybox container, SIGKILL it after a random delay
(spread over preflight, inject, observe and revert), then wait for the watchdog (the dead-man's
switch) to revert. A trial fails if, 20 s after the kill, the container is not running, or a journal
still holds a pending fault. Reports the time from the kill to the container being back.

Run on demand (needs dockerd and the image gameday/busybox:test from tests/conftest.py):
    python benchmarks/kill_harness.py --trials 50
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import docker
import yaml

from gameday.engine.journal import pending_faults

KINDS = ["container_kill", "container_stop", "container_pause"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthy(container) -> bool:  # type: ignore[no-untyped-def]
    container.reload()
    state = container.attrs["State"]
    return state["Status"] == "running" and not state["Paused"]


def trial(client: docker.DockerClient, kind: str, delay: float, work: Path) -> tuple[bool, float | None, str]:
    port = free_port()
    name = f"gdkill-{uuid.uuid4().hex[:6]}"
    container = client.containers.run("gameday/busybox:test", ["httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", "/www"],
                                      name=name, detach=True, network_mode="host", labels={"gameday.allowed": "true"})
    try:
        scenario = work / f"{name}.yaml"
        args = {"timeout": 0} if kind == "container_stop" else {}
        scenario.write_text(yaml.safe_dump({
            "version": 1, "name": name, "stack": {"targets": {"web": {"container": name}}},
            "steady_state": {"probes": [{"name": "web", "http": {"url": f"http://127.0.0.1:{port}/", "timeout": "1s"},
                                         "interval": "200ms"}]},
            "faults": [{"kind": kind, "target": "web", "duration": "2s", "args": args}],
            "expect": {"recovers_within": "10s"},
        }))
        time.sleep(0.3)
        proc = subprocess.Popen([sys.executable, "-m", "gameday", "run", str(scenario), "--reports", str(work / "reports")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        was_healthy = healthy(container)
        killed = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        back: float | None = None
        deadline = killed + 20
        while time.monotonic() < deadline:
            if healthy(container):
                back = time.monotonic() - killed
                break
            time.sleep(0.02)
        time.sleep(1.0)  # let the watchdog write its journal lines
        pending = [f for j in (work / "reports").glob(f"*{name}*/journal.jsonl") for f in pending_faults(j)]
        ok = back is not None and healthy(container) and not pending
        phase = "before fault" if was_healthy else "during fault"
        return ok, (None if was_healthy else back), phase
    finally:
        container.remove(force=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--max-delay", type=float, default=4.5, help="kill within this many seconds of the start")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    client = docker.from_env()
    failures = 0
    restore_times: list[float] = []
    by_phase: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GAMEDAY_STATE_DIR"] = str(Path(tmp) / "state")
        for i in range(args.trials):
            kind = KINDS[i % len(KINDS)]
            delay = rng.uniform(0.2, args.max_delay)
            ok, back, phase = trial(client, kind, delay, Path(tmp))
            by_phase[phase] = by_phase.get(phase, 0) + 1
            failures += not ok
            if back is not None:
                restore_times.append(back)
            print(f"trial {i + 1:2d} {kind:15s} kill at {delay:4.2f}s ({phase}): {'ok' if ok else 'LEFT BROKEN'}"
                  + (f", restored {back * 1000:.0f} ms after the kill" if back is not None else ""), flush=True)
    print(f"\n{args.trials} trials, {failures} left a fault behind; kills by phase: {by_phase}")
    if restore_times:
        q = statistics.quantiles(restore_times, n=20) if len(restore_times) > 1 else restore_times
        print(f"kill -> restored (faults live at the kill, n={len(restore_times)}): median "
              f"{statistics.median(restore_times) * 1000:.0f} ms, p95 {q[-1] * 1000:.0f} ms, "
              f"max {max(restore_times) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
