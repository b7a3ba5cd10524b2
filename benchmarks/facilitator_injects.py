"""How late are injects and scripted responses released, live-speed and compressed (issue 5, parts 2-3)?

Runs tabletop replays (no fault, no Docker) of a scenario with N injects and N scripted steps spaced
evenly, at speed 1 and at a compressed speed, and reports the lateness of each release: the recorded
T+ minus the scheduled T+, in real milliseconds (scenario lateness / speed). Run on demand:

    python benchmarks/facilitator_injects.py --count 20 --span 5 --speed 60
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import yaml

from gameday.facilitator.drill import tabletop_scripted
from gameday.scenario.loader import load_scenario
from gameday.timeline import read_timeline


def scenario_file(folder: Path, *, count: int, span_s: float) -> Path:
    step = span_s / count
    doc = {
        "version": 1, "name": "inject-bench",
        "stack": {"targets": {"web": {"container": "not-touched-in-a-tabletop"}}},
        "faults": [{"kind": "container_kill", "target": "web", "duration": f"{span_s * 2 + 5:g}s"}],
        "injects": [{"at": f"{(i + 1) * step * 1000:.0f}ms", "text": f"inject {i}"} for i in range(count)],
        "responses": [{"at": f"{((i + 1) * step + step / 2) * 1000:.0f}ms", "action": "note", "text": f"step {i}"}
                      for i in range(count)],
    }
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def lateness(folder: Path, speed: float, *, count: int, span_s: float) -> tuple[list[float], list[float], float]:
    path = scenario_file(folder, count=count, span_s=span_s * speed)
    scenario = load_scenario(path)
    result = tabletop_scripted(scenario, path, reports_dir=folder / f"reports-{speed:g}", speed=speed)
    events = read_timeline(result.run_dir / "timeline.jsonl")
    injects = [(e.details["t_s"] - e.details["due_t_s"]) / speed * 1000 for e in events if e.kind == "inject.released"]
    due = {f"step {i}": r.at for i, r in enumerate(scenario.responses)}
    steps = [(e.details["t_s"] - due[e.details["text"]]) / speed * 1000 for e in events if e.kind == "note.recorded"]
    order_ok = [e.details.get("text") for e in events if e.kind in ("inject.released", "note.recorded")]
    expected = [x for i in range(count) for x in (f"inject {i}", f"step {i}")]
    return injects, steps, float(order_ok == expected)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--span", type=float, default=5.0, help="real seconds the releases are spread over")
    parser.add_argument("--speed", type=float, default=60.0)
    args = parser.parse_args()
    print("| speed | kind | n | median ms | p95 ms | max ms | order as scheduled |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for speed in (1.0, args.speed):
            injects, steps, order = lateness(Path(tmp), speed, count=args.count, span_s=args.span)
            for kind, values in (("inject", injects), ("scripted step", steps)):
                values = sorted(values)
                p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
                print(f"| {speed:g} | {kind} | {len(values)} | {statistics.median(values):.1f} | {p95:.1f} | "
                      f"{max(values):.1f} | {'yes' if order else 'NO'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
