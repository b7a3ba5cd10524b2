"""disk_fill on a real tmpfs on the host and in a real container: it fills, writes fail, revert gives it all back."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gameday.errors import FaultError, GamedayError, TargetError
from gameday.faults.base import FaultHandle
from gameday.faults.disk import FILL_PREFIX, DiskFill, DiskFillArgs, Usage, plan_fill
from gameday.scenario.model import FaultSpec, StackSpec
from gameday.scenario.sizes import parse_size
from tests.helpers import events, first_run_dir, harness_process, stack_file, write_scenario

MiB = 1024 * 1024
LOW_FLOOR = {"floor_bytes": 0, "floor_percent": 0}


def spec(target: str, **args: Any) -> FaultSpec:
    return FaultSpec.model_validate({"kind": "disk_fill", "target": target, "args": args, "duration": "1s"})


def stack(**targets: dict[str, Any]) -> StackSpec:
    return StackSpec.model_validate({"targets": targets})


def roundtrip(handle: FaultHandle) -> FaultHandle:
    return FaultHandle.from_json(json.loads(json.dumps(handle.to_json())))


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


# --- sizes and the plan (pure) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("64MB", 64_000_000), ("64MiB", 64 * MiB), ("1.5GB", 1_500_000_000), ("512kib", 512 * 1024), ("4096", 4096),
     (4096, 4096), ("0", 0), (" 2 GiB ", 2 * 1024**3), ("10B", 10)],
)
def test_sizes_are_read_in_decimal_and_binary_units(text: object, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(("text", "message"), [("64 MBs", "cannot parse size"), ("-1MB", "must not be negative"),
                                               (True, "expected a size"), ("lots", "cannot parse size"), (-5, "negative")])
def test_bad_sizes_are_refused_with_a_readable_message(text: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_size(text)


def test_exactly_one_goal_is_required() -> None:
    with pytest.raises(ValueError, match="exactly one of percent_used, free_left, write"):
        DiskFillArgs.model_validate({"percent_used": 90, "write": "1MB"})
    with pytest.raises(ValueError, match="exactly one of"):
        DiskFillArgs.model_validate({})


FS = Usage(size=1000 * MiB, used=100 * MiB, free=900 * MiB)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"write": "100MiB"}, 100 * MiB),
        ({"free_left": "200MiB"}, 700 * MiB),
        ({"percent_used": 50}, 400 * MiB),
        ({"percent_used": 99, "floor_bytes": "1MiB"}, 890 * MiB),
    ],
)
def test_the_plan_reaches_the_goal_in_whole_blocks(args: dict[str, Any], expected: int) -> None:
    planned = plan_fill(FS, DiskFillArgs.model_validate(args))
    assert planned == expected - expected % 4096


@pytest.mark.parametrize(
    ("usage", "args", "message"),
    [
        (FS, {"free_left": "10MiB"}, "below the safety floor"),  # 64 MB default floor
        (FS, {"percent_used": 99.5}, "below the safety floor"),  # 1% floor of 1000 MiB
        (Usage(size=1000 * MiB, used=950 * MiB, free=50 * MiB), {"write": "1MB"}, "already at or past the safety floor"),
        (FS, {"percent_used": 5}, "needs nothing written"),
        (Usage(size=10 * MiB, used=10 * MiB, free=0), {"write": "1MB", **LOW_FLOOR}, "already at or past"),
    ],
)
def test_the_plan_refuses_to_cross_the_floor(usage: Usage, args: dict[str, Any], message: str) -> None:
    with pytest.raises(FaultError, match=message):
        plan_fill(usage, DiskFillArgs.model_validate(args))


# --- a host filesystem: a 32 MiB tmpfs mounted for the test ----------------------------------------


@pytest.fixture
def small_fs() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = Path("/tmp") / f"gameday-disk-{uuid.uuid4().hex[:8]}"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m,mode=0755", "tmpfs", str(mount)], check=True)
    try:
        (mount / "keep.txt").write_bytes(b"someone else's file\n")
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()


def test_a_host_filesystem_is_filled_to_the_percent_and_revert_deletes_exactly_the_fill_file(small_fs: Path) -> None:
    before_files = sorted(os.listdir(small_fs))
    before_free = free_bytes(small_fs)
    driver = DiskFill()
    handle = driver.prepare(spec("spool", percent_used=90, floor_bytes="1MiB"), stack(spool={"path": str(small_fs)}))
    [fill_file] = handle.data["files"]
    assert Path(fill_file).parent == small_fs and Path(fill_file).name.startswith(FILL_PREFIX)
    driver.inject(handle)
    assert driver.check(handle)
    [during] = driver.observations(handle, "during")
    assert during[0] == "disk.usage"
    assert abs(during[1]["percent_used"] - 90) < 100 * 4096 / during[1]["size_bytes"] + 0.01
    DiskFill().revert(roundtrip(handle))
    assert sorted(os.listdir(small_fs)) == before_files
    assert (small_fs / "keep.txt").read_bytes() == b"someone else's file\n"
    assert free_bytes(small_fs) == before_free  # tmpfs gives back every page
    DiskFill().revert(roundtrip(handle))  # idempotent


def test_filling_to_zero_free_makes_writes_fail_with_enospc_until_revert(small_fs: Path) -> None:
    driver = DiskFill()
    handle = driver.prepare(spec("spool", free_left=0, **LOW_FLOOR), stack(spool={"path": str(small_fs)}))
    driver.inject(handle)
    with pytest.raises(OSError, match="No space left on device"):
        (small_fs / "order.json").write_bytes(b"x" * 65536)
    (small_fs / "order.json").unlink(missing_ok=True)
    driver.revert(handle)
    (small_fs / "order.json").write_bytes(b"x" * 65536)


@pytest.mark.parametrize(
    ("case", "args", "error", "message"),
    [
        ("missing", {"write": "1MB", **LOW_FLOOR}, TargetError, "does not exist"),
        ("file", {"write": "1MB", **LOW_FLOOR}, TargetError, "is not a directory"),
        ("readonly", {"write": "1MB", **LOW_FLOOR}, FaultError, "no permission to write"),
        ("past-floor", {"write": "1MB"}, FaultError, "already at or past the safety floor"),
        ("root-fs", {"write": "1MB"}, FaultError, "refusing to fill it unless the scenario sets allow_root_filesystem"),
        ("args-path", {"write": "1MB", "path": "/x", **LOW_FLOOR}, FaultError, "args.path is for containers only"),
    ],
)
def test_bad_host_input_is_one_line_and_changes_nothing(
    small_fs: Path, case: str, args: dict[str, Any], error: type[GamedayError], message: str
) -> None:
    # root-fs: / itself (/usr, used before, is now refused as a system path before this rule is reached)
    path = {"missing": small_fs / "nope", "file": small_fs / "keep.txt", "root-fs": Path("/")}.get(case, small_fs)
    if case == "readonly":
        subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    before = sorted(os.listdir(small_fs)), free_bytes(small_fs)
    with pytest.raises(error) as info:
        DiskFill().prepare(spec("t", **args), stack(t={"path": str(path)}))
    assert message in str(info.value) and "\n" not in str(info.value)
    assert (sorted(os.listdir(small_fs)), free_bytes(small_fs)) == before


# --- a container: busybox with a 32 MiB tmpfs at /data ----------------------------------------------


@pytest.fixture
def disk_container(docker_client, test_image) -> Iterator[Any]:
    container = docker_client.containers.run(
        test_image, ["sleep", "600"], name=f"issue6-disk-{uuid.uuid4().hex[:8]}", detach=True, network_mode="host",
        tmpfs={"/data": "size=32m"}, labels={"gameday.test": "1", "gameday.allowed": "true"},
    )
    try:
        container.exec_run(["sh", "-c", "echo keep > /data/keep.txt"])
        yield container
    finally:
        container.remove(force=True)


def sh(container: Any, script: str) -> tuple[int, str]:
    code, out = container.exec_run(["sh", "-c", script.replace("stat ", "busybox stat ").replace("ls ", "busybox ls ")])
    return code, out.decode()


def container_free(container: Any) -> int:
    frsize, bavail = sh(container, "stat -f -c '%S %a' /data")[1].split()
    return int(frsize) * int(bavail)


@pytest.mark.docker
def test_a_container_tmpfs_filled_to_zero_refuses_writes_until_revert(disk_container: Any) -> None:
    before = sh(disk_container, "ls -a /data")[1], container_free(disk_container)
    driver = DiskFill()
    handle = driver.prepare(spec("spool", path="/data", free_left=0, **LOW_FLOOR),
                            stack(spool={"container": disk_container.name}))
    driver.inject(handle)
    assert driver.check(handle)
    code, out = sh(disk_container, "echo order > /data/order.json")
    assert code != 0 and "No space left on device" in out
    sh(disk_container, "rm -f /data/order.json")
    DiskFill().revert(roundtrip(handle))
    assert (sh(disk_container, "ls -a /data")[1], container_free(disk_container)) == before
    assert sh(disk_container, "echo order > /data/order.json")[0] == 0


@pytest.mark.docker
@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ({"path": "/data/nope", "write": "1MB", **LOW_FLOOR}, TargetError, "/data/nope does not exist (container"),
        ({"path": "/tmp", "write": "1MB", **LOW_FLOOR}, FaultError, "the container's root filesystem"),
        ({"write": "1MB"}, FaultError, "needs args.path"),
        ({"path": "/data", "write": "1MB"}, FaultError, "already at or past the safety floor"),
    ],
    ids=["path-missing", "container-root-fs", "no-path", "past-floor"],
)
def test_bad_container_input_is_one_line_and_changes_nothing(
    disk_container: Any, args: dict[str, Any], error: type[GamedayError], message: str
) -> None:
    before = sh(disk_container, "ls -a /data /tmp")[1]
    with pytest.raises(error) as info:
        DiskFill().prepare(spec("c", **args), stack(c={"container": disk_container.name}))
    assert message in str(info.value) and "\n" not in str(info.value)
    assert sh(disk_container, "ls -a /data /tmp")[1] == before


@pytest.mark.docker
def test_a_bind_mount_from_the_hosts_root_filesystem_is_refused(docker_client, test_image, tmp_path: Path) -> None:
    if os.stat(tmp_path).st_dev != os.stat("/").st_dev:
        pytest.skip("the test's temp folder is not on the root filesystem here")
    container = docker_client.containers.run(
        test_image, ["sleep", "600"], name=f"issue6-bind-{uuid.uuid4().hex[:8]}", detach=True, network_mode="host",
        volumes={str(tmp_path): {"bind": "/mnt/host", "mode": "rw"}}, labels={"gameday.test": "1"},
    )
    (tmp_path / "sub").mkdir()
    try:
        with pytest.raises(FaultError, match=f"/mnt/host/sub is a bind mount of {tmp_path}, on the host's root filesystem"):
            DiskFill().prepare(spec("c", path="/mnt/host/sub", write="1MB", **LOW_FLOOR),
                               stack(c={"container": container.name}))
        assert sorted(os.listdir(tmp_path / "sub")) == []
    finally:
        container.remove(force=True)


# --- through the harness ---------------------------------------------------------------------------


def gameday(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gameday", *args], check=False, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def disk_scenario(tmp_path: Path, target: dict[str, Any], args: dict[str, Any], duration: str) -> Path:
    return write_scenario(
        tmp_path / "disk.yaml", version=1, name="disk-full",
        # A container opts in by its label, inline; only a stack file approves a host path.
        stack=stack_file(tmp_path, "disk", {"targets": {"spool": target}}, {"host": [target["path"]]})
        if "path" in target else {"targets": {"spool": target}},
        faults=[{"kind": "disk_fill", "target": "spool", "duration": duration, "args": args}],
        expect={"recovers_within": "5s"},
    )


def test_a_run_records_usage_before_during_after_and_the_report_shows_it(tmp_path: Path, small_fs: Path) -> None:
    scenario = disk_scenario(tmp_path, {"path": str(small_fs)}, {"percent_used": 75, "floor_bytes": "1MiB"}, "1s")
    out = gameday("run", str(scenario), "--reports", str(tmp_path / "reports"), cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    run_dir = first_run_dir(tmp_path / "reports")
    usage = {e["details"]["phase"]: e["details"] for e in events(run_dir) if e["kind"] == "disk.usage"}
    assert set(usage) == {"before", "during", "after"}
    assert usage["before"]["percent_used"] < 1 and abs(usage["during"]["percent_used"] - 75) < 0.1
    assert usage["after"]["free_bytes"] == usage["before"]["free_bytes"]
    report = (run_dir / "report.md").read_text()
    assert "## Disk" in report
    assert f"`{small_fs}` on host" in report
    assert "| during |" in report and "75.0%" in report and "| after |" in report
    assert sorted(os.listdir(small_fs)) == ["keep.txt"]


@pytest.mark.docker
def test_sigkill_mid_fill_then_cleanup_deletes_the_fill_file_and_gives_the_space_back(
    tmp_path: Path, disk_container: Any
) -> None:
    before = sh(disk_container, "ls -a /data")[1], container_free(disk_container)
    scenario = disk_scenario(tmp_path, {"container": disk_container.name},
                             {"path": "/data", "free_left": 0, **LOW_FLOOR}, "60s")
    reports = tmp_path / "reports"
    proc = harness_process("run", str(scenario), "--reports", str(reports), cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run_dirs = list(reports.glob("*/timeline.jsonl"))
            if run_dirs and any(e["kind"] == "disk.usage" and e["details"]["phase"] == "during"
                                for e in events(run_dirs[0].parent)):
                break
            time.sleep(0.05)
        run_dir = first_run_dir(reports)
        for event in events(run_dir):  # the watchdog too: only `gameday cleanup` is left to revert
            if event["kind"] == "watchdog.started":
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(event["details"]["pid"]), signal.SIGKILL)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)
    assert sh(disk_container, "echo order > /data/order.json")[0] != 0  # still full after the crash
    sh(disk_container, "rm -f /data/order.json")  # the shell made it (empty) before the write failed
    out = gameday("cleanup", "--reports", str(reports), cwd=tmp_path)
    assert out.returncode == 0 and "reverted" in out.stdout, out.stdout + out.stderr
    assert (sh(disk_container, "ls -a /data")[1], container_free(disk_container)) == before
    rendered = gameday("report", str(run_dir), cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr[-1000:]
    assert "No after measurement" in (run_dir / "report.md").read_text()
