"""What the readers of a timeline rely on in each kind's details, checked once, when the timeline is read.

The score and the reports read details with the types gameday writes (a probe's ``latency_ms`` is a number,
an alert's ``labels`` a mapping of text, a runbook step a small positive number). A timeline can come from
anywhere (a copied run folder, another tool, a hand edit), so ``read_timeline`` checks every event against
this table and refuses one that is not what the code wrote with ``file:line: kind details.key: ...``,
instead of a traceback or a hang somewhere deep in scoring. Keys are those declared in the event catalogue
(gameday/events.py; tests/test_timeline_shapes.py pins that); a key that is absent is fine (readers have
defaults), and kinds and keys not listed here are passed over, as readers pass over what they do not know.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from gameday import events as ev

MAX_STEPS = 1000
"""More runbook steps than any runbook has (a 256 kB runbook of one-line steps has a few thousand lines)."""

MAX_DEPTH = 32
"""JSON nesting a timeline line may have; gameday writes at most four levels."""

Check = Callable[[Any], "str | None"]
"""``None`` when the value is fine, else what is wrong, in words."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def number(value: Any) -> str | None:
    return None if is_number(value) else f"expected a finite number, got {_shown(value)}"


def number_or_null(value: Any) -> str | None:
    ok = value is None or is_number(value)
    return None if ok else f"expected a finite number or null, got {_shown(value)}"


def integer_or_null(value: Any) -> str | None:
    ok = value is None or (isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63)
    return None if ok else f"expected a whole number or null, got {_shown(value)}"


def text(value: Any) -> str | None:
    return None if isinstance(value, str) else f"expected text, got {_shown(value)}"


def text_or_null(value: Any) -> str | None:
    return None if value is None or isinstance(value, str) else f"expected text or null, got {_shown(value)}"


def flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"expected true or false, got {_shown(value)}"


def _small(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= MAX_STEPS


def step(value: Any) -> str | None:
    return None if _small(value, 1) else f"{_shown(value)} is not a step number (1 to {MAX_STEPS})"


def step_count(value: Any) -> str | None:
    ok = value is None or _small(value, 0)
    return None if ok else f"{_shown(value)} is not a step count (0 to {MAX_STEPS})"


def steps(value: Any) -> str | None:
    if isinstance(value, list) and all(_small(v, 1) for v in value):
        return None
    return f"expected a list of step numbers (1 to {MAX_STEPS}), got {_shown(value)}"


def text_map(value: Any) -> str | None:
    ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    return None if ok else f"expected a mapping of text, got {_shown(value)}"


def counts(value: Any) -> str | None:
    ok = isinstance(value, dict) and all(_is_count_key(k) and isinstance(v, int) and not isinstance(v, bool)
                                         and 0 <= v < 2**53 for k, v in value.items())
    return None if ok else f"expected a mapping of counts, got {_shown(value)}"


def _is_count_key(key: str) -> bool:
    return key.isascii() and key.isdigit() and len(key) <= 12


def texts(value: Any) -> str | None:
    ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    return None if ok else f"expected a list of text, got {_shown(value)}"


def text_or_texts(value: Any) -> str | None:
    ok = isinstance(value, str) or texts(value) is None
    return None if ok else f"expected text or a list of text, got {_shown(value)}"


def mappings(shape: Mapping[str, Check]) -> Check:
    """A list of mappings, each checked against ``shape`` (its problems name the item: ``[2].labels``)."""

    def check(value: Any) -> str | None:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            return f"expected a list of mappings, got {_shown(value)}"
        for i, item in enumerate(value):
            for key, inner in shape.items():
                if key in item and (problem := inner(item[key])):
                    return f"[{i}].{key}: {problem}"
        return None

    return check


_PROBE = {"ok": flag, "latency_ms": number, "status": integer_or_null, "probe": text, "error": text_or_null}
_ALERT = {"alertname": text, "labels": text_map, "starts_at": text_or_null, "ends_at": text_or_null}
_LOAD = {"rps": number, "p50_ms": number_or_null, "p95_ms": number_or_null, "p99_ms": number_or_null,
         "error_rate": number, "requests": number, "failures": number}
_LOAD_STATS = {**_LOAD, "max_ms": number_or_null, "interval_s": number, "users": integer_or_null,
               "phase": text_or_null, "hist": counts}
_STEP = {"step": step, "total_steps": step_count, "outcome": text_or_null, "duration_s": number_or_null,
         "exit_code": integer_or_null, "title": text_or_null, "command": text_or_null}

SHAPES: Mapping[str, Mapping[str, Check]] = {
    ev.RUN_STARTED: {"faults": mappings({"fault": text, "kind": text, "target": text, "at_s": number_or_null,
                                         "duration_s": number_or_null}),
                     "tags": texts, "scenario": text, "run_id": text, "recovers_within_s": number_or_null},
    ev.RUN_FINISHED: {"outcome": text, "exit_code": integer_or_null, "error": text_or_null},
    ev.PROBE_CHECKED: _PROBE,
    ev.GUARD_CHECKED: _PROBE,
    ev.FAULT_INJECTED: {"duration_s": number_or_null},
    ev.FAULT_EFFECTIVE: {"after_ms": number_or_null},
    ev.FAULT_REVERTED: {"duration_s": number_or_null, "revert_ms": number_or_null},
    ev.RECOVERY_MET: {"after_s": number_or_null},
    ev.ALERTS_WATCHING: {"expected": mappings({"name": text, "labels": text_map, "within_s": number,
                                               "matchers": texts}),
                         "not_firing": texts, "poll_interval_s": number_or_null},
    ev.ALERT_FIRING: _ALERT,
    ev.ALERT_RESOLVED: _ALERT,
    ev.LOAD_STARTED: {"users": integer_or_null, "spawn_rate": number_or_null, "locustfile": text,
                      "host": text},
    ev.LOAD_STATS: _LOAD_STATS,
    ev.LOAD_FINISHED: {**_LOAD, "duration_s": number_or_null},
    ev.RUNBOOK_STARTED: {"total_steps": step_count, "steps": step_count},
    ev.RUNBOOK_STEP: _STEP,
    ev.RUNBOOK_JUDGED: {"total_steps": step_count, "failing_steps": steps, "idle_steps": steps,
                        "time_to_restore_s": number_or_null, "restored": flag, "steps_run": step_count},
    ev.SEVERITY_DECLARED: {"severity": text},
    ev.REVIEW_RECORDED: {"action_items": mappings({"text": text, "owner": text, "due": text}),
                         "went_well": text_or_texts, "went_poorly": text_or_texts, "got_lucky": text_or_texts,
                         "root_cause": text_or_null},
    ev.STATUS_UPDATE_SENT: {"audience": text, "text": text},
    ev.DISK_USAGE: {"used_bytes": number_or_null, "size_bytes": number_or_null, "free_bytes": number_or_null,
                    "percent_used": number_or_null, "fill_bytes": number_or_null},
}


def details_problem(kind: str, details: Mapping[str, Any]) -> str | None:
    """``kind details.key: what is wrong`` for the first detail readers could not use, else ``None``."""
    for key, check in SHAPES.get(kind, {}).items():
        if key in details and (problem := check(details[key])):
            return f"{kind} details.{key}: {problem}" if not problem.startswith("[") else \
                f"{kind} details.{key}{problem}"
    return None


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests lists and mappings more than ``limit`` deep (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return False
