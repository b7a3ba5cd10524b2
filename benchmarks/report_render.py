"""How long `gameday report` takes on a long drill, and how big the pages are.

Builds a synthetic one-hour SEV2 drill timeline (a probe every second, a load sample every second, two
alerts, the whole human side), then times ``render_run`` (Markdown + HTML + scorecard.json) and
``score`` alone. Run: ``python benchmarks/report_render.py [--minutes 60] [--runs 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gameday.clock import iso
from gameday.report.render import render_run
from gameday.scoring.scorecard import score
from gameday.timeline import Event, read_timeline

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def _ev(offset: float, kind: str, actor: str = "harness", **details: Any) -> Event:
    return Event(iso(T0 + timedelta(seconds=offset)), offset, kind, actor, details)


def synthetic(minutes: int) -> list[Event]:
    end = minutes * 60.0
    fault_from, fault_to = 60.0, end * 0.6
    out = [_ev(0, "run.started", run_id="bench", scenario="bench", drill=True, expected_severity="SEV2",
               faults=[{"fault": "f", "kind": "latency", "target": "t", "at_s": 0, "duration_s": fault_to - fault_from}]),
           _ev(0.5, "phase.changed", phase="steady_state"), _ev(fault_from - 1, "phase.changed", phase="fault"),
           _ev(fault_from - 0.5, "fault.injected", fault="f"), _ev(fault_from, "fault.effective", fault="f"),
           _ev(fault_to, "fault.reverted", fault="f"), _ev(fault_to + 0.2, "phase.changed", phase="recovery")]
    for s in range(1, int(end)):
        red = fault_from < s < fault_to
        out.append(_ev(s + 0.1, "probe.checked", "probe:web", probe="web", ok=not red,
                       latency_ms=900.0 if red else 40.0, phase="fault" if red else "steady_state"))
        out.append(_ev(s + 0.2, "load.stats", "load", rps=50.0, p50_ms=30.0, p95_ms=800.0 if red else 90.0,
                       p99_ms=1000.0, error_rate=0.3 if red else 0.0, requests=50, failures=15 if red else 0,
                       phase="fault" if red else "steady_state"))
    human = [(fault_from + 120, "alert.firing", "alertmanager", {"alertname": "A", "fingerprint": "1"}),
             (fault_from + 200, "incident.acknowledged", "ic", {}),
             (fault_from + 260, "severity.declared", "ic", {"severity": "SEV2"}),
             (fault_from + 261, "role.assigned", "facilitator", {"role": "incident_commander", "person": "ic"}),
             (fault_from + 300, "status_update.sent", "comms", {"audience": "internal", "text": "u"}),
             (fault_to - 60, "incident.mitigated", "ic", {}),
             (fault_to + 30, "alert.resolved", "alertmanager", {"alertname": "A", "fingerprint": "1"}),
             (fault_to + 120, "incident.resolved", "ic", {}),
             (end - 5, "review.recorded", "scribe", {"root_cause": "r", "went_well": ["a"], "went_poorly": [],
                                                     "got_lucky": [], "action_items": [{"text": "t", "owner": "o",
                                                                                         "due": "d"}]})]
    out += [_ev(t, k, a, **d) for t, k, a, d in human]
    out.append(_ev(end, "run.finished", outcome="passed", exit_code=0))
    return sorted(out, key=lambda e: e.offset)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        run.mkdir()
        events = synthetic(args.minutes)
        (run / "timeline.jsonl").write_text("".join(e.to_json() + "\n" for e in events))
        loaded = read_timeline(run / "timeline.jsonl")
        renders, scores = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            render_run(run)
            renders.append(time.perf_counter() - t)
            t = time.perf_counter()
            score(loaded)
            scores.append(time.perf_counter() - t)
        sizes = {n: (run / n).stat().st_size for n in ("report.md", "report.html", "scorecard.json")}
    print(f"{len(events)} events ({args.minutes} min drill), {args.runs} runs")
    print(f"render_run (md + html + json): median {statistics.median(renders) * 1000:.0f} ms, "
          f"min {min(renders) * 1000:.0f} ms")
    print(f"score alone: median {statistics.median(scores) * 1000:.0f} ms")
    print("sizes: " + ", ".join(f"{n} {s / 1024:.0f} KiB" for n, s in sizes.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
