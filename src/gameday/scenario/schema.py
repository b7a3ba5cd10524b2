"""The JSON Schema of a scenario, for editors (yaml-language-server) and other tools."""

from __future__ import annotations

import json
from typing import Any

from gameday.scenario.model import Scenario


def scenario_json_schema(fault_kinds: list[str] | None = None) -> dict[str, Any]:
    schema = Scenario.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "gameday scenario (version 1)"
    if fault_kinds:
        schema["$defs"]["FaultSpec"]["properties"]["kind"]["enum"] = sorted(fault_kinds)
    return schema


def scenario_json_schema_text(fault_kinds: list[str] | None = None) -> str:
    return json.dumps(scenario_json_schema(fault_kinds), indent=2, sort_keys=True) + "\n"
