"""A Compose project's resolved configuration, read through Compose itself (v1 or v2), as plain records.

    project = read_config(ComposeFiles(files=("compose.yaml",), working_dir="/srv/shop", project="shop"))
    project.services["checkout"].depends_on   -> {"postgres": "service_healthy"}
    project.services["checkout"].restart      -> "unless-stopped"

Compose resolves what a file says (interpolation, ``extends``, several ``-f`` files, short syntaxes) with
``config``; reading its answer rather than the YAML means gameday sees what Compose would run. v2 answers
JSON (``--format json``), v1 (Debian's 1.29) YAML with short strings (``127.0.0.1:8080:80/tcp``); both are
normalised here. Which Compose runs: ``GAMEDAY_COMPOSE`` (a command line, e.g. ``docker compose``), else the
``docker compose`` plugin, else ``docker-compose``.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gameday.errors import EnvironmentProblem

CONFIG_TIMEOUT = 60.0

# Compose's own labels on every container it makes; the same for v1 (compose/const.py) and v2 (pkg/api/labels.go).
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
NUMBER_LABEL = "com.docker.compose.container-number"
ONEOFF_LABEL = "com.docker.compose.oneoff"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
"""Comma-separated; v2 writes absolute paths, v1 paths relative to the working dir."""


@dataclass(frozen=True)
class ComposeCommand:
    argv: tuple[str, ...]
    version: str
    """``1.29.2``, ``2.29.7`` (``dev`` for a v2 built without a version stamp)."""

    @property
    def v1(self) -> bool:
        return self.version.startswith("1.")


@functools.lru_cache(maxsize=4)
def compose_command(override: str | None = None) -> ComposeCommand:
    """The Compose CLI to run: ``override`` (GAMEDAY_COMPOSE), else the docker plugin, else docker-compose."""
    candidates: list[list[str]] = [shlex.split(override)] if override else [["docker", "compose"], ["docker-compose"]]
    for argv in candidates:
        if not argv or shutil.which(argv[0]) is None:
            continue
        try:
            done = subprocess.run([*argv, "version", "--short"], capture_output=True, text=True, timeout=30,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0 and done.stdout.strip():
            return ComposeCommand(tuple(argv), done.stdout.strip().removeprefix("v"))
    if override:
        raise EnvironmentProblem(f"GAMEDAY_COMPOSE={override!r} does not run Compose (`{override} version` failed)")
    raise EnvironmentProblem("Docker Compose is not installed: neither `docker compose` nor `docker-compose` runs "
                             "(apt-get install docker-compose, or the v2 plugin; GAMEDAY_COMPOSE names another)")


def find_compose(environ: Mapping[str, str] | None = None) -> ComposeCommand:
    env = os.environ if environ is None else environ
    return compose_command(env.get("GAMEDAY_COMPOSE") or None)


@dataclass(frozen=True)
class Port:
    target: int
    published: int | None = None
    host_ip: str = ""
    protocol: str = "tcp"


@dataclass(frozen=True)
class Volume:
    type: str
    """``volume`` (named), ``bind``, ``tmpfs``."""
    target: str
    source: str = ""
    read_only: bool = False


@dataclass(frozen=True)
class Service:
    name: str
    image: str = ""
    depends_on: dict[str, str] = field(default_factory=dict)
    """Service -> condition (``service_started``, ``service_healthy``, ``service_completed_successfully``)."""
    restart: str = "no"
    healthcheck: bool = False
    ports: tuple[Port, ...] = ()
    volumes: tuple[Volume, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    links: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    network_mode: str = ""
    container_name: str = ""
    command: tuple[str, ...] = ()
    """Its entrypoint and command, as words (what it says it listens on, with host networking)."""


@dataclass(frozen=True)
class ComposeFiles:
    """Where a project's configuration is: its files, the folder they are relative to, and its name."""

    files: tuple[str, ...]
    working_dir: str
    project: str = ""

    @classmethod
    def from_labels(cls, labels: Mapping[str, str]) -> ComposeFiles | None:
        """What Compose wrote on one of its containers; None if it wrote no config files (an old Compose)."""
        working_dir = labels.get(WORKING_DIR_LABEL, "")
        files = tuple(f for f in labels.get(CONFIG_FILES_LABEL, "").split(",") if f)
        if not files or not working_dir:
            return None
        return cls(files=tuple(os.path.join(working_dir, f) for f in files), working_dir=working_dir,
                   project=labels.get(PROJECT_LABEL, ""))


@dataclass(frozen=True)
class ComposeProject:
    name: str
    services: dict[str, Service]
    volumes: tuple[str, ...] = ()

    def dependents(self, service: str) -> dict[str, str]:
        """Services that depend on ``service``, with their condition."""
        return {name: s.depends_on[service] for name, s in sorted(self.services.items()) if service in s.depends_on}


def read_config(where: ComposeFiles, *, command: ComposeCommand | None = None) -> ComposeProject:
    """``<compose> -p <project> -f <file>... config``, parsed; EnvironmentProblem when Compose refuses it."""
    command = command or find_compose()
    argv = list(command.argv)
    if where.project:
        argv += ["-p", where.project]
    for file in where.files:
        argv += ["-f", file]
    argv += ["config"] if command.v1 else ["config", "--format", "json"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CONFIG_TIMEOUT, check=False,
                              cwd=where.working_dir or None)
    except subprocess.TimeoutExpired as exc:
        raise EnvironmentProblem(f"`{shlex.join(argv)}` did not answer within {CONFIG_TIMEOUT:g}s") from exc
    except OSError as exc:
        raise EnvironmentProblem(f"cannot run `{shlex.join(argv)}`: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        message = " ".join(done.stderr.split())[:300] or f"exit code {done.returncode}"
        raise EnvironmentProblem(f"Compose refused the project ({', '.join(where.files)}): {message}")
    try:
        raw = yaml.safe_load(done.stdout)  # JSON is YAML too: one reader for v1 and v2
    except yaml.YAMLError as exc:
        raise EnvironmentProblem(f"`{shlex.join(argv)}` answered something that is not YAML or JSON") from exc
    return parse_config(raw, default_name=where.project or Path(where.working_dir or ".").resolve().name)


def parse_config(raw: Any, *, default_name: str = "") -> ComposeProject:
    """Compose's resolved configuration (v1 YAML or v2 JSON, already parsed) as a ComposeProject."""
    if not isinstance(raw, dict) or not isinstance(raw.get("services"), dict):
        raise EnvironmentProblem("Compose's configuration has no services")
    services = {str(name): _service(str(name), body if isinstance(body, dict) else {})
                for name, body in raw["services"].items()}
    volumes = tuple(str(v) for v in (raw.get("volumes") or {}))
    return ComposeProject(name=str(raw.get("name") or default_name), services=services, volumes=volumes)


def _service(name: str, body: dict[str, Any]) -> Service:
    health = body.get("healthcheck")
    has_health = isinstance(health, dict) and not health.get("disable") and health.get("test") not in (None, ["NONE"])
    return Service(
        name=name,
        image=str(body.get("image") or ""),
        depends_on=_depends_on(body.get("depends_on")),
        restart=str(body.get("restart") or "no"),
        healthcheck=has_health,
        ports=tuple(p for p in (_port(item) for item in body.get("ports") or []) if p is not None),
        volumes=tuple(v for v in (_volume(item) for item in body.get("volumes") or []) if v is not None),
        environment=_pairs(body.get("environment")),
        links=tuple(str(link).split(":")[0] for link in body.get("links") or []),
        labels=_pairs(body.get("labels")),
        network_mode=str(body.get("network_mode") or ""),
        container_name=str(body.get("container_name") or ""),
        command=(*_words(body.get("entrypoint")), *_words(body.get("command"))),
    )


def _words(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    if isinstance(value, str):
        try:
            return tuple(shlex.split(value))
        except ValueError:
            return tuple(value.split())
    return ()


def _depends_on(value: Any) -> dict[str, str]:
    if isinstance(value, list):
        return {str(v): "service_started" for v in value}
    if isinstance(value, dict):
        return {str(k): str((v or {}).get("condition") or "service_started") if isinstance(v, dict)
                else "service_started" for k, v in value.items()}
    return {}


def _pairs(value: Any) -> dict[str, str]:
    """``environment`` and ``labels``: a mapping, or a list of ``KEY=value``."""
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    if isinstance(value, list):
        return {k: v for k, _, v in (str(item).partition("=") for item in value)}
    return {}


def _int(value: Any) -> int | None:
    try:
        return int(str(value).split("-")[0]) if value not in (None, "") else None
    except ValueError:
        return None


def _port(item: Any) -> Port | None:
    """``{target, published, host_ip, protocol}`` (long form) or ``[ip:][published:]target[/proto]``."""
    if isinstance(item, dict):
        target = _int(item.get("target"))
        if target is None:
            return None
        return Port(target=target, published=_int(item.get("published")), host_ip=str(item.get("host_ip") or ""),
                    protocol=str(item.get("protocol") or "tcp"))
    text, _, protocol = str(item).partition("/")
    parts = text.rsplit(":", 2)
    target = _int(parts[-1])
    if target is None:
        return None
    published = _int(parts[-2]) if len(parts) >= 2 else None
    host_ip = parts[0] if len(parts) == 3 else ""
    return Port(target=target, published=published, host_ip=host_ip, protocol=protocol or "tcp")


def _volume(item: Any) -> Volume | None:
    """``{type, source, target, read_only}`` (long form) or ``source:target[:ro|rw]``."""
    if isinstance(item, dict):
        if not item.get("target"):
            return None
        return Volume(type=str(item.get("type") or "volume"), target=str(item["target"]),
                      source=str(item.get("source") or ""), read_only=bool(item.get("read_only")))
    parts = str(item).split(":")
    if len(parts) == 1:
        return Volume(type="volume", target=parts[0])
    source, target = parts[0], parts[1]
    kind = "bind" if source.startswith(("/", ".", "~")) else "volume"
    return Volume(type=kind, target=target, source=source, read_only=len(parts) > 2 and "ro" in parts[2].split(","))

