"""The facilitator's full-screen terminal (issue 18, item 9): what each candidate library costs, and what ours costs.

    python benchmarks/terminal_ui.py [--rounds 5] [--python PATH]

1. Import cost on top of rich (which gameday loads anyway), each in a fresh interpreter, median of the rounds:
   rich's Live (no new import; it has no line editor, so a fixed input line means raw terminal input and a
   line editor of our own), prompt_toolkit (what cli/drill_screen.py imports), Textual (when installed in
   the interpreter given by --python; it is not a gameday dependency).
2. ``gameday facilitate --speed 30`` of a one-fault tabletop at a pseudo-terminal, full screen and ``--plain``:
   seconds to the first question and the process's resident memory then (VmRSS).

Needs pexpect (the test extra). No Docker: a tabletop touches nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pexpect

IMPORTS = {
    "rich Live (+ termios)": "import rich.live, termios, tty",
    "prompt_toolkit": "import prompt_toolkit.application, prompt_toolkit.layout, prompt_toolkit.widgets, "
                      "prompt_toolkit.key_binding, prompt_toolkit.formatted_text",
    "textual": "import textual.app, textual.widgets, textual.containers",
}

CHILD = """
import importlib, resource, time
import rich.console, rich.prompt
r0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
{stmt}
t1 = time.perf_counter()
r1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{{(t1 - t0) * 1000:.1f}} {{(r1 - r0) / 1024:.1f}}")
"""

SCENARIO = """version: 1
name: bench-drill
severity: SEV2
stack: {targets: {web: {container: never-started}}}
faults: [{kind: container_kill, target: web, duration: 5m}]
injects:
  - {at: 30s, kind: customer_report, source: Customer Success, text: "checkouts fail"}
"""


def import_cost(python: str, stmt: str, rounds: int) -> tuple[float, float] | None:
    times, rss = [], []
    for _ in range(rounds):
        out = subprocess.run([python, "-c", CHILD.format(stmt=stmt)], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            return None
        ms, mb = out.stdout.split()
        times.append(float(ms))
        rss.append(float(mb))
    return statistics.median(times), statistics.median(rss)


def facilitate(plain: bool, rounds: int) -> tuple[float, float]:
    times, rss = [], []
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "bench.yaml").write_text(SCENARIO)
        for _ in range(rounds):
            args = ["-m", "gameday", "facilitate", *(["--plain"] if plain else []), "--speed", "30", "bench.yaml",
                    "--reports", "reports"]
            start = time.monotonic()
            child = pexpect.spawn(sys.executable, args, cwd=tmp, dimensions=(30, 120), encoding="utf-8", timeout=60)
            child.expect("Who noticed")
            times.append(time.monotonic() - start)
            status = Path(f"/proc/{child.pid}/status").read_text()
            rss.append(next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")) / 1024)
            child.sendcontrol("c")
            child.expect(pexpect.EOF)
            child.close()
    return statistics.median(times), statistics.median(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--python", default=sys.executable, help="the interpreter whose libraries are compared")
    args = parser.parse_args()
    print(f"import on top of rich, median of {args.rounds} fresh interpreters ({args.python})")
    for name, stmt in IMPORTS.items():
        cost = import_cost(args.python, stmt, args.rounds)
        print(f"  {name:24s} " + ("not installed" if cost is None else f"{cost[0]:7.1f} ms  +{cost[1]:5.1f} MB RSS"))
    print(f"gameday facilitate --speed 30 at a pseudo-terminal, median of {args.rounds}")
    for plain in (False, True):
        seconds, mb = facilitate(plain, args.rounds)
        print(f"  {'--plain' if plain else 'full screen':24s} first question after {seconds:5.2f} s, {mb:5.1f} MB RSS")


if __name__ == "__main__":
    main()
