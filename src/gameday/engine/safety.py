"""What keeps a run from touching what it should not: the allowlist, production refusal, target locks.

What a target may be touched, its lock key and who else holds it are its platform's answers
(``gameday.platforms``); this module asks the platform and keeps the lock files.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from gameday.engine.cleanup import process_alive
from gameday.errors import TargetError
from gameday.folders import default_state_dir
from gameday.handle import FaultHandle
from gameday.platforms.base import LockBook, NoPlatform, SafetyPolicy
from gameday.platforms.registry import PlatformRegistry, installed_platforms
from gameday.scenario.model import StackSpec


def safety_policy(stack: StackSpec, *, allow_production: bool, target: str = "") -> SafetyPolicy:
    """The stack's rules for one target (``target``: its name in ``stack.targets``)."""
    allow = None if stack.allow is None else {name: tuple(entries) for name, entries in stack.allow.items()}
    return SafetyPolicy(stack=stack.name, environment=stack.environment, allow_label=stack.allow_label,
                        allow_production=allow_production, allow=allow, declared=stack.targets.get(target),
                        stack_file=stack.source or "")


def resource_key(handle: FaultHandle, platforms: PlatformRegistry | None = None) -> str:
    """What a fault touches, as one string (its platform's lock key): two runs holding one never run at once."""
    return (platforms or installed_platforms()).for_handle(handle).lock_key(handle)


def check_allowed(handle: FaultHandle, stack: StackSpec, *, allow_production: bool,
                  platforms: PlatformRegistry | None = None) -> None:
    """Refuse production unless explicitly overridden, and targets the stack has not opted in (the platform's rules)."""
    platform = (platforms or installed_platforms()).for_handle(handle)
    platform.check_allowed(handle, safety_policy(stack, allow_production=allow_production, target=handle.target))


def holder(key: str, locks: LockBook, *, platform: str = "", platforms: PlatformRegistry | None = None) -> str | None:
    """The live run holding ``key`` on that platform, if any (looks, never takes)."""
    return ((platforms or installed_platforms()).get(platform) if platform else NoPlatform()).holder(key, locks)


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
