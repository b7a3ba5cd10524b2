"""Load and check scenario files: YAML -> located data -> typed Scenario, with every problem at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gameday.errors import ScenarioError, ScenarioErrors
from gameday.scenario.model import Scenario
from gameday.scenario.yaml_source import FieldPath, SourceDocument, load_yaml_file

SCENARIO_SUFFIXES = (".yaml", ".yml")


def load_scenario(path: Path | str, *, registry: Any | None = None) -> Scenario:
    """Read, parse and check one scenario; raises ScenarioErrors listing every problem found."""
    doc = load_yaml_file(Path(path))
    return check_document(doc, registry=registry)


def check_document(doc: SourceDocument, *, registry: Any | None = None) -> Scenario:
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else f"a {type(doc.data).__name__}"
        raise ScenarioErrors([doc.error((), f"a scenario is a mapping of keys (version, name, faults, ...), not {kind}")])
    try:
        scenario = Scenario.model_validate(doc.data)
    except ValidationError as exc:
        raise ScenarioErrors(_translate(doc, exc)) from None
    problems = semantic_problems(doc, scenario, registry=registry)
    if problems:
        raise ScenarioErrors(problems)
    return scenario


def _translate(doc: SourceDocument, exc: ValidationError, prefix: FieldPath = ()) -> list[ScenarioError]:
    errors: list[ScenarioError] = []
    seen: set[tuple[FieldPath, str]] = set()
    for err in exc.errors(include_url=False):
        loc = tuple(part for part in err["loc"] if isinstance(part, int) or _is_field(part))
        path = (*prefix, *loc)
        message = _message(err)
        if (path, message) in seen:
            continue
        seen.add((path, message))
        errors.append(doc.error(path, message))
    return errors


def _is_field(part: str | int) -> bool:
    # pydantic adds union member names such as 'list[int]' or 'function-after[...]' to locations.
    return isinstance(part, str) and "[" not in part and part not in {"int", "str", "float", "bool", "list", "dict"}


def _message(err: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error":
        return f"must be one of {err['ctx']['expected']}, got {err['input']!r}"
    if kind in {"value_error", "assertion_error"}:
        return str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
    msg: str = err["msg"]
    if kind.endswith("_type"):
        return f"{msg[0].lower()}{msg[1:]}, got {type(err['input']).__name__} {err['input']!r}"[:300]
    return msg[0].lower() + msg[1:]


def semantic_problems(doc: SourceDocument, scenario: Scenario, *, registry: Any | None = None) -> list[ScenarioError]:
    """Cross-field checks: known fault kinds, their arguments, targets and probe names that exist."""
    from gameday.faults.base import FaultRegistry

    registry = registry if registry is not None else FaultRegistry()
    problems: list[ScenarioError] = []
    targets = scenario.stack.targets
    for i, fault in enumerate(scenario.faults):
        at: FieldPath = ("faults", i)
        target = targets.get(fault.target)
        if target is None:
            known = ", ".join(sorted(targets)) or "none defined under stack.targets"
            problems.append(doc.error((*at, "target"), f"unknown target '{fault.target}' (known: {known})"))
        if fault.kind not in registry:
            problems.append(
                doc.error((*at, "kind"), f"unknown fault kind '{fault.kind}' (known: {', '.join(registry.kinds())})")
            )
            continue
        driver = registry.driver_class(fault.kind)
        try:
            driver.args_model.model_validate(fault.args)
        except ValidationError as exc:
            problems.extend(_translate(doc, exc, prefix=(*at, "args")))
        if target is not None:
            fields = getattr(driver, "target_fields", ())
            if fields and not any(getattr(target, f) for f in fields):
                problems.append(
                    doc.error(
                        (*at, "target"),
                        f"fault kind '{fault.kind}' acts on a target with {' or '.join(fields)}; "
                        f"'{fault.target}' has {target.selector}",
                    )
                )
    probe_names = [p.name for p in scenario.steady_state.probes]
    for i, name in enumerate(probe_names):
        if name in probe_names[:i]:
            problems.append(doc.error(("steady_state", "probes", i, "name"), f"duplicate probe name '{name}'"))
    for i, exp in enumerate(scenario.expect.probes):
        if exp.probe not in probe_names:
            problems.append(
                doc.error(
                    ("expect", "probes", i, "probe"),
                    f"unknown probe '{exp.probe}' (known: {', '.join(probe_names) or 'none'})",
                )
            )
    if scenario.load is not None:
        locustfile = (doc.path.parent / scenario.load.locustfile)
        if not locustfile.is_file() and not Path(scenario.load.locustfile).is_file():
            problems.append(doc.error(("load", "locustfile"), f"locustfile not found: {scenario.load.locustfile}"))
    return problems


def find_scenario_files(paths: list[Path]) -> list[Path]:
    """Files named on the command line, and the *.yaml / *.yml files in named directories."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.suffix in SCENARIO_SUFFIXES and f.is_file()))
        else:
            found.append(p)
    return found
