"""The cluster's pieces that need no Kubernetes binary: pid files, ports, certificates, the CLI's one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gameday.cli.main import main
from gameday.cluster import processes
from gameday.cluster.certs import FILES, KUBELET_FILES, ensure_certs
from gameday.cluster.config import ClusterConfig
from gameday.cluster.manager import PARTS, LocalCluster
from gameday.errors import EnvironmentProblem, GamedayError


def test_a_pid_file_whose_pid_now_belongs_to_another_process_counts_as_dead(tmp_path: Path) -> None:
    pid_file = tmp_path / "x.pid"
    pid_file.write_text(f"{os.getpid()} 1\n")  # our own pid, with a start time that is not ours
    recorded = processes.read_pid_file(pid_file)
    assert recorded is not None and not processes.alive(recorded)


def test_a_started_process_is_alive_until_stopped_and_then_reaped(tmp_path: Path) -> None:
    recorded = processes.start([sys.executable, "-c", "import time; time.sleep(600)"],
                               pid_file=tmp_path / "sleep.pid", log_file=tmp_path / "logs" / "sleep.log")
    assert processes.read_pid_file(tmp_path / "sleep.pid") == recorded
    assert processes.alive(recorded)
    assert processes.stop(recorded, timeout=10)
    assert not processes.alive(recorded)
    assert not Path(f"/proc/{recorded.pid}").exists(), "the exited child was reaped, not left a zombie"


def test_a_process_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    code = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(600)"
    log = tmp_path / "stubborn.log"
    recorded = processes.start([sys.executable, "-c", code], pid_file=tmp_path / "p.pid", log_file=log)
    deadline = 60.0
    import time

    end = time.monotonic() + deadline
    while "ready" not in log.read_text() and time.monotonic() < end:  # the handler is set before SIGTERM
        time.sleep(0.05)
    assert processes.stop(recorded, timeout=0.5)
    assert not processes.alive(recorded)


def test_an_unreadable_pid_file_is_no_process(tmp_path: Path) -> None:
    (tmp_path / "bad.pid").write_text("not a pid")
    assert processes.read_pid_file(tmp_path / "bad.pid") is None
    assert processes.read_pid_file(tmp_path / "missing.pid") is None


def test_ports_move_with_the_environment_and_two_parts_may_not_share_one(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "GAMEDAY_CLUSTER_APISERVER_PORT": "26443"}
    config = ClusterConfig.from_env(env)
    assert config.apiserver_port == 26443
    assert config.apiserver_url == "https://127.0.0.1:26443"
    assert config.state_dir == tmp_path / ".local" / "state" / "gameday" / "cluster"
    with pytest.raises(GamedayError, match="scheduler and apiserver are both 26443"):
        ClusterConfig.from_env({**env, "GAMEDAY_CLUSTER_SCHEDULER_PORT": "26443"})
    with pytest.raises(GamedayError, match="GAMEDAY_CLUSTER_KWOK_PORT='x' is not a port number"):
        ClusterConfig.from_env({**env, "GAMEDAY_CLUSTER_KWOK_PORT": "x"})


def test_a_missing_binary_is_one_line_saying_how_to_build_it(tmp_path: Path) -> None:
    config = ClusterConfig.from_env({"HOME": str(tmp_path), "GAMEDAY_KUBERNETES_BIN": str(tmp_path / "none")})
    with pytest.raises(EnvironmentProblem, match=r"kube-apiserver is not built: .*scripts/build-kubernetes.sh"):
        config.binary("kube-apiserver")


def test_certificates_are_made_once_with_private_keys_for_the_owner_only(tmp_path: Path) -> None:
    ensure_certs(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    for name in FILES:
        if name.endswith(".key"):
            assert (tmp_path / name).stat().st_mode & 0o077 == 0, name
    first = (tmp_path / "ca.crt").read_bytes()
    ensure_certs(tmp_path)
    assert (tmp_path / "ca.crt").read_bytes() == first
    # The serving certificate verifies against the CA for 127.0.0.1 (what every client connects to).
    out = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "ca.crt"), "-verify_ip", "127.0.0.1",
                          str(tmp_path / "apiserver.crt")], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_state_folder_made_before_the_kubelet_pairs_gets_them_signed_by_its_own_ca(tmp_path: Path) -> None:
    ensure_certs(tmp_path)
    for name in KUBELET_FILES:
        (tmp_path / name).unlink()
    ca = (tmp_path / "ca.crt").read_bytes()
    admin = (tmp_path / "admin.crt").read_bytes()

    ensure_certs(tmp_path)

    assert (tmp_path / "ca.crt").read_bytes() == ca and (tmp_path / "admin.crt").read_bytes() == admin
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    serving = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "ca.crt"), "-verify_ip", "127.0.0.1",
                              "-purpose", "sslserver", str(tmp_path / "kubelet.crt")],
                             capture_output=True, text=True, check=False)
    assert serving.returncode == 0, serving.stdout + serving.stderr
    client = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "ca.crt"), "-purpose", "sslclient",
                             str(tmp_path / "apiserver-kubelet-client.crt")], capture_output=True, text=True, check=False)
    assert client.returncode == 0, client.stdout + client.stderr
    assert (tmp_path / "kubelet.key").stat().st_mode & 0o077 == 0


def test_down_and_status_of_a_cluster_never_started_say_so(tmp_path: Path) -> None:
    cluster = LocalCluster(ClusterConfig.from_env({"HOME": str(tmp_path)}))
    assert cluster.down() == []
    status = cluster.status()
    assert [p.state for p in status.parts] == ["stopped"] * len(PARTS)
    assert not status.ready and not status.healthy


def test_a_stale_pid_file_is_reported_dead_and_removed_by_down(tmp_path: Path) -> None:
    cluster = LocalCluster(ClusterConfig.from_env({"HOME": str(tmp_path)}))
    cluster.pid_file("kwok").parent.mkdir(parents=True)
    cluster.pid_file("kwok").write_text(f"{os.getpid()} 1\n")
    assert {p.part: p.state for p in cluster.status().parts}["kwok"] == "dead"
    assert cluster.down() == []
    assert not cluster.pid_file("kwok").exists()


def test_cluster_commands_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GAMEDAY_STATE_DIR", str(tmp_path))
    assert main(["cluster", "down"]) == 0
    assert "nothing was running" in capsys.readouterr().out
    assert main(["cluster", "status"]) == 1
    monkeypatch.setenv("GAMEDAY_KUBERNETES_BIN", str(tmp_path / "none"))
    assert main(["cluster", "up"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not built" in err
