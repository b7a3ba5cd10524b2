"""Helpers for the fault tests on the real local cluster: objects to break, waiting on the API's state with generous deadlines (two busy cores), and reverting from a handle in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

from lightkube import codecs

from gameday.cluster.manager import LocalCluster
from gameday.handle import FaultHandle
from gameday.scenario.model import FaultSpec, StackSpec

T = TypeVar("T")
DEADLINE = 180.0


def wait_for(what: str, check: Callable[[], T], *, timeout: float = DEADLINE) -> T:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` (and the last answer) at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what} (last: {result!r})"
        time.sleep(0.2)


def deployment(name: str, namespace: str, *, replicas: int = 3, image: str = "nginx:1.25",
               **spec: Any) -> Any:
    return codecs.from_dict({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, **spec,
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": image}]}}}})


def revert_in_fresh_process(handle: FaultHandle) -> subprocess.CompletedProcess[str]:
    """Revert from the handle's JSON alone in another Python process, as the watchdog and gameday cleanup do."""
    code = ("import json, sys\n"
            "from gameday.errors import GamedayError\n"
            "from gameday.faults.base import FaultRegistry\n"
            "from gameday.handle import FaultHandle\n"
            "handle = FaultHandle.from_json(json.loads(sys.argv[1]))\n"
            "try:\n"
            "    FaultRegistry().create(handle.kind).revert(handle)\n"
            "except GamedayError as exc:\n"
            "    print(exc)\n"
            "    sys.exit(exc.exit_code)\n")
    return subprocess.run([sys.executable, "-c", code, json.dumps(handle.to_json())], capture_output=True,
                          text=True, timeout=120, check=False)


def prepared(driver: Any, cluster: LocalCluster, *, kind: str, name: str, namespace: str,
             args: dict[str, Any] | None = None) -> FaultHandle:
    """``driver.prepare`` for a target ``{platform: kubernetes, namespace, kind, name}`` on the local cluster, and the
    handle as the journal gives it back (through its JSON)."""
    stack = StackSpec.model_validate({
        "platforms": {"kubernetes": {"kubeconfig": str(cluster.config.kubeconfig)}},
        "targets": {"it": {"platform": "kubernetes", "namespace": namespace, "kind": kind, "name": name}}})
    fault = FaultSpec.model_validate({"kind": driver.kind, "target": "it", "args": args or {}, "duration": "10s"})
    handle: FaultHandle = driver.prepare(fault, stack)
    return FaultHandle.from_json(json.loads(json.dumps(handle.to_json())))


def get(kube: Any, resource: Any, name: str, namespace: str) -> Any:
    """An object as Any: the models make every field optional, and a test asserts on what the server filled in."""
    return kube.get(resource, name, namespace=namespace)


def listed(kube: Any, resource: Any, namespace: str) -> list[Any]:
    return list(kube.list(resource, namespace=namespace))
