"""loadtests/checkout.py against the demo stack's real checkout service (the session's, tests/demo_stack.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.demo_stack import SessionDemoStack

# The demo stack at its default ports is one per machine: its tests take turns (tests/parallel.py).
pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("demo-stack")]

CHECKOUT = "http://127.0.0.1:18080"
LOCUSTFILE = Path(__file__).parents[2] / "loadtests" / "checkout.py"
COUNTER = re.compile(r'^checkout_requests_total\{endpoint="([^"]+)",method="([A-Z]+)",status="(\d+)"\} (\d+)', re.MULTILINE)


def request_counts() -> dict[tuple[str, str, str], int]:
    text = httpx.get(f"{CHECKOUT}/metrics", timeout=2, trust_env=False).text
    return {(e, m, s): int(n) for e, m, s, n in COUNTER.findall(text)}


def test_the_checkout_locustfile_browses_orders_and_checks_health(default_demo_stack: SessionDemoStack) -> None:
    default_demo_stack.up()
    before = request_counts()
    child = subprocess.Popen(
        [sys.executable, "-m", "gameday.observe.locust_child", "--locustfile", str(LOCUSTFILE), "--host", CHECKOUT,
         "--users", "2", "--spawn-rate", "10", "--max-run-time", "5"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert child.wait(timeout=30) == 0
        assert child.stdout is not None
        lines = [json.loads(line) for line in child.stdout.read().splitlines()]
    finally:
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                pipe.close()
        if child.poll() is None:
            child.kill()
            child.wait()
    after = request_counts()
    grew = {key: after[key] - before.get(key, 0) for key in after if after[key] > before.get(key, 0)}
    totals = lines[-1]
    assert totals["type"] == "finished" and totals["requests"] > 5
    by_call = {(e, m): 0 for e, m, _ in grew}
    for (e, m, _s), n in grew.items():
        by_call[(e, m)] += n
    assert by_call.get(("/products", "GET"), 0) > 0
    assert by_call.get(("/orders", "POST"), 0) > 0
    # The order body matches checkout's contract: no request of ours was rejected as malformed.
    assert grew.get(("/orders", "POST", "400"), 0) == 0
    # Everything Locust counted reached checkout (others may add requests of their own at the same time).
    assert sum(n for (e, _m, _s), n in grew.items() if e != "/metrics") >= totals["requests"]
