"""The demo stack's images on the local cluster's real node: Docker's images copied into the node's containerd.

The images are built into Docker (images.py); the real node runs its own containerd with its own store, and
no registry is reachable, so each image is streamed from ``docker save`` into ``ctr images import`` (never
held in memory: the base image is ~800 MB). An image is copied only when the node lacks it, keyed by Docker's
image id: the imported image carries the label ``gameday.docker-id``, so a rebuild under the same tag is
copied again and an unchanged one never is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gameday.clock import Clock, SystemClock
from gameday.stack.images import docker_calls

if TYPE_CHECKING:
    import docker

    from gameday.cluster.node import RealNode

ID_LABEL = "gameday.docker-id"
CHUNK = 1 << 20
PROGRESS_EVERY_S = 5.0
"""A line at most this often while an image is copied (an 800 MB copy takes a minute or more here)."""

Log = Callable[[str], None]


@dataclass(frozen=True)
class NodeImage:
    tag: str
    """Docker's tag (``gameday/demo-base:<version>``); containerd names it ``docker.io/<tag>``."""
    copied: bool
    """False: the node already had this image id, and nothing was done."""
    bytes: int
    seconds: float


def node_name(tag: str) -> str:
    """The name containerd (and the kubelet, for a pod's ``image: <tag>``) gives a Docker tag."""
    first = tag.split("/", 1)[0]
    if "/" not in tag or ("." not in first and ":" not in first and first != "localhost"):
        return f"docker.io/{tag if '/' in tag else 'library/' + tag}"
    return tag


def ensure_node_images(client: docker.DockerClient, node: RealNode, tags: Sequence[str], *,
                       log: Log = lambda _: None, clock: Clock | None = None) -> list[NodeImage]:
    """Copy each of ``tags`` (built into Docker) into the real node's containerd unless it has that image id."""
    clock = clock or SystemClock()
    have = node.image_labels()
    results = []
    for tag in tags:
        with docker_calls(f"looking up image {tag}"):
            image = client.images.get(tag)
        image_id, size = str(image.id), int(image.attrs.get("Size") or 0)
        name = node_name(tag)
        if have.get(name, {}).get(ID_LABEL) == image_id:
            results.append(NodeImage(tag, False, 0, 0.0))
            continue
        log(f"copying {tag} ({size / 1e6:.0f} MB) into the real node's containerd")
        start = clock.monotonic()
        with docker_calls(f"saving {tag}"):
            chunks = image.save(chunk_size=CHUNK, named=True)
            copied = node.import_stream(_progress(chunks, tag, size, log, clock), name)
        node.label_image(name, ID_LABEL, image_id)
        seconds = clock.monotonic() - start
        log(f"copied {tag} in {seconds:.0f} s ({copied / 1e6:.0f} MB)")
        results.append(NodeImage(tag, True, copied, seconds))
    return results


def _progress(chunks: Iterable[bytes], tag: str, size: int, log: Log, clock: Clock) -> Iterator[bytes]:
    """The chunks, passed on, with a line now and then saying how far the copy is."""
    done, last = 0, clock.monotonic()
    for chunk in chunks:
        done += len(chunk)
        yield chunk
        if clock.monotonic() - last >= PROGRESS_EVERY_S:
            last = clock.monotonic()
            share = f" ({min(done / size, 1.0):.0%})" if size else ""
            log(f"  {tag}: {done / 1e6:.0f} MB{share}")
