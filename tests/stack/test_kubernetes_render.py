"""The demo stack rendered for Kubernetes (gameday.stack.kubernetes): what each object says, without a cluster."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from gameday.cluster.node import NODE_TAINT
from gameday.kubernetes.platform import KubernetesTarget
from gameday.stack.config import StackConfig
from gameday.stack.kubernetes import (
    TOXIPROXY_CONFIG,
    namespace,
    pgdata_dir,
    stack_objects,
)
from gameday.stack.kubernetes_stack import object_path
from gameday.stack.parts import SECRETS_IN_CONTAINER, SPOOL, part_names, parts, proxies
from gameday.stack.state import config_texts

ENV_TEXT = "GAMEDAY_DEMO_PG_ADMIN_PASSWORD=s3cr3t-value-never-elsewhere\n"


@pytest.fixture
def config(tmp_path: Path) -> StackConfig:
    return replace(StackConfig(), stack="rendertest", state_dir=tmp_path / "state", checkout_port=28081)


@pytest.fixture
def objects(config: StackConfig) -> dict[str, dict]:
    rendered = stack_objects(config, env_text=ENV_TEXT, secrets_fingerprint="abc")
    return {f"{o['kind']}/{o['metadata']['name']}": o for o in rendered}


def pod_spec(objects: dict[str, dict], key: str) -> dict:
    return objects[key]["spec"]["template"]["spec"]


def test_each_part_is_one_workload_postgres_a_statefulset_the_rest_deployments_that_recreate(objects) -> None:
    workloads = {k for k in objects if k.split("/")[0] in ("Deployment", "StatefulSet")}
    assert workloads == {"StatefulSet/postgres"} | {f"Deployment/{n}" for n in part_names() if n != "postgres"}
    for key in workloads - {"StatefulSet/postgres"}:
        assert objects[key]["spec"]["strategy"] == {"type": "Recreate"}, key
    assert list(objects)[:2] == ["Namespace/gameday-rendertest", "Secret/stack-env"], "namespace and secret first"


def test_every_pod_runs_on_the_real_node_on_the_host_network_and_is_labelled_for_gameday(config, objects) -> None:
    for name in part_names():
        key = f"{'StatefulSet' if name == 'postgres' else 'Deployment'}/{name}"
        workload = objects[key]
        template = workload["spec"]["template"]
        spec = template["spec"]
        assert spec["hostNetwork"] is True
        assert spec["nodeSelector"] == {"gameday.dev/node": "real"}
        assert spec["tolerations"] == [{"key": NODE_TAINT, "operator": "Exists", "effect": "NoSchedule"}]
        for labels in (workload["metadata"]["labels"], template["metadata"]["labels"]):
            assert labels["gameday.allowed"] == "true" and labels["gameday.stack"] == "rendertest"
            assert labels["gameday.part"] == name
        assert workload["metadata"]["namespace"] == namespace(config) == "gameday-rendertest"
        container = spec["containers"][0]
        assert container["name"] == name and container["imagePullPolicy"] == "Never"


def test_commands_are_dockers_behind_a_wait_for_the_port_and_toxiproxy_starts_with_its_proxies(config, objects) -> None:
    by_name = {p.name: p for p in parts(config)}
    for key, obj in objects.items():
        if key.split("/")[0] not in ("Deployment", "StatefulSet"):
            continue
        part = by_name[obj["metadata"]["name"]]
        command = obj["spec"]["template"]["spec"]["containers"][0]["command"]
        assert command[:2] == ["python3", "-c"] and command[3] == str(part.port)
        extra = ["-config", TOXIPROXY_CONFIG] if part.name == "toxiproxy" else []
        assert command[4:] == part.command + extra
    toxiproxy = objects["ConfigMap/toxiproxy-config"]["data"]
    assert json.loads(toxiproxy["proxies.json"]) == proxies(config)


def test_rendered_configs_are_the_same_texts_docker_copies_in(config, objects) -> None:
    texts = config_texts(config)
    assert objects["ConfigMap/prometheus-config"]["data"] == {"prometheus.yml": texts["prometheus"]}
    assert objects["ConfigMap/alertmanager-config"]["data"] == {"alertmanager.yml": texts["alertmanager"]}
    mounts = pod_spec(objects, "Deployment/prometheus")["containers"][0]["volumeMounts"]
    assert {"name": "config", "mountPath": "/etc/gameday/prometheus/prometheus.yml", "subPath": "prometheus.yml",
            "readOnly": True} in mounts


def test_shipped_files_are_read_only_host_paths_and_tmpfs_is_memory_of_the_same_size(config, objects) -> None:
    spec = pod_spec(objects, "Deployment/checkout")
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in spec["containers"][0]["volumeMounts"]}
    files = volumes[mounts["/opt/checkout"]["name"]]
    assert files["hostPath"]["path"].endswith("/stack/files/checkout") and mounts["/opt/checkout"]["readOnly"]
    assert volumes[mounts[SPOOL]["name"]]["emptyDir"] == {"medium": "Memory", "sizeLimit": "64Mi"}


def test_checkout_asks_its_zone_server_as_on_docker_and_the_other_pods_the_nodes_resolver(config, objects) -> None:
    checkout = pod_spec(objects, "Deployment/checkout")
    assert checkout["dnsPolicy"] == "None"
    assert config.dns_address == "127.0.39.170"  # checkout's port moved to 28081: the stack's own zone server
    assert checkout["dnsConfig"] == {"nameservers": [config.dns_address],
                                     "options": [{"name": "timeout", "value": "2"}, {"name": "attempts", "value": "1"}]}
    assert pod_spec(objects, "Deployment/redis")["dnsPolicy"] == "Default"
    assert "dnsConfig" not in pod_spec(objects, "Deployment/redis")


def test_postgres_keeps_its_data_on_the_node_under_the_stacks_state_folder(config, objects) -> None:
    spec = pod_spec(objects, "StatefulSet/postgres")
    data = next(v for v in spec["volumes"] if v["name"] == "data")
    assert data["hostPath"] == {"path": str(pgdata_dir(config)), "type": "DirectoryOrCreate"}
    assert pgdata_dir(config).is_relative_to(config.state_dir)
    assert spec["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][-1] == "kill -INT 1"


def test_the_secret_holds_the_env_file_and_no_other_object_carries_a_password(objects) -> None:
    secret = objects["Secret/stack-env"]
    assert secret["stringData"] == {"stack.env": ENV_TEXT}
    others = json.dumps([o for k, o in objects.items() if k != "Secret/stack-env"])
    assert "s3cr3t-value-never-elsewhere" not in others
    spec = pod_spec(objects, "StatefulSet/postgres")
    volume = next(v for v in spec["volumes"] if v["name"] == "secrets")
    assert volume["secret"]["defaultMode"] == 0o600
    mount = next(m for m in spec["containers"][0]["volumeMounts"] if m["name"] == "secrets")
    assert f"{mount['mountPath']}/{volume['secret']['items'][0]['path']}" == SECRETS_IN_CONTAINER
    assert not any(v["name"] == "secrets" for v in pod_spec(objects, "Deployment/prometheus")["volumes"])


def test_readiness_probes_are_dockers_health_checks(config, objects) -> None:
    by_name = {p.name: p for p in parts(config)}
    checkout = pod_spec(objects, "Deployment/checkout")["containers"][0]["readinessProbe"]
    assert checkout["httpGet"] == {"host": "127.0.0.1", "port": 28081, "path": "/health"}
    redis = pod_spec(objects, "Deployment/redis")["containers"][0]["readinessProbe"]
    assert redis["exec"]["command"] == ["/bin/sh", "-c", by_name["redis"].health]


def test_a_changed_password_or_config_changes_the_pod_template_so_the_pod_rolls(config) -> None:
    def template(cfg: StackConfig, fingerprint: str) -> dict:
        rendered = stack_objects(cfg, env_text=ENV_TEXT, secrets_fingerprint=fingerprint)
        return next(o for o in rendered if o["metadata"]["name"] == "prometheus" and o["kind"] == "Deployment")

    assert template(config, "a") == template(config, "a")
    assert template(config, "a") != template(config, "b")
    assert template(config, "a") != template(replace(config, alertmanager_port=29999), "a")


def test_every_object_has_an_api_path() -> None:
    rendered = stack_objects(StackConfig(), env_text="", secrets_fingerprint="")
    paths = [object_path(o) for o in rendered]
    assert paths[0] == "/api/v1/namespaces/gameday-demo"
    assert "/apis/apps/v1/namespaces/gameday-demo/statefulsets/postgres" in paths
    assert "/api/v1/namespaces/gameday-demo/secrets/stack-env" in paths


def test_the_shipped_kubernetes_stack_file_is_the_one_written_for_the_default_configuration(tmp_path: Path) -> None:
    from gameday.cluster.config import ClusterConfig
    from gameday.stack.stackfile import kubernetes_stack_file

    environ = {"HOME": str(tmp_path)}
    shipped = (Path(__file__).parents[2] / "stacks" / "demo-kubernetes.yaml").read_text(encoding="utf-8")
    assert shipped == kubernetes_stack_file(StackConfig.from_env(environ), ClusterConfig.from_env(environ).kubeconfig,
                                            environ), (
        "stacks/demo-kubernetes.yaml is stale: run `gameday stack file --platform kubernetes -o "
        "stacks/demo-kubernetes.yaml` with no GAMEDAY_DEMO_* or GAMEDAY_STATE_DIR set")
    assert 'kubeconfig: "~/.local/state/gameday/cluster/kubeconfig"' in shipped


def test_the_kubernetes_stack_files_targets_are_the_stacks_workloads_and_validate(tmp_path: Path) -> None:
    from gameday.scenario.stackfile import load_stack_file
    from gameday.stack.stackfile import kubernetes_stack_file

    config = replace(StackConfig(), stack="other")
    path = tmp_path / "stacks" / "demo-kubernetes.yaml"
    path.parent.mkdir()
    path.write_text(kubernetes_stack_file(config, tmp_path / "kubeconfig", {"HOME": "/nowhere"}))
    stack = load_stack_file(path)
    postgres, checkout = stack.targets["postgres"], stack.targets["checkout"]
    assert isinstance(postgres, KubernetesTarget) and isinstance(checkout, KubernetesTarget)
    assert (postgres.namespace, postgres.kind, postgres.name) == ("gameday-other", "StatefulSet", "postgres")
    assert checkout.kind == "Deployment"
    assert stack.allow is not None and stack.allow["kubernetes"] == [
        "gameday-other/checkout", "gameday-other/postgres", "gameday-other/redis"]
    assert stack.platforms["kubernetes"] == {"kubeconfig": str(tmp_path / "kubeconfig")}


def test_without_a_local_cluster_up_says_how_to_start_one_and_status_and_down_do_no_harm(config, tmp_path) -> None:
    from gameday.cluster.config import ClusterConfig
    from gameday.cluster.manager import LocalCluster
    from gameday.errors import EnvironmentProblem
    from gameday.stack.kubernetes_stack import KubernetesStack

    prepared: list[bool] = []
    stack = KubernetesStack(config, LocalCluster(replace(ClusterConfig(), state_dir=tmp_path / "cluster")),
                            prepare=lambda: prepared.append(True))
    with pytest.raises(EnvironmentProblem, match=r"no local cluster in .*: gameday cluster up --real-node"):
        stack.up(timeout=5)
    assert prepared == [], "no image is copied for a cluster that is not there"
    statuses = stack.status()
    assert [s.state for s in statuses] == ["missing"] * len(part_names())
    assert "gameday cluster up --real-node" in statuses[0].detail
    assert stack.down() == []
