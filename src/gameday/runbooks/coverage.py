"""Coverage: does every alert and scenario have a runbook, and does every runbook serve something?

Checks, each a ``Finding`` (rule id in brackets):
    [alert-no-runbook-url]  error    an alert rule has no ``runbook_url`` annotation
    [alert-runbook-missing] error    an alert's runbook_url names a runbook that is not in runbooks/
    [alert-not-served]      warning  the runbook an alert points at does not list it under Serves
    [scenario-no-runbook]   warning  a scenario has no ``runbook:`` field (one named with ``follow_runbook:
                                     false`` counts: the people of a drill follow it, a scripted run does not)
    [scenario-runbook-missing] error a scenario's ``runbook:`` names a file that does not exist
    [runbook-serves-nothing] error   a runbook serves no known alert and no scenario
    [serves-unknown-alert]  warning  a runbook lists an alert no rule file defines
    [serves-unknown-scenario] warning a runbook lists a scenario that does not exist
    [bad-rules-file] / [bad-scenario-file]  error  a YAML file that cannot be read
    [rules-file-no-alerts]  error    a rules file with no ``groups:`` (not a rule file); warning: groups, no alert

A ``runbook_url`` is matched by its ``runbooks/<name>.md`` tail, so a relative path
(``runbooks/instance-down.md``) and a full URL to the same file in a repository both count.
Scenario files are read by the scenario loader's reader (its size cap, duplicate keys, UTF-8, one mapping
per file), but only ``name`` and ``runbook`` are looked at, so a scenario that does not validate yet still
gets its coverage checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gameday.errors import ScenarioError, UnreadableFile
from gameday.runbooks.findings import Finding
from gameday.runbooks.parse import Runbook, parse_file
from gameday.userfiles import read_regular_file

if TYPE_CHECKING:
    from gameday.scenario.yaml_source import SourceDocument

_RUNBOOK_TAIL = re.compile(r"(?:^|/)runbooks/([^/?#]+\.md)(?:[?#].*)?$")


@dataclass(frozen=True)
class AlertRule:
    name: str
    runbook_url: str | None
    path: Path
    line: int


@dataclass(frozen=True)
class ScenarioRef:
    name: str
    runbook: str | None
    path: Path
    line: int
    followed: bool = True
    """False for ``follow_runbook: false``: the runbook is for people, a scripted run does not follow it."""


@dataclass
class CoverageReport:
    findings: list[Finding] = field(default_factory=list)
    alerts: dict[str, str | None] = field(default_factory=dict)
    """alertname -> runbook name (None: none)."""
    scenarios: dict[str, str | None] = field(default_factory=dict)
    """scenario name -> runbook name (None: none)."""
    runbooks: dict[str, list[str]] = field(default_factory=dict)
    """runbook name -> what it serves (``alert:X`` / ``scenario:y``)."""
    people_only: set[str] = field(default_factory=set)
    """Covered scenarios whose runbook a scripted run does not follow (``follow_runbook: false``)."""


MAX_RULES_BYTES = 1_000_000
"""Rule files are composed node by node (about 1.7 s a MB); a larger one is refused, as a scenario is."""


def _yaml_documents(path: Path) -> tuple[list[Any], Any | None]:
    """(documents with line marks, error) for a rules file; ``yaml.compose`` keeps the line numbers and,
    unlike loading, never expands an alias."""
    import yaml

    try:
        raw = read_regular_file(path, limit=MAX_RULES_BYTES)
        if len(raw) > MAX_RULES_BYTES:
            return [], yaml.YAMLError(f"file is over {MAX_RULES_BYTES // 1000} kB")
        return list(yaml.compose_all(raw.decode("utf-8", errors="replace"), Loader=yaml.SafeLoader)), None
    except UnreadableFile as exc:
        return [], yaml.YAMLError(exc.reason)
    except yaml.YAMLError as exc:
        return [], exc
    except RecursionError:
        return [], yaml.YAMLError("nested too deeply")


def read_scenario_document(path: Path) -> SourceDocument:
    """A scenario file read by the scenario loader's reader, with positions; ScenarioError unless it is a mapping.

    Not validated: a scenario that does not validate yet still says its name, runbook and targets.
    """
    from gameday.scenario.yaml_source import load_yaml_file

    doc = load_yaml_file(path)
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else f"a {type(doc.data).__name__}"
        raise ScenarioError(f"a scenario is a mapping of keys (version, name, faults, ...), not {kind}", path=path,
                            line=1)
    return doc


def scenario_containers(paths: Iterable[Path]) -> tuple[set[str], list[ScenarioError]]:
    """The containers the scenarios' ``stack.targets`` name (what a runbook's commands may address), and the
    scenario files that could not be read."""
    from gameday.scenario.stackfile import find_stack_file, read_stack_file, stack_reference

    found: set[str] = set()
    problems: list[ScenarioError] = []
    for path in paths:
        try:
            doc = read_scenario_document(path)
        except ScenarioError as exc:
            problems.append(exc)
            continue
        stack = doc.data.get("stack")
        if stack_reference(stack) is not None:  # stack: demo names a stack file: its targets count
            stack_path, problem = find_stack_file(doc, stack)
            if problem is not None or stack_path is None:
                problems.extend([problem] if problem else [])
                continue
            _, stack, stack_problems = read_stack_file(stack_path)
            problems.extend(stack_problems)
        targets = stack.get("targets") if isinstance(stack, dict) else None
        for target in targets.values() if isinstance(targets, dict) else ():
            name = target.get("container") if isinstance(target, dict) else None
            if isinstance(name, str) and name:
                found.add(name)
    return found, problems


def _mapping_get(node: Any, key: str) -> Any | None:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            return v
    return None


def _scalar(node: Any) -> str | None:
    import yaml

    return str(node.value) if isinstance(node, yaml.ScalarNode) and node.value != "" else None


def read_alert_rules(paths: Iterable[Path]) -> tuple[list[AlertRule], list[Finding]]:
    """Alerting rules (``groups[].rules[].alert``) of Prometheus rule files, with their lines."""
    import yaml

    rules: list[AlertRule] = []
    findings: list[Finding] = []
    for path in paths:
        docs, error = _yaml_documents(path)
        if error is not None:
            mark = getattr(error, "problem_mark", None)
            findings.append(Finding(path, (mark.line + 1) if mark else 1, "bad-rules-file", "error",
                                    f"cannot read rule file: {' '.join(str(error).split())[:200]}"))
            continue
        found = len(rules)
        has_groups = False
        for doc in docs:
            groups = _mapping_get(doc, "groups")
            if not isinstance(groups, yaml.SequenceNode):
                continue
            has_groups = True
            for group in groups.value:
                group_rules = _mapping_get(group, "rules")
                if not isinstance(group_rules, yaml.SequenceNode):
                    continue
                for rule in group_rules.value:
                    name = _scalar(_mapping_get(rule, "alert"))
                    if name is None:
                        continue  # a recording rule
                    url = _scalar(_mapping_get(_mapping_get(rule, "annotations"), "runbook_url"))
                    rules.append(AlertRule(name, url, path, rule.start_mark.line + 1))
        if not has_groups:  # a scenario or any other YAML given as --rules: no alert would ever be checked
            findings.append(Finding(path, 1, "rules-file-no-alerts", "error",
                                    "not a Prometheus rule file: no 'groups:' list, so no alert to check"))
        elif len(rules) == found:
            findings.append(Finding(path, 1, "rules-file-no-alerts", "warning",
                                    "no alerting rule (groups[].rules[].alert) in this rule file"))
    return rules, findings


def read_scenarios(paths: Iterable[Path]) -> tuple[list[ScenarioRef], list[Finding]]:
    scenarios: list[ScenarioRef] = []
    findings: list[Finding] = []
    for path in paths:
        try:
            doc = read_scenario_document(path)
        except ScenarioError as exc:
            findings.append(Finding(path, exc.line or 1, "bad-scenario-file", "error",
                                    f"cannot read scenario file: {exc.message}"))
            continue
        name, runbook = doc.data.get("name"), doc.data.get("runbook")
        where = doc.locate(("runbook",)) if "runbook" in doc.data else None
        scenarios.append(ScenarioRef(name if isinstance(name, str) and name else path.stem,
                                     runbook if isinstance(runbook, str) and runbook else None, path,
                                     where[0] if where else 1, followed=doc.data.get("follow_runbook") is not False))
    return scenarios, findings


def runbook_name_from_url(url: str) -> str | None:
    """``runbooks/instance-down.md`` or ``https://host/repo/blob/main/runbooks/instance-down.md`` -> ``instance-down``."""
    match = _RUNBOOK_TAIL.search(url.strip())
    return match.group(1)[: -len(".md")] if match else None


def check_coverage(
    runbooks_dir: Path,
    *,
    rule_files: Iterable[Path] = (),
    scenario_files: Iterable[Path] = (),
) -> CoverageReport:
    report = CoverageReport()
    books: dict[str, Runbook] = {}
    if runbooks_dir.is_dir():
        for path in sorted(runbooks_dir.glob("*.md")):
            books[path.stem] = parse_file(path)
    rules, problems = read_alert_rules(rule_files)
    report.findings.extend(problems)
    scenarios, problems = read_scenarios(scenario_files)
    report.findings.extend(problems)
    served: dict[str, list[str]] = {name: [] for name in books}
    alert_names = {r.name for r in rules}
    scenario_names = {s.name for s in scenarios}

    for rule in rules:
        if not rule.runbook_url:
            report.alerts[rule.name] = None
            report.findings.append(Finding(rule.path, rule.line, "alert-no-runbook-url", "error",
                                           f"alert {rule.name} has no runbook_url annotation"))
            continue
        name = runbook_name_from_url(rule.runbook_url)
        if name is None or name not in books:
            report.alerts[rule.name] = None
            report.findings.append(Finding(rule.path, rule.line, "alert-runbook-missing", "error",
                                           f"alert {rule.name}: runbook_url {rule.runbook_url} is not a runbook in "
                                           f"{runbooks_dir}"))
            continue
        report.alerts[rule.name] = name
        served[name].append(f"alert:{rule.name}")
        book = books[name]
        if rule.name not in book.serves.alerts:
            section = book.section("serves")
            report.findings.append(Finding(book.path, section.line if section else 1, "alert-not-served", "warning",
                                           f"alert {rule.name} links here but Serves does not list 'alert: {rule.name}'"))

    claimed = {name: [b for b in books.values() if name in b.serves.scenarios] for name in scenario_names}
    for scenario in scenarios:
        if not scenario.runbook:
            report.scenarios[scenario.name] = None
            hint = ""
            if claimed.get(scenario.name):
                book = claimed[scenario.name][0]
                hint = f" ({book.path} serves it: add `runbook: {_relative(book.path, scenario.path.parent)}`)"
            report.findings.append(Finding(scenario.path, scenario.line, "scenario-no-runbook", "warning",
                                           f"scenario {scenario.name} names no runbook{hint}"))
            continue
        target = _scenario_runbook(scenario, runbooks_dir)
        if target is None:
            report.scenarios[scenario.name] = None
            report.findings.append(Finding(scenario.path, scenario.line, "scenario-runbook-missing", "error",
                                           f"runbook: {scenario.runbook} does not exist"))
            continue
        report.scenarios[scenario.name] = target.stem
        if not scenario.followed:
            report.people_only.add(scenario.name)
        if target.stem in served and target.parent.resolve() == runbooks_dir.resolve():
            served[target.stem].append(f"scenario:{scenario.name}")

    for name, book in books.items():
        serves = book.serves
        serves_section = book.section("serves")
        line = serves_section.line if serves_section is not None else 1
        for alert in serves.alerts:
            if rules and alert not in alert_names:
                report.findings.append(Finding(book.path, line, "serves-unknown-alert", "warning",
                                               f"serves alert {alert}, which no rule file defines"))
            elif (alert in alert_names or not rules) and f"alert:{alert}" not in served[name]:
                served[name].append(f"alert:{alert}")
        for scen in serves.scenarios:
            if scenarios and scen not in scenario_names:
                report.findings.append(Finding(book.path, line, "serves-unknown-scenario", "warning",
                                               f"serves scenario {scen}, which does not exist"))
            elif (scen in scenario_names or not scenarios) and f"scenario:{scen}" not in served[name]:
                served[name].append(f"scenario:{scen}")
        if not served[name]:
            report.findings.append(Finding(book.path, line, "runbook-serves-nothing", "error",
                                           "serves no alert and no scenario: link it from an alert's runbook_url "
                                           "or a scenario's runbook:, or list them under Serves"))
    report.runbooks = served
    report.findings.sort(key=lambda f: (str(f.path), f.line, f.rule))
    return report


def _relative(target: Path, start: Path) -> str:
    import os

    try:
        return os.path.relpath(target, start)
    except ValueError:  # another drive (Windows): the absolute path then
        return str(target)


def _scenario_runbook(scenario: ScenarioRef, runbooks_dir: Path) -> Path | None:
    assert scenario.runbook is not None
    reference = scenario.runbook
    candidates = [scenario.path.parent / reference, scenario.path.parent.parent / reference,
                  runbooks_dir.parent / reference]
    name = runbook_name_from_url(reference)
    if name is not None:
        candidates.append(runbooks_dir / f"{name}.md")
    return next((c for c in candidates if c.is_file()), None)
