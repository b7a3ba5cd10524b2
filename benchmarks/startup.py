"""CLI start-up time: `gameday --help` and `gameday validate` beside Chaos Toolkit's `chaos --help` / `chaos validate`.

Run on demand:  python benchmarks/startup.py [--chaos PATH_TO_chaos] [--runs 20]
Chaos Toolkit is best installed in its own virtualenv (python -m venv /tmp/ctk && /tmp/ctk/bin/pip install chaostoolkit).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENARIO = """\
version: 1
name: web-kill
stack:
  targets:
    web: {container: web}
steady_state:
  probes:
    - name: web
      http: {url: "http://127.0.0.1:18081/", max_latency: 500ms}
faults:
  - kind: container_kill
    target: web
    duration: 30s
expect:
  probes:
    - {probe: web, during_fault: down}
"""

EXPERIMENT = {
    "version": "1.0.0",
    "title": "web-kill",
    "description": "Kill the web container; the site answers again after it is started.",
    "steady-state-hypothesis": {
        "title": "web answers",
        "probes": [{"type": "probe", "name": "web", "tolerance": 200,
                    "provider": {"type": "http", "url": "http://127.0.0.1:18081/", "timeout": 1}}],
    },
    "method": [{"type": "action", "name": "kill-web",
                "provider": {"type": "process", "path": "docker", "arguments": "kill web"},
                "pauses": {"after": 30}}],
    "rollbacks": [{"type": "action", "name": "start-web",
                   "provider": {"type": "process", "path": "docker", "arguments": "start web"}}],
}


def timed(cmd: list[str], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), min(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chaos", default=shutil.which("chaos") or "/tmp/ctk-venv/bin/chaos")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    gameday = shutil.which("gameday") or "gameday"
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "web-kill.yaml"
        scenario.write_text(SCENARIO)
        experiment = Path(tmp) / "web-kill.json"
        experiment.write_text(json.dumps(EXPERIMENT))
        rows = [
            ("gameday --help", [gameday, "--help"]),
            ("gameday validate", [gameday, "validate", str(scenario)]),
            ("chaos --help", [args.chaos, "--help"]),
            ("chaos validate", [args.chaos, "--no-log-file", "validate", str(experiment)]),
        ]
        print("| command | median ms | min ms | runs |\n|---|---|---|---|")
        for label, cmd in rows:
            if not Path(cmd[0]).exists() and shutil.which(cmd[0]) is None:
                print(f"| {label} | not installed | | |")
                continue
            med, low = timed(cmd, args.runs)
            print(f"| {label} | {med:.0f} | {low:.0f} | {args.runs} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
