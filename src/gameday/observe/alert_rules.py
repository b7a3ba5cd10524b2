"""Which alert rules exist: the rule files gameday ships for its demo stack, and a Prometheus's own.

Used by ``gameday validate`` (an unknown alert name in ``expect.alerts`` is a warning that lists the
rules known) and by ``gameday doctor``. Prometheus is asked at ``GET /api/v1/rules?type=alert``;
httpx errors become ``ServiceUnavailable`` here.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from gameday.errors import ServiceUnavailable
from gameday.observe.alertmanager import redact_url
from gameday.printable import LINE_LIMIT
from gameday.scenario.model import Scenario

RULES_PACKAGE_DIR = ("stack", "files", "prometheus", "rules")


@dataclass(frozen=True)
class KnownRules:
    names: frozenset[str]
    sources: tuple[str, ...]
    """Where the names came from, for the message (e.g. 'shipped rule files', 'Prometheus at ...')."""


def rule_names_in(text: str) -> set[str]:
    """Alert names in one Prometheus rule file's text (recording rules and bad files give nothing)."""
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, OverflowError):  # ValueError: a date-like value that is no real day
        return set()
    names: set[str] = set()
    for group in (data or {}).get("groups") or [] if isinstance(data, dict) else []:
        for rule in (group or {}).get("rules") or [] if isinstance(group, dict) else []:
            if isinstance(rule, dict) and isinstance(rule.get("alert"), str):
                names.add(rule["alert"])
    return names


def shipped_rule_names() -> set[str]:
    """Alerts defined by the rule files of the demo stack that ship with gameday."""
    folder = resources.files("gameday").joinpath(*RULES_PACKAGE_DIR)
    names: set[str] = set()
    if not folder.is_dir():
        return names
    for entry in folder.iterdir():
        if entry.name.endswith((".yml", ".yaml")):
            names |= rule_names_in(entry.read_text(encoding="utf-8"))
    return names


def prometheus_rules(url: str, *, timeout: float = 2.0) -> list[dict[str, Any]]:
    """Alerting rules a Prometheus has loaded: [{name, state, group, file}]."""
    import httpx

    safe = redact_url(url)
    try:
        response = httpx.get(url.rstrip("/") + "/api/v1/rules", params={"type": "alert"}, timeout=timeout,
                             trust_env=False)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ServiceUnavailable(f"Prometheus at {safe} cannot be reached: {exc or type(exc).__name__}") from exc
    if response.status_code != 200:
        raise ServiceUnavailable(f"Prometheus at {safe} answered {response.status_code} to /api/v1/rules")
    try:
        groups = response.json()["data"]["groups"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ServiceUnavailable(f"{safe}/api/v1/rules does not look like Prometheus's API") from exc
    out = []
    for group in groups or []:
        for rule in group.get("rules") or []:
            if rule.get("type") == "alerting" and rule.get("name"):
                out.append({"name": rule["name"], "state": rule.get("state"), "group": group.get("name"),
                            "file": group.get("file")})
    return out


def known_rules(scenario: Scenario, *, timeout: float = 2.0) -> KnownRules:
    """Rules from the shipped rule files, plus the scenario's Prometheus when it answers."""
    names = shipped_rule_names()
    sources = ["gameday's demo rule files"] if names else []
    if scenario.stack.prometheus is not None:
        url = scenario.stack.prometheus.url
        try:
            names |= {r["name"] for r in prometheus_rules(url, timeout=timeout)}
            sources.append(f"Prometheus at {redact_url(url)}")
        except ServiceUnavailable:
            pass  # validate works offline; the shipped rules are still a useful list
    return KnownRules(frozenset(names), tuple(sources))


def unknown_alert_warnings(path: Path, scenario: Scenario, *, known: KnownRules | None = None,
                           timeout: float = 2.0) -> list[str]:
    """``file:line:col: expect.alerts[i].name: warning: ...`` for each expected alert no rule defines.

    Alerts can come from rules gameday cannot see, so this is a warning, not an error. Nothing is
    said when no rule list could be read at all.
    """
    wanted: list[tuple[tuple[str | int, ...], str]] = [(("expect", "alerts", i, "name"), a.name) for i, a in enumerate(scenario.expect.alerts)]
    wanted += [(("expect", "alerts_not_firing", i), n) for i, n in enumerate(scenario.expect.alerts_not_firing)]
    if not wanted:
        return []
    if known is None:
        shipped = shipped_rule_names()
        # Every name is in the shipped rule files: no warning whatever Prometheus says, so it is not asked
        # (validate then needs no HTTP client and no network).
        if shipped and all(name in shipped for _, name in wanted):
            return []
    rules = known if known is not None else known_rules(scenario, timeout=timeout)
    if not rules.names:
        return []
    from gameday.scenario.yaml_source import format_field_path, load_yaml_file

    doc = load_yaml_file(path)
    # The list on a line of its own: after a long path it was cut mid-list past 400 characters (printable).
    prefix = f"  {len(rules.names)} alerts known from {' and '.join(rules.sources)}: "
    listing = prefix + _listing(sorted(rules.names), room=LINE_LIMIT - len(prefix))
    lines = []
    for field_path, name in wanted:
        if name in rules.names:
            continue
        where = doc.locate(field_path)
        at = f"{path}:{where[0]}:{where[1]}" if where else str(path)
        close = difflib.get_close_matches(name, rules.names, n=2, cutoff=0.75)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        lines.append(f"{at}: {format_field_path(field_path)}: warning: unknown alert '{name}'{hint}")
        lines.append(listing)
    return lines


def _listing(names: list[str], *, room: int) -> str:
    """The names, or as many as fit in ``room`` characters with how many more: the line stays whole (printable cuts
    past its 400) however many rules there are, and shows as many as it can (15 shipped rules fit whole)."""
    whole = ", ".join(names)
    if len(whole) <= room:
        return whole
    shown: list[str] = []
    for i, name in enumerate(names):
        if len(", ".join([*shown, name])) + len(f" and {len(names) - i} more") > room:
            return ", ".join(shown) + f" and {len(names) - i} more"
        shown.append(name)
    return whole
