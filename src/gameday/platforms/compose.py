"""The Compose platform: a service's container in a Docker Compose project (v1 or v2), by Compose's labels.

    target: {platform: compose, project: shop, service: checkout}            (index: 1, the first replica)
    target: {platform: compose, service: checkout}     the project from the stack's platforms.compose.project

The container is the one Compose labelled ``com.docker.compose.project=shop``, ``...service=checkout`` and
``...container-number=1`` (the same labels for v1 and v2), so a target survives ``docker compose up``
recreating it under a new id. Everything else is Docker's: the container faults and disk_fill reach it
through the Docker runtime, and its lock key is ``docker:<container id>`` (a Docker target naming the same
container takes the same lock). A stack file allows a service by name (``allow: {compose: [checkout]}``,
globs too); in a scenario's inline stack, a service is a fault target only with the stack's ``allow_label``,
which it gets from ``labels:`` in the Compose file (Compose passes service labels on to the container).

What Compose knows and Docker does not is read from the project's resolved configuration (``config``):
its dependencies both ways, its health check, its restart policy; ``gameday plan`` shows them, because they
say what a fault will do. A service with a restart policy is killed as a crash would kill it (the signal
goes to its main process, so Docker restarts it as it would in production) when this machine can see that
process; through Docker's API a kill counts as a manual stop, and Docker would not restart it.
"""

from __future__ import annotations

import os
import signal as signal_module
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from gameday.errors import GamedayError, TargetError
from gameday.handle import FaultHandle
from gameday.platforms.base import (
    ContainerState,
    SafetyPolicy,
    Target,
    refuse_production,
    refuse_unlabelled,
    refuse_unlisted,
)
from gameday.platforms.compose_config import (
    NUMBER_LABEL,
    ONEOFF_LABEL,
    PROJECT_LABEL,
    SERVICE_LABEL,
    ComposeFiles,
    ComposeProject,
    read_config,
)
from gameday.platforms.docker import (
    DockerPlatform,
    DockerRuntime,
    container_state,
    docker_client,
    docker_errors,
)

if TYPE_CHECKING:
    from docker.models.containers import Container

RESTARTING_POLICIES = ("always", "unless-stopped", "on-failure")


class ComposeTarget(Target):
    """One container of a Compose service."""

    platform: Literal["compose"] = "compose"
    project: str | None = Field(None, min_length=1, description="the Compose project name (`docker compose -p`, "
                                "default: its folder); default: the stack's platforms.compose.project")
    service: str = Field(min_length=1, description="the service name in the Compose file")
    index: int = Field(1, ge=1, le=10_000, description="which replica of the service (Compose's container number)")

    @property
    def selector(self) -> str:
        project = f"project={self.project}," if self.project else ""
        return f"{project}service={self.service}" + (f",index={self.index}" if self.index != 1 else "")


def service_filters(project: str, service: str, index: int) -> dict[str, list[str]]:
    return {"label": [f"{PROJECT_LABEL}={project}", f"{SERVICE_LABEL}={service}", f"{NUMBER_LABEL}={index}"]}


def find_service_container(base_url: str | None, project: str, service: str, index: int,
                           target_name: str) -> Container:
    """The one container Compose made for this replica (one-off ``compose run`` containers left out)."""
    client = docker_client(base_url)
    with docker_errors(target_name):
        found = [c for c in client.containers.list(all=True, filters=service_filters(project, service, index))
                 if c.labels.get(ONEOFF_LABEL, "False") != "True"]
    where = f"service {service} of Compose project {project}" + (f" (replica {index})" if index != 1 else "")
    if not found:
        raise TargetError(f"no container for {where} (target '{target_name}'); is the project up? "
                          f"(`docker compose -p {project} ps`)", target=target_name)
    if len(found) > 1:
        names = ", ".join(sorted(c.name for c in found))
        raise TargetError(f"{where} has {len(found)} containers ({names}); it must have one", target=target_name)
    with docker_errors(found[0].name):
        found[0].reload()
    return found[0]


def host_pid(attrs: Mapping[str, Any]) -> int | None:
    """The container's main process as this machine sees it, if it does and may signal it: same PID namespace
    as the daemon (its cgroup names the container) and root or the same user. None otherwise."""
    state = attrs.get("State") or {}
    pid, container_id = state.get("Pid"), str(attrs.get("Id") or "")
    if not isinstance(pid, int) or pid <= 0 or not container_id:
        return None
    try:
        with open(f"/proc/{pid}/cgroup", encoding="utf-8") as f:
            if container_id not in f.read():
                return None
        owner = os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None
    return pid if os.geteuid() in (0, owner) else None


def restart_policy(attrs: Mapping[str, Any]) -> str:
    return str(((attrs.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or "no")


class ComposeRuntime(DockerRuntime):
    """Docker's runtime, but a container recreated by Compose is followed to its replacement (same project,
    service and replica), and a kill of a service with a restart policy is a crash, not a manual stop."""

    def __init__(self, base_url: str | None = None, *, names: Mapping[str, str] | None = None,
                 project: str = "", service: str = "", index: int = 1) -> None:
        super().__init__(base_url, names=names)
        self._service = (project, service, index)
        self._replaced: dict[str, str] = {}

    def _get(self, container_id: str) -> Container:
        try:
            return super()._get(self._replaced.get(container_id, container_id))
        except TargetError:
            project, service, index = self._service
            if not (project and service):
                raise
            container = find_service_container(self.base_url, project, service, index, self._name(container_id))
            self._replaced[container_id] = container.id
            return container

    def signal(self, container_id: str, signal: str) -> None:
        container = self._get(container_id)
        pid = host_pid(container.attrs) if restart_policy(container.attrs) in RESTARTING_POLICIES else None
        if pid is None:
            super().signal(container_id, signal)
            return
        try:
            os.kill(pid, signal_module.Signals[signal])
        except ProcessLookupError:
            pass  # it died (or Docker is restarting it) already: the crash happened
        except PermissionError:
            super().signal(container_id, signal)


class ComposePlatform(DockerPlatform):
    """Compose services on a Docker Engine: Docker's runtime, allowlist and locks, found by Compose's labels."""

    name: ClassVar[str] = "compose"
    target_model: ClassVar[type[Target]] = ComposeTarget

    def __init__(self) -> None:
        self._configs: dict[ComposeFiles, ComposeProject | str] = {}

    opt_in: ClassVar[str] = 'the service\'s label (labels: {gameday.allowed: "true"} in the Compose file)'

    def allow_name(self, target: Target) -> str | None:
        return target.service if isinstance(target, ComposeTarget) else None

    def check_allowed(self, handle: FaultHandle, policy: SafetyPolicy) -> None:
        """With a stack file, its ``allow.compose`` lists the service; inline, the service carries the label."""
        refuse_production(handle, policy)
        service = str(handle.address.get("service") or "")
        if policy.allow is not None:
            declared = self.allow_name(policy.declared) if policy.declared is not None else None
            refuse_unlisted(handle, policy, platform=self.name, names=[declared, service], what="service")
            return
        key, _, value = policy.allow_label.partition("=")
        refuse_unlabelled(handle, policy, what="container",
                          hint=f'add `labels: {{{key}: "{value}"}}` to {service or "the service"} in the Compose '
                               "file, then `docker compose up -d` to apply it")

    def find_container(self, target: Target, target_name: str, settings: Mapping[str, Any]) -> ContainerState:
        if not isinstance(target, ComposeTarget):
            raise TargetError(f"target '{target_name}' is not a compose target", target=target_name)
        project = target.project or settings.get("project")
        if not isinstance(project, str) or not project:
            raise TargetError(f"target '{target_name}' names no Compose project: give it project:, or the stack "
                              "platforms: {compose: {project: NAME}}", target=target_name)
        container = find_service_container(settings.get("base_url"), project, target.service, target.index,
                                           target_name)
        return container_state(container)

    def address(self, container: ContainerState, settings: Mapping[str, Any]) -> dict[str, Any]:
        labels = container.labels
        address = {**super().address(container, settings), "project": labels.get(PROJECT_LABEL, ""),
                   "service": labels.get(SERVICE_LABEL, ""), "index": int(labels.get(NUMBER_LABEL) or 1)}
        address["compose"] = self._facts(container, address)
        return address

    def _facts(self, container: ContainerState, address: Mapping[str, Any]) -> dict[str, Any]:
        """What Compose and Docker say about the service that changes what a fault does (for plan and revert)."""
        client = docker_client(address.get("base_url"))
        with docker_errors(container.name):
            attrs = client.containers.get(container.id).attrs
        facts: dict[str, Any] = {"restart": restart_policy(attrs), "crash": host_pid(attrs) is not None,
                                 "healthcheck": container.health is not None}
        config = self._config(container)
        if isinstance(config, str):
            facts["config_error"] = config
            return facts
        service = config.services.get(str(address["service"]))
        facts["depends_on"] = dict(service.depends_on) if service else {}
        facts["dependents"] = config.dependents(str(address["service"]))
        return facts

    def _config(self, container: ContainerState) -> ComposeProject | str:
        """The project's resolved configuration, read once per project files; why not, as text."""
        files = ComposeFiles.from_labels(container.labels)
        if files is None:
            return "Compose recorded no config files on the container"
        if files not in self._configs:
            try:
                self._configs[files] = read_config(files)
            except GamedayError as exc:
                self._configs[files] = str(exc)
        return self._configs[files]

    def target_notes(self, handle: FaultHandle) -> list[str]:
        """What a person should know before a fault on this service: dependencies both ways, restart policy."""
        facts = handle.address.get("compose") or {}
        service = str(handle.address.get("service") or handle.target)
        notes = []
        if facts.get("config_error"):
            notes.append(f"Compose configuration not read: {facts['config_error']}")
        depends = facts.get("depends_on") or {}
        if depends:
            notes.append(f"{service} depends on " + ", ".join(f"{k} ({v})" for k, v in sorted(depends.items())))
        dependents = facts.get("dependents") or {}
        if dependents:
            notes.append(", ".join(f"{k} ({v})" for k, v in sorted(dependents.items())) + f" depend(s) on {service}")
        restart = facts.get("restart", "no")
        if restart in RESTARTING_POLICIES and handle.kind == "container_kill":
            notes.append(f"restart: {restart}, so Docker restarts it after the kill (sent to its process, as a "
                         "crash); revert finds it running and only waits" if facts.get("crash") else
                         f"restart: {restart}, but a kill through Docker's API counts as a manual stop (this "
                         "machine cannot see its process), so Docker will not restart it; revert starts it")
        elif restart in RESTARTING_POLICIES:
            notes.append(f"restart: {restart}; Docker does not restart a container it was told to stop or pause")
        else:
            notes.append(f"restart: {restart}, so nothing but revert brings it back")
        if facts.get("healthcheck"):
            notes.append("it has a health check: revert waits until it is healthy")
        return notes

    def runtime(self, address: Mapping[str, Any]) -> ComposeRuntime:
        names = {str(address["id"]): str(address.get("name") or "")} if address.get("id") else {}
        return ComposeRuntime(address.get("base_url"), names=names, project=str(address.get("project") or ""),
                              service=str(address.get("service") or ""), index=int(address.get("index") or 1))
