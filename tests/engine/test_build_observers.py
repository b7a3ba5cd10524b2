"""Which observers a scenario starts: each condition it declares must have something watching it."""

from __future__ import annotations

from typing import Any

from gameday.plugins import build_observers
from gameday.scenario.model import Scenario


def scenario(**extra: Any) -> Scenario:
    raw = {"version": 1, "name": "s", "stack": {"targets": {"web": {"container": "web"}}},
           "faults": [{"kind": "container_kill", "target": "web", "duration": "1s"}], **extra}
    return Scenario.model_validate(raw, strict=False)


def names(s: Scenario) -> list[str]:
    return [type(o).__name__ for o in build_observers(s)]


def test_a_guard_on_an_alert_starts_the_alert_watcher_even_with_no_alert_expectations() -> None:
    assert "AlertObserver" not in names(scenario())
    guarded = scenario(guards=[{"name": "page", "alert": "CheckoutDown"}])
    assert names(guarded) == ["GuardObserver", "AlertObserver"]
