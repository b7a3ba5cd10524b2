"""Stack files (issue 14): the stack and its allowlist live apart from the scenarios; validate judges each target
against the stack at the fault's line; an inline stack approves nothing a platform's own opt-in does not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gameday.cli.main import main
from gameday.errors import ScenarioErrors
from gameday.scenario.loader import find_scenario_files, load_scenario
from gameday.scenario.stackfile import load_stack_file, stack_file_candidates

STACK = """\
version: 1
name: shop
toxiproxy: {url: "http://127.0.0.1:8474"}
endpoints:
  web: {url: "http://127.0.0.1:8080"}
targets:
  web: {container: shop-web}
  db: {container: shop-db}
  db-path: {proxy: postgres}
  token: {path: TOKEN_DIR/token}
allow:
  docker: [shop-web]
  toxiproxy: [postgres]
  host: [TOKEN_DIR]
"""

SCENARIO = """\
version: 1
name: shop-drill
stack: shop
steady_state:
  probes:
    - name: web
      http: {endpoint: web, path: /health}
faults:
  - kind: KIND
    target: TARGET
    duration: 10s
"""


def write(tmp_path: Path, *, kind: str = "container_kill", target: str = "web", stack: str = STACK,
          scenario: str = SCENARIO) -> Path:
    (tmp_path / "stacks").mkdir(exist_ok=True)
    (tmp_path / "stacks" / "shop.yaml").write_text(stack.replace("TOKEN_DIR", str(tmp_path)))
    path = tmp_path / "drill.yaml"
    path.write_text(scenario.replace("KIND", kind).replace("TARGET", target))
    return path


def problems(path: Path, capsys: pytest.CaptureFixture[str], command: str = "validate") -> list[str]:
    code = main([command, "-q", str(path)] if command == "validate" else [command, str(path)])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    lines = [line for line in (out.out + out.err).splitlines() if line.strip() and " in 1 file" not in line]
    assert (code == 0) == (lines == []) or command != "validate", lines
    return lines


def test_a_scenario_takes_targets_endpoints_and_allowlist_from_its_stack_file(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path))
    assert scenario.stack.name == "shop" and scenario.stack.source == str(tmp_path / "stacks" / "shop.yaml")
    assert scenario.stack.targets["web"].selector == "container=shop-web"
    assert scenario.steady_state.probes[0].http is not None
    assert scenario.steady_state.probes[0].http.url == "http://127.0.0.1:8080/health"
    assert scenario.stack.allow == {"docker": ["shop-web"], "toxiproxy": ["postgres"], "host": [str(tmp_path)]}


def test_a_target_outside_the_allowlist_is_a_validate_error_at_the_faults_target_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, target="db")
    assert problems(path, capsys) == [
        (f"{path}:10:13: faults[0].target: target 'db' (container=shop-db) is not allowed by stack 'shop': its "
         f"allow.docker in {tmp_path / 'stacks' / 'shop.yaml'} does not list shop-db")]


def test_an_allowlist_with_every_entry_commented_out_allows_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`allow:` left empty is null to YAML: it must allow nothing, not fall back to the inline stacks' label rule."""
    empty = STACK[:STACK.index("allow:")] + "allow:\n  # docker: [shop-web]\n"
    path = write(tmp_path, stack=empty)
    lines = problems(path, capsys)
    assert len(lines) == 1 and "target 'web' (container=shop-web) is not allowed by stack 'shop'" in lines[0], lines
    assert load_stack_file(tmp_path / "stacks" / "shop.yaml").allow == {}


def test_an_unknown_target_and_a_wrong_kind_are_located_at_the_fault_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = problems(write(tmp_path, target="cache"), capsys)
    assert len(unknown) == 1 and ":10:13: faults[0].target: unknown target 'cache' (known: db, db-path, token, web)" \
        in unknown[0]
    wrong = problems(write(tmp_path, kind="latency\n    args: {latency: 1s}", target="web"), capsys)
    assert len(wrong) == 1 and ":11:13: faults[0].target: " in wrong[0] and "'web'" in wrong[0], wrong


def test_a_scenario_cannot_widen_the_allowlist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inline = SCENARIO.replace("stack: shop\n", "stack:\n  targets: {db: {container: shop-db}}\n"
                                               "  allow: {docker: [shop-db]}\n")
    lines = problems(write(tmp_path, scenario=inline, target="db"), capsys)
    assert any(":5:3: stack.allow: a scenario cannot approve its own targets" in line for line in lines), lines
    beside = SCENARIO.replace("stack: shop\n", "stack: {file: stacks/shop.yaml, allow: {docker: [shop-db]}}\n")
    lines = problems(write(tmp_path, scenario=beside, target="db"), capsys)
    assert any("stack.allow: unknown key: a stack given by file has only file:" in line for line in lines), lines


def test_inline_secrets_are_refused_wherever_they_are_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = STACK.replace('url: "http://127.0.0.1:8080"', 'url: "http://admin:hunter2@127.0.0.1:8080"')
    secret += "platforms:\n  docker: {registry: 'https://bot:s3cret@registry.local/'}\n"
    path = write(tmp_path, stack=secret)
    lines = problems(path, capsys)
    stack_file = tmp_path / "stacks" / "shop.yaml"
    expected = (f"{stack_file}:5:14: endpoints.web.url: holds a password: give the URL by environment variable "
                "(a *_env field), never inline")
    assert expected in lines, lines
    assert any(line.startswith(f"{stack_file}:16:") and "platforms.docker.registry: holds a password" in line
               for line in lines), lines
    assert not any("hunter2" in line or "s3cret" in line for line in lines)
    inline = SCENARIO.replace("stack: shop\n", "stack:\n  toxiproxy: {url: 'http://u:p@127.0.0.1:8474'}\n"
                                               "  endpoints: {web: {url: 'http://127.0.0.1:8080'}}\n"
                                               "  targets: {web: {container: shop-web}}\n")
    lines = problems(write(tmp_path, scenario=inline), capsys)
    assert any(":4:20: stack.toxiproxy.url: holds a password" in line for line in lines), lines


@pytest.mark.parametrize(("target", "platform"), [("{proxy: postgres}", "toxiproxy"), ("{path: /srv/x}", "host"),
                                                  ("{postgres_role: app, dsn_env: PG}", "postgres"),
                                                  ("{redis_user: app, dsn_env: R}", "redis")])
def test_an_inline_stack_cannot_approve_targets_without_an_opt_in_of_their_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, platform: str
) -> None:
    kind = {"toxiproxy": "latency\n    args: {latency: 1s}", "host": "disk_fill\n    args: {write: 1MB}"}.get(
        platform, "revoke_credentials")
    inline = SCENARIO.replace("stack: shop\n", f"stack:\n  endpoints: {{web: {{url: 'http://127.0.0.1:1'}}}}\n"
                                               f"  targets: {{t: {target}}}\n")
    lines = problems(write(tmp_path, scenario=inline, kind=kind, target="t"), capsys)
    assert any("faults[0].target: target 't' " in line and f"is on platform '{platform}', which has no opt-in of "
               "its own: an inline stack cannot approve it" in line for line in lines), lines


def test_an_inline_container_needs_only_its_label_which_is_checked_when_the_fault_is_prepared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inline = SCENARIO.replace("stack: shop\n", "stack:\n  endpoints: {web: {url: 'http://127.0.0.1:1'}}\n"
                                               "  targets: {web: {container: shop-web}}\n")
    assert problems(write(tmp_path, scenario=inline), capsys) == []


def test_the_stack_files_own_problems_are_located_in_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = STACK.replace("db-path: {proxy: postgres}", "db-path: {proxy: postgres, colour: red}")
    broken = broken.replace("toxiproxy: [postgres]", "toxiproxy: [postgres]\n  nomad: [web]")
    lines = problems(write(tmp_path, stack=broken), capsys)
    stack_file = tmp_path / "stacks" / "shop.yaml"
    assert f"{stack_file}:9:38: targets.db-path.colour: unknown key" in lines, lines
    assert any(line.startswith(f"{stack_file}:14:3: allow.nomad: unknown platform 'nomad'") for line in lines)
    with pytest.raises(ScenarioErrors):
        load_stack_file(stack_file)


def test_the_alertmanagers_webhook_url_must_be_plain_http_on_loopback_where_a_run_listens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = STACK.replace('toxiproxy: {url: "http://127.0.0.1:8474"}\n', 'toxiproxy: {url: "http://127.0.0.1:8474"}\n'
                          'alertmanager:\n  url: "http://10.1.2.3:9093"\n  webhook_url: "http://10.1.2.3:19099/alerts"\n'
                          '  external_url: "https://alerts.example.com"\n')
    found = problems(write(tmp_path, stack=stack), capsys)
    assert found == [(f"{tmp_path}/stacks/shop.yaml:6:16: alertmanager.webhook_url: the harness's receiver listens on "
                     "loopback only (127.0.0.1, ::1, localhost), not 'http://10.1.2.3:19099/alerts'")]
    found = problems(write(tmp_path, stack=stack.replace("http://10.1.2.3:19099", "https://127.0.0.1:19099")), capsys)
    assert found == [(f"{tmp_path}/stacks/shop.yaml:6:16: alertmanager.webhook_url: the harness's receiver speaks plain "
                     "http (on loopback), not 'https://127.0.0.1:19099/alerts'")]
    load_scenario(write(tmp_path, stack=stack.replace("http://10.1.2.3:19099", "http://[::1]:19099")))


def test_an_endpoint_the_stack_does_not_have_is_located_at_the_probe(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = problems(write(tmp_path, scenario=SCENARIO.replace("endpoint: web", "endpoint: api")), capsys)
    assert any(":7:7: steady_state.probes[0].http: unknown endpoint 'api' (known: web)" in line for line in lines), lines


def test_a_stack_is_looked_for_beside_the_scenario_then_above_it_then_in_the_working_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    scenarios = tmp_path / "project" / "scenarios"
    scenarios.mkdir(parents=True)
    path = scenarios / "drill.yaml"
    path.write_text(SCENARIO.replace("KIND", "container_kill").replace("TARGET", "web"))
    monkeypatch.chdir(tmp_path)
    lines = problems(path, capsys)
    assert any("stack: no stack file 'shop' (looked for " in line for line in lines), lines
    assert stack_file_candidates("shop", scenarios, tmp_path)[::2] == [
        scenarios / "stacks" / "shop.yaml", tmp_path / "project" / "stacks" / "shop.yaml", tmp_path / "stacks" / "shop.yaml"]
    for folder, name in ((tmp_path / "stacks", "cwd"), (tmp_path / "project" / "stacks", "above"),
                         (scenarios / "stacks", "beside")):
        folder.mkdir()
        (folder / "shop.yaml").write_text(STACK.replace("name: shop", f"name: {name}"))
        assert load_scenario(path).stack.name == name


def test_a_stack_named_by_file_is_relative_to_the_scenario(tmp_path: Path) -> None:
    write(tmp_path)
    elsewhere = tmp_path / "sub" / "drill.yaml"
    elsewhere.parent.mkdir()
    elsewhere.write_text((tmp_path / "drill.yaml").read_text().replace("stack: shop", "stack: {file: ../stacks/shop.yaml}"))
    assert load_scenario(elsewhere).stack.targets["web"].selector == "container=shop-web"


def test_a_stack_name_that_is_a_path_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = problems(write(tmp_path, scenario=SCENARIO.replace("stack: shop", "stack: ../../etc/shop")), capsys)
    assert any(":3:8: stack: a stack's name is letters, digits" in line for line in lines), lines


def test_validating_a_folder_skips_its_stack_files(tmp_path: Path) -> None:
    write(tmp_path)
    assert find_scenario_files([tmp_path]) == [tmp_path / "drill.yaml"]


def test_a_stack_file_changed_after_validate_is_enforced_as_it_is_when_the_plan_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "token").write_text("TOKEN=1\n")
    path = write(tmp_path, kind="revoke_credentials", target="token")
    assert problems(path, capsys) == []
    stack_file = tmp_path / "stacks" / "shop.yaml"
    stack_file.write_text(stack_file.read_text().replace(f"host: [{tmp_path}]", "host: [/srv]"))
    assert main(["plan", str(path)]) == 2
    err = capsys.readouterr().err
    assert "faults[0].target: target 'token'" in err and "its allow.host" in err and "does not list" in err


def test_the_allowlist_is_enforced_when_the_fault_is_prepared_not_only_by_validate(tmp_path: Path) -> None:
    """A scenario built in Python (no loader) is held to its stack's allowlist by the platform at run time."""
    from gameday.engine.safety import check_allowed
    from gameday.errors import TargetError
    from gameday.handle import FaultHandle

    stack = load_scenario(write(tmp_path)).stack
    check_allowed(FaultHandle("latency", "db-path", "", platform="toxiproxy"), stack, allow_production=False)
    with pytest.raises(TargetError, match="container shop-db \\(target 'db'\\) is not in stack 'shop''s allowlist"):
        check_allowed(FaultHandle("container_kill", "db", "", platform="docker", labels={"gameday.allowed": "true"},
                                  address={"name": "shop-db"}), stack, allow_production=False)
    assert os.path.isfile(tmp_path / "stacks" / "shop.yaml")


def test_a_run_keeps_the_stack_file_beside_its_scenario_copy_so_a_resumed_drill_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "token").write_text("TOKEN=1\n")
    path = write(tmp_path, kind="revoke_credentials", target="token")
    path.write_text(path.read_text().replace("duration: 10s", "duration: 1s") + "expect: {recovers_within: 5s}\n")
    path.write_text(path.read_text().replace("  probes:\n    - name: web\n      http: {endpoint: web, path: /health}\n",
                                             "  probes: []\n"))
    assert main(["run", str(path), "--reports", str(tmp_path / "reports")]) == 0, capsys.readouterr().out[-2000:]
    (run_dir,) = [p for p in (tmp_path / "reports").iterdir() if p.is_dir()]
    assert (run_dir / "stacks" / "shop.yaml").read_bytes() == (tmp_path / "stacks" / "shop.yaml").read_bytes()
    (tmp_path / "stacks" / "shop.yaml").unlink()
    monkeypatch.chdir(run_dir.parent)
    assert load_scenario(run_dir / "scenario.yaml").stack.source == str(run_dir / "stacks" / "shop.yaml")


def test_a_stack_file_named_on_the_command_line_is_validated_as_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path)
    stack_file = tmp_path / "stacks" / "shop.yaml"
    assert main(["validate", str(stack_file)]) == 0
    assert f"{stack_file}: ok (stack file)" in capsys.readouterr().out
    stack_file.write_text(stack_file.read_text().replace("version: 1", "version: 2"))
    assert main(["validate", str(stack_file)]) == 1
    assert f"{stack_file}:1:10: version: must be one of 1, got 2" in capsys.readouterr().out


def test_platform_settings_are_checked_by_the_platforms_own_settings_model(tmp_path: Path) -> None:
    from typing import ClassVar

    from pydantic import BaseModel, ConfigDict

    from gameday.platforms.base import PlatformDefaults, Target
    from gameday.platforms.docker import DockerPlatform
    from gameday.platforms.registry import PlatformRegistry

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        project: str

    class Configured(DockerPlatform):
        settings_model: ClassVar[type[BaseModel]] = Settings

    class Plain(PlatformDefaults):
        name: ClassVar[str] = "plain"
        target_model: ClassVar[type[Target]] = Target

    registry = PlatformRegistry(extra={"docker": Configured(), "plain": Plain()})
    stack_file = tmp_path / "stacks" / "shop.yaml"
    write(tmp_path, stack=STACK + "platforms:\n  docker: {project: shop}\n  plain: {anything: 1}\n")
    stack = load_stack_file(stack_file, platforms=registry)
    assert stack.platform_settings("docker") == {"base_url": None, "project": "shop"}
    assert stack.platform_settings("plain") == {"anything": 1}
    write(tmp_path, stack=STACK + "platforms:\n  docker: {projekt: shop}\n  nomad: {}\n")
    with pytest.raises(ScenarioErrors) as caught:
        load_stack_file(stack_file, platforms=registry)
    lines = caught.value.lines()
    assert any(":16:21: platforms.docker.projekt: unknown key" in line for line in lines), lines
    assert any(":16:3: platforms.docker.project: required field is missing" in line for line in lines), lines
    assert any(":17:3: platforms.nomad: unknown platform 'nomad'" in line for line in lines), lines
