"""The local cluster's real node (``gameday cluster up --real-node``): containers really run and really die.

    <state>/cluster/node/
      containerd.toml, kubelet.yaml, cni/   the configuration written at ``up``
      containerd/{root,state,runc}          containerd's own instance (never Docker's)
      containerd.sock                       its socket (the kubelet's runtime endpoint)
      kubelet/                              the kubelet's root folder (pods' volumes)

Debian's containerd with its CRI plugin and runc; the kubelet built with the control plane; a pause image
made here from tools/pause (no registry). Pods use ``hostNetwork`` and listen on 127.0.0.1, so no network
is made: a loopback-only CNI configuration only lets the runtime report itself ready. The node is tainted
``gameday.dev/real-node=true:NoSchedule``, so only pods that tolerate it run here (kwok's nodes take the rest).
What this machine needed is in docs/kubernetes.md ("A real node").
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from string import Template

from gameday.cluster.config import HOST, ClusterConfig
from gameday.cluster.images import oci_archive
from gameday.errors import EnvironmentProblem

NODE_NAME = "gameday-node-0"
NODE_TAINT = "gameday.dev/real-node"
NODE_LABEL = ("gameday.dev/node", "real")
"""The real node's label (key, value): a pod's nodeSelector names it, so the pod never lands on a kwok node."""
PAUSE_IMAGE = "gameday.local/pause:1"
CRI_NAMESPACE = "k8s.io"
"""containerd's namespace for the kubelet's containers (and for images the kubelet may use)."""
RUNTIME_ANNOTATION = "gameday.dev/containerd-socket"
"""The node's annotation naming its containerd socket, set by ``up``: faults that act through the runtime
(``container_kill``) find it there, and refuse a node without it (one gameday does not run)."""
CNI_BIN = Path("/usr/lib/cni")
CGROUP_FS = Path("/sys/fs/cgroup")
SOCKET_PATH_MAX = 100
"""A unix socket path longer than ~107 bytes cannot be bound; leave room for ``.ttrpc``."""

Log = Callable[[str], None]


class RealNode:
    """Files, commands and clean-up of the real node of the cluster whose state folder is ``config.state_dir``."""

    def __init__(self, config: ClusterConfig, certs: Path, *, log: Log = lambda _: None) -> None:
        self.config = config
        self.certs = certs
        self.dir = config.state_dir / "node"
        self._log = log

    @property
    def socket(self) -> Path:
        return self.dir / "containerd.sock"

    def check_host(self) -> None:
        """What the node needs from this machine, each missing piece one line saying how to get it."""
        for tool in ("containerd", "ctr", "runc"):
            if shutil.which(tool) is None:
                raise EnvironmentProblem(f"the real node needs {tool}: apt-get install containerd runc "
                                         "(setup.sh does)")
        if not (CNI_BIN / "loopback").is_file():
            raise EnvironmentProblem(f"the real node needs the CNI loopback plugin ({CNI_BIN / 'loopback'}): "
                                     "apt-get install containernetworking-plugins (setup.sh does)")
        if os.geteuid() != 0:
            raise EnvironmentProblem("the real node runs containerd and the kubelet, which need root")
        if len(str(self.socket)) > SOCKET_PATH_MAX:
            raise EnvironmentProblem(f"the state folder's path is too long for containerd's socket ({self.socket}); "
                                     "set GAMEDAY_STATE_DIR to a shorter folder")

    @property
    def cgroup_root(self) -> str:
        """This node's own cgroup parent (the kubelet's ``cgroupRoot``), named after its folder. With the default
        (``/``) every real node on the machine shares ``/kubepods``, and each kubelet takes the others' pod cgroups
        for orphans of its own and kills their processes: two clusters (two test sessions) broke each other's
        pods ("cgroup deleted", "cannot start a stopped process")."""
        return "/gameday-" + hashlib.sha256(str(self.dir.resolve()).encode()).hexdigest()[:10]

    def _cgroup_dirs(self) -> list[Path]:
        name = self.cgroup_root.lstrip("/")
        if (CGROUP_FS / "cgroup.controllers").exists():  # cgroup v2 only: one hierarchy
            return [CGROUP_FS / name]
        return [h / name for h in sorted(CGROUP_FS.iterdir()) if h.name != "unified" and (h / "cgroup.procs").exists()]

    def make_cgroups(self) -> None:
        """Create the node's cgroup parent in every hierarchy (the kubelet refuses a ``cgroupRoot`` that is missing)."""
        for folder in self._cgroup_dirs():
            try:
                folder.mkdir(exist_ok=True)
                if folder.parent.name == "cpuset":  # a cpuset cgroup takes no task until it has cpus and mems
                    for key in ("cpuset.cpus", "cpuset.mems"):
                        if not (folder / key).read_text().strip():
                            (folder / key).write_text((folder.parent / key).read_text())
            except OSError as exc:
                raise EnvironmentProblem(f"cannot make the real node's cgroup {folder}: {exc.strerror or exc}") from exc

    def remove_cgroups(self) -> list[Path]:
        """Remove the node's cgroups (empty once its containers are gone), deepest first; the ones left."""
        left = []
        for folder in self._cgroup_dirs():
            if not folder.is_dir():
                continue
            for path, _, _ in os.walk(folder, topdown=False):
                try:
                    os.rmdir(path)
                except OSError:
                    left.append(Path(path))
        return left

    def write_files(self) -> None:
        for folder in ("cni", "containerd/root", "containerd/state", "containerd/runc", "kubelet"):
            (self.dir / folder).mkdir(parents=True, exist_ok=True)
        (self.dir / "containerd").chmod(0o700)
        files = resources.files("gameday.cluster") / "files"
        (self.dir / "cni" / "10-gameday-loopback.conflist").write_text(
            (files / "cni-loopback.conflist").read_text("utf-8"), encoding="utf-8")
        containerd = Template((files / "containerd.toml").read_text("utf-8")).substitute(
            root=self.dir / "containerd" / "root", state=self.dir / "containerd" / "state", socket=self.socket,
            runc_root=self.dir / "containerd" / "runc", pause_image=PAUSE_IMAGE,
            stream_port=self.config.containerd_stream_port, cni_bin=CNI_BIN, cni_conf=self.dir / "cni")
        (self.dir / "containerd.toml").write_text(containerd, encoding="utf-8")
        kubelet = Template((files / "kubelet.yaml").read_text("utf-8")).substitute(
            port=self.config.kubelet_port, healthz_port=self.config.kubelet_healthz_port, socket=self.socket,
            ca=self.certs / "ca.crt", taint=NODE_TAINT, cgroup_root=self.cgroup_root,
            tls_cert=self.certs / "kubelet.crt", tls_key=self.certs / "kubelet.key")
        (self.dir / "kubelet.yaml").write_text(kubelet, encoding="utf-8")

    def args(self, part: str) -> list[str]:
        if part == "containerd":
            return [f"--config={self.dir / 'containerd.toml'}"]
        # --node-ip=127.0.0.1 is refused as loopback, and that is what keeps the kubelet from writing any address:
        # `up` then sets the node's InternalIP to 127.0.0.1 itself (LocalAPI.set_node_address says why).
        return [f"--config={self.dir / 'kubelet.yaml'}", f"--kubeconfig={self.config.kubeconfig}",
                f"--hostname-override={NODE_NAME}", f"--node-ip={HOST}", f"--root-dir={self.dir / 'kubelet'}",
                f"--cert-dir={self.dir / 'kubelet' / 'pki'}", f"--node-labels={NODE_LABEL[0]}={NODE_LABEL[1]}"]

    # --- containerd ---------------------------------------------------------------------------------

    def ctr(self, *argv: str, stdin: bytes | None = None, timeout: float = 60.0) -> subprocess.CompletedProcess[bytes]:
        """``ctr`` against this node's containerd, in the kubelet's namespace; never Docker's."""
        try:
            return subprocess.run(["ctr", "--address", str(self.socket), "--namespace", CRI_NAMESPACE, *argv],
                                  input=stdin, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise EnvironmentProblem(f"ctr {' '.join(argv[:2])} did not finish in {timeout:g} s") from exc

    def containerd_ready(self) -> bool:
        return self.socket.exists() and self.ctr("version", timeout=10).returncode == 0

    def images(self) -> set[str]:
        result = self.ctr("images", "list", "--quiet")
        return set(result.stdout.decode(errors="replace").split()) if result.returncode == 0 else set()

    def import_image(self, archive: bytes, name: str) -> None:
        result = self.ctr("images", "import", "-", stdin=archive, timeout=300)
        if result.returncode != 0 or name not in self.images():
            detail = result.stderr.decode(errors="replace").strip().splitlines()
            raise EnvironmentProblem(f"could not import image {name} into the real node's containerd"
                                     + (f": {detail[-1][:200]}" if detail else ""))

    def import_stream(self, chunks: Iterable[bytes], name: str, *, timeout: float = 1800.0) -> int:
        """Import an image archive (OCI, or ``docker save``'s format) read from ``chunks`` as they come, so an
        800 MB image is never held in memory; the bytes read. EnvironmentProblem unless ``name`` is there after."""
        with tempfile.TemporaryFile() as out:
            argv = ["ctr", "--address", str(self.socket), "--namespace", CRI_NAMESPACE, "images", "import", "-"]
            # Its output goes to a file: a pipe nobody reads while we write could fill and stall both sides.
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)
            assert proc.stdin is not None
            size = 0
            try:
                for chunk in chunks:
                    proc.stdin.write(chunk)
                    size += len(chunk)
                proc.stdin.close()
                code = proc.wait(timeout=timeout)
            except BrokenPipeError:
                code = proc.wait(timeout=timeout)  # ctr stopped reading: its output says why
            except subprocess.TimeoutExpired as exc:
                proc.kill()
                proc.wait()
                raise EnvironmentProblem(f"ctr images import of {name} did not finish in {timeout:g} s") from exc
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            out.seek(0)
            detail = out.read().decode(errors="replace").strip().splitlines()
        if code != 0 or name not in self.images():
            raise EnvironmentProblem(f"could not import image {name} into the real node's containerd"
                                     + (f": {detail[-1][:200]}" if detail else f" (ctr exited {code})"))
        return size

    def image_labels(self) -> dict[str, dict[str, str]]:
        """Every image of the node's containerd (kubelet's namespace) with its labels: name -> {key: value}."""
        result = self.ctr("images", "list")
        found: dict[str, dict[str, str]] = {}
        for line in result.stdout.decode(errors="replace").splitlines()[1:] if result.returncode == 0 else []:
            words = line.split()
            if not words:
                continue
            # REF TYPE DIGEST SIZE PLATFORMS LABELS: labels come last, "-" or k=v,k=v (no spaces in ours).
            labels = words[-1] if "=" in words[-1] else ""
            found[words[0]] = dict(item.split("=", 1) for item in labels.split(",") if "=" in item)
        return found

    def label_image(self, name: str, key: str, value: str) -> None:
        result = self.ctr("images", "label", name, f"{key}={value}")
        if result.returncode != 0:
            raise EnvironmentProblem(f"could not label image {name} in the real node's containerd: "
                                     f"{result.stderr.decode(errors='replace').strip()[:200]}")

    def ensure_pause_image(self) -> None:
        if PAUSE_IMAGE in self.images():
            return
        pause = self.config.binary("pause")
        self._log(f"importing the pause image {PAUSE_IMAGE} (built from tools/pause)")
        self.import_image(oci_archive(PAUSE_IMAGE, {"/pause": (pause.read_bytes(), 0o755)}, entrypoint=["/pause"]),
                          PAUSE_IMAGE)

    # --- down ------------------------------------------------------------------------------------

    def stop_containers(self, *, timeout: float = 30.0) -> int:
        """Kill and delete every container task of the node (the kubelet, stopped first, leaves them running);
        how many there were. Each task's shim exits once its task is deleted."""
        if not self.containerd_ready():
            return 0
        listed = self.ctr("tasks", "list", "--quiet")
        tasks = listed.stdout.decode(errors="replace").split() if listed.returncode == 0 else []
        for task in tasks:
            self.ctr("tasks", "kill", "--signal", "SIGKILL", task)
        deadline = time.monotonic() + timeout
        left = list(tasks)
        while left and time.monotonic() < deadline:
            left = [t for t in left if self.ctr("tasks", "delete", "--force", t).returncode != 0
                    and self._task_exists(t)]
            if left:
                time.sleep(0.2)
        if left:
            raise EnvironmentProblem(f"containers of the real node did not stop: {', '.join(left[:5])}")
        return len(tasks)

    def _task_exists(self, task: str) -> bool:
        listed = self.ctr("tasks", "list", "--quiet")
        return task in listed.stdout.decode(errors="replace").split()

    def unmount(self) -> list[str]:
        """Unmount what is left mounted below the node's folder (pods' volumes, a container's root file
        system after a crash), deepest first; the mount points unmounted."""
        base = str(self.dir.resolve()) + "/"
        points = sorted((p for p in _mount_points() if p.startswith(base)), key=len, reverse=True)
        for point in points:
            subprocess.run(["umount", "--lazy", point], capture_output=True, timeout=30, check=False)
        return points


def _mount_points() -> list[str]:
    try:
        lines = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    # Field 5 is the mount point, with spaces and the like written as octal escapes.
    return [line.split()[4].encode().decode("unicode_escape") for line in lines if len(line.split()) > 4]
