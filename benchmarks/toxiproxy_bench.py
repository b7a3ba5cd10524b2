"""Toxiproxy benchmarks (issue 3, item 5): run on demand, print a Markdown section for RESULTS.md.

    python benchmarks/toxiproxy_bench.py            # a, b and c
    python benchmarks/toxiproxy_bench.py --only a   # one of them

(a) added latency measured at the client vs asked (100, 500, 1000 ms): error in ms and percent.
(b) time from the fault step to the toxic being effective, and from revert to recovery: at the client
    (a new connection every 5 ms) and as the engine records it (fault.effective, fault.reverted, recovery.met).
(c) harness overhead vs Chaos Toolkit (chaostoolkit + chaostoolkit-toxiproxy): the same 500 ms latency
    for 2 s and its rollback against the same toxiproxy, alternating runs; wall time and peak RSS of each
    child process (/usr/bin/time).

Everything is on 127.0.0.1: a real toxiproxy server in front of a real echo / HTTP server of ours.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

# benchmarks/ is sys.path[0] when this script runs, so its sibling module imports as it is.
from toxiproxy_env import (
    echo_upstream,
    http_upstream,
    machine,
    median,
    round_trip,
    toxiproxy_server,
)

from gameday.faults.toxiproxy import Latency
from gameday.faults.toxiproxy_client import ToxiproxyClient
from gameday.scenario.model import FaultSpec, StackSpec


def latency_spec(url: str, proxy: str, latency_ms: int) -> tuple[FaultSpec, StackSpec]:
    fault = FaultSpec.model_validate({"kind": "latency", "target": "p", "duration": "1s",
                                      "args": {"latency": f"{latency_ms}ms"}})
    stack = StackSpec.model_validate({"toxiproxy": {"url": url}, "targets": {"p": {"proxy": proxy}}})
    return fault, stack


# --- (a) accuracy ---------------------------------------------------------------------------


def bench_accuracy(url: str, samples: int) -> list[str]:
    client = ToxiproxyClient(url)
    rows = []
    with echo_upstream() as up:
        proxy = client.create_proxy(f"bench-a-{uuid.uuid4().hex[:6]}", listen="127.0.0.1:0", upstream=up.address)
        port = proxy.listen_port
        for _ in range(5):
            round_trip(port)  # warm up
        base = [round_trip(port) for _ in range(samples)]
        base_ms = median(base) * 1000
        for asked in (100, 500, 1000):
            driver = Latency()
            handle = driver.prepare(*latency_spec(url, proxy.name, asked))
            driver.inject(handle)
            try:
                with_toxic = [round_trip(port) * 1000 for _ in range(samples)]
            finally:
                driver.revert(handle)
            added = [t - base_ms for t in with_toxic]
            med = median(added)
            err = med - asked
            rows.append(
                f"| {asked} | {base_ms:.2f} | {med:.1f} | {min(added):.1f} / {max(added):.1f} | "
                f"{err:+.1f} | {err / asked * 100:+.2f}% |"
            )
        client.delete_proxy(proxy.name)
    client.close()
    return [
        f"### (a) Added latency at the client vs asked ({samples} round trips each, new TCP connection per round trip)",
        "",
        "Echo request/response through the proxy; the toxic is added by the `latency` driver (downstream, no jitter).",
        "",
        "| asked ms | baseline median ms | added median ms | added min / max ms | error ms | error % |",
        "|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ]


# --- (b) time to effect and to recovery ------------------------------------------------------


def _watch(port: int, action: Callable[[], None], *, before: float, after: float, every: float = 0.005,
           ) -> tuple[float, float, list[tuple[float, float, float]]]:
    """Start a new round trip every ``every`` s around ``action``; returns (t_action, t_returned, [(start, end, rtt)])."""
    samples: list[tuple[float, float, float]] = []
    lock = threading.Lock()

    def probe() -> None:
        start = time.perf_counter()
        try:
            rtt = round_trip(port, timeout=5.0)
        except OSError:
            rtt = float("inf")
        with lock:
            samples.append((start, time.perf_counter(), rtt))

    threads: list[threading.Thread] = []

    def fire_until(deadline: float) -> None:
        while time.perf_counter() < deadline:
            t = threading.Thread(target=probe, daemon=True)
            t.start()
            threads.append(t)
            time.sleep(every)

    fire_until(time.perf_counter() + before)
    ticker_stop = time.perf_counter() + after
    ticker = threading.Thread(target=fire_until, args=(ticker_stop,), daemon=True)
    t_action = time.perf_counter()
    ticker.start()
    action()
    t_returned = time.perf_counter()
    ticker.join()
    for t in threads:
        t.join(timeout=10)
    return t_action, t_returned, samples


def bench_timing(url: str, rounds: int) -> list[str]:
    asked_ms = 300
    threshold = asked_ms / 2 / 1000
    client = ToxiproxyClient(url)
    effect, recover, inject_call, revert_call = [], [], [], []
    with echo_upstream() as up:
        proxy = client.create_proxy(f"bench-b-{uuid.uuid4().hex[:6]}", listen="127.0.0.1:0", upstream=up.address)
        for _ in range(rounds):
            driver = Latency()
            handle = driver.prepare(*latency_spec(url, proxy.name, asked_ms))
            t0, t0r, s = _watch(proxy.listen_port, lambda d=driver, h=handle: d.inject(h), before=0.05, after=0.4)
            inject_call.append((t0r - t0) * 1000)
            slow_starts = [start for start, _, rtt in s if rtt >= threshold]
            effect.append((min(slow_starts) - t0) * 1000 if slow_starts else float("nan"))
            time.sleep(0.3)
            t1, t1r, s = _watch(proxy.listen_port, lambda d=driver, h=handle: d.revert(h), before=0.05, after=0.4)
            revert_call.append((t1r - t1) * 1000)
            fast_ends = [end for start, end, rtt in s if start >= t1 and rtt < threshold]
            recover.append((min(fast_ends) - t1) * 1000 if fast_ends else float("nan"))
            time.sleep(0.1)
        client.delete_proxy(proxy.name)
    client.close()
    engine = _engine_timing(url, rounds)

    def stat(values: list[float]) -> str:
        return f"{median(values):.1f} | {min(values):.1f} | {max(values):.1f}"

    return [
        f"### (b) Time to effect and to recovery ({rounds} rounds, {asked_ms} ms latency)",
        "",
        "At the client: a new echo round trip is started every 5 ms around the call; *effective* is the start of the",
        f"first round trip slowed by at least {asked_ms // 2} ms, counted from the moment `inject()` was called;",
        "*recovered* is the end of the first fast round trip started after `revert()` was called, counted from that call.",
        "",
        "| measure | median ms | min ms | max ms |",
        "|---|---:|---:|---:|",
        f"| `inject()` call (POST toxic) returns | {stat(inject_call)} |",
        f"| fault step -> first slowed request at the client | {stat(effect)} |",
        f"| `revert()` call (DELETE toxic) returns | {stat(revert_call)} |",
        f"| revert step -> first fast request at the client | {stat(recover)} |",
        f"| engine: `fault.effective` after_ms (inject -> check() sees the toxic) | {stat(engine['effective'])} |",
        f"| engine: `fault.reverted` revert_ms | {stat(engine['revert'])} |",
        f"| engine: `recovery.met` after revert (HTTP probe, 100 ms interval) | {stat(engine['recovery'])} |",
        "",
    ]


def _engine_timing(url: str, rounds: int) -> dict[str, list[float]]:
    from gameday.engine.run import RunOptions, run_scenario
    from gameday.scenario.loader import load_scenario

    out: dict[str, list[float]] = {"effective": [], "revert": [], "recovery": []}
    client = ToxiproxyClient(url)
    with http_upstream() as up, tempfile.TemporaryDirectory(prefix="gameday-bench-b-") as tmp:
        proxy = client.create_proxy(f"bench-e-{uuid.uuid4().hex[:6]}", listen="127.0.0.1:0", upstream=up.address)
        path = Path(tmp) / "s.yaml"
        path.write_text(yaml.safe_dump(_scenario(url, proxy.name, proxy.listen_port, "300ms", "1s", interval="100ms")))
        _write_stack(Path(tmp), url, proxy.name)
        for i in range(rounds):
            result = run_scenario(load_scenario(path), RunOptions(reports_dir=Path(tmp) / "r", run_id=f"b{i}",
                                                                  handle_signals=False, observers=[],
                                                                  state_dir=Path(tmp) / "state"))
            events = [json.loads(x) for x in (result.run_dir / "timeline.jsonl").read_text().splitlines()]
            by_kind = {e["kind"]: e for e in events}
            out["effective"].append(by_kind["fault.effective"]["details"]["after_ms"])
            out["revert"].append(by_kind["fault.reverted"]["details"]["revert_ms"])
            out["recovery"].append(by_kind["recovery.met"]["details"]["after_s"] * 1000)
        client.delete_proxy(proxy.name)
    client.close()
    return out


# --- (c) overhead vs Chaos Toolkit -----------------------------------------------------------


def _write_stack(folder: Path, url: str, proxy: str) -> None:
    """stacks/bench.yaml beside the scenario: a proxy target needs a stack file whose allowlist names it."""
    (folder / "stacks").mkdir(exist_ok=True)
    (folder / "stacks" / "bench.yaml").write_text(yaml.safe_dump({
        "version": 1, "name": "bench", "environment": "staging", "toxiproxy": {"url": url},
        "targets": {"path": {"proxy": proxy}}, "allow": {"toxiproxy": [proxy]},
    }))


def _scenario(url: str, proxy: str, port: int, latency: str, duration: str, interval: str = "1s") -> dict[str, Any]:
    return {
        "version": 1,
        "name": "bench-latency",
        "stack": "bench",  # stacks/bench.yaml (_write_stack)
        "steady_state": {"probes": [{"name": "api", "interval": interval,
                                     "http": {"url": f"http://127.0.0.1:{port}/", "timeout": "3s",
                                              "max_latency": "300ms"}}]},
        "faults": [{"kind": "latency", "target": "path", "args": {"latency": latency}, "duration": duration}],
        "expect": {"recovers_within": "10s", "probes": [{"probe": "api", "during_fault": "down"}]},
    }


def _experiment(url: str, proxy: str, port: int, latency_ms: int, duration_s: int) -> dict[str, Any]:
    probe = {"type": "probe", "name": "api-answers", "tolerance": 200,
             "provider": {"type": "http", "url": f"http://127.0.0.1:{port}/", "timeout": 3}}
    return {
        "version": "1.0.0",
        "title": "bench-latency",
        "description": "the same latency injection and rollback as the gameday scenario",
        "configuration": {"toxiproxy_url": url},
        # Chaos Toolkit checks the hypothesis again BEFORE its rollbacks, while the toxic is still on, so a
        # 200 ms budget would deviate and (default strategy) skip the rollback: give the probe 3 s instead.
        "steady-state-hypothesis": {"title": "api answers", "probes": [probe]},
        "method": [{
            "type": "action", "name": "add-latency",
            "provider": {"type": "python", "module": "chaostoxi.toxic.actions", "func": "create_latency_toxic",
                         "arguments": {"for_proxy": proxy, "toxic_name": "bench-latency", "latency": latency_ms}},
            "pauses": {"after": duration_s},
        }],
        "rollbacks": [{
            "type": "action", "name": "remove-latency",
            "provider": {"type": "python", "module": "chaostoxi.toxic.actions", "func": "delete_toxic",
                         "arguments": {"for_proxy": proxy, "toxic_name": "bench-latency"}},
        }],
    }


def _measure(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float, int, float]:
    """(wall seconds, peak RSS MiB, exit code, CPU seconds) of one child process.

    Peak RSS comes from /usr/bin/time (%M): ru_maxrss of a child forked straight from this Python would
    count the parent's pages it held between fork and exec (about 50 MiB here, even for `python -c pass`).
    CPU (user + system) is wait4's for /usr/bin/time, which includes the command it waited for.
    """
    report = cwd / "time.txt"
    start = time.perf_counter()
    child = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", str(report), *cmd], cwd=cwd, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    peak_kib = int(report.read_text().strip().splitlines()[-1])
    return wall, peak_kib / 1024, child.returncode, usage.ru_utime + usage.ru_stime


def _gameday_run_seconds(reports: Path) -> float:
    """run.started -> run.finished of the newest run under ``reports``, from its timeline."""
    newest = max(reports.glob("*/timeline.jsonl"), key=lambda p: p.stat().st_mtime)
    events = [json.loads(line) for line in newest.read_text().splitlines()]
    return float(events[-1]["offset"]) - float(events[0]["offset"])


def bench_overhead(url: str, rounds: int, chaos: str, baseline: str | None = None) -> list[str]:
    """``baseline``: another Python whose ``-m gameday`` is an earlier build, run in the same alternation."""
    latency_ms, duration_s = 500, 2
    client = ToxiproxyClient(url)
    chaos_bin = Path(chaos)
    results: dict[str, list[tuple[float, float, int, float]]] = {"gameday": [], "chaos": [], "python": [],
                                                                 "baseline": []}
    with http_upstream() as up, tempfile.TemporaryDirectory(prefix="gameday-bench-c-") as tmp_name:
        tmp = Path(tmp_name)
        proxy = client.create_proxy(f"bench-c-{uuid.uuid4().hex[:6]}", listen="127.0.0.1:0", upstream=up.address)
        (tmp / "scenario.yaml").write_text(yaml.safe_dump(
            _scenario(url, proxy.name, proxy.listen_port, f"{latency_ms}ms", f"{duration_s}s")))
        _write_stack(tmp, url, proxy.name)
        (tmp / "experiment.json").write_text(json.dumps(
            _experiment(url, proxy.name, proxy.listen_port, latency_ms, duration_s), indent=1))
        gameday_cmd = [sys.executable, "-m", "gameday", "run", "scenario.yaml", "--reports", str(tmp / "reports")]
        in_run: dict[str, list[float]] = {"gameday": [], "chaos": [], "baseline": []}
        commands = {"gameday": gameday_cmd}
        if baseline:
            commands["baseline"] = [baseline, *gameday_cmd[1:]]
        chaos_cmd = [str(chaos_bin), "--no-version-check", "--no-log-file", "--settings", str(tmp / "settings.yaml"),
                     "run", "--rollback-strategy", "always", "--journal-path", str(tmp / "journal.json"),
                     "experiment.json"]
        env_state = tmp / "state"
        # The children run as from a user's shell: bytecode caches are written and used (a first, unmeasured
        # run of each writes them), whatever this process was started with.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["GAMEDAY_STATE_DIR"] = str(env_state)
        for cmd in [*commands.values(), chaos_cmd]:
            _measure(cmd, tmp, env)
        order = [*commands, "chaos"]
        for i in range(rounds):
            # alternating, the order reversed every other round
            for name in order if i % 2 == 0 else order[::-1]:
                if name in commands:
                    results[name].append(_measure(commands[name], tmp, env))
                    in_run[name].append(_gameday_run_seconds(tmp / "reports"))
                else:
                    results["chaos"].append(_measure(chaos_cmd, tmp, env))
                    in_run["chaos"].append(float(json.loads((tmp / "journal.json").read_text())["duration"]))
            results["python"].append(_measure([sys.executable, "-c", "pass"], tmp, env))
            left = client.toxics(proxy.name)
            if left:
                raise SystemExit(f"a run left toxics behind: {[t.name for t in left]}")
        journal = json.loads((tmp / "journal.json").read_text())
        chaos_status = journal.get("status")
        rolled_back = [r.get("status") for r in journal.get("rollbacks", [])]
        client.delete_proxy(proxy.name)
    client.close()

    def row(name: str, label: str) -> str:
        runs = results[name]
        walls = [r[0] for r in runs]
        rss = [r[1] for r in runs]
        codes = sorted({r[2] for r in runs})
        over = f"{median(walls) - duration_s:.2f}" if name != "python" else "-"
        inside = f"{median(in_run[name]):.2f}" if name in in_run else "-"
        cpu = median([r[3] for r in runs])
        return (f"| {label} | {median(walls):.2f} | {min(walls):.2f} / {max(walls):.2f} | {over} | {inside} | "
                f"{cpu:.2f} | {median(rss):.1f} | {max(rss):.1f} | {', '.join(map(str, codes))} |")

    versions = subprocess.run([str(chaos_bin.with_name("python")), "-c",
                               "import chaoslib, chaostoolkit; print(chaostoolkit.__version__, chaoslib.__version__)"],
                              capture_output=True, text=True, check=False).stdout.split() or ["?", "?"]
    ratios = (f"Ratios of the medians, gameday / Chaos Toolkit: wall {_ratio(results, 0):.2f}x, peak RSS "
              f"{_ratio(results, 1):.2f}x, CPU {_ratio(results, 3):.2f}x.")

    return [
        f"### (c) Harness overhead vs Chaos Toolkit ({rounds} alternating runs each, same toxiproxy and proxy)",
        "",
        f"Both: HTTP steady-state probe through the proxy, add {latency_ms} ms latency, hold {duration_s} s, remove the",
        "toxic, check again. gameday: `python -m gameday run scenario.yaml` (probes every 1 s during the fault,",
        (f"recovery wait, scoring, report; {sys.executable}). Chaos Toolkit {versions[0]} "
         f"(chaostoolkit-lib {versions[1]}, chaostoolkit-toxiproxy; {chaos_bin}, its own virtualenv):"),
        "`chaos --no-version-check run --rollback-strategy always experiment.json` with `create_latency_toxic` + pause,",
        "rollback `delete_toxic`. (Its hypothesis is re-checked before rollbacks, while the toxic is on, so its probe",
        "gets a 3 s timeout; with the default strategy a deviated hypothesis skips the rollback and leaves the toxic.)",
        "Fixed work differs: Chaos Toolkit's after-method probe runs while the 500 ms toxic is still on (about 0.5 s);",
        "gameday's probes during the fault run in a thread beside the 2 s hold, and its recovery probe runs after revert.",
        f"Last chaos journal: status `{chaos_status}`, rollbacks {rolled_back}. Peak RSS: `/usr/bin/time -f %M`.",
        "",
        "*in-run* is the tool's own record of the experiment: gameday run.started -> run.finished (timeline offsets),",
        "Chaos Toolkit's journal `duration`; the rest of the wall time is interpreter start, imports, loading, reports.",
        "",
        ("| run | wall median s | wall min / max s | overhead over the 2 s fault, s | in-run median s | "
         "CPU median s | peak RSS median MiB | max MiB | exit codes |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        row("gameday", "gameday"),
        *([row("baseline", f"gameday, baseline build (`{baseline} -m gameday`)")] if baseline else []),
        row("chaos", "Chaos Toolkit"),
        row("python", "bare `python -c pass` (floor)"),
        "",
        ratios,
        "",
    ]


def _ratio(results: dict[str, list[tuple[float, float, int, float]]], index: int) -> float:
    return median([r[index] for r in results["gameday"]]) / median([r[index] for r in results["chaos"]])


def _default_chaos() -> str | None:
    beside = Path(sys.executable).with_name("chaos")
    return str(beside) if beside.exists() else shutil.which("chaos")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["a", "b", "c"], action="append")
    parser.add_argument("--samples", type=int, default=11, help="(a) round trips per latency")
    parser.add_argument("--rounds", type=int, default=5, help="(b) and (c) repetitions")
    parser.add_argument("--baseline", metavar="PYTHON",
                        help="(c) also run `PYTHON -m gameday` (an earlier build) in the same alternation")
    parser.add_argument("--chaos", default=_default_chaos(),
                        help="(c) Chaos Toolkit's `chaos`, with chaostoolkit-toxiproxy, in its own virtualenv")
    args = parser.parse_args()
    parts = args.only or ["a", "b", "c"]
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"## Toxiproxy network faults (issue 3, item 5) - {now}", "",
             f"Machine: {machine()}. Python {sys.version.split()[0]}.", ""]
    with toxiproxy_server() as url:
        with ToxiproxyClient(url) as c:
            lines += [(f"Toxiproxy server `{c.version()}` (module github.com/Shopify/toxiproxy/v2 v2.5.0 built with go "
                       "install), on 127.0.0.1; upstreams are Python echo / HTTP servers on 127.0.0.1."), ""]
        if "a" in parts:
            lines += bench_accuracy(url, args.samples)
        if "b" in parts:
            lines += bench_timing(url, args.rounds)
        if "c" in parts:
            if not args.chaos:
                raise SystemExit("(c) needs Chaos Toolkit: --chaos PATH (chaostoolkit and chaostoolkit-toxiproxy)")
            lines += bench_overhead(url, args.rounds, args.chaos, args.baseline)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
