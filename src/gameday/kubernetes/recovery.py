"""Has a workload recovered: the pods a fault removed are gone, replacements exist, and as many replicas are
ready as it wants. Read from the live API; what a driver's ``observations`` report after a fault."""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

from lightkube import Client

from gameday.kubernetes.objects import Owner, get_object, pod_ready, pods_of_workload, workload_replicas

RECOVERY_TIMEOUT_S = 60.0
"""How long an ``after`` observation waits for the workload to be ready again before reporting that it is not."""


def snapshot(client: Client, owner: Owner, namespace: str, removed: Collection[str], *, target: str) -> dict[str, Any]:
    """The workload now: desired and ready replicas, its pods, and whether every removed pod (by uid) is gone
    and it is ready again (``recovered``)."""
    workload = get_object(client, owner.kind, owner.name, namespace, target=target)
    desired, ready = workload_replicas(workload, owner.kind)
    pods = pods_of_workload(client, workload, owner.kind, target=target)
    live = [p for p in pods if p.metadata.deletionTimestamp is None]
    left = sorted(str(p.metadata.name) for p in pods if p.metadata.uid in removed)
    ready_pods = sum(1 for p in live if pod_ready(p))
    return {"workload": f"{owner.kind} {namespace}/{owner.name}", "desired": desired, "ready": ready,
            "pods": sorted(str(p.metadata.name) for p in live), "removed_left": left,
            "recovered": not left and ready >= desired and ready_pods >= desired}


def wait_recovered(client: Client, owner: Owner, namespace: str, removed: Collection[str], *, target: str,
                   timeout: float = RECOVERY_TIMEOUT_S) -> dict[str, Any]:
    """Poll ``snapshot`` until it says recovered or ``timeout`` passes; the last snapshot, with ``waited_s``."""
    start = time.monotonic()
    while True:
        state = snapshot(client, owner, namespace, removed, target=target)
        if state["recovered"] or time.monotonic() - start >= timeout:
            return {**state, "waited_s": round(time.monotonic() - start, 3)}
        time.sleep(0.2)
