"""Runbook benchmarks: how fast the linter is, and how long shipped runbooks take to restore the demo stack.

    python -m benchmarks.runbooks --runs 10            lint timings
    python -m benchmarks.runbooks --runs 3 --demo      also: real faults on the demo stack (it must be up)

Run from the repository root, as a module: the demo part reuses the test suite's demo-stack helpers
(package tests).

The demo part kills PostgreSQL / revokes the checkout role login, follows the shipped runbook, and
reports the time to restore measured from the fault's injection. Every fault is reverted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def lint_timings(runs: int) -> None:
    from gameday.runbooks.lint import lint_file, lint_paths
    from gameday.runbooks.parse import MAX_BYTES

    books = REPO / "runbooks"
    count = len(list(books.glob("*.md")))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        lint_paths([books])
        times.append((time.perf_counter() - start) * 1000)
    print(f"| lint {count} shipped runbooks | {statistics.median(times):.0f} | {min(times):.0f} | {runs} |")

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.md"
        step = b"1. Start it.\n\n   ```sh {run}\n   docker start gameday-demo-postgres\n   ```\n\n"
        big.write_bytes(b"# Big\n\n## Steps\n\n" + step * (MAX_BYTES // len(step)))
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            lint_file(big)
            times.append((time.perf_counter() - start) * 1000)
        print(f"| lint one {MAX_BYTES // 1000} kB runbook (the cap) | {statistics.median(times):.0f} | "
              f"{min(times):.0f} | {runs} |")


def demo_timings(runs: int) -> None:
    import docker

    from gameday.faults.credentials import RevokeCredentials
    from gameday.faults.docker import ContainerKill
    from gameday.stack.state import read_env_file
    from tests.runbooks.test_demo_stack import _mounted_env_file, demo_scenario, run_against_fault, wait_green

    env = {k: v for k, v in os.environ.items() if not k.startswith("GAMEDAY_DEMO_")}
    env.update(read_env_file(_mounted_env_file(docker.from_env())))  # type: ignore[arg-type]
    cases = [
        ("checkout-db-down.md", ContainerKill(),
         {"kind": "container_kill", "target": "postgres", "duration": "60s"}),
        ("checkout-db-credentials-revoked.md", RevokeCredentials(environ=env),
         {"kind": "revoke_credentials", "target": "checkout-db-role", "duration": "60s",
          "args": {"terminate_sessions": True}}),
    ]
    for book, driver, fault in cases:
        ttr: list[float] = []
        works = 0
        for _ in range(runs):
            scenario = demo_scenario(book.removesuffix(".md"), fault)
            wait_green(scenario)
            with tempfile.TemporaryDirectory() as tmp:
                verdict = run_against_fault(driver, scenario, book, env, Path(tmp))
            works += verdict.works
            if verdict.time_to_restore_s is not None:
                ttr.append(verdict.time_to_restore_s)
        median = f"{statistics.median(ttr):.1f}" if ttr else "-"
        span = f"{min(ttr):.1f}-{max(ttr):.1f}" if ttr else "-"
        print(f"| {book} | {works}/{runs} | {median} | {span} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--demo", action="store_true", help="also run shipped runbooks against the demo stack")
    args = parser.parse_args()
    print("| what | median ms | min ms | runs |\n|---|---|---|---|")
    lint_timings(args.runs)
    if args.demo:
        print("\n| runbook | judged works | time to restore, median s | min-max s |\n|---|---|---|---|")
        demo_timings(args.runs)


if __name__ == "__main__":
    main()
