"""The JSON Schema of a scenario, for editors (yaml-language-server) and other tools.

Each fault kind's arguments come from its driver's own model, so an editor completes and checks
``args`` for the kind written beside it (``if kind is latency then args is LatencyArgs``). Each target
likewise follows its platform's model (``if platform is docker then DockerTarget``); a target without
``platform:`` is version 1's short form of one of the built-in platforms. A probe kind from a plugin
(``kubernetes:`` beside ``http:`` and ``tcp:``) is a property of a probe, following its kind's model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from gameday.scenario.model import Scenario


def scenario_json_schema(fault_args: Mapping[str, type[BaseModel]] | list[str] | None = None,
                         targets: Mapping[str, type[BaseModel]] | None = None,
                         short_forms: Mapping[str, str] | None = None,
                         probe_kinds: Mapping[str, type[BaseModel]] | None = None) -> dict[str, Any]:
    """``fault_args``: each fault kind and its arguments model (a list of kinds only names them);
    ``targets``: each platform and its target model; ``short_forms``: version 1's keys and their platforms;
    ``probe_kinds``: each probe kind from a plugin and its check model (then a probe has no other keys)."""
    schema = Scenario.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "gameday scenario (version 1)"
    # stack: a stack file's name, {file: path}, or the stack inline (the loader reads the file).
    inline = schema["properties"]["stack"]
    schema["properties"]["stack"] = {
        "description": inline.get("description", ""),
        "anyOf": [{"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$",
                   "description": "a stack file: stacks/<name>.yaml beside or above the scenario, or in the working folder"},
                  {"type": "object", "properties": {"file": {"type": "string", "minLength": 1}}, "required": ["file"],
                   "additionalProperties": False},
                  {k: v for k, v in inline.items() if k not in ("description", "default")}],
    }
    if targets:
        schema["$defs"]["Target"] = _targets(targets, short_forms or {}, schema["$defs"])
        by_name = schema["$defs"]["StackSpec"]["properties"]["targets"]["patternProperties"]  # names follow Name
        for pattern in by_name:
            by_name[pattern] = {"$ref": "#/$defs/Target"}
    if probe_kinds is not None:
        probe = schema["$defs"]["ProbeSpec"]
        for kind, model in sorted(probe_kinds.items()):
            probe["properties"][kind] = _definition(model, schema["$defs"], f"probe kind {kind}")
        probe["additionalProperties"] = False
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


def _targets(models: Mapping[str, type[BaseModel]], short_forms: Mapping[str, str],
             defs: dict[str, Any]) -> dict[str, Any]:
    """``if platform == <name> then <its model>``; without ``platform:``, one of the short forms' models."""
    refs = {name: _definition(model, defs, f"platform {name}") for name, model in models.items()}
    rules: list[dict[str, Any]] = [
        {"if": {"properties": {"platform": {"const": name}}, "required": ["platform"]}, "then": refs[name]}
        for name in sorted(models)
    ]
    legacy = sorted({platform for platform in short_forms.values() if platform in refs})
    if legacy:
        rules.append({"if": {"not": {"required": ["platform"]}},
                      "then": {"oneOf": [refs[platform] for platform in legacy]}})
    return {"type": "object",
            "description": "a target: {platform: <name>, ...the platform's fields}; without platform, version 1's "
                           "short form: one of " + ", ".join(short_forms),
            "properties": {"platform": {"enum": sorted(models)}},
            "allOf": rules}


def _definition(model: type[BaseModel], defs: dict[str, Any], what: str) -> dict[str, Any]:
    """The model joins the shared definitions under its own name; a reference to it."""
    body = model.model_json_schema(mode="validation", ref_template="#/$defs/{model}")
    for name, definition in [*body.pop("$defs", {}).items(), (model.__name__, body)]:
        if defs.setdefault(name, definition) != definition:
            raise ValueError(f"two different schema definitions named {name} ({what})")
    return {"$ref": f"#/$defs/{model.__name__}"}


def scenario_json_schema_text(fault_args: Mapping[str, type[BaseModel]] | list[str] | None = None,
                              targets: Mapping[str, type[BaseModel]] | None = None,
                              short_forms: Mapping[str, str] | None = None,
                              probe_kinds: Mapping[str, type[BaseModel]] | None = None) -> str:
    schema = scenario_json_schema(fault_args, targets, short_forms, probe_kinds)
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def stack_json_schema(targets: Mapping[str, type[BaseModel]] | None = None,
                      short_forms: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The JSON Schema of a stack file (``stacks/<name>.yaml``), targets following their platforms' models."""
    from gameday.scenario.stackfile import StackFile

    schema = StackFile.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "gameday stack file (version 1)"
    if targets:
        schema["$defs"]["Target"] = _targets(targets, short_forms or {}, schema["$defs"])
        by_name = schema["properties"]["targets"]["patternProperties"]
        for pattern in by_name:
            by_name[pattern] = {"$ref": "#/$defs/Target"}
    return schema


def installed_stack_schema_text() -> str:
    """The stack file schema for the platforms installed here: what ``gameday schema --stack`` writes."""
    from gameday.platforms.registry import SHORT_FORMS, installed_platforms

    schema = stack_json_schema(installed_platforms().target_models(), SHORT_FORMS)
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def installed_schema_text() -> str:
    """The schema for the fault kinds and platforms installed here (built in and from plugins): what
    ``gameday schema`` writes."""
    from gameday.faults.base import FaultRegistry
    from gameday.platforms.registry import SHORT_FORMS, installed_platforms
    from gameday.plugins import installed_probe_kinds

    registry = FaultRegistry()
    probe_kinds = {name: kind.check_model for name, kind in installed_probe_kinds().load_all().items()}
    return scenario_json_schema_text({kind: registry.driver_class(kind).args_model for kind in registry.kinds()},
                                     installed_platforms().target_models(), SHORT_FORMS, probe_kinds)
