"""How `gameday history`, `action-items` and `trends` scale: a SQLite history of N runs (two action items each,
one done), then each command timed in its own process (wall time, peak RSS) with a 60 s bound.

    python -m benchmarks.history_scale --runs 30000 [--python PYTHON] [--src SRC]

``--src`` runs another checkout's code (e.g. the main branch before a change) with the same database.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gameday.history.store import History, RunRecord


def build(path: Path, runs: int) -> None:
    History(str(path)).close()  # the schema, as this version writes it
    conn = sqlite3.connect(path)
    rows, items = [], []
    for i in range(runs):
        day = 1 + i % 28
        month = 1 + (i // 28) % 12
        year = 2024 + (i // 336) % 3
        run_id = f"{year}{month:02d}{day:02d}T100000Z-s{i % 40}-{i:06x}"
        metrics = json.dumps({"time_to_detect": 30.0 + i % 200, "time_to_acknowledge": 30.0,
                              "time_to_resolve_from_detection": 300.0 + i % 900, "alert_recall": 1.0})
        scores = '{"overall": "S", "points": 5, "max_points": 8, "runbook_restored": true}'
        rows.append((run_id, f"scenario-{i % 40}", "demo", "latency", f"{year}-{month:02d}-{day:02d}T10:00:00.000Z",
                     600.0, "SEV2", "SEV2", "passed", 1, 0, metrics, scores, f"reports/{run_id}/report.md"))
        items.append((run_id, 0, f"fix the thing #{i}", "sre", "2026-12-01", "open"))
        items.append((run_id, 1, f"document the thing #{i}", "ic", "2026-12-01", "done"))
    conn.executemany(f"INSERT INTO runs VALUES ({', '.join('?' * 14)})", rows)
    conn.executemany("INSERT INTO action_items VALUES (?, ?, ?, ?, ?, ?)", items)
    conn.commit()
    conn.close()
    _ = RunRecord  # the columns above follow RunRecord's


def timed(argv: list[str], python: str, env: dict[str, str], cwd: Path) -> str:
    started = time.monotonic()
    try:
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", python, "-m", "gameday", *argv], capture_output=True,
                              text=True, timeout=60, cwd=cwd, env=env, check=False)
    except subprocess.TimeoutExpired:
        return f"{' '.join(argv[:3]):40s} over 60 s (stopped)"
    took = time.monotonic() - started
    peak = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "?"
    lines = proc.stdout.count("\n")
    return f"{' '.join(argv[:3]):40s} exit {proc.returncode:3d}  {took:6.2f} s  {int(peak) / 1024:6.0f} MB  {lines} lines out"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30000)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--src", default=str(Path(__file__).resolve().parents[1] / "src"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "history.sqlite"
        build(db, args.runs)
        env = {**os.environ, "PYTHONPATH": args.src}
        for argv in (["history"], ["history", "--limit", "0"], ["action-items"],
                     ["action-items", "--all", "--limit", "0"], ["trends", "--quarter", "2026Q4", "--out", "trends"]):
            print(timed([*argv, "--history", str(db)], args.python, env, Path(tmp)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
