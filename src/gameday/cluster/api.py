"""The few API-server calls ``cluster up`` and ``status`` make (readiness, nodes), over HTTPS with the admin
certificate. Faults use the Kubernetes platform's client; this only brings the local cluster up."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import httpx

from gameday.errors import EnvironmentProblem

NODE_ANNOTATION = "kwok.x-k8s.io/node"
"""Nodes with this annotation (value ``fake``) are the ones kwok runs; no kubelet is behind them."""


class LocalAPI:
    """The local API server at ``url``, authenticated with the certificates in ``certs``."""

    def __init__(self, url: str, certs: Path, *, timeout: float = 5.0) -> None:
        context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
        context.load_cert_chain(str(certs / "admin.crt"), str(certs / "admin.key"))
        self._client = httpx.Client(base_url=url, verify=context, timeout=timeout, trust_env=False)
        self.url = url

    def close(self) -> None:
        self._client.close()

    def readyz(self) -> tuple[bool, str]:
        """(ready, why not): ``/readyz`` answering 200, else its status or the connection error."""
        try:
            response = self._client.get("/readyz")
        except httpx.HTTPError as exc:
            return False, f"{type(exc).__name__}: {exc}"[:200]
        return response.status_code == 200, f"/readyz {response.status_code}"

    def get(self, path: str) -> Any:
        return self._call("GET", path)

    def create(self, path: str, body: dict[str, Any]) -> Any:
        """POST ``body``; an object that exists already (409) is fine: ``up`` is repeatable."""
        return self._call("POST", path, body, ok=(409,))

    def delete(self, path: str) -> None:
        """DELETE; an object already gone (404) is fine."""
        self._call("DELETE", path, ok=(404,))

    def get_or_none(self, path: str) -> Any:
        """GET, or None when the object is not there (404)."""
        found = self._call("GET", path, ok=(404,))
        return None if isinstance(found, dict) and found.get("kind") == "Status" else found

    def apply(self, path: str, body: dict[str, Any], *, manager: str = "gameday", secret: bool = False) -> Any:
        """Server-side apply of ``body`` at its own ``path`` (made or brought to ``body``: repeatable). ``secret``:
        the API's answer is left out of an error, so no value of the object can reach a message."""
        return self._call("PATCH", f"{path}?fieldManager={manager}&force=true", body,
                          content_type="application/apply-patch+yaml", secret=secret)

    def merge_patch(self, path: str, body: dict[str, Any]) -> Any:
        """A JSON merge patch (RFC 7386) of the object at ``path``."""
        return self._call("PATCH", path, body, content_type="application/merge-patch+json")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, ok: tuple[int, ...] = (), *,
              content_type: str = "application/json", secret: bool = False) -> Any:
        try:
            response = self._client.request(method, path, content=None if body is None else json.dumps(body),
                                            headers={"Content-Type": content_type})
        except httpx.HTTPError as exc:
            raise EnvironmentProblem(f"the local API server at {self.url} did not answer {method} {path}: "
                                     f"{type(exc).__name__}: {exc}"[:300]) from exc
        if response.status_code >= 400 and response.status_code not in ok:
            detail = "" if secret else f" {response.text[:200]}"
            raise EnvironmentProblem(f"the local API server refused {method} {path}: {response.status_code}{detail}")
        return response.json() if response.content else None

    def nodes(self) -> list[tuple[str, bool]]:
        """(name, Ready) of every node."""
        items = self.get("/api/v1/nodes").get("items", [])
        result = []
        for node in items:
            conditions = node.get("status", {}).get("conditions", []) or []
            ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
            result.append((node["metadata"]["name"], ready))
        return sorted(result)

    def set_node_address(self, name: str, ip: str) -> None:
        """Give a node the address the API server reaches its kubelet at (exec, logs). The kubelet refuses a
        loopback ``--node-ip`` ("nodeIP can't be loopback address", kubelet_node_status.go validateNodeIP) and
        then reports no address at all: its address setter returns on that error before it writes
        ``status.addresses`` (nodestatus/setters.go NodeAddress), on every status update, so what is written here
        stays. Without ``--node-ip`` it would report the default route's interface instead, which the kubelet
        (on 127.0.0.1) does not listen on and which is off this machine's loopback."""
        self._call("PATCH", f"/api/v1/nodes/{name}/status",
                   {"status": {"addresses": [{"type": "InternalIP", "address": ip},
                                             {"type": "Hostname", "address": name}]}},
                   content_type="application/merge-patch+json")

    def create_kwok_node(self, name: str) -> None:
        """A Node object kwok takes over (it fakes the kubelet's heartbeats and its pods' status)."""
        self.create("/api/v1/nodes", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "annotations": {NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
                         "labels": {"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                    "kubernetes.io/arch": "amd64", "kubernetes.io/role": "agent"}},
            "spec": {},
            "status": {"allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                       "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"}},
        })
