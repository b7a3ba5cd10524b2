"""Run Locust as a library in a child process and stream its stats, one JSON object a line, on stdout.

    python -m gameday.observe.locust_child --locustfile F --host URL --users N --spawn-rate R \
        --max-run-time S [--parent-pid P]

This is the only module of gameday that imports ``locust``, and it only ever runs as its own process
(started by :class:`gameday.observe.load.LoadObserver`). ``import locust`` monkey-patches the whole
interpreter with gevent (sockets, threads, time.sleep become cooperative greenlets); confined to this
process, Locust's greenlets cannot delay the harness's threads, clock or signal handling.

Stream on stdout (the real stdout is kept for the stream; anything a locustfile prints goes to stderr):
    {"type": "started", "pid", "locust_version", "user_classes", "host", "users", "spawn_rate"}
    {"type": "stats", "t", "interval_s", "requests", "failures", "rps", "error_rate",
     "p50_ms", "p95_ms", "p99_ms", "max_ms", "users", "hist"}        once a second
    {"type": "finished", "reason", "duration_s", "requests", "failures", "rps", "error_rate",
     "p50_ms", "p95_ms", "p99_ms", "locust_requests", "locust_failures"}   always last, on a clean stop
    {"type": "error", "message"}                                        then exit code 2

Statistics come from Locust's ``request`` event hook, counted here, so the totals include the last
partial second (Locust's CSV files are written once a second and not at shutdown, and undercount).
``hist`` maps a response time, rounded as Locust rounds it, to a count, so that percentiles over any
span of seconds (a phase of the run) can be computed later from the timeline alone.

Stopping: a ``stop`` line on stdin, EOF on stdin (the parent went away), SIGTERM or SIGINT, or the
max run time, whichever comes first; the child stops its users, flushes the last partial second and
``finished``, and exits. It also asks the kernel to SIGTERM it when its parent dies (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from typing import IO, Any

from gameday.observe.stats import hist_percentile

PR_SET_PDEATHSIG = 1
PERCENTILES = (("p50_ms", 0.50), ("p95_ms", 0.95), ("p99_ms", 0.99))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gameday.observe.locust_child")
    parser.add_argument("--locustfile", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--spawn-rate", type=float, required=True)
    parser.add_argument("--max-run-time", type=float, required=True, help="seconds; the child stops itself after")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between stats lines")
    parser.add_argument("--parent-pid", type=int, default=None)
    return parser.parse_args(argv)


def round_ms(ms: float) -> int:
    """Round a response time the way Locust's stats do: exact below 100 ms, then 2-3 significant digits."""
    value = round(ms)
    if value < 100:
        return value
    if value < 1000:
        return round(value, -1)
    if value < 10000:
        return round(value, -2)
    return round(value, -3)


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of an ascending list; None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(fraction * len(sorted_values) - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


class Counter:
    """Requests seen through the ``request`` hook: the current second and the whole run."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.failures = 0
        self.total_requests = 0
        self.total_failures = 0
        self.total_hist: dict[int, int] = {}

    def on_request(self, response_time: float | None = None, exception: BaseException | None = None,
                   **_: Any) -> None:
        self.times.append(float(response_time or 0.0))
        self.total_requests += 1
        self.total_hist[round_ms(response_time or 0.0)] = self.total_hist.get(round_ms(response_time or 0.0), 0) + 1
        if exception is not None:
            self.failures += 1
            self.total_failures += 1

    def take(self, t: float, interval: float, users: int) -> dict[str, Any]:
        """The stats line for the second that just ended; starts a new second."""
        times, failures = sorted(self.times), self.failures
        self.times, self.failures = [], 0
        hist: dict[int, int] = {}
        for value in times:
            hist[round_ms(value)] = hist.get(round_ms(value), 0) + 1
        line: dict[str, Any] = {
            "type": "stats",
            "t": round(t, 3),
            "interval_s": round(interval, 3),
            "requests": len(times),
            "failures": failures,
            "rps": round(len(times) / interval, 2) if interval > 0 else 0.0,
            "error_rate": round(failures / len(times), 4) if times else 0.0,
            "users": users,
            "hist": {str(k): v for k, v in sorted(hist.items())},
        }
        for key, fraction in PERCENTILES:
            found = percentile(times, fraction)
            line[key] = None if found is None else round(found, 1)
        line["max_ms"] = round(times[-1], 1) if times else None
        return line


class Stream:
    """JSON lines on the stdout the parent reads, flushed one by one."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def send(self, **message: Any) -> None:
        try:
            self.out.write(json.dumps(message, separators=(",", ":")) + "\n")
            self.out.flush()
        except (BrokenPipeError, OSError):
            pass  # the parent is gone; nothing left to tell


def claim_stdout() -> Stream:
    """Keep the real stdout for the stream and send everything else printed to stderr."""
    out_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return Stream(os.fdopen(out_fd, "w", encoding="utf-8", buffering=1))


def die_with_parent(parent_pid: int | None) -> None:
    """Ask Linux to SIGTERM this process when the parent dies; exit now if it already has.

    Linux sends the signal when the parent *thread* that started us ends, so the harness starts the
    child from the run's own thread, which outlives the load; EOF on stdin is the second safety net.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the stdin watchdog still stops us when the parent goes away
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(3)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stream = claim_stdout()
    die_with_parent(args.parent_pid)

    # From here on the process is gevent's: import locust first so it patches before anything else.
    import locust  # noqa: I001 - must come first: it monkey-patches this process

    import gevent
    import gevent.event
    import gevent.socket
    from locust.env import Environment
    from locust.util.load_locustfile import load_locustfile

    try:
        user_classes, _shapes = load_locustfile(os.path.abspath(args.locustfile))
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a user's file may raise anything; report it
        stream.send(type="error", message=f"cannot load locustfile {args.locustfile}: "
                                         f"{type(exc).__name__}: {' '.join(str(exc).split())}")
        return 2
    if not user_classes:
        stream.send(type="error", message=f"locustfile {args.locustfile} defines no User class")
        return 2

    counter = Counter()
    env = Environment(user_classes=list(user_classes.values()), host=args.host, events=locust.events)
    env.events.request.add_listener(counter.on_request)  # type: ignore[no-untyped-call]
    runner = env.create_local_runner()

    stop_reason: list[str] = []
    stopped = gevent.event.Event()

    def request_stop(reason: str) -> None:
        if not stopped.is_set():
            stop_reason.append(reason)
            stopped.set()

    def watch_stdin() -> None:
        fd = sys.stdin.fileno()
        buffer = b""
        while True:
            gevent.socket.wait_read(fd)
            chunk = os.read(fd, 1024)
            if not chunk:
                request_stop("parent closed stdin")
                return
            buffer += chunk
            if b"stop" in buffer:
                request_stop("stopped by the harness")
                return

    for sig in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(sig, request_stop, signal.Signals(sig).name)
    gevent.spawn(watch_stdin)
    gevent.spawn_later(args.max_run_time, request_stop, "max run time reached")

    start = time.monotonic()
    last = start

    def emit_seconds() -> None:
        nonlocal last
        tick = 1
        while True:
            gevent.sleep(max(0.0, start + tick * args.interval - time.monotonic()))
            now = time.monotonic()
            stream.send(**counter.take(now - start, now - last, runner.user_count))
            last = now
            tick = max(tick + 1, int((now - start) / args.interval) + 1)

    runner.start(args.users, spawn_rate=args.spawn_rate)
    stream.send(type="started", pid=os.getpid(), locust_version=locust.__version__,
                user_classes=sorted(user_classes), host=args.host, users=args.users, spawn_rate=args.spawn_rate)
    emitter = gevent.spawn(emit_seconds)

    stopped.wait()
    runner.quit()
    emitter.kill(block=True)
    now = time.monotonic()
    if counter.times or now - last > 0.05:
        stream.send(**counter.take(now - start, now - last, 0))
    duration = now - start
    totals: dict[str, Any] = {
        "type": "finished",
        "reason": stop_reason[0] if stop_reason else "",
        "duration_s": round(duration, 3),
        "requests": counter.total_requests,
        "failures": counter.total_failures,
        "rps": round(counter.total_requests / duration, 2) if duration > 0 else 0.0,
        "error_rate": round(counter.total_failures / counter.total_requests, 4) if counter.total_requests else 0.0,
        "locust_requests": runner.stats.total.num_requests,
        "locust_failures": runner.stats.total.num_failures,
    }
    for key, fraction in PERCENTILES:
        totals[key] = hist_percentile(counter.total_hist, fraction)
    stream.send(**totals)
    return 0


if __name__ == "__main__":
    sys.exit(main())
