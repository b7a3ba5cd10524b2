"""Where the demo stack lives: ports, names, image versions, state and cache folders.

Every port is bound on 127.0.0.1 and can be moved with an environment variable
(``GAMEDAY_DEMO_<PART>_PORT``, e.g. ``GAMEDAY_DEMO_CHECKOUT_PORT=28080``), so two stacks or a
busy port do not collide. checkout's zone server answers on port 53 of an address of its own, which moves
with checkout's port (``dns_address``). The environment is passed in, never read here from ``os.environ``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from gameday.errors import GamedayError
from gameday.folders import default_cache_dir, default_state_dir

HOST = "127.0.0.1"
"""The only address the stack binds or talks to."""

STACK_LABEL = "gameday.stack"
STACK_NAME = "demo"
PART_LABEL = "gameday.part"

TOXIPROXY_VERSION = "v2.5.0"
"""Pinned Toxiproxy release built with ``go install``; the newest one the Go module proxy serves here."""


DEFAULT_CHECKOUT_PORT = 18080
DNS_BASE = ipaddress.IPv4Address("127.0.0.153")
"""checkout's zone server at the default ports: an address of 127.0.0.0/8 no common local resolver takes
(systemd-resolved has 127.0.0.53 and .54, dnsmasq 127.0.0.1)."""


@dataclass(frozen=True)
class StackConfig:
    """Ports and folders of the demo stack; the defaults are the shared conventions."""

    checkout_port: int = DEFAULT_CHECKOUT_PORT
    postgres_port: int = 15432
    redis_port: int = 16379
    toxiproxy_port: int = 18474
    postgres_proxy_port: int = 25432
    redis_proxy_port: int = 26379
    prometheus_port: int = 19090
    alertmanager_port: int = 19093
    webhook_port: int = 19099
    state_dir: Path = Path.home() / ".local" / "state" / "gameday" / "demo"
    cache_dir: Path = Path.home() / ".cache" / "gameday"
    stack: str = STACK_NAME
    """The label value ``gameday.stack=<stack>`` and the name prefix ``gameday-<stack>-``; another
    value (``GAMEDAY_DEMO_STACK``) runs a second, separate copy, e.g. for tests."""
    toxiproxy_version: str = TOXIPROXY_VERSION
    docker_base_url: str | None = None
    dns_server: str | None = None
    """``GAMEDAY_DEMO_DNS_ADDRESS``; None: ``dns_address`` follows checkout's port."""

    @property
    def dns_address(self) -> str:
        """Where checkout's zone server answers, on port 53 (a resolver cannot be told another port): 127.0.0.153 at
        the default checkout port, and as many addresses above it as checkout's port is moved (modulo 65536, so
        within 127.0.0.153-127.1.0.152). Two stacks on one machine never share checkout's port, so they never share
        a zone server: with one address, the kernel spread each stack's lookups over both servers (SO_REUSEPORT),
        and a paused copy's server left the other's lookups unanswered."""
        return self.dns_server or str(DNS_BASE + (self.checkout_port - DEFAULT_CHECKOUT_PORT) % 65536)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> StackConfig:
        """Defaults, overridden by ``GAMEDAY_DEMO_*_PORT``, ``GAMEDAY_STATE_DIR`` and ``XDG_CACHE_HOME``."""
        state_root = default_state_dir(environ)
        config = cls(state_dir=Path(state_root) / "demo", cache_dir=default_cache_dir(environ),
                     docker_base_url=environ.get("DOCKER_HOST") or None)
        overrides: dict[str, int] = {}
        for f in fields(cls):
            if not f.name.endswith("_port"):
                continue
            var = f"GAMEDAY_DEMO_{f.name.removesuffix('_port').upper()}_PORT"
            if var in environ:
                overrides[f.name] = _port(var, environ[var])
        if environ.get("GAMEDAY_DEMO_STACK"):
            stack = environ["GAMEDAY_DEMO_STACK"]
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,30}", stack):
                raise GamedayError(f"GAMEDAY_DEMO_STACK={stack!r}: use 1-31 lower-case letters, digits and dashes")
            config = replace(config, stack=stack, state_dir=Path(state_root) / stack)
        if environ.get("GAMEDAY_DEMO_DNS_ADDRESS"):
            config = replace(config, dns_server=_loopback_v4("GAMEDAY_DEMO_DNS_ADDRESS", environ["GAMEDAY_DEMO_DNS_ADDRESS"]))
        if environ.get("GAMEDAY_TOXIPROXY_VERSION"):
            config = replace(config, toxiproxy_version=environ["GAMEDAY_TOXIPROXY_VERSION"])
        config = replace(config, **overrides)  # type: ignore[arg-type]
        config.check()
        return config

    def check(self) -> None:
        ports = {f.name: getattr(self, f.name) for f in fields(self) if f.name.endswith("_port")}
        seen: dict[int, str] = {}
        for name, port in ports.items():
            if port in seen:
                raise GamedayError(f"demo stack: {name} and {seen[port]} are both set to port {port}")
            seen[port] = name

    def container_name(self, part: str) -> str:
        return f"gameday-{self.stack}-{part}"

    @property
    def volume_name(self) -> str:
        """The PostgreSQL data volume."""
        return f"gameday-{self.stack}-pgdata"

    def url(self, port: int, path: str = "") -> str:
        return f"http://{HOST}:{port}{path}"

    @property
    def env_file(self) -> Path:
        """The stack's env file (admin DSNs and passwords), mode 0600."""
        return self.state_dir / "stack.env"


def _loopback_v4(var: str, text: str) -> str:
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        raise GamedayError(f"{var}={text!r} is not an IPv4 address") from None
    if not address.is_loopback:
        raise GamedayError(f"{var}={text}: the zone server answers on loopback only, an address of 127.0.0.0/8")
    return str(address)


def _port(var: str, text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise GamedayError(f"{var}={text!r} is not a port number") from None
    if not 1024 <= port <= 65535:
        raise GamedayError(f"{var}={port} is outside 1024-65535")
    return port
