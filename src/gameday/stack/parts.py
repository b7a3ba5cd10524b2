"""The parts of the demo stack, each one container, as plain data: what runs, what it mounts, how its health is checked.

Nothing is bind-mounted from the state folder: rendered configs and the secrets file are copied into
a container when it is created, so a container still restarts (after a kill fault) when the state
folder that made it is gone, e.g. a test's temporary one. Shipped code and entrypoints are mounted
read-only from the package.

Every container uses host networking, binds 127.0.0.1 only, has no restart policy (a killed part
stays dead until a fault's revert or ``gameday stack up`` starts it) and carries the labels
``gameday.stack=demo``, ``gameday.allowed=true`` and ``gameday.part=<name>``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gameday.stack.config import HOST, PART_LABEL, STACK_LABEL, StackConfig
from gameday.stack.images import base_tag, toxiproxy_tag
from gameday.stack.state import config_texts, files_dir

SECRETS_IN_CONTAINER = "/run/gameday/stack.env"
SPOOL = "/var/lib/checkout/spool"
SECOND_NS = 1_000_000_000
REDIS_MEMORY = 256 * 2**20
"""The cache's container memory limit (it uses a few MiB): checkout-cache-oom-killed lowers it."""
HEALTH_TIMEOUT_S = 20
"""How long one health check may take. It costs nothing while checks answer; on a busy machine (load 90 on two
cores, other test runs beside ours) Docker's exec alone took 8 s, and a 3 s limit kept every part of a healthy
stack unhealthy until ``up`` gave up."""


@dataclass(frozen=True)
class Part:
    name: str
    image: str
    command: list[str]
    port: int
    health: str
    """Shell command run by Docker's health check (inside the container); exit 0 is healthy."""
    health_interval_s: float = 2.0
    volumes: dict[str, dict[str, str]] = field(default_factory=dict)
    tmpfs: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    url: str | None = None
    """Where the part answers HTTP, for ``stack status``."""
    files_digest: str = ""
    """Hash of the shipped files it mounts (code, entrypoint): a new version recreates the container."""
    copies: dict[str, str] = field(default_factory=dict)
    """Files copied in at creation: path in the container -> text (rendered configs)."""
    needs_secrets: bool = False
    """Gets the stack's env file at ``/run/gameday/stack.env`` (0600), copied in at creation."""
    nameservers: tuple[str, ...] = ()
    """The resolvers its processes ask instead of the host's (Docker's ``dns``; a pod's ``dnsConfig``)."""
    dns_options: tuple[str, ...] = ()
    """resolv.conf options with them, e.g. ``timeout:2``."""
    memory: int = 0
    """Its memory limit in bytes, swap included (no swap); 0 for none. A part with one can be put under
    memory_pressure, which needs a limit to put back (Docker cannot take one away)."""

    def container_name(self, config: StackConfig) -> str:
        return config.container_name(self.name)

    def spec_hash(self) -> str:
        """Changes when anything that shapes the container changes, so ``up`` recreates a stale one."""
        raw = json.dumps([self.image, self.command, self.port, self.health, self.volumes, self.tmpfs,
                          self.environment, self.files_digest, self.copies, self.needs_secrets,
                          list(self.nameservers), list(self.dns_options)]
                         + ([self.memory] if self.memory else []), sort_keys=True)  # others keep their hash
        return hashlib.sha256(raw.encode()).hexdigest()[:12]

    def labels(self, config: StackConfig) -> dict[str, str]:
        return {STACK_LABEL: config.stack, "gameday.allowed": "true", PART_LABEL: self.name,
                "gameday.spec": self.spec_hash()}

    def run_kwargs(self, config: StackConfig, *, extra_labels: dict[str, str] | None = None) -> dict[str, Any]:
        """Keyword arguments for ``client.containers.create``."""
        interval = int(self.health_interval_s * SECOND_NS)
        resolver = {"dns": list(self.nameservers), "dns_opt": list(self.dns_options)} if self.nameservers else {}
        memory = {"mem_limit": self.memory, "memswap_limit": self.memory} if self.memory else {}
        return {
            **resolver,
            **memory,
            "image": self.image,
            "command": self.command,
            "name": self.container_name(config),
            "network_mode": "host",
            "labels": {**self.labels(config), **(extra_labels or {})},
            "restart_policy": {"Name": "no"},
            "volumes": self.volumes,
            "tmpfs": self.tmpfs,
            "environment": self.environment,
            "healthcheck": {
                "test": ["CMD-SHELL", self.health],
                "interval": interval,
                "timeout": HEALTH_TIMEOUT_S * SECOND_NS,
                "retries": 2,
                "start_period": 60 * SECOND_NS,
            },
            "log_config": {"Type": "json-file", "Config": {"max-size": "5m", "max-file": "1"}},
        }


def _http_ok(url: str) -> str:
    """A health check with the image's python3 (no curl in a minbase rootfs)."""
    return f"python3 -c \"import urllib.request as u; u.urlopen('{url}', timeout=2)\""


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def parts(config: StackConfig) -> list[Part]:
    """The parts in start order: data stores first, then the proxy, the service, and monitoring."""
    files = files_dir()
    configs = config_texts(config)
    base = base_tag()
    c = config
    return [
        Part(
            name="postgres",
            image=base,
            command=["/bin/sh", "/opt/gameday/postgres/entrypoint.sh"],
            port=c.postgres_port,
            health=f"/usr/lib/postgresql/*/bin/pg_isready -q -h {HOST} -p {c.postgres_port}",
            health_interval_s=1.0,
            volumes={str(files / "postgres"): {"bind": "/opt/gameday/postgres", "mode": "ro"},
                     c.volume_name: {"bind": "/var/lib/gameday/postgres", "mode": "rw"}},
            files_digest=_digest(files / "postgres"),
            needs_secrets=True,
        ),
        Part(
            name="redis",
            image=base,
            command=["/bin/sh", "/opt/gameday/redis/entrypoint.sh"],
            port=c.redis_port,
            # The default user is off, so an unauthenticated PING answers NOAUTH: that still proves Redis is up.
            health=f"redis-cli -h {HOST} -p {c.redis_port} ping | grep -qE 'PONG|NOAUTH'",
            health_interval_s=1.0,
            volumes={str(files / "redis"): {"bind": "/opt/gameday/redis", "mode": "ro"}},
            files_digest=_digest(files / "redis"),
            needs_secrets=True,
            memory=REDIS_MEMORY,
        ),
        Part(
            name="toxiproxy",
            image=toxiproxy_tag(config),
            command=["toxiproxy-server", "-host", HOST, "-port", str(c.toxiproxy_port), "-proxy-metrics",
                     "-runtime-metrics"],
            port=c.toxiproxy_port,
            health=_http_ok(c.url(c.toxiproxy_port, "/version")),
            url=c.url(c.toxiproxy_port, "/version"),
        ),
        Part(
            name="checkout",
            image=base,
            command=["/bin/sh", "/opt/checkout/entrypoint.sh"],  # sources clock_skew's env file when it is there
            port=c.checkout_port,
            health=_http_ok(c.url(c.checkout_port, "/health")),
            volumes={str(files / "checkout"): {"bind": "/opt/checkout", "mode": "ro"}},
            tmpfs={SPOOL: "size=64m"},
            environment={
                "CHECKOUT_PORT": str(c.checkout_port),
                "CHECKOUT_PG_PORT": str(c.postgres_proxy_port),
                "CHECKOUT_REDIS_PORT": str(c.redis_proxy_port),
                "CHECKOUT_SPOOL": SPOOL,
                "CHECKOUT_SECRETS": SECRETS_IN_CONTAINER,
                "CHECKOUT_PG_HOST": "postgres.demo.internal",
                "CHECKOUT_DNS_ADDRESS": c.dns_address,
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONUNBUFFERED": "1",
            },
            url=c.url(c.checkout_port, "/health"),
            files_digest=_digest(files / "checkout"),
            needs_secrets=True,
            # checkout answers its own zone (zone_dns.py) and asks it for its database's name: a failing DNS
            # (dns_failure) then shows as a failing database connection, as in a real outage.
            nameservers=(c.dns_address,),
            dns_options=("timeout:2", "attempts:1"),
        ),
        Part(
            name="alertmanager",
            image=base,
            command=["prometheus-alertmanager", "--config.file=/etc/gameday/alertmanager.yml",
                     "--storage.path=/var/lib/gameday/alertmanager",
                     f"--web.listen-address={HOST}:{c.alertmanager_port}",
                     # Sent as externalURL in every webhook: the stack file names it, and a run's receiver takes
                     # this stack's alerts only (the default, http://<host name>:<port>, says little).
                     f"--web.external-url={c.url(c.alertmanager_port)}",
                     "--cluster.listen-address="],  # no gossip port on 0.0.0.0
            port=c.alertmanager_port,
            health=_http_ok(c.url(c.alertmanager_port, "/-/ready")),
            copies={"/etc/gameday/alertmanager.yml": configs["alertmanager"]},
            tmpfs={"/var/lib/gameday/alertmanager": "size=32m"},
            url=c.url(c.alertmanager_port, "/-/ready"),
        ),
        Part(
            name="prometheus",
            image=base,
            command=["prometheus", "--config.file=/etc/gameday/prometheus/prometheus.yml",
                     "--storage.tsdb.path=/var/lib/gameday/prometheus", "--storage.tsdb.retention.time=6h",
                     f"--web.listen-address={HOST}:{c.prometheus_port}", "--web.enable-lifecycle"],
            port=c.prometheus_port,
            health=_http_ok(c.url(c.prometheus_port, "/-/ready")),
            volumes={str(files / "prometheus" / "rules"): {"bind": "/etc/gameday/prometheus/rules", "mode": "ro"}},
            copies={"/etc/gameday/prometheus/prometheus.yml": configs["prometheus"]},
            tmpfs={"/var/lib/gameday/prometheus": "size=256m"},
            url=c.url(c.prometheus_port, "/-/ready"),
        ),
    ]


def part_names() -> list[str]:
    return ["postgres", "redis", "toxiproxy", "checkout", "alertmanager", "prometheus"]


def proxies(config: StackConfig) -> list[dict[str, Any]]:
    """Toxiproxy's proxies: checkout reaches PostgreSQL and Redis only through these."""
    return [
        {"name": "postgres", "listen": f"{HOST}:{config.postgres_proxy_port}",
         "upstream": f"{HOST}:{config.postgres_port}", "enabled": True},
        {"name": "redis", "listen": f"{HOST}:{config.redis_proxy_port}",
         "upstream": f"{HOST}:{config.redis_port}", "enabled": True},
    ]
