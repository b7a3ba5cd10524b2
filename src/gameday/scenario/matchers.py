"""Alertmanager-style label matchers: ``severity=~"critical|page"``, ``team!="db"``.

Same four operators and the same rule as Alertmanager and Prometheus: a regex must match the whole
value, and a label the alert does not carry has the value "" (so ``team!="db"`` matches an alert
without a team label, and ``team=~".+"`` requires one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

OPERATORS = ("=~", "!~", "!=", "=")
"""Alertmanager's four, two-character ones first so that ``=~`` is never read as ``=``."""
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(' + "|".join(map(re.escape, OPERATORS)) + r')\s*(.*?)\s*$',
                      re.DOTALL)


@dataclass(frozen=True)
class LabelMatcher:
    name: str
    op: str
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, labels: Mapping[str, Any]) -> bool:
        actual = "" if labels.get(self.name) is None else str(labels[self.name])
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self._regex is not None
        found = self._regex.fullmatch(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        quoted = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{quoted}"'


def parse_matcher(text: str) -> LabelMatcher:
    """``name<op>"value"`` (quotes optional) into a matcher; ValueError says what is wrong."""
    found = _MATCHER.match(text)
    if found is None:
        raise ValueError(f'not a label matcher: {text!r} (write name="value", name!="value", name=~"regex" or name!~"regex")')
    name, op, value = found.groups()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = _unquote(value[1:-1])
    regex = None
    if op in ("=~", "!~"):
        try:
            regex = re.compile(value)
        except re.error as exc:
            raise ValueError(f"{text!r}: bad regex: {exc}") from None
    return LabelMatcher(name, op, value, regex)


def _unquote(value: str) -> str:
    """Only ``\\"`` and ``\\\\`` are escapes; any other backslash stays, so ``=~"a\\.b"`` is the regex ``a\\.b``."""
    return re.sub(r'\\(["\\])', lambda m: m.group(1), value)
