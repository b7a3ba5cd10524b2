"""The Kubernetes platform's target and settings models: validate reports a wrong field at its line, the
JSON Schema includes them, and the allowlist names a target as <namespace>/<name>."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from gameday.cli.main import main
from gameday.kubernetes.platform import (
    KubernetesPlatform,
    KubernetesSettings,
    KubernetesTarget,
    kubeconfig_path,
)
from gameday.platforms.registry import installed_platforms
from gameday.scenario.schema import installed_schema_text, installed_stack_schema_text

STACK = """\
version: 1
name: shop
platform: kubernetes
platforms:
  kubernetes: {kubeconfig: kube.yaml, context: staging}
targets:
  web: {platform: kubernetes, namespace: shop, kind: Deployment, name: web, container: app}
  pods: {platform: kubernetes, namespace: shop, kind: Pod, match_labels: {app: web}}
  nodes: {platform: kubernetes, kind: Node, match_labels: {pool: batch}}
allow:
  kubernetes: [shop/web]
"""


def validate(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "stacks" / "shop.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    code = main(["validate", "-q", str(path)])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out + out.err


def test_the_kubernetes_platform_is_installed_through_its_entry_point() -> None:
    platform = installed_platforms().get("kubernetes")
    assert isinstance(platform, KubernetesPlatform)
    assert platform.target_model is KubernetesTarget


def test_a_stack_file_with_kubernetes_targets_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = validate(tmp_path, STACK, capsys)
    assert code == 0, out


@pytest.mark.parametrize(("line", "expected"), [
    ("  web: {platform: kubernetes, namespace: Shop_1, kind: Deployment, name: web}",
     ":7:42: targets.web.namespace: 'Shop_1' is not a Kubernetes name: lowercase letters"),
    ("  web: {platform: kubernetes, namespace: shop, kind: Deploymnt, name: web}",
     (":7:54: targets.web.kind: must be one of 'Deployment', 'StatefulSet', 'DaemonSet', 'Pod', 'Node' or "
     "'Secret', got 'Deploymnt'")),
    ("  web: {platform: kubernetes, namespace: shop, kind: Deployment}",
     ":7:3: targets.web: a kubernetes target has exactly one of name or match_labels"),
    ("  web: {platform: kubernetes, kind: Deployment, name: web, match_labels: {app: web}}",
     ":7:3: targets.web: a kubernetes target has exactly one of name or match_labels"),
    ("  web: {platform: kubernetes, kind: Deployment, name: web, selector: app=web}",
     ":7:70: targets.web.selector: unknown key"),
    ("  web: {platform: kubernetes, kind: Secret, name: creds, container: app}",
     ":7:3: targets.web: container: a Secret has no containers"),
])
def test_validate_reports_a_wrong_kubernetes_target_field_at_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, expected: str) -> None:
    text = STACK.replace(STACK.splitlines()[6], line)
    code, out = validate(tmp_path, text, capsys)
    assert code == 1
    assert expected in out, out


def test_validate_reports_a_wrong_kubernetes_setting_at_its_line(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    text = STACK.replace("{kubeconfig: kube.yaml, context: staging}",
                         "{kubeconfg: kube.yaml, production_contexts: prod}")
    code, out = validate(tmp_path, text, capsys)
    assert code == 1
    assert ":5:27: platforms.kubernetes.kubeconfg: unknown key" in out, out
    assert ":5:59: platforms.kubernetes.production_contexts: input should be a valid list" in out, out


def test_the_json_schemas_include_kubernetes_targets() -> None:
    for text in (installed_schema_text(), installed_stack_schema_text()):
        schema = json.loads(text)
        found = [d for d in schema["$defs"].values()
                 if isinstance(d, dict) and "match_labels" in d.get("properties", {})]
        assert found, "no kubernetes target in the schema"
        assert found[0]["properties"]["platform"].get("const") == "kubernetes" or \
            found[0]["properties"]["platform"].get("enum") == ["kubernetes"]


def test_a_target_is_allowlisted_as_namespace_slash_name_and_a_node_by_its_name() -> None:
    platform = KubernetesPlatform()
    assert platform.allow_name(KubernetesTarget(namespace="shop", kind="Deployment", name="web")) == "shop/web"
    assert platform.allow_name(KubernetesTarget(kind="Node", name="kwok-node-0")) == "kwok-node-0"
    assert platform.allow_name(KubernetesTarget(kind="Pod", match_labels={"app": "web"})) is None
    assert KubernetesTarget(kind="Pod", match_labels={"app": "web"}).selector == "Pod default/app=web"


def test_the_kubeconfig_is_relative_to_the_stack_file_else_kubeconfig_else_home(tmp_path: Path) -> None:
    stack_file = str(tmp_path / "stacks" / "shop.yaml")
    relative = KubernetesSettings(kubeconfig="kube.yaml")
    assert kubeconfig_path(relative, stack_file=stack_file, env={}) == tmp_path / "stacks" / "kube.yaml"
    unset = KubernetesSettings()
    env = {"KUBECONFIG": f"{tmp_path}/a:{tmp_path}/b", "HOME": "/home/x"}
    assert kubeconfig_path(unset, stack_file=stack_file, env=env) == tmp_path / "a"
    assert kubeconfig_path(unset, stack_file=stack_file, env={"HOME": "/home/x"}) == Path("/home/x/.kube/config")


def test_settings_refuse_unknown_keys() -> None:
    with pytest.raises(ValidationError):
        KubernetesSettings.model_validate({"kubeconfig": "x", "namespace": "shop"})


def test_validating_a_kubernetes_stack_does_not_import_the_kubernetes_client(tmp_path: Path) -> None:
    """The target and settings models are plain pydantic: validate and schema stay as fast as before."""
    import subprocess
    import sys

    path = tmp_path / "stacks" / "shop.yaml"
    path.parent.mkdir()
    path.write_text(STACK)
    code = ("import sys; from gameday.cli.main import main; code = main(['validate', '-q', sys.argv[1]]); "
            "print(code, 'lightkube' in sys.modules, 'httpx2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.stdout.split()[-3:] == ["0", "False", "False"], out.stdout + out.stderr
