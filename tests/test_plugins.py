"""Plugins load through entry points and are checked against their contract as they load: a broken one is
one line naming the entry point and what is wrong, exit 2, before a run starts or anything is injected."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gameday.contracts import FaultDriver, Observer, ReportSection
from gameday.plugins import contract_problems, observer_classes, report_sections
from tests.helpers import run_harness, web_scenario

GOOD_OBSERVER = '''
class Watcher:
    name = "watcher"
    role = "watches"

    @staticmethod
    def wanted(scenario):
        return True

    def start(self, ctx): ...
    def on_phase(self, phase): ...
    def stop(self): ...
    def verdicts(self, scenario, events): return []
'''


def _plugin_module(source: str) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(textwrap.dedent(source), namespace)  # test fixtures written here
    return namespace


def test_a_complete_observer_meets_the_contract() -> None:
    assert contract_problems(_plugin_module(GOOD_OBSERVER)["Watcher"], Observer) == []


@pytest.mark.parametrize(("change", "problem"), [
    (("    def verdicts(self, scenario, events): return []\n", ""), "no method verdicts(scenario, events)"),
    (("    def start(self, ctx): ...", "    def start(self): ..."), "start(self) cannot be called as start(ctx)"),
    (("    @staticmethod\n    def wanted(scenario):", "    def wanted(self, scenario):"),
     "wanted(scenario) must be a staticmethod or classmethod"),
    (('    role = "watches"', '    role = "listens"'), "role must be 'watches' or 'responds', got 'listens'"),
    (('    name = "watcher"', "    name = 3"), "name must be str, got int"),
])
def test_an_observer_that_breaks_the_contract_is_told_what_is_wrong(change: tuple[str, str], problem: str) -> None:
    broken = _plugin_module(GOOD_OBSERVER.replace(*change))["Watcher"]
    problems = contract_problems(broken, Observer)
    assert len(problems) == 1 and problems[0].startswith(problem), problems


def test_an_optional_driver_hook_must_match_its_signature_when_it_is_there() -> None:
    from gameday.contracts import DRIVER_HOOKS

    class Driver:
        kind = "x"
        args_model = object
        target_fields = ("container",)

        def prepare(self, fault: object, stack: object) -> None: ...
        def inject(self, handle: object) -> None: ...
        def revert(self, handle: object) -> None: ...
        def check(self, handle: object) -> bool: return True
        def observations(self) -> list[object]: return []  # the engine passes (handle, phase)

    problems = contract_problems(Driver, FaultDriver, optional=DRIVER_HOOKS)
    assert problems == ["observations(self) cannot be called as observations(handle, phase)"]


def test_the_built_in_observers_and_sections_are_registered_and_meet_their_contracts() -> None:
    assert [cls.name for cls in observer_classes()] == ["guards", "kubernetes-events", "load", "oom", "alerts",
                                                        "scripted-responder", "runbook"]
    assert [s.name for s in report_sections()] == ["alerts", "load", "response", "runbook", "disk", "kubernetes_events"]
    for section in report_sections():
        assert contract_problems(section, ReportSection) == []



def test_credentials_backends_are_plugins_chosen_by_the_target_platform() -> None:
    from gameday.faults.credentials import BACKENDS_GROUP, Backend
    from gameday.plugins import PluginGroup

    backends = PluginGroup(BACKENDS_GROUP, Backend, what="credentials backend").load_all()
    assert {name: cls.platform for name, cls in backends.items()} == {
        "path": "host", "postgres_role": "postgres", "redis_user": "redis", "postgres_in_pod": "kubernetes"}


# --- a broken plugin installed beside gameday, as a third party's would be -------------------------------


def install_plugin(site: Path, group: str, name: str, target: str, module: str) -> dict[str, str]:
    """A distribution 'brokenplug' on PYTHONPATH registering ``name = brokenplug:target`` in ``group``."""
    dist = site / "brokenplug-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenplug\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{group}]\n{name} = brokenplug:{target}\n")
    (site / "brokenplug.py").write_text(textwrap.dedent(module))
    return {"PYTHONPATH": str(site)}


def assert_refused_before_the_run(tmp_path: Path, env: dict[str, str], *expected: str,
                                  kind: str = "container_kill") -> None:
    # No container 'absent' exists: had the run begun, preflight would have said so instead.
    scenario = web_scenario(tmp_path, container="absent", url="http://127.0.0.1:9/", kind=kind)
    done = run_harness("run", str(scenario), "--reports", "reports", cwd=tmp_path, env=env, timeout=60)
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for text in expected:
        assert text in lines[0]
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").glob("*/timeline.jsonl"))


def test_a_broken_observer_plugin_stops_the_run_before_it_starts(tmp_path: Path) -> None:
    env = install_plugin(tmp_path / "site", "gameday.observers", "watcher", "Watcher",
                         GOOD_OBSERVER.replace("    def stop(self): ...\n", ""))
    assert_refused_before_the_run(tmp_path, env, "observer plugin 'watcher' (brokenplug:Watcher",
                                  "gameday.observers", "no method stop()")


def test_an_observer_plugin_that_fails_to_import_is_one_line(tmp_path: Path) -> None:
    env = install_plugin(tmp_path / "site", "gameday.observers", "watcher", "Watcher", "import not_installed_here\n")
    assert_refused_before_the_run(tmp_path, env, "observer plugin 'watcher'", "failed to load",
                                  "No module named 'not_installed_here'")


def test_a_broken_report_section_plugin_stops_the_run_before_it_starts(tmp_path: Path) -> None:
    env = install_plugin(tmp_path / "site", "gameday.report_sections", "extra", "Extra",
                         'class Extra:\n    name = "extra"\n    order = 60\n')
    assert_refused_before_the_run(tmp_path, env, "report section plugin 'extra' (brokenplug:Extra",
                                  "no method build(events)")


def test_a_broken_fault_plugin_is_one_located_line_before_anything_is_injected(tmp_path: Path) -> None:
    env = install_plugin(tmp_path / "site", "gameday.faults", "broken_kill", "Kill", '''
        from gameday.faults.base import FaultArgs

        class Kill:
            kind = "broken_kill"
            args_model = FaultArgs
            target_fields = ("container",)

            def prepare(self, fault, stack): ...
            def inject(self, handle): ...
            def check(self, handle): return True
    ''')
    assert_refused_before_the_run(tmp_path, env, "faults[0].kind", "fault driver plugin 'broken_kill'",
                                  "no method revert(handle)", kind="broken_kill")
    done = run_harness("validate", str(tmp_path / "web-fault.yaml"), cwd=tmp_path, env=env, timeout=60)
    assert done.returncode == 1 and "web-fault.yaml:" in done.stdout and "no method revert(handle)" in done.stdout
