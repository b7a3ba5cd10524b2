"""Load and check scenario files: YAML -> located data -> typed Scenario, with every problem at once.

A scenario's stack is read first (the stack file it names, or its inline ``stack:``; scenario.stackfile), so
the stack's problems are located in the file they are in, and probes can name the stack's endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gameday.errors import GamedayError, ScenarioError, ScenarioErrors, UnknownPlatform
from gameday.platforms.base import ResourcePlatform
from gameday.platforms.registry import SHORT_FORMS, installed_platforms
from gameday.scenario.model import Scenario, StackSpec
from gameday.scenario.yaml_source import FieldPath, SourceDocument, load_yaml_file
from gameday.userfiles import regular_file_problem

SCENARIO_SUFFIXES = (".yaml", ".yml")


def load_scenario(path: Path | str, *, registry: Any | None = None) -> Scenario:
    """Read, parse and check one scenario; raises ScenarioErrors listing every problem found."""
    doc = load_yaml_file(Path(path))
    return check_document(doc, registry=registry)


def check_document(doc: SourceDocument, *, registry: Any | None = None) -> Scenario:
    from gameday.scenario.stackfile import resolve_stack, target_approval_problems

    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else f"a {type(doc.data).__name__}"
        raise ScenarioErrors([doc.error((), f"a scenario is a mapping of keys (version, name, faults, ...), not {kind}")])
    stack, stack_raw, problems = resolve_stack(doc)
    scenario: Scenario | None = None
    # The stack was checked on its own (its problems are reported): the scenario's model sees the result, and
    # a stack with problems is replaced by an empty one whose endpoints resolve to a placeholder.
    data = {**doc.data, "stack": stack if stack is not None else StackSpec()}
    try:
        scenario = Scenario.model_validate(data, context={"stack": stack, "stack_failed": stack is None})
    except ValidationError as exc:
        problems.extend(_translate(doc, exc))
    # Cross-field checks run on the raw data too, so one pass reports every problem; they see the stack's
    # raw data wherever it was written.
    known = {(p.field, p.message) for p in problems}
    raw_doc = SourceDocument(doc.path, {**doc.data, "stack": stack_raw}, doc.locations)
    extra = semantic_problems(raw_doc, registry=registry)
    problems.extend(p for p in extra if (p.field, p.message) not in known)
    if stack is not None:  # approval is judged on a target that fits its fault; a wrong kind is said already
        wrong = {p.field for p in problems}
        problems.extend(p for p in target_approval_problems(doc, stack) if p.field not in wrong)
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.column or 0))
        raise ScenarioErrors(problems)
    assert scenario is not None
    return scenario


def translate_errors(doc: SourceDocument, exc: ValidationError, prefix: FieldPath = ()) -> list[ScenarioError]:
    """pydantic's errors as located ScenarioErrors (``prefix``: where the validated data sits in the file)."""
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


_translate = translate_errors


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


def semantic_problems(doc: SourceDocument, *, registry: Any | None = None) -> list[ScenarioError]:
    """Cross-field checks on the raw data: known fault kinds and their arguments, targets and probes that exist."""
    from gameday.faults.base import FaultRegistry

    registry = registry if registry is not None else FaultRegistry()
    data: dict[str, Any] = doc.data
    problems: list[ScenarioError] = []
    stack = _mapping(data.get("stack"))
    targets = _mapping(stack.get("targets"))
    faults = _list(data.get("faults"))
    for i, fault in enumerate(faults):
        if not isinstance(fault, dict):
            continue
        at: FieldPath = ("faults", i)
        target_name, kind = fault.get("target"), fault.get("kind")
        target = targets.get(target_name) if isinstance(target_name, str) else None
        if isinstance(target_name, str) and target is None:
            listed = ", ".join(sorted(str(t) for t in targets)) or "none defined under stack.targets"
            problems.append(doc.error((*at, "target"), f"unknown target '{target_name}' (known: {listed})"))
        if not isinstance(kind, str):
            continue
        if kind not in registry:
            problems.append(doc.error((*at, "kind"), f"unknown fault kind '{kind}' (known: {', '.join(registry.kinds())})"))
            continue
        try:
            driver = registry.driver_class(kind)
        except GamedayError as exc:
            problems.append(doc.error((*at, "kind"), str(exc)))
            continue
        args = fault.get("args", {})
        if isinstance(args, dict):
            try:
                driver.args_model.model_validate(args)
            except ValidationError as exc:
                problems.extend(_translate(doc, exc, prefix=(*at, "args")))
        if isinstance(target, dict):
            problem = wrong_platform_problem(driver, kind, str(target_name), target)
            if problem is not None:
                problems.append(doc.error((*at, "target"), problem))
    problems.extend(_too_long_faults(doc, data, faults))
    steady = _mapping(data.get("steady_state"))
    probes = _list(steady.get("probes"))
    probe_names = [p.get("name") for p in probes if isinstance(p, dict)]
    for i, name in enumerate(probe_names):
        if name is not None and name in probe_names[:i]:
            problems.append(doc.error(("steady_state", "probes", i, "name"), f"duplicate probe name '{name}'"))
    expect = _mapping(data.get("expect"))
    expected_probes = _list(expect.get("probes"))
    for i, exp in enumerate(expected_probes):
        name = exp.get("probe") if isinstance(exp, dict) else None
        if isinstance(name, str) and name not in probe_names:
            listed = ", ".join(str(n) for n in probe_names if n) or "none"
            problems.append(doc.error(("expect", "probes", i, "probe"), f"unknown probe '{name}' (known: {listed})"))
    problems.extend(_oom_kill_targets(doc, targets, _list(expect.get("oom_kills"))))
    problems.extend(_severity_name_clashes(doc, _mapping(data.get("severities"))))
    for i, guard in enumerate(_list(data.get("guards"))):
        if isinstance(guard, dict) and guard.get("load_error_rate_above") is not None and not data.get("load"):
            problems.append(doc.error(("guards", i, "load_error_rate_above"),
                                      "needs a load: section; without load nothing measures the error rate"))
    load = _mapping(data.get("load"))
    locustfile = load.get("locustfile")
    problem = regular_file_problem(doc.path.parent / locustfile) if isinstance(locustfile, str) else None
    if problem is not None:
        problems.append(doc.error(("load", "locustfile"), f"locustfile {locustfile!r} (relative to the scenario): {problem}"))
    from gameday.scenario import checks

    problems.extend(checks.all_problems(doc, registry))
    return problems


def _oom_kill_targets(doc: SourceDocument, targets: dict[str, Any], expected: list[Any]) -> list[ScenarioError]:
    """expect.oom_kills names a container target of the stack, once, on a platform whose runtime says OOMKilled."""
    problems = []
    seen: dict[str, int] = {}
    for i, exp in enumerate(expected):
        name = exp.get("target") if isinstance(exp, dict) else None
        if not isinstance(name, str):
            continue
        at: FieldPath = ("expect", "oom_kills", i, "target")
        if name in seen:
            problems.append(doc.error(at, f"target '{name}' is already expected at expect.oom_kills[{seen[name]}]; "
                                          "one expectation per target"))
            continue
        seen[name] = i
        target = targets.get(name)
        if target is None:
            listed = ", ".join(sorted(str(t) for t in targets)) or "none defined under stack.targets"
            problems.append(doc.error(at, f"unknown target '{name}' (known: {listed})"))
        elif isinstance(target, dict):
            problem = wrong_platform_problem(_OomReader, "expect.oom_kills", name, target)
            if problem is not None:
                problems.append(doc.error(at, problem.replace("fault kind 'expect.oom_kills'", "expect.oom_kills")))
    return problems


class _OomReader:
    """What expect.oom_kills needs of a target's platform: a container runtime that reports OOM kills (Docker's
    State.OOMKilled; Compose's containers are Docker's). Kubernetes' lastState reason is not read yet."""

    target_platforms: tuple[type, ...] = (ResourcePlatform,)


def wrong_platform_problem(driver: Any, kind: str, target_name: str, target: dict[str, Any]) -> str | None:
    """Why a fault of ``kind`` cannot act on this target as written; None when it can (or the target's own
    model will say what is wrong with it).

    A driver that declares ``target_platforms`` (platform classes, or a capability such as ContainerPlatform)
    is asked by capability, so a new platform with containers (Compose) serves the container faults without
    their knowing it; one that does not is asked by the target's field names, as before platforms existed.
    """
    accepted = getattr(driver, "target_platforms", None)
    if accepted is None:
        fields = getattr(driver, "target_fields", ())
        if not fields or any(target.get(f) for f in fields):
            return None
        have = ", ".join(str(k) for k in target if k not in ("description", "platform")) or "nothing"
        return f"fault kind '{kind}' acts on a target with {' or '.join(fields)}; '{target_name}' has {have}"
    name = target.get("platform")
    if name is None:
        chosen = [SHORT_FORMS[key] for key in SHORT_FORMS if target.get(key)]
        name = chosen[0] if len(chosen) == 1 else None
    if not isinstance(name, str):
        return None
    platforms = installed_platforms()
    try:
        platform = platforms.get(name)
    except UnknownPlatform:
        return None  # the target's model reports the unknown platform at target.platform
    if isinstance(platform, tuple(accepted)):
        return None
    able = []
    for other in platforms.names():
        try:
            if isinstance(platforms.get(other), tuple(accepted)):
                able.append(other)
        except UnknownPlatform:
            continue  # a broken plugin is reported where a target names it
    return (f"fault kind '{kind}' acts on a target on platform {' or '.join(able) or '(none installed)'}; "
            f"'{target_name}' is on platform {name}")


def _too_long_faults(doc: SourceDocument, data: dict[str, Any], faults: list[Any]) -> list[ScenarioError]:
    """A fault may not outlive the hard maximum unless the scenario raises it explicitly."""
    from gameday.scenario.durations import format_duration, parse_duration

    def seconds(value: Any, default: float) -> float | None:
        try:
            return parse_duration(value) if value is not None else default
        except ValueError:
            return None

    limit = seconds(_mapping(data.get("safety")).get("max_fault_duration"), 3600.0)
    problems = []
    for i, fault in enumerate(faults):
        if not isinstance(fault, dict) or limit is None:
            continue
        at, duration = seconds(fault.get("at"), 0.0), seconds(fault.get("duration"), 0.0)
        if at is not None and duration is not None and at + duration > limit:
            problems.append(doc.error(("faults", i, "duration"),
                                      f"the fault would last until T+{format_duration(at + duration)}, past "
                                      f"safety.max_fault_duration ({format_duration(limit)}); raise that explicitly"))
    return problems


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def find_scenario_files(paths: list[Path]) -> list[Path]:
    """Files named on the command line, and the *.yaml / *.yml files in named directories (not in a stacks/
    folder below them)."""
    from gameday.scenario.stackfile import STACK_FOLDER

    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            # Stack files (in a stacks/ folder) are checked as part of the scenarios that name them.
            found.extend(sorted(f for f in p.rglob("*") if f.suffix in SCENARIO_SUFFIXES and f.is_file()
                                and STACK_FOLDER not in f.relative_to(p).parts[:-1]))
        else:
            found.append(p)
    return found


def _severity_name_clashes(doc: SourceDocument, severities: dict[str, Any]) -> list[ScenarioError]:
    """A team name must say one level: ``P1`` twice, or SEV2 renamed ``SEV1``, would make ``/sev`` ambiguous."""
    levels = ("SEV1", "SEV2", "SEV3", "SEV4")
    names = {lv: str(_mapping(severities.get(lv)).get("name") or lv).upper() for lv in levels}
    problems = []
    for level in levels:
        given = _mapping(severities.get(level)).get("name")
        if not isinstance(given, str):
            continue
        clash = next((o for o in levels if o != level and names[level] in (o, names[o])), None)
        if clash is not None:
            problems.append(doc.error(("severities", level, "name"), f"'{given}' already names {clash}"))
    return problems

