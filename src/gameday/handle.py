"""``FaultHandle``: everything needed to revert one fault, as plain JSON for the journal.

The engine reads only the explicit fields: which platform the target is on, the resource the fault
touches (the lock key) and the target's labels when it was prepared (for the allowlist). ``address``
is the platform's own record of where the target is, so a later process (``gameday cleanup``, the
watchdog) reaches it again from the handle alone; ``data`` is the driver's own and nobody else reads it.

Handles journalled before these fields existed kept them inside ``data`` (``resource``,
``container_labels``, ``container_id``...); ``from_json`` lifts them out, so an old journal still cleans up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class FaultHandle:
    """Everything needed to revert one fault, JSON-serialisable; never holds a secret."""

    kind: str
    target: str
    description: str
    data: dict[str, Any] = field(default_factory=dict)
    """The driver's own: what it needs to revert (prior state, the toxic's name, the fill file)."""
    platform: str = ""
    """The target's platform (``docker``, ``toxiproxy``, ``host``...); empty for a driver that names none."""
    resource: str = ""
    """What the fault touches, as one string (``docker:<container id>``): two runs never hold the same one."""
    labels: dict[str, str] | None = None
    """The target's labels when it was prepared, for the allowlist; None for a target that has none."""
    address: dict[str, Any] = field(default_factory=dict)
    """The platform's own JSON record of where the target is (a daemon URL and a container id, say)."""
    run_id: str = ""
    """The run that injects it, stamped by the engine just before the journal records the intent ("" in a plan
    or outside a run), so a driver can mark what it changes as this run's (a label, an annotation)."""
    fault_id: str = ""
    """The fault's id within its run (``f0``, ``f1``...), stamped with ``run_id``."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FaultHandle:
        """A handle from its journal JSON, written by this version or an older one (fields left at defaults)."""
        data = raw.get("data") or {}
        if not isinstance(data, dict):
            raise TypeError("handle data is not a JSON object")
        description = raw.get("description", "")
        fields: dict[str, Any] = {
            "kind": str(raw["kind"]),
            "target": str(raw["target"]),
            "description": description if isinstance(description, str) else str(description),
            "data": data,
            "run_id": str(raw.get("run_id") or ""),
            "fault_id": str(raw.get("fault_id") or ""),
        }
        if "platform" in raw:
            labels = raw.get("labels")
            address = raw.get("address")
            fields.update(
                platform=str(raw.get("platform") or ""),
                resource=str(raw.get("resource") or ""),
                labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else None,
                address=address if isinstance(address, dict) else {},
            )
        else:
            fields.update(_lifted_from_data(data))
        return cls(**fields)


# How backends of revoke_credentials named their target kind before targets named their platform.
_LEGACY_BACKEND_PLATFORMS = {"postgres_role": "postgres", "redis_user": "redis", "path": "host"}


def _lifted_from_data(data: dict[str, Any]) -> dict[str, Any]:
    """The explicit fields of a handle journalled before they existed, read from where drivers kept them."""
    fields: dict[str, Any] = {"resource": str(data.get("resource") or "")}
    labels = data.get("container_labels")
    if isinstance(labels, dict):
        fields["labels"] = {str(k): str(v) for k, v in labels.items()}
    if "container_id" in data:  # container faults and disk_fill in a container: Docker was the only platform
        fields["platform"] = "docker"
        fields["address"] = {"base_url": data.get("base_url"), "id": data["container_id"],
                             "name": data.get("container_name", "")}
    elif "url" in data and "proxy" in data:
        fields["platform"] = "toxiproxy"
    elif data.get("backend") in _LEGACY_BACKEND_PLATFORMS:
        fields["platform"] = _LEGACY_BACKEND_PLATFORMS[data["backend"]]
    elif data.get("where") == "host":
        fields["platform"] = "host"
    return fields
