"""Container faults through the Docker Engine API: kill, stop, pause.

Revert brings the container back to the state it had before (running), and waits until it is
running, and healthy where it has a health check. Every call is translated into our errors here.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal as signal_module
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator

from gameday.errors import DockerUnavailable, FaultError, RevertError, TargetError
from gameday.faults.base import FaultArgs, FaultHandle
from gameday.scenario.model import FaultSpec, StackSpec, TargetSpec

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

REVERT_READY_TIMEOUT = 60.0


@contextlib.contextmanager
def docker_errors(target: str = "", *, reverting: bool = False) -> Iterator[None]:
    """Translate docker SDK and socket errors into gameday errors."""
    import docker.errors
    import requests.exceptions

    error_cls = RevertError if reverting else FaultError
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
        raise error_cls(f"Docker refused the call on {target}: {_short(text)}", target=target) from exc


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


def find_container(client: docker.DockerClient, target: TargetSpec, target_name: str) -> Container:
    """The one container a target names, by name or by labels."""
    with docker_errors(f"{target.container} (target {target_name})" if target.container else target_name):
        if target.container:
            return client.containers.get(target.container)
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
    return found[0]


class _ContainerFault:
    kind: ClassVar[str]
    args_model: ClassVar[type[FaultArgs]]
    target_fields: ClassVar[tuple[str, ...]] = ("container", "labels")

    def _client(self, base_url: str | None) -> docker.DockerClient:
        return docker_client(base_url)

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        target = stack.targets[fault.target]
        client = self._client(stack.docker.base_url)
        container = find_container(client, target, fault.target)
        with docker_errors(container.name):
            container.reload()
            state = container.attrs["State"]
        if state.get("Status") != "running" or state.get("Paused"):
            raise TargetError(
                f"container {container.name} is {'paused' if state.get('Paused') else state.get('Status')}, "
                "not running; nothing to break",
                target=fault.target,
                resource=f"docker:{container.id}",
            )
        args = self.args_model.model_validate(fault.args)
        return FaultHandle(
            kind=self.kind,
            target=fault.target,
            description=self.describe(container.name, args),
            data={
                "base_url": stack.docker.base_url,
                "container_id": container.id,
                "container_name": container.name,
                "has_healthcheck": bool(state.get("Health")),
                "container_labels": dict(container.labels),
                "resource": f"docker:{container.id}",
                "args": args.model_dump(),
            },
        )

    def describe(self, name: str, args: Any) -> str:
        return f"{self.kind} {name}"

    def describe_revert(self, handle: FaultHandle) -> str:
        wait = "running and healthy" if handle.data.get("has_healthcheck") else "running"
        return f"start or unpause {handle.data['container_name']} and wait until it is {wait}"

    def _container(self, handle: FaultHandle, *, reverting: bool = False) -> Container:
        client = self._client(handle.data.get("base_url"))
        with docker_errors(handle.data["container_name"], reverting=reverting):
            return client.containers.get(handle.data["container_id"])

    def inject(self, handle: FaultHandle) -> None:
        container = self._container(handle)
        with docker_errors(handle.data["container_name"]):
            self._break(container, handle.data["args"])

    def _break(self, container: Container, args: dict[str, Any]) -> None:
        raise NotImplementedError

    def check(self, handle: FaultHandle) -> bool:
        """True while the container is not serving (not running, or paused)."""
        state = self._container(handle).attrs["State"]  # a fresh inspect: `get` reads the daemon each time
        return state.get("Status") != "running" or bool(state.get("Paused"))

    def revert(self, handle: FaultHandle) -> None:
        """Bring the container back to running (and healthy); harmless when it already is."""
        name = handle.data["container_name"]
        container = self._container(handle, reverting=True)
        state = container.attrs["State"]
        with docker_errors(name, reverting=True):
            if state.get("Paused"):
                container.unpause()
            elif state.get("Status") != "running":
                container.start()
        wait_until_ready(container, name, healthcheck=handle.data.get("has_healthcheck", False))


def wait_until_ready(container: Container, name: str, *, healthcheck: bool, timeout: float = REVERT_READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    last = "unknown"
    while time.monotonic() < deadline:
        with docker_errors(name, reverting=True):
            container.reload()
            state = container.attrs["State"]
        running = state.get("Status") == "running" and not state.get("Paused")
        health = (state.get("Health") or {}).get("Status")
        last = f"{state.get('Status')}" + (f", {health}" if health else "")
        if running and (not healthcheck or health == "healthy"):
            return
        time.sleep(0.1)
    raise RevertError(f"container {name} did not come back within {timeout:.0f}s (last seen: {last})", target=name)


class KillArgs(FaultArgs):
    signal: str = Field("SIGKILL", description="signal name, e.g. SIGKILL or SIGTERM")

    @field_validator("signal")
    @classmethod
    def _known_signal(cls, value: str) -> str:
        name = value.upper() if value.upper().startswith("SIG") else "SIG" + value.upper()
        if name not in signal_module.Signals.__members__:
            raise ValueError(f"unknown signal '{value}'")
        return name


class ContainerKill(_ContainerFault):
    """Send a signal (default SIGKILL) to the container's main process."""

    kind = "container_kill"
    args_model = KillArgs

    def describe(self, name: str, args: Any) -> str:
        return f"kill {name} with {args.signal}"

    def _break(self, container: Container, args: dict[str, Any]) -> None:
        container.kill(signal=args["signal"])


class StopArgs(FaultArgs):
    timeout: int = Field(10, ge=0, le=600, description="seconds between SIGTERM and SIGKILL")


class ContainerStop(_ContainerFault):
    kind = "container_stop"
    args_model = StopArgs

    def describe(self, name: str, args: Any) -> str:
        return f"stop {name}"

    def _break(self, container: Container, args: dict[str, Any]) -> None:
        container.stop(timeout=args["timeout"])


class PauseArgs(FaultArgs):
    mode: Literal["freeze"] = "freeze"


class ContainerPause(_ContainerFault):
    """Freeze every process of the container (cgroup freezer): it holds connections but answers nothing."""

    kind = "container_pause"
    args_model = PauseArgs

    def describe(self, name: str, args: Any) -> str:
        return f"pause {name}"

    def _break(self, container: Container, args: dict[str, Any]) -> None:
        container.pause()
