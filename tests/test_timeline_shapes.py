"""The details checked when a timeline is read are the ones the event catalogue declares (one source of keys)."""

from __future__ import annotations

from gameday import events as ev
from gameday.timeline_shapes import SHAPES, details_problem, too_deep


def test_every_checked_kind_and_key_is_declared_in_the_catalogue() -> None:
    for kind, shape in SHAPES.items():
        assert kind in ev.CATALOGUE, kind
        declared = set(ev.CATALOGUE[kind].details) | set(ev.DRILL_CONTEXT)
        assert set(shape) <= declared, (kind, set(shape) - declared)


def test_what_gameday_writes_passes_and_a_nested_problem_names_its_item() -> None:
    assert details_problem(ev.RUNBOOK_STEP, {"step": 3, "outcome": "done", "exit_code": None}) is None
    assert details_problem(ev.ALERTS_WATCHING, {"expected": [{"name": "A", "labels": {}}, {"labels": []}]}) == \
        "alerts.watching details.expected[1].labels: expected a mapping of text, got []"
    assert details_problem("plugin.kind", {"step": "anything"}) is None  # kinds we do not know are passed over


def test_depth_is_measured_without_recursion() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    assert too_deep(deep)
    assert not too_deep({"a": [{"b": 1}]})
