"""The demo stack's images, built here from Debian packages because no registry is reachable.

    gameday/demo-base:<version>        debootstrap --variant=minbase bookworm + the packages below,
                                       imported with the Docker API (what ``docker import`` does)
    gameday/demo-toxiproxy:<version>-<base version>
                                       the base plus a toxiproxy-server built with ``go install``

Both are cached by tag: a build runs only when the tag is missing. The base version is a hash of
the recipe, so changing the package list makes a new tag instead of reusing a stale image.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from gameday.clock import Clock, SystemClock
from gameday.errors import DockerUnavailable, EnvironmentProblem
from gameday.stack.config import StackConfig

if TYPE_CHECKING:
    import docker

SUITE = "bookworm"
BASE_PACKAGES = (
    "python3",
    "python3-psycopg",
    "python3-redis",
    "postgresql",
    "redis-server",
    "prometheus",
    "prometheus-alertmanager",
)
BASE_REPOSITORY = "gameday/demo-base"
TOXIPROXY_REPOSITORY = "gameday/demo-toxiproxy"
TOXIPROXY_MODULE = "github.com/Shopify/toxiproxy/v2/cmd/server"
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

Log = Callable[[str], None]


def base_version() -> str:
    """``bookworm-<hash of the recipe>``: a new recipe gets a new tag."""
    recipe = f"{SUITE} minbase {' '.join(sorted(BASE_PACKAGES))} rev2"
    return f"{SUITE}-{hashlib.sha256(recipe.encode()).hexdigest()[:10]}"


def base_tag() -> str:
    return f"{BASE_REPOSITORY}:{base_version()}"


def toxiproxy_tag(config: StackConfig) -> str:
    """``v2.5.0-bookworm-<hash>``: built on one base, so a new base makes a new tag too."""
    return f"{TOXIPROXY_REPOSITORY}:{config.toxiproxy_version}-{base_version()}"


@dataclass(frozen=True)
class BuildResult:
    tag: str
    built: bool
    """False: the tag was already there and nothing was done."""
    seconds: float


@contextlib.contextmanager
def docker_calls(what: str) -> Iterator[None]:
    """Translate docker SDK errors met while building into gameday errors."""
    import docker.errors
    import requests.exceptions

    try:
        yield
    except requests.exceptions.ConnectionError as exc:
        raise DockerUnavailable(f"cannot reach the Docker daemon while {what}") from exc
    except docker.errors.DockerException as exc:
        raise EnvironmentProblem(f"Docker refused {what}: {' '.join(str(exc).split())[:200]}") from exc


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    import docker.errors

    with docker_calls(f"looking up image {tag}"):
        try:
            client.images.get(tag)
        except docker.errors.ImageNotFound:
            return False
    return True


APT_SOURCES_DIR = Path("/etc/apt/sources.list.d")
APT_SOURCES_LIST = Path("/etc/apt/sources.list")
MIRROR_SCHEMES = ("http://", "https://", "file:/")
"""What debootstrap can fetch from; ``mirror+file:``, ``cdrom:`` and ``tor+http:`` sources are not mirrors it reads."""


def _deb822_mirrors(text: str) -> list[str]:
    """URIs of the enabled ``Types: deb`` stanzas of a ``.sources`` file that carry the image's suite."""
    found = []
    for stanza in re.split(r"\n[ \t]*\n", text):
        fields: dict[str, str] = {}
        key = ""
        for line in stanza.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0] in " \t" and key:  # a continuation line (deb822 folds long fields)
                fields[key] += " " + line.strip()
                continue
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if fields.get("enabled", "yes").lower() == "no" or "deb" not in fields.get("types", "").split():
            continue
        if SUITE in fields.get("suites", "").split():
            found.extend(fields.get("uris", "").split())
    return found


def _one_line_mirrors(text: str) -> list[str]:
    """URIs of the ``deb`` lines of a ``.list`` file (``deb [options] URI suite components``) for the suite."""
    found = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):  # options: [arch=amd64 signed-by=...], possibly several words
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 2 and words[1] == SUITE:
            found.append(words[0])
    return found


def host_mirror(sources_dir: Path = APT_SOURCES_DIR, sources_list: Path = APT_SOURCES_LIST) -> str | None:
    """The Debian mirror the host's apt uses for the image's suite (``bookworm``), from its deb822 ``*.sources``
    and one-line ``*.list`` files; None when no source names one. Nothing else is guessed: gameday names
    no mirror of its own."""
    files = [*sorted(sources_dir.glob("*.sources")), *sorted(sources_dir.glob("*.list")), sources_list]
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        uris = _deb822_mirrors(text) if path.suffix == ".sources" else _one_line_mirrors(text)
        for uri in uris:
            if uri.startswith(MIRROR_SCHEMES):
                return uri.rstrip("/")
    return None


def debian_mirror(explicit: str | None = None, *, sources_dir: Path = APT_SOURCES_DIR,
                  sources_list: Path = APT_SOURCES_LIST) -> str:
    """``--mirror`` when given, else the host's apt mirror for the suite; an error naming ``--mirror`` if none."""
    if explicit:
        if not explicit.startswith(MIRROR_SCHEMES):
            raise EnvironmentProblem(f"--mirror {explicit[:200]!r}: give an http://, https:// or file:/ URL of a "
                                     "Debian mirror")
        return explicit.rstrip("/")
    found = host_mirror(sources_dir, sources_list)
    if found is None:
        raise EnvironmentProblem(
            f"no Debian mirror for {SUITE} in this machine's apt sources ({sources_dir}/*.sources, *.list, "
            f"{sources_list}); pass one with --mirror URL (e.g. gameday stack build --mirror URL)")
    return found


def build_base_image(
    client: docker.DockerClient,
    config: StackConfig,
    *,
    mirror: str | None = None,
    log: Log = lambda _: None,
    clock: Clock | None = None,
) -> BuildResult:
    """Build ``gameday/demo-base`` unless its tag exists; needs root and ``debootstrap``."""
    clock = clock or SystemClock()
    tag = base_tag()
    start = clock.monotonic()
    if image_exists(client, tag):
        return BuildResult(tag, False, 0.0)
    debootstrap = shutil.which("debootstrap") or ("/usr/sbin/debootstrap" if Path("/usr/sbin/debootstrap").exists() else None)
    if debootstrap is None:
        raise EnvironmentProblem(f"building {tag} needs debootstrap: apt-get install -y debootstrap")
    mirror = debian_mirror(mirror)
    config.cache_dir.mkdir(parents=True, exist_ok=True)
    log_path = config.cache_dir / "demo-base-build.log"
    log(f"building {tag} with debootstrap from {mirror} (a few minutes; log: {log_path})")
    work = Path(tempfile.mkdtemp(prefix="demo-base-", dir=config.cache_dir))
    rootfs = work / "rootfs"
    try:
        with log_path.open("w", encoding="utf-8") as out:
            _run([debootstrap, "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", SUITE, str(rootfs), mirror],
                 out, f"debootstrap failed; see {log_path}")
        _slim(rootfs)
        tar_path = work / "rootfs.tar"
        with log_path.open("a", encoding="utf-8") as out:
            _run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tar_path), "."], out,
                 f"packing the rootfs failed; see {log_path}")
        repository, version = tag.split(":")
        with docker_calls(f"importing {tag}"):
            client.api.import_image_from_file(
                str(tar_path),
                repository=repository,
                tag=version,
                changes=[f"ENV PATH={IMAGE_PATH}", "ENV LANG=C.UTF-8", "LABEL gameday.image=demo-base"],
            )
    finally:
        _unmount_under(work)
        shutil.rmtree(work, ignore_errors=True)
    if not image_exists(client, tag):
        raise EnvironmentProblem(f"importing {tag} did not produce the image; see {log_path}")
    seconds = clock.monotonic() - start
    log(f"built {tag} in {seconds:.0f}s")
    return BuildResult(tag, True, seconds)


def _run(argv: list[str], out: IO[str], message: str) -> None:
    try:
        proc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot run {argv[0]}: {exc.strerror}") from exc
    if proc.returncode != 0:
        raise EnvironmentProblem(f"{message} (exit {proc.returncode})")


def _slim(rootfs: Path) -> None:
    """Drop what an image does not need: downloaded .debs, apt lists, docs and translations, and the
    cluster Debian's postgresql package pre-creates (the stack makes its own at first start)."""
    for pattern in ("var/cache/apt/archives/*.deb", "var/lib/apt/lists/*_Packages", "var/lib/apt/lists/*_InRelease"):
        for path in rootfs.glob(pattern):
            path.unlink(missing_ok=True)
    for leftover in ("var/lib/postgresql/15/main", "etc/postgresql/15/main", "usr/share/doc", "usr/share/man",
                     "usr/share/info", "usr/share/locale"):
        shutil.rmtree(rootfs / leftover, ignore_errors=True)


def _unmount_under(path: Path) -> None:
    """debootstrap mounts /proc and /sys in the target; a failed run can leave them mounted."""
    try:
        mounts = Path("/proc/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    prefix = str(path.resolve()) + "/"
    points = [line.split()[1] for line in mounts if len(line.split()) > 1 and line.split()[1].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)


def toxiproxy_binary(config: StackConfig, environ: Mapping[str, str], *, log: Log = lambda _: None) -> Path:
    """A toxiproxy-server binary: ``GAMEDAY_TOXIPROXY_BIN`` if set, else built once into the cache."""
    given = environ.get("GAMEDAY_TOXIPROXY_BIN")
    if given:
        path = Path(given)
        if not path.is_file():
            raise EnvironmentProblem(f"GAMEDAY_TOXIPROXY_BIN={given} is not a file")
        return path
    bin_dir = config.cache_dir / "toxiproxy" / config.toxiproxy_version
    binary = bin_dir / "server"
    if binary.is_file():
        return binary
    go = shutil.which("go", path=environ.get("PATH")) or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if go is None:
        raise EnvironmentProblem(
            "building toxiproxy-server needs Go (https://go.dev/dl) or GAMEDAY_TOXIPROXY_BIN pointing to a binary"
        )
    bin_dir.mkdir(parents=True, exist_ok=True)
    module = f"{TOXIPROXY_MODULE}@{config.toxiproxy_version}"
    log(f"building toxiproxy-server: go install {module}")
    env = {**environ, "GOBIN": str(bin_dir), "CGO_ENABLED": "0"}
    proc = subprocess.run([go, "install", module], env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not binary.is_file():
        last = " ".join((proc.stderr or proc.stdout).split())[-300:]
        raise EnvironmentProblem(f"go install {module} failed: {last}")
    return binary


def build_toxiproxy_image(
    client: docker.DockerClient,
    config: StackConfig,
    environ: Mapping[str, str],
    *,
    log: Log = lambda _: None,
    clock: Clock | None = None,
) -> BuildResult:
    """The base image plus ``/usr/local/bin/toxiproxy-server``, committed from a never-started container."""
    clock = clock or SystemClock()
    tag = toxiproxy_tag(config)
    start = clock.monotonic()
    if image_exists(client, tag):
        return BuildResult(tag, False, 0.0)
    binary = toxiproxy_binary(config, environ, log=log)
    data = binary.read_bytes()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("toxiproxy-server")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    repository, version = tag.split(":")
    with docker_calls(f"building {tag}"):
        container = client.containers.create(base_tag(), command=["toxiproxy-server"], labels={"gameday.image": "build"})
        try:
            container.put_archive("/usr/local/bin", buf.getvalue())
            container.commit(
                repository=repository,
                tag=version,
                conf={"Cmd": ["toxiproxy-server"], "Labels": {"gameday.image": "demo-toxiproxy", "gameday.base": base_tag()}},
            )
        finally:
            container.remove(force=True)
    seconds = clock.monotonic() - start
    log(f"built {tag} in {seconds:.1f}s")
    return BuildResult(tag, True, seconds)


def build_images(
    client: docker.DockerClient,
    config: StackConfig,
    environ: Mapping[str, str],
    *,
    mirror: str | None = None,
    log: Log = lambda _: None,
    clock: Clock | None = None,
) -> list[BuildResult]:
    """Every image the stack needs, each built only if its tag is missing; ``mirror`` (``--mirror``) overrides
    the host's apt mirror."""
    return [
        build_base_image(client, config, mirror=mirror, log=log, clock=clock),
        build_toxiproxy_image(client, config, environ, log=log, clock=clock),
    ]
