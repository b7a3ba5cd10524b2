"""Probe kinds from plugins (entry point group gameday.probes): a probe names one by its key beside http and tcp;
its own model validates what is under the key at its line, with the scenario's stack at hand, and the prober,
steady state and plan run its check as they run http and tcp."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from gameday.contracts import ProbeKind
from gameday.engine.run import Outcome, run_scenario
from gameday.errors import ScenarioErrors
from gameday.observe.probes import Prober
from gameday.plugins import contract_problems
from gameday.scenario.loader import load_scenario
from gameday.scenario.model import ProbeSpec, StackSpec
from gameday.scenario.schema import installed_schema_text
from gameday.testing import MemoryFaults, installed_plugins, memory_scenario, run_options
from gameday.timeline import read_timeline


class MarkerCheck(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    path: str
    target: str | None = None

    @field_validator("target")
    @classmethod
    def _known_target(cls, name: str | None, info: ValidationInfo) -> str | None:
        stack = info.context.get("stack") if isinstance(info.context, dict) else None
        if name is not None and isinstance(stack, StackSpec) and name not in stack.targets:
            raise ValueError(f"unknown target '{name}' (known: {', '.join(sorted(stack.targets))})")
        return name


class MarkerProbe:
    """Green while a file exists."""

    name = "marker"
    check_model: ClassVar[type[BaseModel]] = MarkerCheck

    def check(self, check: Any, stack: StackSpec) -> str | None:
        assert isinstance(check, MarkerCheck)
        return None if Path(check.path).exists() else f"no file {check.path}"


class ShadowingProbe(MarkerProbe):
    name = "http"


class ModelessProbe:
    name = "modeless"
    check_model = dict

    def check(self, check: Any, stack: StackSpec) -> str | None:
        return None


PLUGINS = {"gameday.probes": {"marker": f"{__name__}:MarkerProbe"}}


@pytest.fixture
def marker_kind():
    with installed_plugins(PLUGINS):
        yield


def _scenario_file(folder: Path, probe: dict[str, Any]) -> Path:
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump({
        "version": 1, "name": "s",
        "stack": {"targets": {"web": {"platform": "docker", "container": "web"}}},
        "steady_state": {"probes": [probe]},
        "faults": [{"kind": "container_kill", "target": "web", "duration": "5s"}],
    }, sort_keys=False))
    return path


def _problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioErrors) as caught:
        load_scenario(path)
    return [str(p) for p in caught.value.errors]


def test_the_marker_kind_meets_the_contract() -> None:
    assert contract_problems(MarkerProbe, ProbeKind) == []


def test_a_probe_names_an_installed_kind_by_its_key_and_gets_its_model(tmp_path: Path, marker_kind: None) -> None:
    scenario = load_scenario(_scenario_file(tmp_path, {"name": "m", "marker": {"path": "/x", "target": "web"}}))
    probe = scenario.steady_state.probes[0]
    assert probe.plugin_check == ("marker", MarkerCheck(path="/x", target="web"))


def test_a_mistake_under_the_kind_is_located_at_its_own_line(tmp_path: Path, marker_kind: None) -> None:
    problems = _problems(_scenario_file(tmp_path, {"name": "m", "marker": {"path": 3}}))
    assert len(problems) == 1 and ":12:" in problems[0], problems
    assert "steady_state.probes[0].marker.path: input should be a valid string" in problems[0]


def test_the_kind_checks_what_it_names_against_the_scenarios_stack(tmp_path: Path, marker_kind: None) -> None:
    problems = _problems(_scenario_file(tmp_path, {"name": "m", "marker": {"path": "/x", "target": "db"}}))
    assert len(problems) == 1 and "steady_state.probes[0].marker.target: unknown target 'db' (known: web)" in problems[0]


def test_a_key_no_kind_has_is_an_unknown_key_and_the_probe_lists_the_kinds_there_are(tmp_path: Path,
                                                                                   marker_kind: None) -> None:
    problems = _problems(_scenario_file(tmp_path, {"name": "m", "markr": {"path": "/x"}}))
    assert len(problems) == 1 and problems[0].endswith(
        ":11:5: steady_state.probes[0].markr: unknown key: a probe has a name, an interval and one of http, tcp, "
        "kubernetes or marker"), problems


def test_two_kinds_in_one_probe_are_refused(tmp_path: Path, marker_kind: None) -> None:
    problems = _problems(_scenario_file(tmp_path, {"name": "m", "tcp": {"port": 80}, "marker": {"path": "/x"}}))
    assert any("a probe has exactly one of" in p and "(got tcp, marker)" in p for p in problems), problems


@pytest.mark.parametrize(("plugin", "problem"), [
    ("ShadowingProbe", "'http' is a key every probe has already"),
    ("ModelessProbe", "check_model must be a pydantic model"),
])
def test_a_broken_kind_is_one_line_where_a_probe_names_it(tmp_path: Path, plugin: str, problem: str) -> None:
    name = "http" if plugin == "ShadowingProbe" else "modeless"
    with installed_plugins({"gameday.probes": {name: f"{__name__}:{plugin}"}}):
        if name == "http":  # a field wins over a kind: the kind is refused wherever the group is loaded
            from gameday.plugins import installed_probe_kinds

            with pytest.raises(Exception, match=problem):
                installed_probe_kinds().load("http")
            return
        problems = _problems(_scenario_file(tmp_path, {"name": "m", name: {"path": "/x"}}))
    assert len(problems) == 1 and f"steady_state.probes[0].{name}: probe kind plugin '{name}'" in problems[0]
    assert problem in problems[0]


def test_the_prober_runs_the_kinds_check_red_then_green(tmp_path: Path, marker_kind: None) -> None:
    marker = tmp_path / "ready"
    probe = ProbeSpec.model_validate({"name": "m", "marker": {"path": str(marker)}})
    prober = Prober(StackSpec())
    try:
        red = prober.check(probe)
        marker.touch()
        green = prober.check(probe)
    finally:
        prober.close()
    assert (red.ok, red.error) == (False, f"no file {marker}")
    assert (green.ok, green.error) == (True, None) and green.latency_ms >= 0


def test_a_run_waits_on_the_kind_in_steady_state(tmp_path: Path, marker_kind: None) -> None:
    marker = tmp_path / "ready"
    scenario = memory_scenario(steady_state={"probes": [{"name": "m", "marker": {"path": str(marker)}}],
                                             "timeout": "3s"})
    refused = run_scenario(scenario, run_options(tmp_path / "red", faults=MemoryFaults()))
    assert refused.outcome is Outcome.STEADY_STATE_FAILED
    marker.touch()
    faults = MemoryFaults()
    passed = run_scenario(scenario, run_options(tmp_path / "green", faults=faults))
    assert passed.outcome is Outcome.PASSED and ("inject", "web") in faults.calls
    checks = [e for e in read_timeline(passed.run_dir / "timeline.jsonl") if e.kind == "probe.checked"]
    assert checks and all(e.details["ok"] for e in checks)


def test_the_schema_lists_the_installed_kinds_as_probe_keys(marker_kind: None) -> None:
    schema = json.loads(installed_schema_text())
    probe = schema["$defs"]["ProbeSpec"]
    assert probe["properties"]["marker"] == {"$ref": "#/$defs/MarkerCheck"}
    assert probe["additionalProperties"] is False
    assert schema["$defs"]["MarkerCheck"]["required"] == ["path"]
