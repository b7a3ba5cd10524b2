"""Where the local cluster lives: its ports (all on 127.0.0.1), its state folder, its binaries.

Ports move with ``GAMEDAY_CLUSTER_<PART>_PORT`` (e.g. ``GAMEDAY_CLUSTER_APISERVER_PORT=26443``); the state
folder is ``<state dir>/cluster`` (``GAMEDAY_STATE_DIR`` moves it); binaries are read from
``GAMEDAY_KUBERNETES_BIN`` (a folder) or the build cache, etcd from ``GAMEDAY_ETCD_BIN`` or ``PATH``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

from gameday.errors import EnvironmentProblem, GamedayError
from gameday.folders import default_cache_dir, default_state_dir

HOST = "127.0.0.1"
"""The only address the cluster binds or is reached at: never a pod or a cluster IP."""

KUBERNETES_VERSION = "v1.34.4"
"""What scripts/build-kubernetes.sh builds (tools/kubernetes/go.mod pins it)."""
KWOK_VERSION = "v0.8.0"

BUILD_HINT = "run scripts/build-kubernetes.sh (setup.sh does) or set GAMEDAY_KUBERNETES_BIN"


@dataclass(frozen=True)
class ClusterConfig:
    """Ports, folders and binaries of one local cluster; the defaults are the shared conventions."""

    etcd_port: int = 12379
    etcd_peer_port: int = 12380
    apiserver_port: int = 16443
    controller_manager_port: int = 10357
    scheduler_port: int = 10359
    kwok_port: int = 10347
    kubelet_port: int = 10450
    kubelet_healthz_port: int = 10448
    containerd_stream_port: int = 10451
    """The real node's (``real_node``): the kubelet's API and health ports, containerd's exec/log streams."""
    state_dir: Path = Path.home() / ".local" / "state" / "gameday" / "cluster"
    bin_dir: Path = Path.home() / ".cache" / "gameday" / "kubernetes" / KUBERNETES_VERSION
    etcd_bin: Path = Path("/usr/bin/etcd")
    nodes: int = 3
    """How many kwok nodes ``up`` makes (``kwok-node-0`` ...)."""
    real_node: bool = False
    """Also run one real node (containerd and a kubelet): gameday.cluster.node."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ClusterConfig:
        cache = default_cache_dir(environ) / "kubernetes" / KUBERNETES_VERSION
        bin_dir = Path(environ["GAMEDAY_KUBERNETES_BIN"]) if environ.get("GAMEDAY_KUBERNETES_BIN") else cache
        etcd = environ.get("GAMEDAY_ETCD_BIN") or shutil.which("etcd", path=environ.get("PATH")) or "/usr/bin/etcd"
        overrides: dict[str, int] = {}
        for f in fields(cls):
            if f.name.endswith("_port"):
                var = f"GAMEDAY_CLUSTER_{f.name.removesuffix('_port').upper()}_PORT"
                if var in environ:
                    overrides[f.name] = _port(var, environ[var])
        config = cls(state_dir=default_state_dir(environ) / "cluster", bin_dir=bin_dir, etcd_bin=Path(etcd))
        config = replace(config, **overrides)  # type: ignore[arg-type]
        config.check()
        return config

    def ports(self) -> dict[str, int]:
        return {f.name.removesuffix("_port"): getattr(self, f.name) for f in fields(self) if f.name.endswith("_port")}

    def check(self) -> None:
        seen: dict[int, str] = {}
        for name, port in self.ports().items():
            if port in seen:
                raise GamedayError(f"cluster ports: {name} and {seen[port]} are both {port}")
            seen[port] = name
        if not 1 <= self.nodes <= 1000:
            raise GamedayError(f"--nodes {self.nodes}: between 1 and 1000")

    def binary(self, name: str) -> Path:
        """A built binary (Debian's etcd and containerd), or one line saying how to build or install it."""
        if name == "containerd":
            path = Path(shutil.which("containerd") or "/usr/bin/containerd")
        else:
            path = self.etcd_bin if name == "etcd" else self.bin_dir / name
        if not (path.is_file() and os.access(path, os.X_OK)):
            hint = {"etcd": "apt-get install etcd-server or set GAMEDAY_ETCD_BIN",
                    "containerd": "apt-get install containerd runc containernetworking-plugins (setup.sh does)"
                    }.get(name, BUILD_HINT)
            raise EnvironmentProblem(f"{name} is not built: no executable {path}; {hint}")
        return path

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig ``up`` writes (what ``kubectl --kubeconfig`` and a stack file name)."""
        return self.state_dir / "kubeconfig"

    @property
    def apiserver_url(self) -> str:
        return f"https://{HOST}:{self.apiserver_port}"


def _port(var: str, value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise GamedayError(f"{var}={value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise GamedayError(f"{var}={port} is not a port number (1-65535)")
    return port
