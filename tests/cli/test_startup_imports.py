"""Commands import only what they use: `gameday validate` and `gameday --help` load no network client, no
Docker SDK, no rich and no Jinja2 (issue 19: start-up cost against Chaos Toolkit; benchmarks/startup.py).

Each command runs in a fresh interpreter, which then reports ``sys.modules``; what the bare interpreter
already had (a site hook's imports) is not the command's doing and is left out.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

HEAVY = ("httpx", "httpcore", "h11", "requests", "urllib3", "trio", "anyio", "docker", "rich", "jinja2",
         "lightkube", "kubernetes", "psycopg", "redis", "locust", "gevent", "markdown_it", "http.server",
         "starlette", "uvicorn", "prompt_toolkit")
"""Network clients, SDKs and renderers: none is needed to check a scenario or to print the help."""

CHILD = """
import json, sys
before = set(sys.modules)
from gameday.cli.main import main
try:
    code = main(sys.argv[2:])
except SystemExit as exc:  # --help exits through argparse
    code = exc.code
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "before": sorted(before), "after": sorted(sys.modules)}, out)
"""


def imported_by(tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    """The exit code of ``gameday ARGS`` and the modules it imported, from a fresh interpreter."""
    report = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", CHILD, str(report), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert report.exists(), done.stderr
    data = json.loads(report.read_text())
    return data["code"], set(data["after"]) - set(data["before"])


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def on_kubernetes(path: Path) -> bool:
    """A scenario whose stack file is a Kubernetes one (the shop scenarios on the local cluster)."""
    stack = yaml.safe_load(path.read_text()).get("stack")
    return isinstance(stack, str) and "platform: kubernetes" in (ROOT / "stacks" / f"{stack}.yaml").read_text()


def test_validate_of_every_shipped_scenario_imports_no_client_sdk_or_renderer(tmp_path: Path) -> None:
    shipped = sorted((ROOT / "scenarios").glob("*.yaml"))
    scenarios = [str(p) for p in shipped if not on_kubernetes(p)]
    assert scenarios
    code, modules = imported_by(tmp_path, "validate", "--quiet", *scenarios)
    assert code == 0
    assert "gameday.scenario.model" in modules  # it did check them
    assert heavy(modules) == []
    # nor the other commands' modules: only the command named is built (main.build_parser)
    assert sorted(m for m in modules if m.startswith("gameday.cli.") and m.endswith("_commands")) == []


def test_validate_of_a_kubernetes_scenario_imports_its_client_and_nothing_else_heavy(tmp_path: Path) -> None:
    """Known cost (docs/decisions.md 14): the Kubernetes drivers' modules import lightkube (~0.2 s) when
    validate loads them for their argument models; nothing else heavy comes with it."""
    scenarios = [str(p) for p in sorted((ROOT / "scenarios").glob("*.yaml")) if on_kubernetes(p)]
    assert scenarios
    code, modules = imported_by(tmp_path, "validate", "--quiet", *scenarios)
    assert code == 0
    assert sorted({m.split(".")[0] for m in heavy(modules)}) == ["lightkube"]


def test_a_mistyped_command_still_lists_every_command(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "gameday", "valdate", "x.yaml"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 2
    for command in ("validate", "run", "doctor", "stack", "facilitate", "runbook", "init"):
        assert f"'{command}'" in done.stderr


def test_help_imports_no_client_sdk_or_renderer_and_not_the_scenario_models(tmp_path: Path) -> None:
    code, modules = imported_by(tmp_path, "--help")
    assert code == 0
    assert heavy(modules) == []
    assert "pydantic" not in modules and "gameday.scenario.model" not in modules


def test_validate_with_a_bad_scenario_still_imports_nothing_heavy(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: bad\nfaults:\n  - {kind: latency, target: nowhere, duration: 1s}\n")
    code, modules = imported_by(tmp_path, "validate", str(bad))
    assert code == 1
    assert heavy(modules) == []


def test_validate_does_not_ask_prometheus_about_alerts_the_shipped_rules_define(tmp_path: Path) -> None:
    """Every expected alert is in gameday's own rule files, so no warning can come of asking the
    scenario's Prometheus: validate does not connect to it (an unknown name would, see test_alerts_cli)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # a connection attempt would wait in the backlog, to be seen below
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        path = tmp_path / "s.yaml"
        path.write_text(yaml.safe_dump({
            "version": 1, "name": "known-alerts",
            "stack": {"prometheus": {"url": url}, "targets": {"web": {"container": "web"}}},
            "faults": [{"kind": "container_kill", "target": "web", "duration": "2s"}],
            "expect": {"alerts": [{"name": "InstanceDown", "within": "30s"}]},
        }))
        code, modules = imported_by(tmp_path, "validate", str(path))
        listener.setblocking(False)
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            connected = False
        else:
            conn.close()
            connected = True
    assert code == 0
    assert not connected, "validate connected to the scenario's Prometheus"
    assert heavy(modules) == []


WATCHDOG_CHILD = """
import json, os, sys
from pathlib import Path
before = set(sys.modules)
from gameday.engine.watchdog import watch
journal, heartbeat = Path(sys.argv[2]), Path(sys.argv[3])
code = watch(journal, heartbeat, os.getpid(), 60.0)
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "before": sorted(before), "after": sorted(sys.modules)}, out)
"""


def test_the_watchdog_of_a_run_that_reverted_its_own_fault_loads_no_driver_and_no_pydantic(tmp_path: Path) -> None:
    """Its fault registry (pydantic and the drivers, ~0.15 s of CPU at every run) is loaded only to revert."""
    from gameday.clock import SystemClock
    from gameday.engine.journal import Journal
    from gameday.handle import FaultHandle

    run_dir = tmp_path / "20261203T120000Z-quiet-a1b2"
    run_dir.mkdir()
    journal = Journal(run_dir / "journal.jsonl", run_id=run_dir.name, clock=SystemClock(), state_dir=tmp_path / "state")
    journal.intend("f0", FaultHandle(kind="latency", target="api", description="500 ms on api"))
    journal.injected("f0")
    journal.reverted("f0")
    journal.close()
    (run_dir / "heartbeat").touch()
    report = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", WATCHDOG_CHILD, str(report), str(run_dir / "journal.jsonl"),
                           str(run_dir / "heartbeat")], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert report.exists(), done.stderr
    data = json.loads(report.read_text())
    modules = set(data["after"]) - set(data["before"])
    assert data["code"] == 0
    assert "gameday.engine.watchdog" in modules
    assert sorted(m for m in modules if m.split(".")[0] == "pydantic" or m.startswith("gameday.faults")) == []
    assert heavy(modules) == []


def test_the_run_path_imports_no_http_client_library_and_no_heavy_module_for_observers_it_does_not_use() -> None:
    """The probe and the Toxiproxy driver speak HTTP/1.1 through the standard library (gameday.httpcall): httpx
    brought httpcore, h2 and its CLI's rich into every run (~9 MiB of its peak memory). Every run loads every
    observer class to ask it wanted(): what only a started observer needs (the alert webhook's http.server,
    the Kubernetes client) is imported when it starts."""
    code = ("import json, sys; before = set(sys.modules); "
            "import gameday.engine.run, gameday.observe.probes, gameday.faults.toxiproxy, gameday.faults.toxiproxy_client; "
            "from gameday.plugins import observer_classes; observer_classes(); "
            "print(json.dumps(sorted(set(sys.modules) - before)))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=True)
    modules = set(json.loads(done.stdout))
    assert "gameday.httpcall" in modules
    assert [m for m in modules if m.split(".")[0] in ("httpx", "httpcore", "h11", "h2", "requests", "urllib3")] == []
    assert heavy(modules) == []
