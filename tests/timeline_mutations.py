"""Single-field mutations of a real timeline: the bad inputs a hostile or broken tool could leave in a run folder.

Shared by the bounded test (tests/report/test_timeline_fuzz.py) and the full run
(benchmarks/fuzz_timeline.py). Each mutation changes one field of one event (or removes it), keeping every
other line as written; one event of each kind is mutated, so every reader of every kind is reached.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).parent / "scoring" / "fixtures" / "drill-timeline.jsonl"

_DELETE = object()
NAN = float("nan")

# What a field can be turned into: every JSON type, and the values readers choke on.
VALUES: list[tuple[str, Any]] = [
    ("null", None), ("true", True), ("zero", 0), ("minus-one", -1), ("huge-int", 10**9),
    ("float", 2.5), ("nan", NAN), ("inf", float("inf")), ("empty-text", ""), ("text", "x"),
    ("markup", "[/bold] <b>&</b>"), ("list", [1, "a"]), ("mapping", {"a": 1}), ("deleted", _DELETE),
]


@dataclass(frozen=True)
class Mutation:
    name: str
    line: int
    text: str
    """The whole mutated timeline."""


def field_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every field path in an event, containers as well as leaves (a list of labels turned into text)."""
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from field_paths(inner, (*prefix, key))
    elif isinstance(value, list) and value:
        yield from field_paths(value[0], (*prefix, 0))


def with_field(event: Any, path: tuple[Any, ...], new: Any) -> Any:
    out = json.loads(json.dumps(event))
    parent = out
    for part in path[:-1]:
        parent = parent[part]
    if new is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return out


def fields(fixture: Path = FIXTURE) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(line index, field path) of every field of the first event of each kind."""
    seen: set[str] = set()
    for index, line in enumerate(fixture.read_text(encoding="utf-8").splitlines()):
        event = json.loads(line)
        if event["kind"] not in seen:
            seen.add(event["kind"])
            yield from ((index, path) for path in field_paths(event))


def mutations(fixture: Path = FIXTURE, *, values: list[tuple[str, Any]] | None = None,
              cycle: bool = False) -> Iterator[Mutation]:
    """Each field changed to each value; ``cycle``: each field changed once, to the values in turn (bounded)."""
    lines = fixture.read_text(encoding="utf-8").splitlines()
    choices = values or VALUES
    for number, (index, path) in enumerate(fields(fixture)):
        event = json.loads(lines[index])
        for label, new in [choices[number % len(choices)]] if cycle else choices:
            if new is _DELETE and isinstance(path[-1], int):
                continue
            changed = with_field(event, path, new)
            text = "\n".join([*lines[:index], json.dumps(changed), *lines[index + 1:]]) + "\n"
            where = ".".join(str(p) for p in path)
            yield Mutation(f"{event['kind']}:{where}={label}", index + 1, text)


def structural() -> Iterator[Mutation]:
    """Whole-line damage: deep nesting, NaN offsets written as JSON allows, a line that is not an object."""
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    middle = len(lines) // 2

    def at(replacement: str, name: str) -> Mutation:
        return Mutation(name, middle + 1, "\n".join([*lines[:middle], replacement, *lines[middle + 1:]]) + "\n")

    yield at("[" * 100_000 + "]" * 100_000, "deep-list-line")
    yield at('{"at": "2026-11-25T10:05:00Z", "offset": 1, "kind": "note.added", "details": {"x": '
             + "[" * 100_000 + "]" * 100_000 + "}}", "deep-details")
    yield at(lines[middle].replace('"offset": ', '"offset": NaN, "o": ', 1), "offset-NaN-literal")
    yield at(lines[middle].replace('"offset": ', '"offset": Infinity, "o": ', 1), "offset-Infinity-literal")
    yield at(lines[middle].replace('"offset": ', '"offset": 1e999, "o": ', 1), "offset-1e999")
    yield at('"just text"', "a-string-line")
    yield at("\udcff".encode("utf-8", "surrogateescape").decode("latin-1"), "latin-1-line")
