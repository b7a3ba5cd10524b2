"""Reaching the cluster a stack names, against the real local API server: the context is resolved into the
handle's address, and every way it can go wrong is one line (an EnvironmentProblem or a TargetError)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from lightkube import Client

from gameday.cluster.manager import LocalCluster
from gameday.errors import EnvironmentProblem, FaultError, TargetError
from gameday.kubernetes.client import api_errors, connect
from gameday.kubernetes.objects import cluster_of, get_object, namespace_labels
from gameday.scenario.model import StackSpec
from gameday.testing import free_port

pytestmark = pytest.mark.kubernetes


def stack(**settings: object) -> StackSpec:
    return StackSpec.model_validate({"name": "shop", "platforms": {"kubernetes": settings}})


def test_the_stack_names_the_cluster_and_its_current_context_is_resolved(local_cluster: LocalCluster) -> None:
    cluster = cluster_of(stack(kubeconfig=str(local_cluster.config.kubeconfig)))
    assert cluster.context == "gameday-local"
    assert cluster.address() == {"kubeconfig": str(local_cluster.config.kubeconfig), "context": "gameday-local"}
    assert get_object(cluster.client, "Namespace", "default", "", target="t").metadata.name == "default"


def test_the_kubeconfig_defaults_to_the_kubeconfig_variable(local_cluster: LocalCluster) -> None:
    cluster = cluster_of(stack(), env={"KUBECONFIG": str(local_cluster.config.kubeconfig)})
    assert cluster.kubeconfig == local_cluster.config.kubeconfig


def test_one_client_per_kubeconfig_and_context(local_cluster: LocalCluster) -> None:
    address = {"kubeconfig": str(local_cluster.config.kubeconfig), "context": "gameday-local"}
    assert connect(address) is connect(dict(address))


def test_a_missing_kubeconfig_or_an_unknown_context_is_an_environment_problem(local_cluster: LocalCluster,
                                                                               tmp_path: Path) -> None:
    with pytest.raises(EnvironmentProblem, match=f"no kubeconfig at {tmp_path}/nope"):
        cluster_of(stack(kubeconfig=str(tmp_path / "nope")))
    with pytest.raises(EnvironmentProblem, match="has no context 'prod' \\(it has: gameday-local\\)"):
        cluster_of(stack(kubeconfig=str(local_cluster.config.kubeconfig), context="prod"))
    (tmp_path / "bad").write_text("just: [text")
    with pytest.raises(EnvironmentProblem, match="is not a readable kubeconfig") as caught:
        cluster_of(stack(kubeconfig=str(tmp_path / "bad")))
    assert "\n" not in str(caught.value) and "invalid YAML at line 1, column" in str(caught.value)  # PyYAML's caret


def test_the_yaml_reason_is_one_line_with_its_place() -> None:
    from gameday.kubernetes.client import _why

    try:
        yaml.safe_load("clusters: [\n  - bad: {\n")
    except yaml.YAMLError as exc:
        why = _why(exc)
    assert why.startswith("invalid YAML at line 2, column 3: ") and "\n" not in why


def test_a_cluster_that_does_not_answer_is_an_environment_problem(local_cluster: LocalCluster,
                                                                  tmp_path: Path) -> None:
    config = yaml.safe_load(local_cluster.config.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"
    dead = tmp_path / "dead.yaml"
    dead.write_text(yaml.safe_dump(config))
    client = cluster_of(stack(kubeconfig=str(dead))).client
    with pytest.raises(EnvironmentProblem, match="the Kubernetes API server cannot be reached"):
        namespace_labels(client, "default", target="web")


def test_an_object_that_is_not_there_is_a_target_error(kube: Client, local_cluster: LocalCluster,
                                                       namespace: str) -> None:
    client = cluster_of(stack(kubeconfig=str(local_cluster.config.kubeconfig))).client
    with pytest.raises(TargetError, match=f"Deployment {namespace}/nope: not found") as caught:
        get_object(client, "Deployment", "nope", namespace, target="web")
    assert not isinstance(caught.value, FaultError)
    assert caught.value.target == "web"


def test_a_refusal_of_the_api_is_a_fault_error(local_cluster: LocalCluster) -> None:
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import Namespace

    client = cluster_of(stack(kubeconfig=str(local_cluster.config.kubeconfig))).client
    with pytest.raises(FaultError, match="the API server refused \\(422\\)"), api_errors("web", "create namespace"):
        client.create(Namespace(metadata=ObjectMeta(name="Not_Valid")))
