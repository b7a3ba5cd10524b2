"""Bring the demo stack up, take it down, and say how each part is.

``up`` is idempotent: it builds images whose tags are missing, creates containers that do not exist
(or whose spec changed), starts those that are stopped, makes sure Toxiproxy has its two proxies
(without touching a proxy that exists, so a live fault's toxics survive), and waits until every
part is healthy. ``down`` removes every container labelled ``gameday.stack=demo`` and the data
volume, and leaves nothing running.
"""

from __future__ import annotations

import io
import socket
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gameday.clock import Clock, SystemClock
from gameday.errors import EnvironmentProblem, ServiceUnavailable
from gameday.stack.config import HOST, PART_LABEL, STACK_LABEL, StackConfig
from gameday.stack.images import BuildResult, build_images, docker_calls
from gameday.stack.parts import SECRETS_IN_CONTAINER, Part, parts, proxies
from gameday.stack.state import ensure_env_file, fingerprint, parse_env_text, secrets_fingerprint

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

UP_TIMEOUT = 120.0
SECRETS_LABEL = "gameday.secrets"
Log = Callable[[str], None]


@dataclass(frozen=True)
class PartStatus:
    part: str
    container: str
    port: int
    state: str
    """running, exited, created, paused, ... or missing."""
    health: str
    """healthy, unhealthy, starting, or - (no container)."""
    detail: str = ""

    @property
    def healthy(self) -> bool:
        return self.state == "running" and self.health == "healthy"


class DemoStack:
    """The demo stack on one Docker Engine; every method is safe to call in any state."""

    def __init__(
        self,
        config: StackConfig,
        *,
        environ: Mapping[str, str],
        client: docker.DockerClient | None = None,
        clock: Clock | None = None,
        log: Log = lambda _: None,
        mirror: str | None = None,
    ) -> None:
        self.config = config
        self.environ = environ
        self.mirror = mirror
        """The Debian mirror for the base image (``--mirror``); None: the host's apt sources say."""
        self.clock = clock or SystemClock()
        self.log = log
        self._client = client
        self._extra_labels: dict[str, str] = {}

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            from gameday.platforms.docker import docker_client

            self._client = docker_client(self.config.docker_base_url)
        return self._client

    # --- build ----------------------------------------------------------------------------------

    def build(self) -> list[BuildResult]:
        return build_images(self.client, self.config, self.environ, mirror=self.mirror, log=self.log, clock=self.clock)

    # --- up ---------------------------------------------------------------------------------------

    def up(self, *, timeout: float = UP_TIMEOUT) -> list[PartStatus]:
        """Make every part run and be healthy; returns their status."""
        self.build()
        self._settle_secrets()
        self._extra_labels = {SECRETS_LABEL: secrets_fingerprint(self.config)}
        existing = {c.labels.get(PART_LABEL, ""): c for c in self._containers()}
        # Every port a part is about to take must be free, checked before anything starts.
        for part in parts(self.config):
            container = existing.get(part.name)
            if container is None or container.status not in ("running", "paused"):
                self._check_port_free(part)
        if "postgres" not in existing:
            self._remove_volume()  # a fresh postgres container starts from a fresh database
        for part in parts(self.config):
            self._ensure(part, existing.get(part.name))
        self._wait_api(self.config.url(self.config.toxiproxy_port, "/version"), timeout)
        self._ensure_proxies()
        return self.wait_healthy(timeout=timeout)

    def _settle_secrets(self) -> None:
        """Make the env file hold the passwords the running stack was made with.

        Containers carry a fingerprint of their passwords. When it differs from the env file's (the
        file is new or was deleted, or another state folder made the stack: the test suite uses a
        temporary one), the running stack's passwords are read back from a container and written to
        the env file, so nobody's live stack is torn down. Containers that disagree among themselves,
        or whose passwords cannot be read, are removed with the database and made again.
        """
        containers = self._containers()
        marks = {c.labels.get(SECRETS_LABEL) for c in containers}
        if len(marks) > 1 or None in marks:
            self.log("the stack's containers were made with different passwords: recreating them")
            self.down()
            containers = []
        if containers and marks != {secrets_fingerprint(self.config)}:
            adopted = self._read_secrets(containers)
            if adopted is not None and fingerprint(adopted) in marks:
                self.log(f"the running stack's passwords are now in {self.config.env_file}")
                ensure_env_file(self.config, passwords=adopted)
                return
            self.log("the running stack's passwords cannot be read back: recreating it")
            self.down()
        ensure_env_file(self.config)

    def _read_secrets(self, containers: list[Container]) -> dict[str, str] | None:
        import docker.errors

        for container in containers:
            if container.labels.get(PART_LABEL) not in ("postgres", "redis", "checkout"):
                continue
            try:
                stream, _ = container.get_archive(SECRETS_IN_CONTAINER)
                raw = b"".join(stream)
            except (docker.errors.DockerException, OSError):
                continue
            with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
                member = tar.extractfile(tar.getmembers()[0])
                if member is not None:
                    return parse_env_text(member.read().decode("utf-8", errors="replace"))
        return None

    def _ensure(self, part: Part, container: Container | None) -> None:
        name = part.container_name(self.config)
        if container is not None and container.labels.get("gameday.spec") != part.spec_hash():
            self.log(f"{name}: configuration changed, recreating")
            with docker_calls(f"removing {name}"):
                container.remove(force=True)
            container = None
        if container is None:
            self.log(f"{name}: creating")
            self._create(part)
            return
        status = container.status
        if status == "paused":
            with docker_calls(f"unpausing {name}"):
                container.unpause()
        elif status != "running":
            self.log(f"{name}: starting ({status})")
            with docker_calls(f"starting {name}"):
                container.start()

    def _create(self, part: Part) -> None:
        """Create the container, copy its configs (and the secrets) in, then start it."""
        name = part.container_name(self.config)
        files = {path: (text, 0o644) for path, text in part.copies.items()}
        if part.needs_secrets:
            files[SECRETS_IN_CONTAINER] = (self.config.env_file.read_text(encoding="utf-8"), 0o600)
        with docker_calls(f"starting {name}"):
            container = self.client.containers.create(**part.run_kwargs(self.config, extra_labels=self._extra_labels))
            if files:
                container.put_archive("/", _tar(files))
            container.start()

    def _check_port_free(self, part: Part) -> None:
        """A part whose port is taken by someone else would start and exit at once; say why instead."""
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((HOST, part.port)) == 0:
                raise EnvironmentProblem(
                    f"port {HOST}:{part.port} for {part.name} is already in use by another process; "
                    f"free it or move the part with GAMEDAY_DEMO_{part.name.upper()}_PORT"
                )

    def _ensure_proxies(self) -> None:
        ensure_proxies(self.config)

    def _wait_api(self, url: str, timeout: float) -> None:
        import httpx

        deadline = self.clock.monotonic() + timeout
        with httpx.Client(trust_env=False, timeout=1.0) as http:
            while True:
                try:
                    if http.get(url).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if self.clock.monotonic() >= deadline:
                    raise ServiceUnavailable(f"{url} did not answer within {timeout:.0f}s")
                self._fail_if_exited()
                self.clock.sleep(0.2)

    def wait_healthy(self, *, timeout: float = UP_TIMEOUT) -> list[PartStatus]:
        """Wait until every part is running and healthy; a part that exits fails at once with its log."""
        deadline = self.clock.monotonic() + timeout
        while True:
            statuses = self.status()
            if all(s.healthy for s in statuses):
                return statuses
            self._fail_if_exited()
            if self.clock.monotonic() >= deadline:
                bad = ", ".join(f"{s.part} {s.state}/{s.health}" for s in statuses if not s.healthy)
                raise ServiceUnavailable(f"demo stack not healthy after {timeout:.0f}s: {bad}")
            self.clock.sleep(0.5)

    def _fail_if_exited(self) -> None:
        for container in self._containers():
            if container.status in ("exited", "dead"):
                with docker_calls(f"reading the log of {container.name}"):
                    tail = container.logs(tail=5).decode(errors="replace").strip().splitlines()
                last = " | ".join(line.strip() for line in tail)[-300:]
                code = container.attrs.get("State", {}).get("ExitCode")
                raise ServiceUnavailable(f"{container.name} exited (code {code}): {last or 'no output'}")

    # --- down ---------------------------------------------------------------------------------------

    def down(self) -> list[str]:
        """Remove every demo container and the database volume; returns the names removed."""
        removed = []
        for container in self._containers():
            with docker_calls(f"removing {container.name}"):
                container.remove(force=True, v=True)
            removed.append(container.name)
        self._remove_volume()
        return sorted(removed)

    def _remove_volume(self) -> None:
        import docker.errors

        with docker_calls(f"removing volume {self.config.volume_name}"):
            try:
                self.client.volumes.get(self.config.volume_name).remove(force=True)
            except docker.errors.NotFound:
                pass

    # --- status -------------------------------------------------------------------------------------

    def status(self) -> list[PartStatus]:
        """Each part, in start order, with its container state and health."""
        by_part = {c.labels.get(PART_LABEL, ""): c for c in self._containers()}
        out = []
        for part in parts(self.config):
            name = part.container_name(self.config)
            container = by_part.get(part.name)
            if container is None:
                out.append(PartStatus(part.name, name, part.port, "missing", "-"))
                continue
            state = container.attrs.get("State", {})
            health = (state.get("Health") or {}).get("Status", "none")
            detail = _last_health_output(state) if health == "unhealthy" else ""
            if part.name == "checkout" and container.status == "running":
                detail = checkout_checks(self.config.url(part.port, "/health"))
            out.append(PartStatus(part.name, name, part.port, container.status, health, detail))
        return out

    def _containers(self) -> list[Container]:
        with docker_calls("listing the demo stack's containers"):
            found: list[Container] = self.client.containers.list(all=True, filters={"label": f"{STACK_LABEL}={self.config.stack}"})
        return found


def ensure_proxies(config: StackConfig) -> None:
    """Make Toxiproxy's two proxies, leaving one that exists as it is (a live fault's toxics survive)."""
    from gameday.faults.toxiproxy_client import ToxiproxyClient

    wanted = proxies(config)
    with ToxiproxyClient(config.url(config.toxiproxy_port)) as client:
        have = client.proxies()
        # /populate replaces a proxy it names, toxics and all: send only the missing or different ones.
        missing = [
            p for p in wanted
            if p["name"] not in have
            or (have[p["name"]].listen, have[p["name"]].upstream) != (p["listen"], p["upstream"])
        ]
        if missing:
            client.populate(missing)


def _tar(files: Mapping[str, tuple[str, int]]) -> bytes:
    """A tar of absolute paths -> (text, mode), with their folders (0700 beside a 0600 file)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        folders: dict[str, int] = {}
        for path, (_, mode) in files.items():
            folder = path.lstrip("/").rsplit("/", 1)[0]
            folders[folder] = min(folders.get(folder, 0o755), 0o700 if mode == 0o600 else 0o755)
        for folder, mode in sorted(folders.items()):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        for path, (text, mode) in files.items():
            data = text.encode("utf-8")
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _last_health_output(state: Mapping[str, Any]) -> str:
    log = (state.get("Health") or {}).get("Log") or []
    if not log:
        return ""
    return " ".join(str(log[-1].get("Output", "")).split())[-160:]


def checkout_checks(url: str) -> str:
    """checkout's own view of its dependencies: ``postgres, redis, spool ok`` or what is failing."""
    import httpx

    try:
        response = httpx.get(url, timeout=3.0, trust_env=False)
        checks = response.json().get("checks", {})
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        return f"/health: {type(exc).__name__}"
    failing = {k: v for k, v in checks.items() if v != "ok"}
    if not failing:
        return f"{', '.join(checks)} ok"
    return "; ".join(f"{k}: {' '.join(str(v).split())[:80]}" for k, v in failing.items())


def stack_from_env(environ: Mapping[str, str], *, log: Log = lambda _: None, mirror: str | None = None) -> DemoStack:
    """The demo stack as the environment configures it (``mirror``: ``--mirror``, for building its base image)."""
    return DemoStack(StackConfig.from_env(environ), environ=environ, log=log, mirror=mirror)
