"""Adding a platform touches no core module: one registered through its own entry point is found by name,
checked when it loads, and a fault runs on it end to end through the engine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gameday.cli.main import main
from gameday.clock import FakeClock
from gameday.engine.run import Outcome, RunOptions, run_scenario
from gameday.platforms.memory import MemoryRuntime
from gameday.platforms.registry import installed_platforms
from gameday.scenario.loader import load_scenario
from tests.platforms import world

SCENARIO = """\
version: 1
name: plugin-platform
stack:
  targets:
    web: {target}
faults:
  - kind: {kind}
    target: web
    duration: 5s
"""


def install(site: Path, monkeypatch: pytest.MonkeyPatch, entry_points: str) -> None:
    """A distribution that declares ``entry_points`` in the gameday.platforms group, on sys.path."""
    dist = site / "gameday_test_platform-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: gameday-test-platform\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[gameday.platforms]\n" + entry_points)
    monkeypatch.syspath_prepend(str(site))
    installed_platforms.cache_clear()


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryRuntime]:
    install(tmp_path / "site", monkeypatch, "memory = tests.platforms.world:platform\n")
    world.reset()
    yield world.WORLD
    monkeypatch.undo()
    installed_platforms.cache_clear()  # the next test sees the installed platforms only
    world.reset()


def scenario_file(tmp_path: Path, target: str = "{platform: memory, container: web}",
                  kind: str = "container_kill") -> Path:
    path = tmp_path / "plugin.yaml"
    path.write_text(SCENARIO.format(target=target, kind=kind))
    return path


def run(tmp_path: Path, path: Path) -> tuple[Outcome, str | None, Path]:
    result = run_scenario(load_scenario(path), RunOptions(reports_dir=tmp_path / "reports", clock=FakeClock(),
                                                          state_dir=tmp_path / "state", watchdog=False,
                                                          handle_signals=False))
    return result.outcome, result.error, result.run_dir


def test_a_fault_runs_end_to_end_on_a_platform_from_its_own_entry_point(plugin: MemoryRuntime, tmp_path: Path) -> None:
    web = plugin.add("web", labels={"gameday.allowed": "true"})
    outcome, error, run_dir = run(tmp_path, scenario_file(tmp_path))
    assert outcome is Outcome.PASSED, error
    assert plugin.calls == [("signal", "web", "SIGKILL"), ("start", "web")]
    assert plugin.inspect(web.id).serving
    kinds = [json.loads(line)["kind"] for line in (run_dir / "timeline.jsonl").read_text().splitlines()]
    assert kinds.index("fault.injected") < kinds.index("fault.effective") < kinds.index("fault.reverted")
    intent = json.loads((run_dir / "journal.jsonl").read_text().splitlines()[0])
    handle = intent["handle"]
    assert (handle["platform"], handle["resource"], handle["address"]["id"]) == ("memory", f"memory:{web.id}", web.id)
    assert handle["labels"] == {"gameday.allowed": "true"}


def test_the_plugin_platforms_allowlist_is_applied_before_anything_is_touched(plugin: MemoryRuntime,
                                                                             tmp_path: Path) -> None:
    plugin.add("web", labels={"app": "web"})
    outcome, error, _ = run(tmp_path, scenario_file(tmp_path))
    assert outcome is Outcome.ERROR
    assert error == ("container web (target 'web') is not allowed as a fault target: it lacks the label "
                     "gameday.allowed=true")
    assert plugin.calls == []


def test_a_plugin_platform_with_labels_selects_one_container(plugin: MemoryRuntime, tmp_path: Path) -> None:
    plugin.add("web-a", labels={"app": "web", "gameday.allowed": "true"})
    plugin.add("db", labels={"app": "db", "gameday.allowed": "true"})
    outcome, error, _ = run(tmp_path, scenario_file(tmp_path, "{platform: memory, labels: {app: web}}",
                                                    kind="container_pause"))
    assert outcome is Outcome.PASSED, error
    assert plugin.calls == [("pause", "web-a"), ("unpause", "web-a")]


def test_the_plugin_platform_is_in_the_schema(plugin: MemoryRuntime, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "memory" in schema["$defs"]["Target"]["properties"]["platform"]["enum"]
    assert schema["$defs"]["MemoryTarget"]["properties"]["platform"]["const"] == "memory"


def test_without_the_plugin_the_platform_is_unknown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "-q", str(scenario_file(tmp_path))]) == 1
    assert "stack.targets.web.platform: unknown platform 'memory' (known: compose, docker, host" in capsys.readouterr().out


@pytest.mark.parametrize(("entry_point", "message"), [
    ("memory = tests.platforms.world:broken",
     "platform 'memory' from tests.platforms.world:broken failed to load: RuntimeError: the plugin's settings file"),
    ("memory = tests.platforms.no_such_module:platform",
     "platform 'memory' from tests.platforms.no_such_module:platform failed to load: ModuleNotFoundError"),
    ("memory = tests.platforms.world:WORLD",
     ("is not a platform: no attribute name; no attribute target_model; no method check_allowed(handle, policy); "
      "no method lock_key(handle); no method holder(key, locks)")),
    ("other = tests.platforms.world:platform",
     "platform 'other' from tests.platforms.world:platform calls itself 'memory'"),
], ids=["raises", "missing-module", "not-a-platform", "wrong-name"])
def test_a_broken_platform_plugin_is_one_located_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str], entry_point: str,
                                                      message: str) -> None:
    install(tmp_path / "site", monkeypatch, entry_point + "\n")
    try:
        name = entry_point.split(" =")[0]
        code = main(["validate", "-q", str(scenario_file(tmp_path, f"{{platform: {name}, container: web}}"))])
        out = capsys.readouterr()
    finally:
        monkeypatch.undo()
        installed_platforms.cache_clear()
    assert code == 1 and "Traceback" not in out.out + out.err
    lines = out.out.splitlines()
    assert len(lines) == 1 and ": stack.targets.web.platform: " in lines[0] and message in lines[0], lines
