"""Ports for servers a test starts on 127.0.0.1, and addresses of 127.0.0.0/8 for servers on a fixed port.

A port is chosen now and bound later (by a container, a cluster, a child process), so two things can race for it:
an outgoing connection takes it as its local port meanwhile, or another test process picks it too. So ports come
from below the kernel's ephemeral range (32768-60999 by default, where connect() picks local ports), and under
pytest-xdist each worker has a slice of that range of its own. Within a process a port is not handed out again
until the rest of its slice has been (a cursor walks the slice), so a port chosen for a server that has not bound
it yet is not chosen twice.
"""

from __future__ import annotations

import itertools
import os
import random
import socket
from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

T = TypeVar("T")

LOW, HIGH = 20000, 32000
"""The ports handed out: below the ephemeral range, above most well-known servers' defaults."""


def worker_ports(environ: Mapping[str, str]) -> range:
    """This process's slice of ``LOW..HIGH``: the whole of it, or worker ``gwK``'s K-th of it under pytest-xdist."""
    worker, count = environ.get("PYTEST_XDIST_WORKER", ""), environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if not (worker.startswith("gw") and worker[2:].isdigit() and count.isdigit() and int(count) > 0):
        return range(LOW, HIGH)
    size = (HIGH - LOW) // int(count)
    start = LOW + int(worker[2:]) * size
    return range(start, start + size)


def _walk(ports: range) -> Iterator[int]:
    start = random.randrange(len(ports))  # another process of the same slice (another suite) starts elsewhere
    return (ports[(start + i) % len(ports)] for i in itertools.count())


_cursor: dict[range, Iterator[int]] = {}
"""One walk per slice, for the whole process: what makes a port come back only after the rest of its slice."""


def free_ports(n: int, *, environ: Mapping[str, str] = os.environ) -> list[int]:
    """``n`` distinct TCP ports on 127.0.0.1 that nothing listens on right now, from this process's slice; all held
    open at once while they are chosen."""
    ports = worker_ports(environ)
    walk = _cursor.setdefault(ports, _walk(ports))
    socks: list[socket.socket] = []
    try:
        for _ in range(len(ports)):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", next(walk)))
            except OSError:  # in use: the next one
                s.close()
                continue
            socks.append(s)
            if len(socks) == n:
                return [int(s.getsockname()[1]) for s in socks]
        raise OSError(f"fewer than {n} free ports in {ports.start}-{ports.stop - 1} on 127.0.0.1")
    finally:
        for s in socks:
            s.close()


def free_port(*, environ: Mapping[str, str] = os.environ) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (see ``free_ports``)."""
    return free_ports(1, environ=environ)[0]


def on_free_loopback_address(start: Callable[[str], T], *, attempts: int = 20) -> tuple[T, str]:
    """``start(address)`` on random addresses 127.0.x.y until one does not raise OSError (its port is taken there);
    what it returned and the address. For a server whose port is fixed, such as a DNS server's 53 (a resolver
    cannot be told another), so a test gives it an address no other test or stack uses. OSError after
    ``attempts`` tries."""
    for _ in range(attempts):
        address = f"127.0.{random.randrange(1, 250)}.{random.randrange(2, 250)}"
        try:
            return start(address), address
        except OSError:
            continue
    raise OSError(f"no free 127.0.x.y address in {attempts} tries")
