"""Pod selection: the same seed picks the same pods, by count or percent, capped by max."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gameday.kubernetes.selection import SelectionArgs, select

PODS = [f"web-{i:02d}" for i in range(20)]


def test_the_same_seed_picks_the_same_pods_whatever_order_the_api_lists_them_in() -> None:
    args = SelectionArgs(count=3, seed=7)
    assert select(PODS, args) == select(list(reversed(PODS)), args)
    assert len(select(PODS, args)) == 3


def test_another_seed_picks_other_pods() -> None:
    picks = {tuple(select(PODS, SelectionArgs(count=3, seed=seed))) for seed in range(10)}
    assert len(picks) > 1


@pytest.mark.parametrize(("args", "chosen"), [
    ({}, 1),
    ({"count": 5}, 5),
    ({"count": 50}, 20),
    ({"percent": 10}, 2),
    ({"percent": 12}, 3),  # rounded up: 2.4 pods is 3
    ({"percent": 100, "max": 4}, 4),
    ({"count": 6, "max": 2}, 2),
])
def test_count_or_percent_capped_by_max_says_how_many(args: dict[str, float], chosen: int) -> None:
    assert len(select(PODS, SelectionArgs.model_validate(args))) == chosen


def test_no_candidates_selects_nothing() -> None:
    assert select([], SelectionArgs(percent=50)) == []


def test_count_and_percent_together_are_refused() -> None:
    with pytest.raises(ValidationError, match="give count or percent, not both"):
        SelectionArgs.model_validate({"count": 1, "percent": 10})


def test_the_rule_reads_as_words() -> None:
    assert SelectionArgs(percent=10, max=5, seed=7).describe(20) == "10% of 20 pods, at most 5, seed 7"
    assert SelectionArgs().describe(1) == "1 of 1 pod, seed 0"
