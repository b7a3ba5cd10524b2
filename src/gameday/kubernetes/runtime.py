"""A node's container runtime, reached directly: what the kubelet itself uses to run a pod's containers.

A fault that must look like a crash to the kubelet (``container_kill``) acts below the API, on the node's
containerd, through its socket. gameday reaches that only on nodes it runs: ``gameday cluster up
--real-node`` annotates its node with the socket's path (``RUNTIME_ANNOTATION``), and only a local socket
can be used (this machine is the node). Any other node is refused in one line at prepare, so ``plan`` says
so before anything is touched.

    runtime_socket(node, target)     the socket the node's annotation names, checked to be a socket here
    NodeRuntime(socket).status(id)   RUNNING, STOPPED, PAUSED... of a container's task; None if it has none
    NodeRuntime(socket).kill(id, signal)

``ctr`` (Debian's containerd package; the real node needs it already) in the kubelet's namespace ``k8s.io``.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

from gameday.cluster.node import CRI_NAMESPACE, RUNTIME_ANNOTATION
from gameday.errors import FaultError, TargetError

CTR_TIMEOUT_S = 20.0
CONTAINERD_PREFIX = "containerd://"
KILL_WAIT_S = 5.0
"""How long a SIGKILL may take to end a task (it is immediate unless the machine is very busy)."""


def runtime_socket(node: Any, *, what: str, target: str) -> Path:
    """The node's containerd socket from its annotation; TargetError (one line) when gameday cannot reach it."""
    name = str(node.metadata.name)
    value = (node.metadata.annotations or {}).get(RUNTIME_ANNOTATION)
    if not value:
        raise TargetError(f"{what} acts through the node's container runtime, which gameday reaches only on nodes it "
                          f"runs (gameday cluster up --real-node); node {name} has no {RUNTIME_ANNOTATION} "
                          "annotation", target=target)
    path = Path(str(value))
    try:
        is_socket = stat.S_ISSOCK(path.stat().st_mode)
    except OSError:
        is_socket = False
    if not is_socket:
        raise TargetError(f"{what}: node {name}'s container runtime socket {path} is not on this machine (or its "
                          "containerd is not running); gameday reaches only the runtime of a node on this machine",
                          target=target)
    return path


def container_id(status: Any) -> str | None:
    """The runtime's id of the container a pod's containerStatus shows now (``containerd://<id>``), else None."""
    raw = str(getattr(status, "containerID", None) or "")
    return raw[len(CONTAINERD_PREFIX):] if raw.startswith(CONTAINERD_PREFIX) else None


class NodeRuntime:
    """The containerd of one node, through ``ctr``, in the kubelet's namespace. Errors name ``target``."""

    def __init__(self, socket: Path | str, *, target: str, error: type[TargetError] = FaultError) -> None:
        self.socket = str(socket)
        self._target = target
        self._error = error

    def _ctr(self, *argv: str) -> subprocess.CompletedProcess[str]:
        ctr = shutil.which("ctr")
        if ctr is None:
            raise self._error("ctr is not installed (apt-get install containerd): gameday reaches the node's "
                              "runtime through it", target=self._target)
        try:
            return subprocess.run([ctr, "--address", self.socket, "--namespace", CRI_NAMESPACE, *argv],
                                  capture_output=True, text=True, timeout=CTR_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as exc:
            raise self._error(f"ctr {' '.join(argv[:2])} did not answer within {CTR_TIMEOUT_S:g} s (the node's "
                              f"containerd at {self.socket})", target=self._target) from exc

    def status(self, container: str) -> str | None:
        """The status of the container's task (``RUNNING``, ``STOPPED``, ``PAUSED``...); None when it has none."""
        listed = self._ctr("tasks", "list")
        if listed.returncode != 0:
            raise self._error(f"cannot list the node's tasks: {_last_line(listed.stderr)}", target=self._target)
        for line in listed.stdout.splitlines()[1:]:  # TASK PID STATUS
            words = line.split()
            if len(words) >= 3 and words[0] == container:
                return words[2]
        return None

    def kill(self, container: str, signal: str) -> bool:
        """Send ``signal`` to the container's main process; False when its task has ended already (nothing to
        kill). A SIGKILL is waited for (up to KILL_WAIT_S), so a caller reading the state next sees it dead."""
        if self.status(container) != "RUNNING":
            return False
        result = self._ctr("tasks", "kill", "--signal", signal, container)
        if result.returncode != 0:
            if self.status(container) != "RUNNING":
                return False  # it ended meanwhile (a crash of its own, the kubelet's stop)
            raise self._error(f"the node's containerd refused to send {signal} to container {container[:12]}: "
                              f"{_last_line(result.stderr)}", target=self._target)
        if signal == "SIGKILL":
            deadline = time.monotonic() + KILL_WAIT_S
            while self.status(container) == "RUNNING" and time.monotonic() < deadline:
                time.sleep(0.05)
        return True


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"
