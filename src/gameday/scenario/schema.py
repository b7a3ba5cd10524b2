"""The JSON Schema of a scenario, for editors (yaml-language-server) and other tools.

Each fault kind's arguments come from its driver's own model, so an editor completes and checks
``args`` for the kind written beside it (``if kind is latency then args is LatencyArgs``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from gameday.scenario.model import Scenario


def scenario_json_schema(fault_args: Mapping[str, type[BaseModel]] | list[str] | None = None) -> dict[str, Any]:
    """``fault_args``: each fault kind and its arguments model (a list of kinds only names them)."""
    schema = Scenario.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "gameday scenario (version 1)"
    if not fault_args:
        return schema
    fault = schema["$defs"]["FaultSpec"]
    fault["properties"]["kind"]["enum"] = sorted(fault_args)
    if isinstance(fault_args, Mapping):
        fault["allOf"] = [_args_of(kind, model, schema["$defs"]) for kind, model in sorted(fault_args.items())]
    return schema


def _args_of(kind: str, model: type[BaseModel], defs: dict[str, Any]) -> dict[str, Any]:
    """``if kind == <kind> then args follows <model>``; the model's own definitions join the shared ones."""
    args = model.model_json_schema(mode="validation", ref_template="#/$defs/{model}")
    for name, definition in args.pop("$defs", {}).items():
        if defs.setdefault(name, definition) != definition:
            raise ValueError(f"two different schema definitions named {name} (fault kind {kind})")
    return {"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
            "then": {"properties": {"args": args}}}


def scenario_json_schema_text(fault_args: Mapping[str, type[BaseModel]] | list[str] | None = None) -> str:
    return json.dumps(scenario_json_schema(fault_args), indent=2, sort_keys=True) + "\n"


def installed_schema_text() -> str:
    """The schema for the fault kinds installed here (built in and from plugins): what ``gameday schema`` writes."""
    from gameday.faults.base import FaultRegistry

    registry = FaultRegistry()
    return scenario_json_schema_text({kind: registry.driver_class(kind).args_model for kind in registry.kinds()})
