"""Restart the Docker daemon in the middle of a live container fault, and see what the run does.

One run of `gameday run` with a 20 s fault (container_pause by default) on a fresh busybox httpd
container. Some seconds after the fault is injected (--restart-after, default 16 s, so the daemon is
still away when the run reverts at 20 s), dockerd is sent SIGTERM, waited for, and started again
(`nohup dockerd >/var/log/gameday-dockerd.log 2>&1 &`, or the command line it had), after --down-for
seconds. Prints: the times
(fault, TERM, daemon gone, daemon back, container running again), the run's exit code, its revert
events (revert.retrying, fault.reverted, revert.failed) and the watchdog's log.

Without live-restore a daemon restart stops every container: this is disruptive for the whole machine.
Run it only where nothing else needs Docker at that moment, as root:
    python benchmarks/dockerd_restart.py
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import docker
import yaml

from gameday.testing import free_port

IMAGE = "gameday/busybox:test"


def dockerd_pid() -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "dockerd":
                    return int(entry.name)
            except OSError:
                continue
    return None


def daemon_up() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False).returncode == 0


def container_state(name: str) -> str:
    try:
        client = docker.from_env(timeout=3)
        try:
            state = client.containers.get(name).attrs["State"]
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001 - the daemon is expected to be away for a while
        return f"unknown ({type(exc).__name__})"
    return "paused" if state.get("Paused") else str(state.get("Status"))


def events(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "timeline.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", default="container_pause", choices=["container_pause", "container_kill"])
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--restart-after", type=float, default=16.0, help="seconds after the inject to send SIGTERM")
    parser.add_argument("--down-for", type=float, default=0.0, help="seconds to wait after dockerd exited before starting it")
    args = parser.parse_args()

    client = docker.from_env()
    name = f"gdkill-dockerd-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory(prefix="gdkill-dockerd-") as tmp:
        work = Path(tmp)
        port = free_port()
        client.containers.run(IMAGE, ["httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", "/www"], name=name, detach=True,
                              network_mode="host", labels={"gameday.allowed": "true", "gameday.bench": "dockerd"})
        client.close()
        try:
            measure(args, name, port, work)
        finally:
            if not daemon_up():
                print("WARNING: the Docker daemon is not answering; start it again by hand")
            else:
                client = docker.from_env()
                client.containers.get(name).remove(force=True)
                client.close()


def measure(args: argparse.Namespace, name: str, port: int, work: Path) -> None:
    """One run, one daemon restart in its fault; prints what happened."""
    scenario = work / "scenario.yaml"
    scenario.write_text(yaml.safe_dump({
        "version": 1, "name": "dockerd-restart", "stack": {"name": "kill-bench", "targets": {"web": {"container": name}}},
        "steady_state": {"probes": [{"name": "web", "http": {"url": f"http://127.0.0.1:{port}/", "timeout": "1s"},
                                     "interval": "500ms"}]},
        "faults": [{"kind": args.kind, "target": "web", "duration": f"{args.duration}s"}],
        "expect": {"recovers_within": "60s"},
    }))
    reports = work / "reports"
    env = {**os.environ, "GAMEDAY_STATE_DIR": str(work / "state")}
    log = (work / "run.log").open("wb")
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "gameday", "run", str(scenario), "--reports", str(reports)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    marks: dict[str, float] = {}

    def mark(what: str) -> None:
        marks[what] = time.monotonic() - t0
        print(f"{marks[what]:7.2f}s  {what}", flush=True)

    run_dir: Path | None = None
    while "injected" not in marks:
        run_dir = next((p for p in reports.glob("*") if p.is_dir()), None)
        if run_dir and any(e["kind"] == "fault.injected" for e in events(run_dir)):
            mark("injected")
        if proc.poll() is not None:
            raise SystemExit(f"the run ended before injecting: {(work / 'run.log').read_text()[-800:]}")
        time.sleep(0.05)
    assert run_dir is not None
    time.sleep(max(0.0, marks["injected"] + args.restart_after - (time.monotonic() - t0)))
    pid = dockerd_pid()
    if pid is None:
        raise SystemExit("no dockerd process found")
    cmdline = [a for a in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0") if a]
    os.kill(pid, signal.SIGTERM)
    mark(f"SIGTERM to dockerd (pid {pid})")
    while Path(f"/proc/{pid}").exists():
        time.sleep(0.05)
    mark("dockerd exited")
    time.sleep(args.down_for)  # a slow restart: the daemon stays away across the run's revert
    with open("/var/log/gameday-dockerd.log", "ab") as out:
        subprocess.Popen(["nohup", *cmdline], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    mark(f"dockerd started again ({' '.join(cmdline)})")
    while not daemon_up():
        time.sleep(0.2)
    mark("docker info answers")
    deadline = time.monotonic() + 90
    while proc.poll() is None and time.monotonic() < deadline:
        if "container running again" not in marks and container_state(name) == "running":
            mark("container running again")
        time.sleep(0.1)
    code = proc.wait(timeout=120)
    mark(f"run exited with {code}")
    log.close()
    time.sleep(8)  # the watchdog, if it acted, re-checks for 6 s
    print(f"container at the end: {container_state(name)}")
    for e in events(run_dir):
        if e["kind"] in ("fault.injected", "revert.retrying", "fault.reverted", "revert.failed", "recovery.met",
                         "recovery.failed", "run.finished"):
            print(f"  timeline {e['offset']:7.2f}s {e['kind']} {json.dumps(e['details'])[:220]}")
    wlog = run_dir / "watchdog.log"
    print("watchdog.log:\n  " + "\n  ".join(wlog.read_text().splitlines() if wlog.exists() else ["(none)"]))
    journal = [json.loads(x) for x in (run_dir / "journal.jsonl").read_text().splitlines()]
    print("journal ops: " + ", ".join(f"{r['op']}{'/' + r['by'] if 'by' in r else ''}" for r in journal))
    print("run output tail:\n  " + "\n  ".join((work / "run.log").read_text(errors="replace").splitlines()[-6:]))


if __name__ == "__main__":
    main()
