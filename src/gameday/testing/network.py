"""Ports for servers a test starts on 127.0.0.1, and addresses of 127.0.0.0/8 for servers on a fixed port."""

from __future__ import annotations

import random
import socket
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports: all held open at once while they are chosen, so none repeats."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


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
