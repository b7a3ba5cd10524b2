"""What ``gameday init`` finds in a stack: its services, what each listens on, writes to and depends on.

    found = from_compose(read_config(files), files=files, compose=find_compose())   # --compose FILE
    found = from_docker(docker_client(None).containers.list())                    # --docker

Dependencies come from Compose's ``depends_on`` and ``links``, and from environment variables that name
another service: by its name as a host (``postgres:5432``, ``DB_HOST=postgres``), or by a loopback address on
a port it listens on (``postgresql://app@127.0.0.1:5433/shop``, ``CACHE_PORT=6380``); with host networking
that is the only way to tell. What a service listens on is its published ports, else (host networking) what
its command line and ``*PORT`` variables say. Guesses are marked as such in what ``init`` prints.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gameday.platforms.compose_config import (
    NUMBER_LABEL,
    PROJECT_LABEL,
    SERVICE_LABEL,
    ComposeCommand,
    ComposeFiles,
    ComposeProject,
)

LOOPBACK = ("127.0.0.1", "localhost", "::1", "0.0.0.0")
DATABASE_KINDS = {"postgres": 5432, "redis": 6379, "mysql": 3306}
_URL_HOST = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*)://(?:(?P<user>[^:@/\s]*)(?::[^@/\s]*)?@)?"
                       r"(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.\-]+)(?::(?P<port>\d{1,5}))?")
_HOST_PORT = re.compile(r"(?<![\w.\-/@])(?P<host>[A-Za-z0-9_.\-]+):(?P<port>\d{1,5})\b")
_PORT_FLAG = re.compile(r"^(?:-p|--port|-port|--listen-port|--http-port)$")


@dataclass(frozen=True)
class Dependency:
    service: str
    """The service depended on."""
    via: str
    """How it was found, for people: ``depends_on (service_healthy)``, ``links``, ``env DATABASE_URL``."""
    env: str = ""
    """The variable that names it, when one does (where traffic could be rerouted through Toxiproxy)."""
    host: str = ""
    port: int | None = None
    user: str = ""
    """The user in the variable's URL (a database role, a Redis ACL user), if it names one."""


@dataclass(frozen=True)
class FoundService:
    name: str
    image: str = ""
    kind: str = "service"
    """``postgres``, ``redis``, ``mysql``, ``http`` (it publishes or listens on a port), ``service``."""
    ports: tuple[int, ...] = ()
    ports_guessed: bool = False
    """True when the ports come from its command line or variables (host networking), not ``ports:``."""
    writable_volumes: tuple[str, ...] = ()
    """Paths inside the container that are a writable volume or bind mount."""
    depends: tuple[Dependency, ...] = ()
    restart: str = "no"
    healthcheck: bool = False
    container: str = ""
    """The container's name, when it runs (``--docker``, or a Compose project that is up)."""
    allowed_label: bool = False


@dataclass
class Found:
    source: str
    """``compose /srv/shop/compose.yaml`` or ``docker (running containers)``."""
    platform: str
    """``compose`` or ``docker``: the platform of the targets written."""
    project: str = ""
    files: ComposeFiles | None = None
    command: ComposeCommand | None = None
    services: list[FoundService] = field(default_factory=list)

    def service(self, name: str) -> FoundService | None:
        return next((s for s in self.services if s.name == name), None)

    def dependents(self, name: str) -> list[tuple[FoundService, Dependency]]:
        return [(s, d) for s in self.services for d in s.depends if d.service == name]


def mask(value: str) -> str:
    """A variable's value with any URL password replaced by ``***``, for printing."""
    return re.sub(r"(://[^:@/\s]*:)[^@/\s]*@", r"\1***@", value)


def guess_kind(image: str, command: Sequence[str], ports: Iterable[int]) -> str:
    text = " ".join([image, *command]).lower()
    for kind in ("postgres", "redis", "mysql"):
        if kind in text or (kind == "mysql" and "mariadb" in text):
            return kind
    ports = list(ports)
    for kind, port in DATABASE_KINDS.items():
        if port in ports:
            return kind
    return "http" if ports else "service"


def listening_ports(name: str, command: Sequence[str], environment: Mapping[str, str]) -> list[int]:
    """Ports a host-networked service says it listens on: ``-p N``, ``--port N|=N``, ``127.0.0.1:N`` in its
    command line, and its own port variables (``PORT``, ``<NAME>_PORT``, PostgreSQL's ``PGPORT`` in a service
    that runs postgres). Another ``*PORT`` variable is where it reaches something else. A guess, said so."""
    found: list[int] = []
    words: list[str] = []
    for word in command:  # `sh -c "... -p 5433"`: the script's own words too
        words.append(word)
        if " " in word:
            try:
                words.extend(shlex.split(word))
            except ValueError:
                words.extend(word.split())
    for i, word in enumerate(words):
        value = None
        if _PORT_FLAG.match(word) and i + 1 < len(words):
            value = words[i + 1]
        elif word.startswith("--port="):
            value = word.partition("=")[2]
        for match in _HOST_PORT.finditer(value or word):
            if match.group("host") in LOOPBACK or match.group("host").replace(".", "").isdigit():
                found.append(int(match.group("port")))
        if value and value.isdigit():
            found.append(int(value))
    for variable, value in environment.items():
        if value.isdigit() and _own_port_variable(name, variable, command):
            found.append(int(value))
    return sorted({p for p in found if 0 < p < 65536})


def _own_port_variable(name: str, variable: str, command: Sequence[str]) -> bool:
    own = {"PORT", "HTTP_PORT", "LISTEN_PORT", f"{re.sub(r'[^A-Z0-9]', '_', name.upper())}_PORT"}
    if "postgres" in " ".join(command).lower():
        own.add("PGPORT")
    return variable.upper() in own


def env_dependencies(name: str, environment: Mapping[str, str], others: Sequence[FoundService],
                     aliases: Mapping[str, str]) -> list[Dependency]:
    """Dependencies of service ``name`` named by its environment variables. ``aliases`` maps container names
    and hostnames to service names."""
    deps: list[Dependency] = []

    def owner(host: str, port: int | None) -> str | None:
        if host in aliases:
            return aliases[host]
        if host in LOOPBACK and port is not None:
            return next((o.name for o in others if port in o.ports and o.name != name), None)
        return None

    for variable, value in sorted(environment.items()):
        hits: list[tuple[str, str, int | None, str]] = []
        for match in _URL_HOST.finditer(value):
            port = int(match.group("port")) if match.group("port") else None
            hits.append((match.group("host").strip("[]"), match.group("user") or "", port, "url"))
        if not hits:
            hits += [(m.group("host"), "", int(m.group("port")), "pair") for m in _HOST_PORT.finditer(value)]
        if not hits and value in aliases:
            hits.append((value, "", None, "name"))
        if not hits and variable.upper().endswith("PORT") and value.isdigit():
            hits.append(("127.0.0.1", "", int(value), "port"))
        for host, user, port, _ in hits:
            service = owner(host, port)
            if service is not None and service != name:
                deps.append(Dependency(service=service, via=f"env {variable}", env=variable, host=host, port=port,
                                       user=user))
    return deps


def _merge(deps: Iterable[Dependency]) -> tuple[Dependency, ...]:
    """One dependency per service, keeping the one that names a variable (it says where to reroute)."""
    chosen: dict[str, Dependency] = {}
    for dep in deps:
        have = chosen.get(dep.service)
        if have is None or (not have.env and dep.env) or (have.env and dep.env and not have.user and dep.user):
            if have is not None and not dep.via.startswith("depends_on") and have.via.startswith("depends_on"):
                dep = Dependency(**{**dep.__dict__, "via": f"{have.via}, {dep.via}"})
            chosen[dep.service] = dep
    return tuple(chosen[k] for k in sorted(chosen))


def from_compose(project: ComposeProject, *, files: ComposeFiles, command: ComposeCommand | None,
                 containers: Mapping[str, str] | None = None) -> Found:
    """What a Compose project's resolved configuration says. ``containers`` maps services to the container
    that runs them now (if the project is up)."""
    containers = containers or {}
    firsts: list[FoundService] = []
    for name, svc in sorted(project.services.items()):
        published = [p.published for p in svc.ports if p.published]
        ports = published or listening_ports(name, svc.command, svc.environment)
        firsts.append(FoundService(
            name=name, image=svc.image, kind=guess_kind(svc.image, svc.command, ports),
            ports=tuple(sorted(set(ports))), ports_guessed=not published and bool(ports),
            writable_volumes=tuple(v.target for v in svc.volumes if v.type in ("volume", "bind") and not v.read_only),
            restart=svc.restart, healthcheck=svc.healthcheck, container=containers.get(name, ""),
            allowed_label=svc.labels.get("gameday.allowed") == "true"))
    aliases = {s.name: s.name for s in firsts}
    aliases.update({c: s for s, c in containers.items()})
    found = Found(source=f"compose {', '.join(files.files)}", platform="compose", project=project.name,
                  files=files, command=command)
    for first in firsts:
        svc = project.services[first.name]
        deps = [Dependency(service=d, via=f"depends_on ({cond})") for d, cond in svc.depends_on.items()]
        deps += [Dependency(service=link, via="links") for link in svc.links if link in project.services]
        deps += env_dependencies(first.name, svc.environment, firsts, aliases)
        found.services.append(FoundService(**{**first.__dict__, "depends": _merge(deps)}))
    return found


def _service_from_labels(labels: Mapping[str, str]) -> tuple[str, str] | None:
    if PROJECT_LABEL in labels and SERVICE_LABEL in labels and labels.get(NUMBER_LABEL, "1") == "1":
        return labels[PROJECT_LABEL], labels[SERVICE_LABEL]
    return None


def from_docker(containers: Sequence[Any]) -> Found:
    """What running containers say (docker SDK Container objects, already inspected): one service per
    container, named by the container."""
    firsts: list[tuple[FoundService, dict[str, str]]] = []
    for c in sorted(containers, key=lambda c: c.name):
        config = c.attrs.get("Config") or {}
        host = c.attrs.get("HostConfig") or {}
        environment = dict(item.partition("=")[::2] for item in config.get("Env") or [])
        command = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
        published = sorted({int(b["HostPort"]) for bindings in (host.get("PortBindings") or {}).values()
                            for b in bindings or [] if str(b.get("HostPort") or "").isdigit()})
        ports = published or listening_ports(c.name, command, environment)
        mounts = c.attrs.get("Mounts") or []
        health = (c.attrs.get("State") or {}).get("Health")
        firsts.append((FoundService(
            name=c.name, image=str(config.get("Image") or ""), kind=guess_kind(str(config.get("Image") or ""),
                                                                               command, ports),
            ports=tuple(ports), ports_guessed=not published and bool(ports),
            writable_volumes=tuple(str(m.get("Destination")) for m in mounts
                                   if m.get("Type") in ("volume", "bind") and m.get("RW")),
            restart=str((host.get("RestartPolicy") or {}).get("Name") or "no"), healthcheck=health is not None,
            container=c.name, allowed_label=(c.labels or {}).get("gameday.allowed") == "true"), environment))
    services = [f for f, _ in firsts]
    aliases = {s.name: s.name for s in services}
    for c in containers:
        compose = _service_from_labels(c.labels or {})
        if compose is not None:
            aliases.setdefault(compose[1], c.name)
    found = Found(source="docker (running containers)", platform="docker")
    for first, environment in firsts:
        container = next(c for c in containers if c.name == first.name)
        links = [str(link).split(":")[0].lstrip("/") for link in (container.attrs.get("HostConfig") or {})
                 .get("Links") or []]
        deps = [Dependency(service=link, via="links") for link in links if link in aliases]
        deps += env_dependencies(first.name, environment, services, aliases)
        found.services.append(FoundService(**{**first.__dict__, "depends": _merge(deps)}))
    return found
