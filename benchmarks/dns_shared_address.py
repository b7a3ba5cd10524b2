"""Do two demo stacks' zone servers answer each other's lookups? The old layout against the new one.

Old: both stacks' servers on one address, port 53, with SO_REUSEPORT (as checkout's zone server was until
per-stack addresses): the kernel hashes each query's source address and port to one of the two sockets. New: each
stack's server on an address of its own (``StackConfig.dns_address``). Each server answers a different address for
the same name, only so that the answer says which server gave it. For each layout: N lookups (each from a new
socket, so a new source port, as a resolver makes them) while both run, then N more while stack B's server is
stopped with SIGSTOP (a paused checkout container: ``container_pause`` freezes it the same way), then N after SIGCONT.

    python benchmarks/dns_shared_address.py --lookups 200
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import signal
import subprocess
import sys
import time

from gameday.stack.state import files_dir
from gameday.testing import on_free_loopback_address

NAME = "postgres.demo.internal"
SERVER = """
import importlib.util, sys, threading
spec = importlib.util.spec_from_file_location("zone_dns", sys.argv[1])
zone = importlib.util.module_from_spec(spec); spec.loader.exec_module(zone)
if sys.argv[4] == "reuseport":
    zone._Udp.allow_reuse_port = zone._Tcp.allow_reuse_port = True  # the old layout
zone.ZoneServer(sys.argv[2], {"postgres.demo.internal": sys.argv[3]}, "demo.internal").start()
print("up", flush=True)
threading.Event().wait()
"""


def server(address: str, answer: str, mode: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(files_dir() / "checkout" / "zone_dns.py"), address,
                             answer, mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "up":
        raise OSError(f"the zone server did not start on {address}: {proc.communicate()[1].strip()[-300:]}")
    return proc


def ask(address: str, n: int, timeout: float) -> tuple[collections.Counter[str], float]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("zone_dns", files_dir() / "checkout" / "zone_dns.py")
    assert spec is not None and spec.loader is not None
    zone = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(zone)
    seen: collections.Counter[str] = collections.Counter()
    start = time.monotonic()
    for _ in range(n):
        try:
            seen[{"127.0.0.1": "A answered", "127.0.0.2": "B answered"}.get(zone.query(address, NAME, timeout=timeout),
                                                                          "other")] += 1
        except OSError:
            seen["unanswered"] += 1
    return seen, time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=0.5, help="seconds a lookup waits for its answer")
    opts = parser.parse_args()
    print("| layout | stack B's server | A's lookups | answered by A | answered by B | unanswered | took |")
    print("|---|---|---|---|---|---|---|")
    for layout in ("one address, SO_REUSEPORT (old)", "an address per stack (new)"):
        old = layout.endswith("(old)")
        a, address = on_free_loopback_address(functools.partial(server, answer="127.0.0.1",
                                                                mode="reuseport" if old else "plain"))
        b = server(address, "127.0.0.2", "reuseport") if old else on_free_loopback_address(
            functools.partial(server, answer="127.0.0.2", mode="plain"))[0]
        try:
            for state in ("running", "stopped (SIGSTOP)", "continued"):
                if state.startswith("stopped"):
                    os.kill(b.pid, signal.SIGSTOP)
                elif state == "continued":
                    os.kill(b.pid, signal.SIGCONT)
                seen, took = ask(address, opts.lookups, opts.timeout)
                print(f"| {layout} | {state} | {opts.lookups} | {seen['A answered']} | {seen['B answered']} | "
                      f"{seen['unanswered']} | {took:.1f} s |")
        finally:
            for proc in (a, b):
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    main()
