"""Cross-field checks on a scenario's raw data that no single field's model can make (issue 13).

Each takes the located document and returns ScenarioErrors; ``loader.semantic_problems`` runs them all, on
the raw data, so a file with a type error elsewhere still hears about these in the same pass.

    duplicate_names          two faults, or two guards, with one name (the record could not tell them apart)
    conflicting_expectations one probe expected twice; max_failure_ratio without during_fault: up; an alert
                             both expected and forbidden; a guard that trips on the alert the scenario expects
    late_injects             an inject decided after the scenario's end: it would never be released
    response_problems        a declare step with no severity to declare (none given, none in severity:)
    runbook_problems         a runbook: file that does not exist or is not a regular file
    fault_target_problems    what a fault driver's ``target_problems`` finds without touching anything
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gameday.errors import GamedayError, ScenarioError
from gameday.scenario.durations import format_duration, parse_duration
from gameday.scenario.yaml_source import FieldPath, SourceDocument
from gameday.userfiles import regular_file_problem


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _seconds(value: Any, default: float | None = None) -> float | None:
    """A duration as written, or ``default`` when absent; None when unreadable (the model reports that)."""
    if value is None:
        return default
    try:
        return parse_duration(value)
    except ValueError:
        return None


def duplicate_names(doc: SourceDocument) -> list[ScenarioError]:
    problems = []
    for section, what in (("faults", "fault"), ("guards", "guard")):
        first: dict[str, int] = {}
        for i, item in enumerate(_list(doc.data.get(section))):
            name = _mapping(item).get("name")
            if not isinstance(name, str):
                continue
            if name in first:
                problems.append(doc.error((section, i, "name"),
                                          f"duplicate {what} name '{name}' (also {section}[{first[name]}])"))
            else:
                first[name] = i
    return problems


def conflicting_expectations(doc: SourceDocument) -> list[ScenarioError]:
    problems = []
    expect = _mapping(doc.data.get("expect"))
    seen: dict[str, int] = {}
    for i, item in enumerate(_list(expect.get("probes"))):
        exp = _mapping(item)
        probe = exp.get("probe")
        if isinstance(probe, str):
            if probe in seen:
                problems.append(doc.error(("expect", "probes", i, "probe"),
                                          f"probe '{probe}' is already expected at expect.probes[{seen[probe]}]; "
                                          "one expectation per probe"))
            else:
                seen[probe] = i
        if exp.get("max_failure_ratio") is not None and exp.get("during_fault", "any") != "up":
            problems.append(doc.error(("expect", "probes", i, "max_failure_ratio"),
                                      "max_failure_ratio applies to during_fault: up only (the failures an up probe "
                                      "may have)"))
    expected = {a.get("name"): i for i, a in enumerate(_list(expect.get("alerts"))) if isinstance(a, dict)}
    for i, name in enumerate(_list(expect.get("alerts_not_firing"))):
        if isinstance(name, str) and name in expected:
            problems.append(doc.error(("expect", "alerts_not_firing", i),
                                      f"alert '{name}' is expected to fire (expect.alerts[{expected[name]}]) and not "
                                      "to fire"))
    for i, guard in enumerate(_list(doc.data.get("guards"))):
        alert = _mapping(guard).get("alert")
        if isinstance(alert, str) and alert in expected:
            problems.append(doc.error(("guards", i, "alert"),
                                      f"the guard would abort the run when the expected alert '{alert}' fires "
                                      f"(expect.alerts[{expected[alert]}])"))
    return problems


CONDITIONS = ("no_alert_by", "no_acknowledge_by", "no_severity_by")


def scenario_end(data: dict[str, Any]) -> float:
    """Seconds after the fault phase starts by which every scenario is over: the last fault's end or the last
    scripted response, plus recovers_within; never before safety.max_fault_duration (the scenario's own stated
    longest span). An inject decided later is never released."""
    ends = [0.0]
    for fault in _list(data.get("faults")):
        at, duration = _seconds(_mapping(fault).get("at"), 0.0), _seconds(_mapping(fault).get("duration"), 0.0)
        if at is not None and duration is not None:
            ends.append(at + duration)
    ends += [t for r in _list(data.get("responses")) if (t := _seconds(_mapping(r).get("at"))) is not None]
    recovery = _seconds(_mapping(data.get("expect")).get("recovers_within"), 60.0) or 0.0
    longest = _seconds(_mapping(data.get("safety")).get("max_fault_duration"), 3600.0) or 3600.0
    return max(max(ends) + recovery, longest)


def late_injects(doc: SourceDocument) -> list[ScenarioError]:
    end = scenario_end(doc.data)
    problems = []
    for i, item in enumerate(_list(doc.data.get("injects"))):
        inject = _mapping(item)
        times: list[tuple[FieldPath, float]] = []
        if (at := _seconds(inject.get("at"))) is not None:
            times.append((("injects", i, "at"), at))
        unless = _mapping(inject.get("unless"))
        times += [(("injects", i, "unless", name), t) for name in CONDITIONS if (t := _seconds(unless.get(name))) is not None]
        if not times:
            continue
        where, due = max(times, key=lambda pair: pair[1])
        if due > end:
            problems.append(doc.error(where, f"decided at T+{format_duration(due)}, after the scenario's end "
                                             f"(T+{format_duration(end)}: its last fault or response plus "
                                             "recovers_within, at least safety.max_fault_duration): never released"))
    return problems


def response_problems(doc: SourceDocument) -> list[ScenarioError]:
    problems = []
    fallback = doc.data.get("severity")
    for i, item in enumerate(_list(doc.data.get("responses"))):
        step = _mapping(item)
        if step.get("action") == "declare" and step.get("severity") is None and fallback is None:
            problems.append(doc.error(("responses", i),
                                      "declare needs a severity: give severity: SEVn here or the scenario's severity:"))
    return problems


def runbook_candidates(reference: str, scenario_dir: Path, cwd: Path) -> list[Path]:
    """Where a scenario's ``runbook:`` is looked for, in the order the drill looks (facilitator.checklist)."""
    path = Path(reference)
    return [path] if path.is_absolute() else [scenario_dir / path, cwd / path, scenario_dir.parent / path]


def runbook_problems(doc: SourceDocument) -> list[ScenarioError]:
    reference = doc.data.get("runbook")
    if not isinstance(reference, str) or not reference:
        return []
    found = [regular_file_problem(c) for c in runbook_candidates(reference, doc.path.parent, Path.cwd())]
    if None in found:
        return []
    return [doc.error(("runbook",), f"runbook {reference[:200]!r} (relative to the scenario, its folder's parent or "
                                    f"the working folder): {found[0]}")]


def fault_target_problems(doc: SourceDocument, registry: Any) -> list[ScenarioError]:
    """Each fault driver's own ``target_problems`` on the validated target and arguments (skipped where those do
    not validate: that is reported already)."""
    from gameday.platforms.registry import installed_platforms

    targets = _mapping(_mapping(doc.data.get("stack")).get("targets"))
    problems = []
    for i, item in enumerate(_list(doc.data.get("faults"))):
        fault = _mapping(item)
        kind, name = fault.get("kind"), fault.get("target")
        if not isinstance(kind, str) or not isinstance(name, str) or name not in targets or kind not in registry:
            continue
        try:
            driver_class = registry.driver_class(kind)
            if not callable(getattr(driver_class, "target_problems", None)):
                continue
            target = installed_platforms().validate_target(targets[name])
            args = driver_class.args_model.model_validate(fault.get("args", {}))
            hook = registry.create(kind).target_problems  # made with no options: it only looks
        except (ValidationError, ValueError, GamedayError):
            continue
        for where, message in hook(target, name, args):
            problems.append(doc.error(("faults", i, "args" if where == "args" else "target"), message))
    return problems


def fault_window_problems(doc: SourceDocument, registry: Any) -> list[ScenarioError]:
    """Each fault driver's own ``window_problems(args, duration_s)``: arguments that cannot fit the fault's
    window (node_drain retrying evictions past the revert, say), reported at the argument they name."""
    from gameday.scenario.durations import parse_duration

    problems = []
    for i, item in enumerate(_list(doc.data.get("faults"))):
        fault = _mapping(item)
        kind = fault.get("kind")
        if not isinstance(kind, str) or kind not in registry:
            continue
        try:
            driver_class = registry.driver_class(kind)
            if not callable(getattr(driver_class, "window_problems", None)):
                continue
            duration = parse_duration(fault["duration"])
            args = driver_class.args_model.model_validate(fault.get("args", {}))
            hook = registry.create(kind).window_problems
        except (KeyError, ValidationError, ValueError, GamedayError):
            continue  # a missing or bad duration or argument is reported by the schema already
        for field, message in hook(args, duration):
            problems.append(doc.error(("faults", i, "args", field), message))
    return problems


def all_problems(doc: SourceDocument, registry: Any) -> list[ScenarioError]:
    return [*duplicate_names(doc), *conflicting_expectations(doc), *late_injects(doc), *response_problems(doc),
            *runbook_problems(doc), *fault_target_problems(doc, registry), *fault_window_problems(doc, registry)]
