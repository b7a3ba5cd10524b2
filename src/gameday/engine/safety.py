"""What keeps a run from touching what it should not: the allowlist, production refusal, target locks.

What a target may be touched, its lock key and who else holds it are its platform's answers
(``gameday.platforms``); this module asks the platform and keeps the lock files.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gameday.engine.cleanup import process_alive
from gameday.errors import TargetError
from gameday.folders import default_state_dir
from gameday.handle import FaultHandle
from gameday.platforms.base import LockBook, NoPlatform, SafetyPolicy
from gameday.platforms.registry import PlatformRegistry, installed_platforms
from gameday.scenario.model import FaultSpec, StackSpec


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


def shared_target_problems(faults: Sequence[tuple[FaultSpec, object, FaultHandle]],
                           platforms: PlatformRegistry | None = None) -> dict[int, tuple[str | None, str | None]]:
    """Faults of one scenario on one lock key at overlapping times: ``{index in faults: (problem, note)}``.

    One run holds a key for all its faults, so the lock keeps other runs off, not these. What a user expects of
    two faults on one container at once is both in effect until each one's own revert: cpu_pressure and
    memory_pressure change separate settings and each reverts only its own, so that is allowed, with a note. Two
    of a kind that restores a prior setting (driver ``one_per_target``) would read the same prior state, and the
    first revert would end both (two toxics on one proxy would not: each removes only its own); a fault that
    restarts its target (driver ``restarts_target``) undoes one whose effect lives in the running container
    (``lost_on_restart``: a new cgroup). Those are problems, and plan and the run's preflight refuse them.
    """
    keyed = [(spec, driver, handle, resource_key(handle, platforms)) for spec, driver, handle in faults]
    found: dict[int, tuple[str | None, str | None]] = {}
    for i, (spec, driver, _, key) in enumerate(keyed):
        for other, other_driver, _, other_key in keyed[:i]:
            if key != other_key or not (spec.at < other.at + other.duration and other.at < spec.at + spec.duration):
                continue
            restarter = next((d for d in (driver, other_driver) if getattr(d, "restarts_target", False)), None)
            lost = next((d for d in (driver, other_driver) if getattr(d, "lost_on_restart", False)), None)
            if spec.kind == other.kind and getattr(driver, "one_per_target", False):
                found[i] = ((f"overlaps {other.label}, another {spec.kind} on the same target ({key}): both "
                                     "would read the same prior state and the first revert would end both; give "
                                     "them separate times (at:) or one fault"), None)
            elif restarter is not None and lost is not None and restarter is not lost:
                found[i] = ((f"overlaps {other.label} on the same target ({key}): {getattr(restarter, 'kind', '')} restarts "
                                     f"it, which undoes {getattr(lost, 'kind', '')} (its effect lives in the running container); "
                                     "give them separate times (at:)"), None)
            elif i not in found:
                found[i] = (None, (f"shares {key} with {other.label} at the same time: one run holds it for "
                                           "both; each changes its own setting and its revert puts back only that"))
    return found


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
