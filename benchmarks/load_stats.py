"""Load statistics: Locust's CSV totals vs our request-hook stream, and the harness's timing beside a busy Locust.

Run on demand:  python benchmarks/load_stats.py [--seconds 10] [--users 4]

Needs only Python and the installed locust; all traffic goes to a threaded HTTP server on 127.0.0.1
started here, which counts the requests it answers (the ground truth).

(a) `locust --headless --csv` for N seconds: the Aggregated "Request Count" of _stats.csv and the last
    row of _stats_history.csv, against the server's count.
(b) `python -m gameday.observe.locust_child` for N seconds: the totals of its `finished` line against the
    server's count.
(c) The harness's timing: overshoot of time.sleep(50 ms) in this process, idle and while the child runs
    a heavy load (Locust's greenlets live in the child only).
"""

from __future__ import annotations

import argparse
import csv
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STEADY = HERE.parent / "tests" / "observe" / "locustfiles" / "steady.py"


class Counting(ThreadingHTTPServer):
    daemon_threads = True
    count = 0
    lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class Handler(BaseHTTPRequestHandler):
    server: Counting

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.count += 1
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve() -> Counting:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = Counting(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


def url(server: Counting) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def locust_csv(server: Counting, seconds: int, users: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "run"
        server.count = 0
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(STEADY), "--headless", "-u", str(users), "-r", "100",
             "-t", f"{seconds}s", "--csv", str(prefix), "--host", url(server), "--only-summary"],
            check=True, capture_output=True, timeout=seconds + 60,
        )
        served = server.count
        with (Path(f"{prefix}_stats.csv")).open() as f:
            aggregated = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
        with (Path(f"{prefix}_stats_history.csv")).open() as f:
            history = list(csv.DictReader(f))
    return {"served": served, "stats_csv": int(aggregated["Request Count"]),
            "history_last": int(history[-1]["Total Request Count"]) if history else 0}


def child_stream(server: Counting, seconds: float, users: int, *, wait_for_start: bool = True) -> dict[str, Any]:
    server.count = 0
    child = subprocess.Popen(
        [sys.executable, "-m", "gameday.observe.locust_child", "--locustfile", str(STEADY), "--host", url(server),
         "--users", str(users), "--spawn-rate", "100", "--max-run-time", str(seconds + 30)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    first = json.loads(child.stdout.readline())
    assert first["type"] == "started", first
    time.sleep(seconds)
    child.stdin.write("stop\n")
    child.stdin.close()
    lines = [json.loads(line) for line in child.stdout]
    child.wait()
    child.stdout.close()
    finished = lines[-1]
    return {"served": server.count, "requests": finished["requests"], "failures": finished["failures"],
            "stats_sum": sum(x["requests"] for x in lines if x["type"] == "stats"),
            "duration_s": finished["duration_s"]}


def sleep_overshoot_ms(seconds: float, step: float = 0.05) -> list[float]:
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.monotonic()
        time.sleep(step)
        out.append((time.monotonic() - t0 - step) * 1000)
    return out


def describe(values: list[float]) -> str:
    values = sorted(values)
    p99 = values[min(len(values) - 1, int(0.99 * len(values)))]
    return f"median {statistics.median(values):.2f} ms, p99 {p99:.2f} ms, max {values[-1]:.2f} ms (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=4)
    args = parser.parse_args()
    server = serve()

    a = locust_csv(server, args.seconds, args.users)
    print(f"(a) locust --csv, {args.seconds} s, {args.users} users: server answered {a['served']}; "
          f"_stats.csv Aggregated {a['stats_csv']} ({(a['stats_csv'] - a['served']) / a['served']:+.1%}); "
          f"_stats_history.csv last row {a['history_last']} ({(a['history_last'] - a['served']) / a['served']:+.1%})")

    b = child_stream(server, args.seconds, args.users)
    ok = b["requests"] - b["failures"]
    print(f"(b) locust_child stream, {args.seconds} s, {args.users} users: server answered {b['served']}; "
          f"finished.requests {b['requests']} ({(ok - b['served']) / b['served']:+.2%} successes vs server), "
          f"sum of per-second lines {b['stats_sum']}")

    idle = sleep_overshoot_ms(5)
    result: dict[str, Any] = {}
    loader = threading.Thread(target=lambda: result.update(child_stream(server, 7, 50)))
    loader.start()
    time.sleep(2)  # the child's import and spawn
    busy = sleep_overshoot_ms(5)
    loader.join()
    print(f"(c) time.sleep(50 ms) overshoot in the harness process: idle {describe(idle)}; "
          f"with a 50-user Locust child ({result['requests'] / result['duration_s']:.0f} req/s) {describe(busy)}")
    server.shutdown()


if __name__ == "__main__":
    main()
