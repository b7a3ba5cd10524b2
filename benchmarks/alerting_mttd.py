"""How exactly does gameday measure detection time (MTTD), by push and by poll, and what bounds it?

Real Prometheus and Alertmanager processes (the test setup of tests/observe/alerting_fixtures.py) scrape a
tiny metrics target; a trial flips a new series of its gauge at a random moment (the fault, whose time is
known exactly; a new series is a new alert, so a new Alertmanager group that waits group_wait), waits for the
alert, flips it back at a random moment and waits for the resolution. Two observers watch each trial at once:
one only by webhook (push), one only by polling Alertmanager's API (poll, restarted each trial at a random
phase: periodic loops started once stay phase-locked and would hide the poll error's spread).

For each trial:
    truth     = Prometheus's startsAt - fault   when the alerting system declared the alert firing
    measured  = harness received it - fault      what gameday reports as detection time
    error     = measured - truth                 what the harness adds: delivery (group_wait, HTTP) or polling
    bound     = scrape_interval + evaluation_interval + for + group_wait (push) / + poll interval (poll)

Run from the repository root, as a module (it reuses the test suite's alerting fixtures, package tests):
    python -m benchmarks.alerting_mttd [--trials 8] [--markdown]
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from gameday.clock import SystemClock, parse_iso
from gameday.contracts import RunContext
from gameday.observe.alerts import AlertObserver
from gameday.scenario.model import Scenario
from gameday.testing import free_port
from gameday.timeline import Event, Timeline
from tests.observe.alerting_fixtures import AlertStacks, MetricsTarget

RULE = """\
groups:
  - name: bench
    rules:
      - alert: BenchFault
        expr: gameday_test_fault > 0
        for: {for_}
        labels: {{severity: critical}}
"""


@dataclass(frozen=True)
class Setup:
    name: str
    scrape: float
    evaluation: float
    for_: float
    group_wait: float
    poll: float

    def bound(self, via: str) -> float:
        base = self.scrape + self.evaluation + self.for_
        return base + (self.group_wait if via == "push" else self.poll)


SETUPS = [
    Setup("fast (test setup)", scrape=1, evaluation=1, for_=0, group_wait=0, poll=1),
    Setup("group_wait 2s", scrape=1, evaluation=1, for_=0, group_wait=2, poll=1),
    Setup("evaluation 3s", scrape=1, evaluation=3, for_=0, group_wait=0, poll=1),
    Setup("for 2s, poll 0.25s", scrape=1, evaluation=1, for_=2, group_wait=0, poll=0.25),
]


@dataclass
class Trial:
    truth: float
    push: float | None
    poll: float | None
    push_reset: float | None
    poll_reset: float | None


def _secs(value: float) -> str:
    return f"{value:g}s"


def _first(tl: Timeline, kind: str, after: float) -> Event | None:
    return next((e for e in list(tl.events) if e.kind == kind and e.offset >= after), None)


def _offset_of_wall(wall: str, tl: Timeline, ref: Event) -> float:
    return ref.offset + (parse_iso(wall) - parse_iso(ref.at)).total_seconds()


def run_setup(setup: Setup, trials: int, root: Path) -> list[Trial]:
    target = MetricsTarget()
    stacks = AlertStacks(root / setup.name.replace(" ", "_").replace(",", ""))
    port = free_port()
    try:
        stack = stacks(target.address, rules=RULE.format(for_=_secs(setup.for_)), group_wait=_secs(setup.group_wait),
                       group_interval="1s", scrape=_secs(setup.scrape), evaluation=_secs(setup.evaluation),
                       receiver_port=port)
        stack.wait_scraped()
        scenario = Scenario.model_validate({"version": 1, "name": "bench", "stack": {"alertmanager": {"url": stack.alertmanager_url}},
                                            "faults": [{"kind": "container_kill", "target": "t", "duration": "1s"}]})
        clock = SystemClock()
        push_tl = Timeline(stacks.root / "push.jsonl", clock)
        poll_tl = Timeline(stacks.root / "poll.jsonl", clock, origin=push_tl.origin)
        push = AlertObserver(port=port, poll_interval=0)
        push.start(RunContext(scenario, push_tl, clock, stacks.root, stacks.root))
        out: list[Trial] = []
        for i in range(trials):
            # A poller started at a random moment: its phase against Prometheus's evaluations is random,
            # as it would be in a real run (two 1 s loops started once would stay phase-locked).
            time.sleep(random.uniform(0, setup.poll))
            poll = AlertObserver(webhook=False, poll_interval=setup.poll)
            poll.start(RunContext(scenario, poll_tl, clock, stacks.root, stacks.root))
            time.sleep(random.uniform(0, max(setup.scrape, setup.evaluation)))  # a random phase of scrape and eval
            # A new series each trial: a new alert, so a new Alertmanager group that waits group_wait.
            series = f'gameday_test_fault{{trial="{i}"}}'
            on = push_tl.record("bench.fault_on")
            target.set(series, 1)
            deadline = time.monotonic() + setup.bound("poll") + 15
            while time.monotonic() < deadline and not (_first(push_tl, "alert.firing", on.offset)
                                                        and _first(poll_tl, "alert.firing", on.offset)):
                time.sleep(0.02)
            time.sleep(random.uniform(0, max(setup.scrape, setup.evaluation, setup.poll)))  # unlock from the poll tick
            off = push_tl.record("bench.fault_off")
            target.set(series, 0)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not (_first(push_tl, "alert.resolved", off.offset)
                                                        and _first(poll_tl, "alert.resolved", off.offset)):
                time.sleep(0.02)
            poll.stop()
            fired_push = _first(push_tl, "alert.firing", on.offset)
            fired_poll = _first(poll_tl, "alert.firing", on.offset)
            any_fired = fired_push or fired_poll
            if any_fired is None:
                continue
            truth = _offset_of_wall(any_fired.details["starts_at"], push_tl, any_fired) - on.offset
            res_push = _first(push_tl, "alert.resolved", off.offset)
            res_poll = _first(poll_tl, "alert.resolved", off.offset)
            out.append(Trial(
                truth=truth,
                push=fired_push.offset - on.offset if fired_push else None,
                poll=fired_poll.offset - on.offset if fired_poll else None,
                push_reset=res_push.offset - off.offset if res_push else None,
                poll_reset=res_poll.offset - off.offset if res_poll else None,
            ))
        push.stop()
        push_tl.close()
        poll_tl.close()
        return out
    finally:
        stacks.close()
        target.close()


def _stats(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--setup", action="append", help="only setups whose name contains this")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="gameday-bench-") as tmp:
        for setup in SETUPS:
            if args.setup and not any(s in setup.name for s in args.setup):
                continue
            trials = run_setup(setup, args.trials, Path(tmp))
            truth = [t.truth for t in trials]
            push = [t.push for t in trials if t.push is not None]
            poll = [t.poll for t in trials if t.poll is not None]
            push_err = [t.push - t.truth for t in trials if t.push is not None]
            poll_err = [t.poll - t.truth for t in trials if t.poll is not None]
            rows.append((setup, len(trials), truth, push, push_err, poll, poll_err,
                         [t.push_reset for t in trials if t.push_reset is not None],
                         [t.poll_reset for t in trials if t.poll_reset is not None]))
            print(f"done: {setup.name} ({len(trials)} trials)", file=sys.stderr)
    print(f"Machine: {platform.machine()}, {platform.system()} {platform.release()}, Python {platform.python_version()}; "
          f"date: {time.strftime('%Y-%m-%d', time.gmtime())}; trials per setup: {args.trials}\n")
    print("Seconds, median (min-max). truth = Prometheus startsAt - fault; error = measured - truth.\n")
    print("| setup | scrape / eval / for / group_wait / poll | truth | push MTTD | push error | push bound "
          "| poll MTTD | poll error | poll bound | reset push | reset poll |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for setup, _n, truth, push, push_err, poll, poll_err, rp, rq in rows:
        knobs = f"{_secs(setup.scrape)} / {_secs(setup.evaluation)} / {_secs(setup.for_)} / {_secs(setup.group_wait)} / {_secs(setup.poll)}"
        print(f"| {setup.name} | {knobs} | {_stats(truth)} | {_stats(push)} | {_stats(push_err)} | {setup.bound('push'):g} "
              f"| {_stats(poll)} | {_stats(poll_err)} | {setup.bound('poll'):g} | {_stats(rp)} | {_stats(rq)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
