"""The demo stack's parts (parts.py) rendered as Kubernetes objects for the local cluster's real node.

Pure: configuration in, plain manifests (dicts) out; nothing here calls Docker or the API server
(kubernetes_stack.py applies them). One namespace per stack, ``gameday-<stack>``:

    Namespace    gameday-<stack>           labels gameday.stack, app.kubernetes.io/managed-by=gameday
    Secret       stack-env                 the stack's env file (passwords, admin URLs), mounted 0600
    ConfigMap    <part>-config             rendered configs (Prometheus, Alertmanager, Toxiproxy's proxies)
    StatefulSet  postgres                  its data on a hostPath under the stack's state folder
    Deployment   redis, toxiproxy, checkout, alertmanager, prometheus   (strategy Recreate)

Every pod is on the real node (its label as node selector, its taint tolerated), on the host's network,
listening on 127.0.0.1 on the same ports as on Docker, so the rendered Prometheus and Alertmanager
configs work unchanged. What Docker bind-mounts read-only from the package is a read-only hostPath (the
node is this machine); Docker's tmpfs is an emptyDir in memory of the same size; Docker's health check is
the readiness probe. Workloads and pods carry ``gameday.allowed=true``, ``gameday.stack`` and ``gameday.part``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from gameday.cluster.node import NODE_LABEL, NODE_TAINT
from gameday.stack.config import HOST, PART_LABEL, STACK_LABEL, StackConfig
from gameday.stack.parts import SECRETS_IN_CONTAINER, Part, parts, proxies

SECRET_NAME = "stack-env"
MANAGED_BY = {"app.kubernetes.io/managed-by": "gameday"}
SPEC_ANNOTATION = "gameday.dev/spec"
"""A hash of what shapes a pod but is not in its spec (configs, passwords): a change rolls the pod."""
STATEFUL = frozenset({"postgres"})
"""Parts run by a StatefulSet: at most one pod at a time, and its data kept across a replacement."""
PGDATA_IN_CONTAINER = "/var/lib/gameday/postgres"
TOXIPROXY_CONFIG = "/etc/gameday/toxiproxy/proxies.json"
GRACE_S = 10
"""terminationGracePeriodSeconds: every part exits at once on SIGTERM (PostgreSQL through its preStop)."""

WAIT_FOR_PORT = """\
import os, socket, sys, time
port, argv = int(sys.argv[1]), sys.argv[2:]
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            break
        except OSError:
            time.sleep(0.2)
os.execvp(argv[0], argv)
"""
"""Run before a part's own command (which it then becomes, as PID 1): wait until the part's port is free.
A Deployment starts a deleted pod's replacement while the old pod still shuts down on the same host port;
without this the new process fails to bind and restarts with a growing back-off (the spike saw 48 s)."""


def namespace(config: StackConfig) -> str:
    return f"gameday-{config.stack}"


def pgdata_dir(config: StackConfig) -> Path:
    """PostgreSQL's data on the node (this machine): kept across a pod's replacement, removed by ``down``."""
    return config.state_dir / "kubernetes" / "pgdata"


def workload_kind(part: Part) -> str:
    return "StatefulSet" if part.name in STATEFUL else "Deployment"


def selector(config: StackConfig, part: Part) -> dict[str, str]:
    return {STACK_LABEL: config.stack, PART_LABEL: part.name}


def labels(config: StackConfig, part: Part) -> dict[str, str]:
    return {**selector(config, part), "gameday.allowed": "true", **MANAGED_BY}


def configs(config: StackConfig, part: Part) -> dict[str, str]:
    """Files the part gets from a ConfigMap: path in the container -> text (Docker copies the same ones in)."""
    files = dict(part.copies)
    if part.name == "toxiproxy":
        # A replaced Toxiproxy pod starts with its proxies (on Docker a dead one stays dead until `up` makes them).
        files[TOXIPROXY_CONFIG] = json.dumps(proxies(config), indent=2) + "\n"
    return files


def stack_objects(config: StackConfig, *, env_text: str, secrets_fingerprint: str) -> list[dict[str, Any]]:
    """Every object of the stack, in the order to apply them: namespace, Secret, ConfigMaps, workloads."""
    ns = namespace(config)
    out: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": ns, "labels": {STACK_LABEL: config.stack, **MANAGED_BY}}},
        {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
         "metadata": {"name": SECRET_NAME, "namespace": ns, "labels": {STACK_LABEL: config.stack, **MANAGED_BY}},
         "stringData": {"stack.env": env_text}},
    ]
    all_parts = parts(config)
    for part in all_parts:
        files = configs(config, part)
        if files:
            out.append({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": f"{part.name}-config", "namespace": ns,
                                     "labels": {**selector(config, part), **MANAGED_BY}},
                        "data": {_key(path): text for path, text in files.items()}})
    out.extend(workload(config, part, secrets_fingerprint=secrets_fingerprint) for part in all_parts)
    return out


def workload(config: StackConfig, part: Part, *, secrets_fingerprint: str) -> dict[str, Any]:
    """The Deployment (a StatefulSet for PostgreSQL) that runs one part."""
    kind = workload_kind(part)
    spec: dict[str, Any] = {"replicas": 1, "selector": {"matchLabels": selector(config, part)},
                            "template": pod_template(config, part, secrets_fingerprint=secrets_fingerprint)}
    if kind == "StatefulSet":
        spec["serviceName"] = part.name  # required by the API; no Service is made (nothing resolves names)
    else:
        spec["strategy"] = {"type": "Recreate"}  # one pod per host port: never two during a rollout
    return {"apiVersion": "apps/v1", "kind": kind,
            "metadata": {"name": part.name, "namespace": namespace(config), "labels": labels(config, part)},
            "spec": spec}


def pod_template(config: StackConfig, part: Part, *, secrets_fingerprint: str) -> dict[str, Any]:
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for index, (source, bind) in enumerate(sorted(part.volumes.items())):
        if Path(source).is_absolute():  # shipped files (code, entrypoints, rules), read-only as on Docker
            volumes.append({"name": f"files-{index}", "hostPath": {"path": source, "type": "Directory"}})
            mounts.append({"name": f"files-{index}", "mountPath": bind["bind"], "readOnly": bind.get("mode") == "ro"})
        else:  # Docker's named volume: PostgreSQL's data
            volumes.append({"name": "data", "hostPath": {"path": str(pgdata_dir(config)), "type": "DirectoryOrCreate"}})
            mounts.append({"name": "data", "mountPath": bind["bind"]})
    for index, (path, options) in enumerate(sorted(part.tmpfs.items())):
        volumes.append({"name": f"tmpfs-{index}", "emptyDir": {"medium": "Memory", "sizeLimit": _size(options)}})
        mounts.append({"name": f"tmpfs-{index}", "mountPath": path})
    files = configs(config, part)
    if files:
        volumes.append({"name": "config", "configMap": {"name": f"{part.name}-config"}})
        mounts.extend({"name": "config", "mountPath": path, "subPath": _key(path), "readOnly": True}
                      for path in sorted(files))
    if part.needs_secrets:
        folder = str(PurePosixPath(SECRETS_IN_CONTAINER).parent)
        volumes.append({"name": "secrets", "secret": {
            "secretName": SECRET_NAME, "defaultMode": 0o600,
            "items": [{"key": "stack.env", "path": PurePosixPath(SECRETS_IN_CONTAINER).name}]}})
        mounts.append({"name": "secrets", "mountPath": folder, "readOnly": True})

    command = part.command + (["-config", TOXIPROXY_CONFIG] if part.name == "toxiproxy" else [])
    container: dict[str, Any] = {
        "name": part.name, "image": part.image, "imagePullPolicy": "Never",
        "command": ["python3", "-c", WAIT_FOR_PORT, str(part.port), *command],
        "env": [{"name": k, "value": v} for k, v in sorted(part.environment.items())],
        "volumeMounts": mounts,
        "readinessProbe": readiness_probe(part),
    }
    if part.name == "postgres":
        # SIGTERM is PostgreSQL's smart shutdown, which waits for checkout's pooled connections until the grace
        # period ends; SIGINT (fast shutdown) ends them at once, as a deleted database pod should.
        container["lifecycle"] = {"preStop": {"exec": {"command": ["/bin/sh", "-c", "kill -INT 1"]}}}
    digest = hashlib.sha256(json.dumps([files, secrets_fingerprint], sort_keys=True).encode()).hexdigest()[:12]
    resolver: dict[str, Any] = {"dnsPolicy": "Default"}
    if part.nameservers:  # the part's own resolvers, as Docker's dns option gives them
        resolver = {"dnsPolicy": "None", "dnsConfig": {
            "nameservers": list(part.nameservers),
            "options": [dict(zip(("name", "value"), option.split(":", 1), strict=False)) for option in part.dns_options]}}
    return {
        "metadata": {"labels": labels(config, part), "annotations": {SPEC_ANNOTATION: digest}},
        "spec": {
            "hostNetwork": True, **resolver, "enableServiceLinks": False,
            "automountServiceAccountToken": False, "terminationGracePeriodSeconds": GRACE_S,
            "nodeSelector": {NODE_LABEL[0]: NODE_LABEL[1]},
            "tolerations": [{"key": NODE_TAINT, "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [container], "volumes": volumes,
        },
    }


def readiness_probe(part: Part) -> dict[str, Any]:
    """Docker's health check as a readiness probe: the same URL (kubelet's GET on 127.0.0.1), or the same command."""
    period = max(1, round(part.health_interval_s))
    common = {"periodSeconds": period, "timeoutSeconds": 3, "failureThreshold": 2}
    if part.url:
        url = urlsplit(part.url)
        return {"httpGet": {"host": url.hostname or HOST, "port": url.port or part.port, "path": url.path or "/"},
                **common}
    return {"exec": {"command": ["/bin/sh", "-c", part.health]}, **common}


def _key(path: str) -> str:
    """A ConfigMap key for a file path (its name; the parts' files have distinct names)."""
    return PurePosixPath(path).name


def _size(options: str) -> str:
    """Docker's tmpfs ``size=64m`` as a Kubernetes quantity (``64Mi``)."""
    match = re.search(r"size=(\d+)([kmg]?)", options)
    if match is None:
        return "64Mi"
    unit = {"": "", "k": "Ki", "m": "Mi", "g": "Gi"}[match.group(2)]
    return f"{match.group(1)}{unit}"
