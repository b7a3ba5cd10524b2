"""The shipped demo scenarios: valid, pointing at the demo stack's conventional targets, schema up to date."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gameday.cli.main import main
from gameday.kubernetes.platform import KubernetesTarget
from gameday.scenario.loader import load_scenario
from gameday.scenario.schema import installed_schema_text

ROOT = Path(__file__).resolve().parents[2]
DEMO_SCENARIOS = ("checkout-cache-flaky", "checkout-db-down", "checkout-db-latency")
SCENARIOS = [ROOT / "scenarios" / f"{name}.yaml" for name in DEMO_SCENARIOS]
CONVENTIONAL_TARGETS = {
    "checkout": {"container": "gameday-demo-checkout"},
    "postgres": {"container": "gameday-demo-postgres"},
    "redis": {"container": "gameday-demo-redis"},
    "postgres-path": {"proxy": "postgres"},
    "redis-path": {"proxy": "redis"},
    "checkout-spool": {"container": "gameday-demo-checkout"},
    "checkout-db-role": {"postgres_role": "checkout", "dsn_env": "GAMEDAY_DEMO_PG_ADMIN_DSN"},
    "checkout-cache-user": {"redis_user": "checkout", "dsn_env": "GAMEDAY_DEMO_REDIS_ADMIN_URL"},
}


def test_the_three_demo_scenarios_are_shipped() -> None:
    assert all(p.is_file() for p in SCENARIOS)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_a_demo_scenario_is_valid_and_uses_the_conventional_targets(path: Path) -> None:
    assert path.read_text().splitlines()[0] == "# yaml-language-server: $schema=../schema/scenario.schema.json"
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    for name, selector in CONVENTIONAL_TARGETS.items():
        target = scenario.stack.targets[name]
        assert {k: getattr(target, k) for k in selector} == selector
    assert scenario.stack.toxiproxy is not None and scenario.stack.toxiproxy.url == "http://127.0.0.1:18474"
    for probe in scenario.steady_state.probes:
        assert probe.http is not None and probe.http.url.startswith("http://127.0.0.1:18080/")


def test_the_faults_are_the_ones_the_issue_asks_for() -> None:
    faults = {p.stem: load_scenario(p).faults[0] for p in SCENARIOS}
    assert (faults["checkout-db-down"].kind, faults["checkout-db-down"].target) == ("container_kill", "postgres")
    latency = faults["checkout-db-latency"]
    assert (latency.kind, latency.target, latency.args["latency"]) == ("latency", "postgres-path", "800ms")
    assert (faults["checkout-cache-flaky"].kind, faults["checkout-cache-flaky"].target) == ("reset_peer", "redis-path")


def test_validate_passes_on_the_scenarios_folder(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(ROOT / "scenarios")]) == 0
    assert "problem" not in capsys.readouterr().err


def test_the_committed_schema_is_what_gameday_schema_writes() -> None:
    committed = (ROOT / "schema" / "scenario.schema.json").read_text(encoding="utf-8")
    assert committed == installed_schema_text(), (
        "schema/scenario.schema.json is stale: run `gameday schema -o schema/scenario.schema.json`")


def test_the_schema_accepts_every_shipped_scenario_and_checks_args_by_kind() -> None:
    """What an editor (yaml-language-server) will say: shipped files clean, a wrong argument flagged."""
    import json

    import jsonschema
    import yaml

    schema = json.loads(installed_schema_text())
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
        assert errors == [], f"{path.name}: {errors}"
    scenario = yaml.safe_load((ROOT / "scenarios" / "checkout-db-latency.yaml").read_text())
    latency = next(f for f in scenario["faults"] if f["kind"] == "latency")
    latency["args"]["latncy"] = "300ms"  # a typo the editor must point at
    assert any("latncy" in e.message for e in validator.iter_errors(scenario))
    latency["kind"] = "container_kill"  # the same args under another kind: checked against that kind's model
    del latency["args"]["latncy"]
    assert any("latency" in e.message for e in validator.iter_errors(scenario))


def test_the_shipped_demo_stack_file_is_the_one_written_for_the_default_configuration(tmp_path: Path) -> None:
    from gameday.stack.config import StackConfig
    from gameday.stack.stackfile import demo_stack_file

    shipped = (ROOT / "stacks" / "demo.yaml").read_text(encoding="utf-8")
    assert shipped == demo_stack_file(StackConfig.from_env({"HOME": str(tmp_path)})), (
        "stacks/demo.yaml is stale: run `gameday stack file -o stacks/demo.yaml` with no GAMEDAY_DEMO_* set")


def test_every_shipped_scenario_takes_the_demo_stack_from_the_stack_file() -> None:
    """The demo stack's, or for the shop-* ones the local cluster's workload (stacks/local-cluster.yaml)."""
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert ("\nstack: local-cluster" if path.name.startswith("shop-") else "\nstack: demo") in text, path.name
        assert "127.0.0.1:1" not in text and "gameday-demo-" not in text, f"{path.name} names the stack itself"


def test_a_moved_demo_stack_is_one_edit_of_its_stack_file(tmp_path: Path, stack_config: Any) -> None:
    """The test copy of the stack (other ports, other names): the shipped scenarios, unchanged, beside a stack file
    written for it, point at it and at nothing of the default stack."""
    import shutil

    from gameday.stack.kubernetes import namespace
    from gameday.stack.stackfile import demo_stack_file, kubernetes_stack_file

    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "demo.yaml").write_text(demo_stack_file(stack_config))
    (tmp_path / "stacks" / "demo-kubernetes.yaml").write_text(
        kubernetes_stack_file(stack_config, tmp_path / "kubeconfig", {}))
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    shutil.copytree(ROOT / "loadtests", tmp_path / "loadtests")
    shutil.copytree(ROOT / "runbooks", tmp_path / "runbooks")
    prefix = f"gameday-{stack_config.stack}-"
    for path in sorted((tmp_path / "scenarios").glob("*.yaml")):
        if path.name.startswith("shop-"):
            continue  # the local cluster's workload (stacks/local-cluster.yaml), not the demo stack
        scenario = load_scenario(path)
        on_kubernetes = scenario.stack.name == "demo-kubernetes"  # the demo stack on the local cluster's real node
        assert scenario.stack.source == str(tmp_path / "stacks" / ("demo-kubernetes.yaml" if on_kubernetes
                                                                   else "demo.yaml"))
        assert scenario.stack.toxiproxy is not None
        assert scenario.stack.toxiproxy.url == f"http://127.0.0.1:{stack_config.toxiproxy_port}"
        for probe in scenario.steady_state.probes:
            assert probe.http is not None and probe.http.url.startswith(f"http://127.0.0.1:{stack_config.checkout_port}/")
        if on_kubernetes:
            spaces = {t.namespace for t in scenario.stack.targets.values() if isinstance(t, KubernetesTarget)}
            assert spaces == {namespace(stack_config)}
        else:
            containers = [t.selector.removeprefix("container=") for t in scenario.stack.targets.values()
                          if t.platform == "docker"]
            assert containers and all(c.startswith(prefix) for c in containers)
        if scenario.load is not None:
            assert scenario.load.host == f"http://127.0.0.1:{stack_config.checkout_port}"
