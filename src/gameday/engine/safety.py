"""What keeps a run from touching what it should not: the allowlist, production refusal, target locks."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from gameday.engine.cleanup import process_alive
from gameday.errors import TargetError
from gameday.faults.base import FaultHandle
from gameday.folders import default_state_dir
from gameday.scenario.model import StackSpec


def resource_key(handle: FaultHandle) -> str:
    """What a fault touches, as one string: two runs touching the same key never run at once."""
    return str(handle.data.get("resource") or f"{handle.kind}:{handle.target}")


def check_allowed(handle: FaultHandle, stack: StackSpec, *, allow_production: bool) -> None:
    """Refuse a target the stack has not opted in; refuse production unless explicitly overridden."""
    if stack.environment == "production" and not allow_production:
        raise TargetError(
            f"stack '{stack.name}' is marked environment: production; every fault is refused "
            "unless the run passes --allow-production (which is logged)",
            target=handle.target,
        )
    labels = handle.data.get("container_labels")
    if labels is not None:
        key, _, value = stack.allow_label.partition("=")
        if labels.get(key) != value:
            name = handle.data.get("container_name", handle.target)
            raise TargetError(
                f"container {name} (target '{handle.target}') is not allowed as a fault target: it lacks the label "
                f"{stack.allow_label}; start it with `--label {stack.allow_label}` to allow it",
                target=handle.target,
            )


@dataclass(frozen=True)
class TargetLock:
    path: Path
    resource: str


class TargetLocks:
    """One lock file per touched resource; a lock whose owner process is dead is taken over."""

    def __init__(self, *, run_id: str, scenario: str, state_dir: Path | None = None) -> None:
        self.run_id = run_id
        self.scenario = scenario
        self.dir = (state_dir or default_state_dir(os.environ)) / "locks"
        self.held: list[TargetLock] = []

    def acquire(self, resource: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self._path(resource)
        record = json.dumps({"run_id": self.run_id, "pid": os.getpid(), "resource": resource, "scenario": self.scenario})
        for _ in range(3):
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                owner = _read(path)
                if owner.get("run_id") == self.run_id:
                    return
                pid = owner.get("pid")
                if owner and process_alive(pid if isinstance(pid, int) else None):
                    raise TargetError(
                        f"{resource} is in use by run {owner.get('run_id')} (scenario {owner.get('scenario')}, "
                        f"pid {owner.get('pid')}); one run per target",
                        target=resource,
                    ) from None
                path.unlink(missing_ok=True)  # its owner died: the lock is stale
                continue
            with os.fdopen(fd, "w") as f:
                f.write(record)
            self.held.append(TargetLock(path, resource))
            return
        raise TargetError(f"could not lock {resource}", target=resource)

    def holder(self, resource: str) -> str | None:
        """The run holding this resource's lock, if its process is alive (for plans: looks, never takes)."""
        owner = _read(self._path(resource))
        pid = owner.get("pid")
        if owner and process_alive(pid if isinstance(pid, int) else None):
            return str(owner.get("run_id"))
        return None

    def _path(self, resource: str) -> Path:
        return self.dir / (hashlib.sha1(resource.encode()).hexdigest()[:16] + ".json")

    def release_all(self) -> None:
        for lock in self.held:
            if _read(lock.path).get("run_id") == self.run_id:
                lock.path.unlink(missing_ok=True)
        self.held.clear()


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
