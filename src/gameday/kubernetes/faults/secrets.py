"""``secret_revoke``: one key of a Secret replaced by a random value, and the exact prior value put back.

Where the prior value waits: in a second Secret in the same namespace, ``<name>-gameday-<token>`` (immutable,
labelled ``gameday.fault-token=<token>``), written by inject before the key is touched, holding the prior value
and the value gameday wrote. It stays inside the cluster's own boundary for secrets (the same namespace, RBAC,
audit and encryption at rest as the original), it survives a crash of the harness and of its machine, and any
machine with the kubeconfig can revert from it (``gameday cleanup``, the watchdog). The journal, the timeline
and the report never see a value: the handle holds the key's name, the Secret's resourceVersion when read, a
salted scrypt digest of the prior value and the backup's name.

Inject writes the random value with a JSON Patch that tests the Secret's resourceVersion and the key's value,
so it changes nothing that moved since it was read. Revert writes the prior value back only if the key still
holds the value gameday wrote (also tested in the patch), then deletes the backup; a key someone changed or
removed since, or a Secret deleted, is a RevertError (exit 3) naming what changed, and the backup is kept for
a person. Revert is idempotent: a key already back to the prior value only has its backup deleted.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any, ClassVar

from lightkube import Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Secret
from pydantic import Field

from gameday.errors import FaultError, RevertError, TargetError
from gameday.faults.base import FaultArgs
from gameday.faults.credentials import digest_matches, new_digest
from gameday.handle import FaultHandle
from gameday.kubernetes.client import connect
from gameday.kubernetes.faults.patches import (
    TOKEN_ANNOTATION,
    api_call,
    is_not_found,
    patch_unless_moved,
    pointer,
    read,
)
from gameday.kubernetes.objects import (
    allow_names,
    cluster_of,
    get_object,
    handle_fields,
    labels_of,
    namespace_labels,
    require_kubernetes_target,
)
from gameday.kubernetes.platform import KubernetesPlatform, KubernetesTarget
from gameday.scenario.model import FaultSpec, StackSpec

BACKUP_OF = "gameday.backup-of"
"""Annotation of a backup Secret: which Secret and key it holds the prior value of."""
_NAME_MAX = 253


class SecretRevokeArgs(FaultArgs):
    key: str = Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$",
                     description="the key of the Secret's data to replace with a random value")


def backup_name(secret: str, token: str) -> str:
    suffix = f"-gameday-{token}"
    return secret[: _NAME_MAX - len(suffix)].rstrip("-.") + suffix


def _value(secret: Any, key: str) -> bytes | None:
    """The key's value as bytes, or None if the Secret has no such key."""
    data = secret.data or {}
    if key not in data:
        return None
    return base64.b64decode(data[key])


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


class SecretRevoke:
    """Replace one key of a Secret with a random value; revert writes the exact prior value back."""

    kind: ClassVar[str] = "secret_revoke"
    args_model: ClassVar[type[FaultArgs]] = SecretRevokeArgs
    target_fields: ClassVar[tuple[str, ...]] = ("kind", "name")
    target_platforms: ClassVar[tuple[type, ...]] = (KubernetesPlatform,)

    def target_problems(self, target: Any, target_name: str, args: FaultArgs) -> list[tuple[str, str]]:
        """Mistakes seen without touching anything (validate reports them at their line; prepare refuses the first)."""
        if not isinstance(target, KubernetesTarget) or target.kind != "Secret":
            return [("target", (f"secret_revoke acts on a Kubernetes Secret; '{target_name}' is "
                                f"{getattr(target, 'selector', target)}"))]
        if target.name is None:
            return [("target", (f"secret_revoke acts on one Secret: give target '{target_name}' a name, "
                               "not match_labels"))]
        return []

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        target = require_kubernetes_target(stack.targets[fault.target], fault.target, self.kind)
        args = SecretRevokeArgs.model_validate(fault.args)
        for _, problem in self.target_problems(target, fault.target, args)[:1]:
            raise TargetError(problem, target=fault.target)
        cluster = cluster_of(stack)
        client, name, namespace = cluster.client, str(target.name), target.namespace
        where = f"Secret {namespace}/{name}"
        secret = get_object(client, "Secret", name, namespace, target=fault.target)
        value = _value(secret, args.key)
        if value is None:
            keys = ", ".join(sorted(secret.data or {})) or "none"
            raise TargetError(f"{where} has no key '{args.key}' (its keys: {keys})", target=fault.target)
        if (secret.metadata.annotations or {}).get(BACKUP_OF):
            raise TargetError(f"{where} is a backup gameday keeps during a secret_revoke; not a target",
                              target=fault.target)
        if secret.immutable:
            raise TargetError(f"{where} is immutable: its keys cannot be changed (nor put back)", target=fault.target)
        token = secrets.token_hex(6)
        data = {"key": args.key, "token": token, "digest": new_digest(value),
                "resource_version": secret.metadata.resourceVersion, "backup": backup_name(name, token)}
        fields = handle_fields(cluster, kind="Secret", namespace=namespace, name=name, labels=labels_of(secret),
                               namespace_labels=namespace_labels(client, namespace, target=fault.target),
                               approve=[allow_names(namespace, name)])
        return FaultHandle(kind=self.kind, target=fault.target,
                           description=f"replace key {args.key} of {where} with a random value",
                           data=data, **fields)

    def describe_revert(self, handle: FaultHandle) -> str:
        data, where = handle.data, _where(handle)
        return (f"write back the prior value of key {data['key']} of {where} (kept meanwhile in Secret "
                f"{handle.address['namespace']}/{data['backup']}, never in the journal) if the key still holds "
                "the value gameday wrote, then delete that backup; refused (exit 3) if someone changed the key since")

    def inject(self, handle: FaultHandle) -> None:
        data, client, name, namespace = self._reach(handle)
        where, key = _where(handle), data["key"]
        with api_call(handle.target, f"read {where}"):
            live = _value(read(client, Secret, name, namespace), key)
        backup = self._backup(client, handle, reverting=False)
        if backup is not None and live is not None and live == _value(backup, "written"):
            return  # a retried inject: the random value is in place and the prior one kept
        if live is None or not digest_matches(live, data["digest"]):
            raise FaultError(f"key {key} of {where} changed after gameday read it; nothing done", target=handle.target)
        if backup is None:  # durable in the cluster before the key is touched
            backup = self._write_backup(client, handle, live, f"gameday-revoked-{secrets.token_hex(16)}".encode())
        elif _value(backup, "value") != live:  # live was checked against the digest just above
            raise FaultError(f"Secret {namespace}/{data['backup']} exists and does not hold the prior value of "
                             f"{where}; nothing done", target=handle.target)
        written = _value(backup, "written") or b""

        def plan(obj: Any) -> list[dict[str, Any]] | None:
            now = _value(obj, key)
            if now == written:
                return None
            if now != live:  # bytes compared: live matched the digest (scrypt is slow on purpose)
                raise FaultError(f"key {key} of {where} changed after gameday read it; nothing done "
                                 f"(the prior value is kept in Secret {namespace}/{data['backup']})", target=handle.target)
            return [{"op": "test", "path": pointer("data", key), "value": _b64(now)},
                    {"op": "replace", "path": pointer("data", key), "value": _b64(written)}]

        patch_unless_moved(client, Secret, name, namespace, plan, what=where, target=handle.target,
                           secrets=_shown(live, written))

    def check(self, handle: FaultHandle) -> bool:
        """True while the key holds something other than its prior value."""
        data, client, name, namespace = self._reach(handle)
        with api_call(handle.target, f"read {_where(handle)}"):
            live = _value(read(client, Secret, name, namespace), data["key"])
        return live is None or not digest_matches(live, data["digest"])

    def revert(self, handle: FaultHandle) -> None:
        """Write the prior value back if the key still holds gameday's; harmless to repeat."""
        data, client, name, namespace = self._reach(handle)
        where, key, kept = _where(handle), data["key"], f"Secret {namespace}/{data['backup']}"
        try:
            with api_call(handle.target, f"read {where}", reverting=True):
                live = _value(read(client, Secret, name, namespace), key)
        except RevertError as exc:
            if is_not_found(exc.__cause__):
                raise RevertError(f"{where} was deleted after gameday replaced key {key}; the prior value is kept in "
                                  f"{kept}", target=handle.target) from exc
            raise
        backup = self._backup(client, handle, reverting=True)
        prior = _value(backup, "value") if backup is not None else None
        prior_ok = prior is not None and digest_matches(prior, data["digest"])
        # One scrypt on the usual path: the live value is compared with the verified backup byte for byte.
        if live is not None and (live == prior if prior_ok else digest_matches(live, data["digest"])):
            self._delete_backup(client, handle, backup)  # back already (a revert cut short before the deletion)
            return
        if backup is None:
            raise RevertError(f"key {key} of {where} is not its prior value and the backup {kept} is gone; "
                              "nothing to restore from", target=handle.target)
        written = _value(backup, "written")
        if prior is None or not prior_ok:
            raise RevertError(f"{kept} does not hold the prior value of key {key} (its digest differs); "
                              f"{where} left as it is", target=handle.target)

        def plan(obj: Any) -> list[dict[str, Any]] | None:
            now = _value(obj, key)
            if now == prior:  # bytes compared: prior matched the digest just above
                return None
            if now is None:
                raise RevertError(f"key {key} was removed from {where} after gameday replaced it (resourceVersion "
                                  f"now {obj.metadata.resourceVersion}); nothing restored, the prior value is kept in "
                                  f"{kept}", target=handle.target)
            if now != written:
                raise RevertError(f"key {key} of {where} was changed by someone else after gameday replaced it "
                                  f"(resourceVersion now {obj.metadata.resourceVersion}, read at prepare "
                                  f"{data['resource_version']}): it holds neither gameday's value nor the prior one; "
                                  f"nothing restored, the prior value is kept in {kept}", target=handle.target)
            return [{"op": "test", "path": pointer("data", key), "value": _b64(written)},
                    {"op": "replace", "path": pointer("data", key), "value": _b64(prior)}]

        patch_unless_moved(client, Secret, name, namespace, plan, what=f"key {key} of {where}", target=handle.target,
                           reverting=True, secrets=_shown(prior, written))
        self._delete_backup(client, handle, backup)

    def _reach(self, handle: FaultHandle) -> tuple[dict[str, Any], Client, str, str]:
        address = handle.address
        return handle.data, connect(address), str(address["name"]), str(address["namespace"])

    def _backup(self, client: Client, handle: FaultHandle, *, reverting: bool) -> Any | None:
        namespace, name = handle.address["namespace"], handle.data["backup"]
        try:
            with api_call(handle.target, f"read the backup Secret {namespace}/{name}", reverting=reverting):
                return read(client, Secret, name, namespace)
        except (TargetError, RevertError, FaultError) as exc:
            if is_not_found(exc.__cause__):
                return None
            raise

    def _write_backup(self, client: Client, handle: FaultHandle, prior: bytes, written: bytes) -> Any:
        namespace, name, token = handle.address["namespace"], handle.data["backup"], handle.data["token"]
        backup = Secret(
            metadata=ObjectMeta(name=name, namespace=namespace, labels={TOKEN_ANNOTATION: token},
                                annotations={BACKUP_OF: f"{handle.address['name']}/{handle.data['key']}"}),
            type="Opaque", immutable=True, data={"value": _b64(prior), "written": _b64(written)})
        with api_call(handle.target, f"create the backup Secret {namespace}/{name}",
                        secrets=_shown(prior, written)):
            return client.create(backup)

    def _delete_backup(self, client: Client, handle: FaultHandle, backup: Any | None) -> None:
        if backup is None:
            return
        namespace, name = handle.address["namespace"], handle.data["backup"]
        try:
            with api_call(handle.target, f"delete the backup Secret {namespace}/{name}", reverting=True):
                client.delete(Secret, name, namespace=namespace)
        except RevertError as exc:
            if not is_not_found(exc.__cause__):
                raise


def _where(handle: FaultHandle) -> str:
    return f"Secret {handle.address['namespace']}/{handle.address['name']}"


def _shown(*values: bytes | None) -> list[str]:
    """Every form a value could take in an API server's message: as text and as base64."""
    out = []
    for value in values:
        if value:
            out += [value.decode("utf-8", "replace"), _b64(value)]
    return out
