"""Container images for the real local node without a registry: an OCI image archive made here, from files.

``ctr images import`` takes it as it is; the ``io.containerd.image.name`` annotation names the image. One
uncompressed layer, which is all a static binary (the pause program, a test server) needs.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from typing import Any


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    tar.addfile(info, io.BytesIO(data))


def _blob(tar: tarfile.TarFile, data: bytes) -> dict[str, Any]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _add(tar, f"blobs/sha256/{digest.removeprefix('sha256:')}", data)
    return {"digest": digest, "size": len(data)}


def oci_archive(name: str, files: Mapping[str, tuple[bytes, int]], *, entrypoint: Sequence[str]) -> bytes:
    """An OCI image archive of one layer holding ``files`` (path in the image -> (content, mode)), whose
    entrypoint is ``entrypoint``, named ``name`` (``gameday.local/pause:1``)."""
    layer_buffer = io.BytesIO()
    with tarfile.open(fileobj=layer_buffer, mode="w") as layer_tar:
        for path, (data, mode) in sorted(files.items()):
            _add(layer_tar, path.lstrip("/"), data, mode)
    layer = layer_buffer.getvalue()

    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        layer_ref = _blob(tar, layer)
        config = {"architecture": "amd64", "os": "linux", "config": {"Entrypoint": list(entrypoint)},
                  "rootfs": {"type": "layers", "diff_ids": [layer_ref["digest"]]}}
        config_ref = _blob(tar, json.dumps(config).encode())
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config_ref},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer_ref}]}
        manifest_ref = _blob(tar, json.dumps(manifest).encode())
        tag = name.rpartition(":")[2] if ":" in name.rpartition("/")[2] else "latest"
        index = {"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest_ref,
            "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": tag}}]}
        _add(tar, "index.json", json.dumps(index).encode())
        _add(tar, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
    return archive.getvalue()
