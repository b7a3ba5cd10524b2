"""A target names its platform and that platform's model checks it; version 1's short forms still mean the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gameday.cli.main import main
from gameday.platforms.docker import DockerTarget
from gameday.platforms.resources import HostTarget, PostgresTarget, RedisTarget, ToxiproxyTarget
from gameday.scenario.loader import load_scenario
from gameday.scenario.schema import installed_schema_text

SCENARIO = """\
version: 1
name: targets
stack:
  targets:
    web: {target}
faults:
  - kind: {kind}
    target: web
    duration: 1s
"""


def write(tmp_path: Path, target: str, kind: str = "container_kill") -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO.format(target=target, kind=kind))
    return path


def problems(tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str], kind: str = "container_kill") -> list[str]:
    path = write(tmp_path, target, kind)
    code = main(["validate", "-q", str(path)])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    lines = [line.removeprefix(f"{path}:") for line in out.out.splitlines() if line.strip()]
    assert (code == 0) == (lines == [])
    return lines


@pytest.mark.parametrize(
    ("long", "short", "model"),
    [
        ("{platform: docker, container: checkout}", "{container: checkout}", DockerTarget),
        ("{platform: docker, labels: {app: web}}", "{labels: {app: web}}", DockerTarget),
        ("{platform: toxiproxy, proxy: postgres}", "{proxy: postgres}", ToxiproxyTarget),
        ("{platform: host, path: /srv/data}", "{path: /srv/data}", HostTarget),
        ("{platform: postgres, postgres_role: app, dsn_env: PG}", "{postgres_role: app, dsn_env: PG}", PostgresTarget),
        ("{platform: redis, redis_user: app, dsn_env: R}", "{redis_user: app, dsn_env: R}", RedisTarget),
    ],
    ids=["docker-container", "docker-labels", "toxiproxy", "host", "postgres", "redis"],
)
def test_the_long_and_the_short_form_are_the_same_target(tmp_path: Path, long: str, short: str, model: type) -> None:
    kinds: dict[type, str] = {DockerTarget: "container_kill", ToxiproxyTarget: "latency", HostTarget: "disk_fill"}
    kind = kinds.get(model, "revoke_credentials")
    args = "\n    args: {latency: 1s}" if kind == "latency" else "\n    args: {write: 1MB}" if kind == "disk_fill" else ""
    targets = []
    platform = long.split("platform: ")[1].split(",")[0]
    for i, text in enumerate((long, short)):
        # Only a stack file approves a proxy, a path, a role or a user: the target is written in one.
        (tmp_path / "stacks").mkdir(exist_ok=True)
        (tmp_path / "stacks" / f"s{i}.yaml").write_text(
            f"version: 1\ntargets:\n  web: {text}\nallow: {{{platform}: ['*', '/*']}}\n")
        path = tmp_path / f"{i}.yaml"
        text = SCENARIO.format(target=text, kind=kind).replace("duration: 1s", "duration: 1s" + args)
        path.write_text(text.replace("stack:\n  targets:\n    web: " + (long, short)[i], f"stack: s{i}"))
        targets.append(load_scenario(path).stack.targets["web"])
    assert type(targets[0]) is model
    assert targets[0] == targets[1]
    assert targets[0].platform == model.model_fields["platform"].default


def test_an_unknown_platform_is_a_located_error_naming_the_known_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = problems(tmp_path, "{platform: nomad, job: checkout}", capsys)
    assert ("5:21: stack.targets.web.platform: unknown platform 'nomad' "
            "(known: compose, docker, host, kubernetes, port, postgres, redis, toxiproxy)") in lines


def test_a_field_of_another_platform_is_an_unknown_key_where_it_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = "\n      platform: toxiproxy\n      proxy: postgres\n      container: checkout"
    lines = problems(tmp_path, target, capsys, kind="latency")
    assert "8:18: stack.targets.web.container: unknown key" in lines


def test_a_platform_without_its_required_field_says_which(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = problems(tmp_path, "{platform: toxiproxy}", capsys, kind="latency")
    assert any("stack.targets.web.proxy: required field is missing" in line for line in lines), lines


def test_a_docker_target_names_one_container_or_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = problems(tmp_path, "{platform: docker}", capsys)
    assert any("stack.targets.web: a docker target names exactly one of container, labels" in line for line in lines), lines


def test_a_short_form_with_two_platforms_keys_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = problems(tmp_path, "{container: a, proxy: b}", capsys)
    assert any("stack.targets.web: " in line and "exactly one of container, labels, proxy" in line
               and "(got container, proxy)" in line for line in lines), lines


def test_a_platform_that_is_not_a_name_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = problems(tmp_path, "{platform: [docker], container: a}", capsys)
    assert any("stack.targets.web.platform: must be a platform name, got list" in line for line in lines), lines


def test_a_fault_on_a_target_of_a_platform_it_cannot_act_on_is_located_at_the_fault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = problems(tmp_path, "{platform: toxiproxy, proxy: postgres}", capsys)
    assert len(lines) == 1, lines
    assert lines[0].startswith("8:13: faults[0].target: fault kind 'container_kill' acts on a target on platform ")
    assert lines[0].endswith("; 'web' is on platform toxiproxy")
    assert "docker" in lines[0], "the platforms with containers are named"


def test_a_target_that_is_not_a_mapping_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = problems(tmp_path, "checkout", capsys)
    assert any("stack.targets.web: a target is a mapping" in line for line in lines), lines


def schema_errors(target: dict[str, Any]) -> list[str]:
    schema = json.loads(installed_schema_text())
    doc = {"version": 1, "name": "t", "stack": {"targets": {"web": target}},
           "faults": [{"kind": "container_kill", "target": "web", "duration": "1s"}]}
    # stack: is a stack file's name or the stack inline (anyOf): an editor shows the inline branch's errors.
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    return [e.message for e in errors] + [c.message for e in errors for c in e.context or []]


@pytest.mark.parametrize("target", [
    {"platform": "docker", "container": "c"}, {"container": "c"}, {"labels": {"app": "web"}},
    {"platform": "toxiproxy", "proxy": "p"}, {"proxy": "p"}, {"postgres_role": "r", "dsn_env": "E"},
    {"platform": "host", "path": "/srv"},
])
def test_the_schema_accepts_long_and_short_forms(target: dict[str, Any]) -> None:
    assert schema_errors(target) == []


@pytest.mark.parametrize(("target", "words"), [
    ({"platform": "docker", "proxy": "p"}, "'proxy' was unexpected"),
    ({"platform": "nomad", "job": "p"},
     "is not one of ['compose', 'docker', 'host', 'kubernetes', 'port', 'postgres', 'redis', 'toxiproxy']"),
    ({"platform": "toxiproxy"}, "'proxy' is a required property"),
])
def test_the_schema_checks_a_target_by_its_platforms_model(target: dict[str, Any], words: str) -> None:
    assert any(words in message for message in schema_errors(target)), schema_errors(target)


def test_the_short_forms_mean_the_built_in_platforms_in_the_schema_too() -> None:
    schema = yaml.safe_load(installed_schema_text())
    rules = schema["$defs"]["Target"]["allOf"]
    assert {"if": {"properties": {"platform": {"const": "docker"}}, "required": ["platform"]},
            "then": {"$ref": "#/$defs/DockerTarget"}} in rules
    assert rules[-1]["if"] == {"not": {"required": ["platform"]}}


@pytest.mark.parametrize("kind", ["container_kill", "container_stop", "container_pause", "disk_fill"])
def test_a_compose_service_is_a_target_of_every_fault_that_acts_on_a_container(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """validate asks the platform whether it has containers; it does not look for a field named container."""
    lines = problems(tmp_path, "{platform: compose, project: shop, service: checkout}", capsys, kind)
    assert [line for line in lines if "target" in line] == []


def test_a_toxiproxy_fault_on_a_compose_service_is_located_naming_where_it_acts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = problems(tmp_path, "{platform: compose, project: shop, service: checkout}", capsys, "latency")
    assert [line for line in lines if ".target:" in line] == [
        "8:13: faults[0].target: fault kind 'latency' acts on a target on platform toxiproxy; 'web' is on platform compose"]


def test_a_compose_target_names_its_service_and_a_replica_from_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = problems(tmp_path, "{platform: compose, project: shop, index: 0}", capsys)
    assert any("stack.targets.web.service: required field is missing" in line for line in lines), lines
    assert any("stack.targets.web.index: input should be greater than or equal to 1" in line for line in lines), lines
