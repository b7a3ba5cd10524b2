"""secret_revoke against the real API server: one key replaced by a random value, the exact prior value kept in a
backup Secret of the same namespace (never in the handle), and written back only if nobody changed the key since."""

from __future__ import annotations

import base64
import json

import pytest
from lightkube import Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Secret
from lightkube.types import PatchType

from gameday.cluster.manager import LocalCluster
from gameday.errors import FaultError, RevertError, TargetError
from gameday.handle import FaultHandle
from gameday.kubernetes.faults.secrets import SecretRevoke
from tests.kubernetes.workloads import (
    get,
    listed,
    prepared,
    revert_in_fresh_process,
)

pytestmark = pytest.mark.kubernetes

PRIOR = b"s3cr3t-Pr10r-\x00\xffvalue"
"""Not UTF-8 on purpose: the exact bytes come back, not a decoding of them."""


def make_secret(kube: Client, namespace: str, name: str = "db", **data: bytes) -> None:
    values = data or {"password": PRIOR, "user": b"app"}
    kube.create(Secret(metadata=ObjectMeta(name=name, namespace=namespace),
                       data={k: base64.b64encode(v).decode() for k, v in values.items()}))


def value(kube: Client, namespace: str, key: str = "password", name: str = "db") -> bytes | None:
    data = get(kube, Secret, name, namespace).data or {}
    return base64.b64decode(data[key]) if key in data else None


def set_value(kube: Client, namespace: str, new: bytes, key: str = "password") -> None:
    kube.patch(Secret, "db", {"data": {key: base64.b64encode(new).decode()}}, namespace=namespace)


def secret_names(kube: Client, namespace: str) -> list[str]:
    return sorted(str(s.metadata.name) for s in listed(kube, Secret, namespace))


def prepare(local_cluster: LocalCluster, namespace: str, key: str = "password") -> FaultHandle:
    return prepared(SecretRevoke(), local_cluster, kind="Secret", name="db", namespace=namespace, args={"key": key})


def forms(raw: bytes) -> list[str]:
    """Every way the value could be written down: its text, its base64, its JSON-escaped text."""
    text = raw.decode("utf-8", "replace")
    return [text[:8], base64.b64encode(raw).decode(), json.dumps(text)[1:-1]]


def test_inject_replaces_the_key_and_revert_in_another_process_writes_back_the_exact_prior_bytes(
        kube: Client, namespace: str, local_cluster: LocalCluster) -> None:
    make_secret(kube, namespace)
    driver = SecretRevoke()
    handle = prepare(local_cluster, namespace)
    assert not driver.check(handle)
    driver.inject(handle)
    revoked = value(kube, namespace)
    assert revoked is not None and revoked != PRIOR and revoked.startswith(b"gameday-revoked-")
    assert value(kube, namespace, "user") == b"app", "only the named key changes"
    backup = get(kube, Secret, handle.data["backup"], namespace)
    assert backup.immutable is True
    assert backup.metadata.labels == {"gameday.fault-token": handle.data["token"]}
    assert backup.metadata.annotations == {"gameday.backup-of": "db/password"}
    assert driver.check(handle)
    driver.inject(handle)  # a retried inject changes nothing more
    assert value(kube, namespace) == revoked

    done = revert_in_fresh_process(handle)
    assert done.returncode == 0, done.stdout + done.stderr
    assert value(kube, namespace) == PRIOR
    assert secret_names(kube, namespace) == ["db"], "the backup is deleted once the value is back"
    assert not driver.check(handle)
    driver.revert(handle)  # harmless to repeat
    assert value(kube, namespace) == PRIOR


def test_the_handle_holds_a_salted_digest_and_never_the_value(kube: Client, namespace: str,
                                                                local_cluster: LocalCluster) -> None:
    make_secret(kube, namespace)
    handle = prepare(local_cluster, namespace)
    journalled = json.dumps(handle.to_json())
    assert handle.data["digest"]["alg"].startswith("scrypt")
    for form in forms(PRIOR):
        assert form not in journalled
    SecretRevoke().inject(handle)
    written = value(kube, namespace)
    assert written is not None and written.decode() not in journalled
    SecretRevoke().revert(handle)


def test_revert_refuses_with_exit_3_when_someone_changed_the_key_since_and_keeps_the_backup(
        kube: Client, namespace: str, local_cluster: LocalCluster) -> None:
    make_secret(kube, namespace)
    driver = SecretRevoke()
    handle = prepare(local_cluster, namespace)
    driver.inject(handle)
    set_value(kube, namespace, b"rotated-by-the-team")  # the team rotates the credential mid-drill

    done = revert_in_fresh_process(handle)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "key password of Secret" in done.stdout and "was changed by someone else" in done.stdout
    assert f"the prior value is kept in Secret {namespace}/{handle.data['backup']}" in done.stdout
    for form in [*forms(PRIOR), "rotated-by-the-team"]:
        assert form not in done.stdout + done.stderr
    assert value(kube, namespace) == b"rotated-by-the-team", "their value stays"
    assert handle.data["backup"] in secret_names(kube, namespace)


def test_revert_refuses_when_the_key_was_removed_or_the_secret_deleted(kube: Client, namespace: str,
                                                                       local_cluster: LocalCluster) -> None:
    make_secret(kube, namespace)
    driver = SecretRevoke()
    handle = prepare(local_cluster, namespace)
    driver.inject(handle)
    secret = get(kube, Secret, "db", namespace)
    kube.patch(Secret, "db", [{"op": "remove", "path": "/data/password"}], namespace=namespace,
               patch_type=PatchType.JSON)
    assert secret.metadata.resourceVersion != get(kube, Secret, "db", namespace).metadata.resourceVersion
    with pytest.raises(RevertError, match=r"key password was removed from Secret .* nothing restored"):
        driver.revert(handle)
    kube.delete(Secret, "db", namespace=namespace)
    with pytest.raises(RevertError, match=f"was deleted after gameday replaced key password; the prior value is "
                                          f"kept in Secret {namespace}/{handle.data['backup']}"):
        driver.revert(handle)


def test_a_revert_cut_short_after_writing_the_value_back_only_deletes_the_backup(
        kube: Client, namespace: str, local_cluster: LocalCluster) -> None:
    make_secret(kube, namespace)
    driver = SecretRevoke()
    handle = prepare(local_cluster, namespace)
    driver.inject(handle)
    set_value(kube, namespace, PRIOR)  # as a revert killed between its patch and the backup's deletion leaves it
    driver.revert(handle)
    assert value(kube, namespace) == PRIOR and secret_names(kube, namespace) == ["db"]


def test_inject_changes_nothing_when_the_key_moved_after_prepare(kube: Client, namespace: str,
                                                                 local_cluster: LocalCluster) -> None:
    make_secret(kube, namespace)
    handle = prepare(local_cluster, namespace)
    set_value(kube, namespace, b"rotated")
    with pytest.raises(FaultError, match=r"key password of Secret .* changed after gameday read it; nothing done"):
        SecretRevoke().inject(handle)
    assert value(kube, namespace) == b"rotated" and secret_names(kube, namespace) == ["db"]


def test_prepare_refuses_a_missing_key_an_immutable_secret_and_a_backup(kube: Client, namespace: str,
                                                                        local_cluster: LocalCluster) -> None:
    make_secret(kube, namespace)
    with pytest.raises(TargetError, match="has no key 'token' \\(its keys: password, user\\)"):
        prepare(local_cluster, namespace, key="token")
    handle = prepare(local_cluster, namespace)
    SecretRevoke().inject(handle)
    with pytest.raises(TargetError, match="is a backup gameday keeps"):
        prepared(SecretRevoke(), local_cluster, kind="Secret", name=handle.data["backup"], namespace=namespace,
                 args={"key": "value"})
    kube.create(Secret(metadata=ObjectMeta(name="frozen", namespace=namespace), immutable=True,
                       data={"k": base64.b64encode(b"v").decode()}))
    with pytest.raises(TargetError, match="is immutable"):
        prepared(SecretRevoke(), local_cluster, kind="Secret", name="frozen", namespace=namespace, args={"key": "k"})
