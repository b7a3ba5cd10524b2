"""The Docker platform: containers on a Docker Engine, found by name or by labels.

    target: {platform: docker, container: checkout}      (version 1: {container: checkout})
    target: {platform: docker, labels: {app: web}}       (version 1: {labels: {app: web}})

A container is a fault target only if the stack file's ``allow.docker`` lists it (by name or glob) or, in
a scenario's inline stack, if it carries the stack's ``allow_label``; its lock key is
``docker:<container id>``. The daemon is ``stack.docker.base_url`` (default: ``DOCKER_HOST`` or the
local socket). Every docker SDK and socket error is translated into gameday errors here.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import tarfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from gameday.errors import DockerUnavailable, FaultError, TargetError
from gameday.handle import FaultHandle
from gameday.platforms.base import (
    ContainerResources,
    ContainerState,
    ExecResult,
    FileContent,
    Mount,
    PlatformDefaults,
    SafetyPolicy,
    Target,
    check_container_allowed,
)

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container


class DockerTarget(Target):
    """A Docker container, by name or by labels that select exactly one container."""

    platform: Literal["docker"] = "docker"
    container: str | None = Field(None, description="Docker container name")
    labels: dict[str, str] | None = Field(None, description="Docker labels that select exactly one container")

    @model_validator(mode="after")
    def _one_selector(self) -> DockerTarget:
        chosen = [k for k in ("container", "labels") if getattr(self, k)]
        if len(chosen) != 1:
            raise ValueError("a docker target names exactly one of container, labels"
                             + (f" (got {', '.join(chosen)})" if chosen else ""))
        return self

    @property
    def selector(self) -> str:
        if self.labels:
            return "labels=" + ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return f"container={self.container}"


@contextlib.contextmanager
def docker_errors(target: str = "") -> Iterator[None]:
    """Translate docker SDK and socket errors into gameday errors."""
    import docker.errors
    import requests.exceptions

    try:
        yield
    except docker.errors.NotFound as exc:
        raise TargetError(f"container {target} not found (it vanished or never existed)", target=target) from exc
    except (docker.errors.DockerException, requests.exceptions.ConnectionError) as exc:
        text = str(exc)
        if "Connection aborted" in text or "Error while fetching server API version" in text or isinstance(
            exc, requests.exceptions.ConnectionError
        ):
            raise DockerUnavailable(f"cannot reach the Docker daemon: {_short(text)}") from exc
        raise FaultError(f"Docker refused the call on {target}: {_short(text)}", target=target) from exc


def _unix_socket_path(url: str) -> str | None:
    for prefix in ("unix://", "http+unix://"):
        if url.startswith(prefix):
            return url[len(prefix):]
    return None


def _short(text: str) -> str:
    return " ".join(text.split())[:200]


@functools.lru_cache(maxsize=8)
def docker_client(base_url: str | None) -> docker.DockerClient:
    """A client for this daemon, pinged once when made and then shared within the process (its connection
    pool is reused). A daemon that goes away later shows as DockerUnavailable on the next call."""
    import docker

    socket_path = _unix_socket_path(base_url or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock")
    if socket_path is not None and not os.path.exists(socket_path):
        # Checked first: the SDK leaks a socket when it fails to reach a missing daemon.
        raise DockerUnavailable(f"cannot reach the Docker daemon: no socket at {socket_path} (is dockerd running?)")
    with docker_errors():
        client = docker.DockerClient(base_url=base_url) if base_url else docker.from_env()
    try:
        with docker_errors():
            client.ping()
    except DockerUnavailable:
        client.close()
        raise
    return client


def container_state(container: Container) -> ContainerState:
    """What the Engine API says about a container (from its last inspect)."""
    state = container.attrs.get("State") or {}
    health = state.get("Health")
    mounts = tuple(Mount(destination=str(m.get("Destination", "")), type=str(m.get("Type", "")),
                         source=str(m.get("Source") or "")) for m in container.attrs.get("Mounts") or [])
    return ContainerState(id=container.id, name=container.name, status=str(state.get("Status")),
                          paused=bool(state.get("Paused")), health=health.get("Status") if health else None,
                          labels=dict(container.labels), mounts=mounts, oom_killed=bool(state.get("OOMKilled")),
                          network_mode=str((container.attrs.get("HostConfig") or {}).get("NetworkMode") or ""),
                          started_at=str(state.get("StartedAt") or ""),
                          finished_at=str(state.get("FinishedAt") or ""),
                          exit_code=state["ExitCode"] if isinstance(state.get("ExitCode"), int) else None)


def _go_mode(mode: int) -> int:
    """A Go ``os.FileMode`` (the archive stat's) as a POSIX st_mode: Go keeps the type in its top bits."""
    import stat

    go_dir, go_symlink = 1 << 31, 1 << 27
    kind = stat.S_IFDIR if mode & go_dir else stat.S_IFLNK if mode & go_symlink else stat.S_IFREG
    return kind | (mode & 0o7777)


RESOURCE_FIELDS = {"nano_cpus": "NanoCpus", "cpu_quota": "CpuQuota", "cpu_period": "CpuPeriod", "memory": "Memory",
                   "memory_swap": "MemorySwap", "memory_reservation": "MemoryReservation"}
"""ContainerResources' fields by their Engine API names (HostConfig and the update call share them)."""


class DockerRuntime:
    """Containers of one Docker daemon, by id. ``names`` makes errors name a container, not its id."""

    def __init__(self, base_url: str | None = None, *, names: Mapping[str, str] | None = None) -> None:
        self.base_url = base_url
        self._names = dict(names or {})

    def _name(self, container_id: str) -> str:
        return self._names.get(container_id) or container_id[:12]

    def _get(self, container_id: str) -> Container:
        client = docker_client(self.base_url)
        with docker_errors(self._name(container_id)):
            return client.containers.get(container_id)  # a fresh inspect each time

    def inspect(self, container_id: str) -> ContainerState:
        return container_state(self._get(container_id))

    def exec(self, container_id: str, argv: Sequence[str], *, timeout: float, user: str = "0") -> ExecResult:
        """``docker exec``; the SDK call has no timeout of its own, so it runs in a thread we stop waiting for."""
        container = self._get(container_id)
        name = self._name(container_id)
        outcome: list[Any] = []

        def call() -> None:
            try:
                outcome.append(container.exec_run(list(argv), user=user, stdout=True, stderr=True))
            except Exception as exc:  # noqa: BLE001 -- handed to the caller's thread and translated there
                outcome.append(exc)

        worker = threading.Thread(target=call, name=f"docker-exec-{name}", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise FaultError(f"`{' '.join(argv)[:100]}` in container {name} did not finish within {timeout:g}s "
                             "(it may still be running there)", target=name)
        result = outcome[0]
        if isinstance(result, Exception):
            with docker_errors(name):
                raise result
        code, output = result
        return ExecResult(exit_code=int(code if code is not None else 0),
                          output=(output or b"").decode(errors="replace").strip())

    def signal(self, container_id: str, signal: str) -> None:
        container = self._get(container_id)
        with docker_errors(self._name(container_id)):
            container.kill(signal=signal)

    def stop(self, container_id: str, *, timeout: int) -> None:
        container = self._get(container_id)
        with docker_errors(self._name(container_id)):
            container.stop(timeout=timeout)

    def start(self, container_id: str) -> None:
        container = self._get(container_id)
        with docker_errors(self._name(container_id)):
            container.start()

    def pause(self, container_id: str) -> None:
        container = self._get(container_id)
        with docker_errors(self._name(container_id)):
            container.pause()

    def unpause(self, container_id: str) -> None:
        container = self._get(container_id)
        with docker_errors(self._name(container_id)):
            container.unpause()

    def read_file(self, container_id: str, path: str) -> FileContent | None:
        """``GET /containers/{id}/archive``: works on a stopped container and needs no shell inside."""
        import docker.errors

        container = self._get(container_id)
        name = self._name(container_id)
        with docker_errors(name):
            try:
                stream, _stat = container.get_archive(path)
            except docker.errors.NotFound:
                return None
            raw = b"".join(stream)
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            member = tar.next()
            if member is None or not member.isfile():
                raise FaultError(f"{path} in container {name} is not a regular file", target=name)
            extracted = tar.extractfile(member)
            data = extracted.read() if extracted is not None else b""
        return FileContent(data=data, mode=member.mode & 0o7777, uid=member.uid, gid=member.gid)

    def is_folder(self, container_id: str, path: str) -> bool:
        """``HEAD /containers/{id}/archive``: the path's stat, from a header, without reading the folder."""
        import base64
        import json
        import stat

        api = docker_client(self.base_url).api
        name = self._name(container_id)
        with docker_errors(name):
            response = api.head(api._url("/containers/{0}/archive", container_id), params={"path": path})
        if response.status_code == 404:
            return False
        header = response.headers.get("X-Docker-Container-Path-Stat")
        if response.status_code != 200 or not header:
            raise FaultError(f"Docker could not stat {path} in container {name} (HTTP {response.status_code})",
                             target=name)
        return stat.S_ISDIR(_go_mode(int(json.loads(base64.b64decode(header))["mode"])))

    def write_file(self, container_id: str, path: str, content: FileContent) -> None:
        """``PUT /containers/{id}/archive`` of a one-file tar into the file's folder."""
        folder, _, base = path.rpartition("/")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(base)
            info.size, info.mode, info.uid, info.gid = len(content.data), content.mode, content.uid, content.gid
            tar.addfile(info, io.BytesIO(content.data))
        container = self._get(container_id)
        name = self._name(container_id)
        import docker.errors

        with docker_errors(name):
            try:
                written = container.put_archive(folder or "/", buf.getvalue())
            except docker.errors.NotFound as exc:
                raise FaultError(f"cannot write {path} in container {name}: its folder does not exist",
                                 target=name) from exc
            if not written:
                raise FaultError(f"Docker did not write {path} into container {name}", target=name)

    def host_pid(self, container_id: str) -> int:
        state = self._get(container_id).attrs.get("State") or {}
        return int(state.get("Pid") or 0) if state.get("Running") else 0

    def resources(self, container_id: str) -> ContainerResources:
        host = self._get(container_id).attrs.get("HostConfig") or {}
        return ContainerResources(**{name: int(host.get(api) or 0) for name, api in RESOURCE_FIELDS.items()})

    def update_resources(self, container_id: str, changes: Mapping[str, int]) -> None:
        """``POST /containers/{id}/update``. Sent raw: the SDK's update_container has no NanoCpus. The daemon
        reads 0 as "leave it", so a limit once set cannot be taken away again through this call."""
        unknown = set(changes) - set(RESOURCE_FIELDS)
        if unknown:
            raise ValueError(f"not a container resource: {', '.join(sorted(unknown))}")
        container = self._get(container_id)
        api = docker_client(self.base_url).api
        import docker.errors

        name = self._name(container_id)
        with docker_errors(name):
            response = api._post_json(api._url("/containers/{0}/update", container.id),
                                      data={RESOURCE_FIELDS[k]: int(v) for k, v in changes.items()})
            try:
                api._raise_for_status(response)
            except docker.errors.APIError as exc:  # the daemon's reason, not the URL with the container id
                reason = str(exc.explanation or exc).split(": runc did not terminate successfully: exit status 1: ")[-1]
                raise FaultError(f"Docker refused to update the limits of {name}: {_short(reason)}",
                                 target=name) from exc


class DockerPlatform(PlatformDefaults):
    """Containers on a Docker Engine; allowlisted by label, locked by container id."""

    name: ClassVar[str] = "docker"
    target_model: ClassVar[type[Target]] = DockerTarget
    opt_in: ClassVar[str] = "the container's label (the stack's allow_label, gameday.allowed=true by default)"

    def allow_name(self, target: Target) -> str | None:
        return target.container if isinstance(target, DockerTarget) else None

    def check_allowed(self, handle: FaultHandle, policy: SafetyPolicy) -> None:
        check_container_allowed(self, handle, policy, hint=f"start it with `--label {policy.allow_label}` to allow it")

    def lock_key(self, handle: FaultHandle) -> str:
        container_id = handle.address.get("id")
        return f"docker:{container_id}" if container_id else super().lock_key(handle)

    def resource(self, container: ContainerState) -> str:
        return f"docker:{container.id}"

    def find_container(self, target: Target, target_name: str, settings: Mapping[str, Any]) -> ContainerState:
        if not isinstance(target, DockerTarget):
            raise TargetError(f"target '{target_name}' is not a docker target", target=target_name)
        client = docker_client(settings.get("base_url"))
        with docker_errors(f"{target.container} (target {target_name})" if target.container else target_name):
            if target.container:
                found = [client.containers.get(target.container)]
            else:
                assert target.labels is not None
                filters = {"label": [f"{k}={v}" for k, v in sorted(target.labels.items())]}
                found = client.containers.list(all=True, filters=filters)
        if not found:
            raise TargetError(f"no container matches target '{target_name}' ({target.selector})", target=target_name)
        if len(found) > 1:
            names = ", ".join(sorted(c.name for c in found))
            raise TargetError(
                f"target '{target_name}' ({target.selector}) matches {len(found)} containers ({names}); it must match one",
                target=target_name,
            )
        with docker_errors(found[0].name):
            found[0].reload()
        return container_state(found[0])

    def address(self, container: ContainerState, settings: Mapping[str, Any]) -> dict[str, Any]:
        return {"base_url": settings.get("base_url"), "id": container.id, "name": container.name}

    def runtime(self, address: Mapping[str, Any]) -> DockerRuntime:
        names = {str(address["id"]): str(address.get("name") or "")} if address.get("id") else {}
        return DockerRuntime(address.get("base_url"), names=names)

    def resource_runtime(self, address: Mapping[str, Any]) -> DockerRuntime:
        return self.runtime(address)

    def file_runtime(self, address: Mapping[str, Any]) -> DockerRuntime:
        return self.runtime(address)

    def process_runtime(self, address: Mapping[str, Any]) -> DockerRuntime:
        """The daemon's containers are this machine's only when it is local (``host_pid`` is checked in /proc)."""
        return self.runtime(address)
