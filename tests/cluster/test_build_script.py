"""scripts/build-kubernetes.sh with a stand-in ``go``: it skips a cache that answers, and a failed build is one
line naming the step and its log (the real build is what setup.sh runs; it takes 15 minutes)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build-kubernetes.sh"
BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kubectl")

pytestmark = pytest.mark.skipif(not (shutil.which("etcd") or Path("/usr/bin/etcd").exists()),
                                reason="etcd-server is not installed (setup.sh installs it)")


def _executable(path: Path, text: str) -> None:
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(0o755)


def _run(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_a_failed_build_is_one_line_naming_the_step_and_its_log(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    _executable(tmp_path / "bin" / "go",
                '[ "$1 $2" = "env GOVERSION" ] && { echo go1.26.0; exit 0; }\necho "compile: out of memory" >&2\nexit 1\n')

    result = _run(tmp_path)

    assert result.returncode == 1
    cache = tmp_path / "cache" / "gameday" / "kubernetes" / "v1.34.4"
    assert result.stderr.splitlines() == [
        (f"build-kubernetes: step 'go build Kubernetes v1.34.4 ({' '.join(BINARIES)})' failed (exit 1); "
         f"see {cache / 'build-kubernetes.log'}")]
    assert "compile: out of memory" in (cache / "build-kubernetes.log").read_text()
    assert sorted(p.name for p in cache.iterdir()) == ["build-kubernetes.log"], "nothing half-built is left"


def test_a_cache_whose_binaries_answer_with_the_pinned_version_is_not_built_again(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    _executable(tmp_path / "bin" / "go", "echo go was called >&2\nexit 1\n")
    cache = tmp_path / "cache" / "gameday" / "kubernetes" / "v1.34.4"
    cache.mkdir(parents=True)
    for name in BINARIES:
        _executable(cache / name, 'echo "Kubernetes v1.34.4"\n' if name != "kubectl" else
                    '[ "$1" = version ] && echo "Client Version: v1.34.4" || exit 1\n')
    _executable(cache / "kwok", 'echo "kwok version v0.8.0 go1.26.8 (linux/amd64)"\n')
    _executable(cache / "pause", 'echo "gameday-pause v1"\n')

    result = _run(tmp_path)

    assert result.returncode == 0, result.stderr
    assert "already built" in result.stdout
    assert "go was called" not in result.stderr


def test_a_cached_binary_of_another_version_is_built_again(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    _executable(tmp_path / "bin" / "go",
                '[ "$1 $2" = "env GOVERSION" ] && { echo go1.26.0; exit 0; }\necho "build ran" >&2\nexit 1\n')
    cache = tmp_path / "cache" / "gameday" / "kubernetes" / "v1.34.4"
    cache.mkdir(parents=True)
    for name in BINARIES:
        _executable(cache / name, 'echo "Kubernetes v0.0.0-master"\n')

    result = _run(tmp_path)

    assert result.returncode == 1
    assert "build ran" in (cache / "build-kubernetes.log").read_text()
