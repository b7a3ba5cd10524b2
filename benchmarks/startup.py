"""CLI start-up cost: `gameday validate` / `gameday --help` beside Chaos Toolkit's `chaos validate` / `chaos --help`
(issue 19, goals: validate and --help each <= 0.5x Chaos Toolkit's CPU time), and validating 1,000 scenario files
in one call.

Run on demand, from the repository root:

    python benchmarks/startup.py --chaos /path/to/ctk-venv/bin/chaos [--gameday /path/to/bin/gameday] [--runs 10]

Chaos Toolkit goes in its own virtualenv (python -m venv /tmp/ctk && /tmp/ctk/bin/pip install chaostoolkit==1.19.0),
and so, for a fair start-up, does gameday (python -m venv /tmp/gd && /tmp/gd/bin/pip install -e .): a virtualenv
made with --system-site-packages also runs the system's site hooks at every start. ``--gameday`` defaults to the
`gameday` beside this interpreter.

How it measures: each command is one child process under /usr/bin/time (peak RSS, %M); CPU is user + system time
of that child from wait4 (microseconds, including the command's own children), wall time from the parent's clock.
Every pair (gameday, Chaos Toolkit) runs alternately, the order swapped every round, ``--runs`` rounds, after two
unmeasured warm-up runs of each command (so Python's bytecode caches exist, as after any install). The children run
without PYTHONDONTWRITEBYTECODE, as a user's shell would. Floors: a bare interpreter of each virtualenv, the gameday
one importing PyYAML and pydantic's BaseModel, and the same building and using one small model (PYDANTIC_FLOOR:
what any pydantic-based validate must pay), the same on pydantic-core alone (CORE_FLOOR) and reading the
installed entry points (ENTRY_POINTS_FLOOR).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
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

ROOT = Path(__file__).resolve().parents[1]

PYDANTIC_FLOOR = """\
import yaml
from pydantic import BaseModel, ConfigDict, Field
class M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    name: str = Field(min_length=1)
M.model_validate(yaml.safe_load("name: x"))
"""
"""The least a pydantic-based validate pays: a model class built (pydantic's plugin scan included) and used once."""

CORE_FLOOR = """\
import yaml
from pydantic_core import SchemaValidator, core_schema as cs
v = SchemaValidator(cs.typed_dict_schema({"name": cs.typed_dict_field(cs.str_schema(min_length=1))},
                                         extra_behavior="forbid", strict=True))
v.validate_python(yaml.safe_load("name: x"))
"""
"""The least a validate on pydantic-core alone pays (no pydantic: a core schema built by hand, as a generated
validator checked in sync with the models would ship it): the interpreter, PyYAML, pydantic-core, one schema."""

ENTRY_POINTS_FLOOR = "from importlib.metadata import entry_points; entry_points(group='gameday.faults')"
"""What finding the installed fault kinds costs (any validate of a plugin's fault kind needs it)."""


@dataclass
class Sample:
    cpu_ms: float
    wall_ms: float
    rss_mib: float
    code: int


def measure(cmd: list[str], *, cwd: Path, env: dict[str, str]) -> Sample:
    """One run of ``cmd``: CPU (wait4 of /usr/bin/time, which includes the command it waited for), wall, peak RSS."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        start = time.perf_counter()
        child = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", report.name, *cmd], cwd=cwd, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        lines = Path(report.name).read_text().strip().splitlines()
    # /usr/bin/time prints "Command exited with non-zero status N" before %M when the command fails.
    return Sample((usage.ru_utime + usage.ru_stime) * 1000, wall * 1000, int(lines[-1]) / 1024, child.returncode)


def alternate(pairs: dict[str, tuple[list[str], list[str] | None]], *, runs: int, cwd: Path,
              env: dict[str, str]) -> dict[str, list[Sample]]:
    """Each label's gameday and Chaos Toolkit commands, alternately; keys ``label`` and ``label/chaos``."""
    out: dict[str, list[Sample]] = {}
    jobs = [(label, cmd) for label, (ours, theirs) in pairs.items()
            for label, cmd in ((label, ours), (f"{label}/chaos", theirs)) if cmd is not None]
    for label, cmd in jobs:  # warm-up: bytecode caches written, files in the page cache
        for _ in range(2):
            measure(cmd, cwd=cwd, env=env)
        out[label] = []
    for round_ in range(runs):
        for label, (ours, theirs) in pairs.items():
            order: list[tuple[str, list[str] | None]] = [(label, ours), (f"{label}/chaos", theirs)]
            for key, command in order if round_ % 2 == 0 else order[::-1]:
                if command is not None:
                    out[key].append(measure(command, cwd=cwd, env=env))
    return out


def med(samples: list[Sample], attr: str) -> float:
    return float(statistics.median(getattr(s, attr) for s in samples))


def machine() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} cores, load average at start {load}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chaos", default=shutil.which("chaos"), help="Chaos Toolkit's `chaos` (its own virtualenv)")
    parser.add_argument("--gameday", default=str(Path(sys.executable).with_name("gameday")))
    parser.add_argument("--baseline", metavar="GAMEDAY",
                        help="an earlier build's `gameday`, measured in the same alternation (its rows say baseline)")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--files", type=int, default=1000, help="scenario files validated in one call")
    parser.add_argument("--batch-runs", type=int, default=3, help="runs of the many-files validate")
    args = parser.parse_args()
    if not args.chaos or not Path(args.chaos).exists():
        raise SystemExit("no Chaos Toolkit: pass --chaos PATH (pip install chaostoolkit==1.19.0 in its own venv)")
    gameday, chaos = args.gameday, args.chaos
    gd_python, ctk_python = str(Path(gameday).with_name("python")), str(Path(chaos).with_name("python"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    ctk_version = subprocess.run([chaos, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"Machine: {machine()}; Python {platform.python_version()}; {started}.",
             f"gameday: {gameday}; Chaos Toolkit: {chaos} ({ctk_version or 'version unknown'}).", ""]

    with tempfile.TemporaryDirectory(prefix="gameday-startup-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "web-kill.yaml").write_text(SCENARIO)
        (tmp / "web-kill.json").write_text(json.dumps(EXPERIMENT))
        chaos_validate = [chaos, "--no-version-check", "--no-log-file", "validate", "web-kill.json"]
        pairs: dict[str, tuple[list[str], list[str] | None]] = {
            "validate": ([gameday, "validate", "web-kill.yaml"], chaos_validate),
            "validate scenarios/checkout-db-down.yaml": (
                [gameday, "validate", str(ROOT / "scenarios" / "checkout-db-down.yaml")], chaos_validate),
            "--help": ([gameday, "--help"], [chaos, "--help"]),
            "python -c pass": ([gd_python, "-c", "pass"], [ctk_python, "-c", "pass"]),
            "import yaml + pydantic.BaseModel": (
                [gd_python, "-c", "import yaml; from pydantic import BaseModel"], None),
            "one pydantic model built and validated": ([gd_python, "-c", PYDANTIC_FLOOR], None),
            "pydantic-core alone: one core schema built and validated": ([gd_python, "-c", CORE_FLOOR], None),
            "importlib.metadata: the installed fault kinds read": ([gd_python, "-c", ENTRY_POINTS_FLOOR], None),
        }
        if args.baseline:  # the same commands from the earlier build: each its own pair with Chaos Toolkit
            for label in ("validate", "validate scenarios/checkout-db-down.yaml", "--help"):
                ours, theirs = pairs[label]
                pairs[f"{label} (baseline)"] = ([args.baseline, *ours[1:]], theirs)
        results = alternate(pairs, runs=args.runs, cwd=tmp, env=env)

        lines += [("| command | gameday CPU ms | Chaos Toolkit CPU ms | CPU ratio | gameday wall ms | Chaos Toolkit "
                  "wall ms | wall ratio | gameday peak RSS MiB | Chaos Toolkit peak RSS MiB | exit codes |"),
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for label in pairs:
            mine, other = results[label], results.get(f"{label}/chaos")
            codes = sorted({s.code for s in mine} | {s.code for s in other or []})
            if other:
                lines.append(
                    f"| {label} | {med(mine, 'cpu_ms'):.0f} | {med(other, 'cpu_ms'):.0f} | "
                    f"{med(mine, 'cpu_ms') / med(other, 'cpu_ms'):.2f}x | {med(mine, 'wall_ms'):.0f} | "
                    f"{med(other, 'wall_ms'):.0f} | {med(mine, 'wall_ms') / med(other, 'wall_ms'):.2f}x | "
                    f"{med(mine, 'rss_mib'):.1f} | {med(other, 'rss_mib'):.1f} | {codes} |")
            else:
                lines.append(f"| {label} | {med(mine, 'cpu_ms'):.0f} | - | - | {med(mine, 'wall_ms'):.0f} | - | - | "
                             f"{med(mine, 'rss_mib'):.1f} | - | {codes} |")
        lines += ["", f"Medians of {args.runs} alternating runs each (min CPU ms: " + ", ".join(
            f"{key} {min(s.cpu_ms for s in samples):.0f}" for key, samples in results.items()) + ").", ""]

        # Many files in one call: the per-file cost is the slope between one file and N.
        folder = tmp / "many"
        folder.mkdir()
        for i in range(args.files):
            (folder / f"s{i:04d}.yaml").write_text(SCENARIO.replace("name: web-kill", f"name: web-kill-{i}"))
        one = [measure([gameday, "validate", "-q", str(folder / "s0000.yaml")], cwd=tmp, env=env)
               for _ in range(args.batch_runs)]
        many = [measure([gameday, "validate", "-q", str(folder)], cwd=tmp, env=env) for _ in range(args.batch_runs)]
        per_cpu = (med(many, "cpu_ms") - med(one, "cpu_ms")) / (args.files - 1)
        per_wall = (med(many, "wall_ms") - med(one, "wall_ms")) / (args.files - 1)
        lines += [(f"`gameday validate -q` of {args.files} scenario files in one call ({args.batch_runs} runs, medians): "
                  f"CPU {med(many, 'cpu_ms') / 1000:.2f} s, wall {med(many, 'wall_ms') / 1000:.2f} s, peak RSS "
                  f"{med(many, 'rss_mib'):.1f} MiB, exit codes {sorted({s.code for s in many})}; one file: CPU "
                  f"{med(one, 'cpu_ms'):.0f} ms. Per file after the first: {per_cpu:.1f} ms CPU, {per_wall:.1f} ms wall "
                  f"(Chaos Toolkit validates one experiment per call: {med(results['validate/chaos'], 'cpu_ms'):.0f} "
                  "ms CPU each)."), ""]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
