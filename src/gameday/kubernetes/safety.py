"""What keeps a Kubernetes fault off what it must not touch: production, and the allowlist.

Production, refused unless the run passes ``--allow-production``:
  the stack's ``environment: production``; a context listed (name or glob) in the stack's
  ``platforms.kubernetes.production_contexts``; a namespace labelled ``gameday.environment=production``.
Allowlist, both of:
  the object (workload, pod, node, secret) carries the stack's ``allow_label`` (default
  ``gameday.allowed=true``), or its namespace does (a Node: only itself);
  with a stack file, one of its ``allow.kubernetes`` entries (``<namespace>/<name>`` globs; a Node as
  ``<name>``) matches each object the fault touches (a pod: itself or the workload that owns it).

Prepare reads what this needs into the handle (``production_facts``, ``FaultHandle.labels``, the address's
``namespace_labels`` and ``approve``), so the check is a pure function of the handle and the policy, and a
handle without those facts is refused (fails closed).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any

from gameday.errors import TargetError
from gameday.handle import FaultHandle
from gameday.platforms.base import SafetyPolicy, allowlist_matches, refuse_production

PRODUCTION_LABEL = "gameday.environment"
PRODUCTION_VALUE = "production"


def production_facts(*, context: str, production_contexts: Sequence[str], namespace: str,
                     namespace_labels: Mapping[str, str] | None) -> list[str]:
    """Why this context or namespace is production, one sentence each; [] when it is not."""
    facts = []
    matched = [p for p in production_contexts if fnmatch.fnmatchcase(context, p)]
    if matched:
        facts.append(f"context '{context}' is production (production_contexts: {', '.join(matched)})")
    if namespace_labels and namespace_labels.get(PRODUCTION_LABEL) == PRODUCTION_VALUE:
        facts.append(f"namespace '{namespace}' is production (labelled {PRODUCTION_LABEL}={PRODUCTION_VALUE})")
    return facts


def check_allowed(handle: FaultHandle, policy: SafetyPolicy, *, declared: str | None = None) -> None:
    """Raise TargetError unless a fault may touch the handle's objects (see the module's docstring)."""
    refuse_production(handle, policy)
    address = handle.address
    facts = address.get("production")
    if not isinstance(facts, list):
        raise TargetError(f"target '{handle.target}': the handle does not say whether its context and namespace are "
                          "production (a driver must build it with gameday.kubernetes.objects), so it is refused",
                          target=handle.target)
    if facts and not policy.allow_production:
        raise TargetError(f"{'; '.join(str(f) for f in facts)}: every fault is refused unless the run passes "
                          "--allow-production (which is logged)", target=handle.target)
    _refuse_unlabelled(handle, policy)
    if policy.allow is not None:
        _refuse_unlisted(handle, policy, declared)


def _what(address: Mapping[str, Any]) -> str:
    kind, namespace, name = address.get("kind"), address.get("namespace"), address.get("name")
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def _refuse_unlabelled(handle: FaultHandle, policy: SafetyPolicy) -> None:
    key, _, value = policy.allow_label.partition("=")
    if handle.labels is not None and handle.labels.get(key) == value:
        return
    address = handle.address
    namespace = str(address.get("namespace") or "")
    namespace_labels = address.get("namespace_labels") or {}
    if namespace and namespace_labels.get(key) == value:
        return
    where = f", or label its namespace: kubectl label namespace {namespace} {policy.allow_label}" if namespace else ""
    several = " (every pod the fault selects must carry it)" if address.get("kind") == "Pod" else ""
    raise TargetError(
        f"{_what(address)} (target '{handle.target}') is not allowed as a fault target: neither it nor its "
        f"namespace carries the label {policy.allow_label}{several}; add it to the object{where}",
        target=handle.target)


def _refuse_unlisted(handle: FaultHandle, policy: SafetyPolicy, declared: str | None) -> None:
    entries = (policy.allow or {}).get("kubernetes", ())
    if declared is not None and allowlist_matches(entries, declared):
        return
    groups = handle.address.get("approve")
    if not isinstance(groups, list) or not groups:
        groups = [[declared]] if declared else []
    unlisted = [names for names in groups if not any(allowlist_matches(entries, str(n)) for n in names)]
    if groups and not unlisted:
        return
    shown = str(unlisted[0][0]) if unlisted and unlisted[0] else _what(handle.address)
    where = f" ({policy.stack_file})" if policy.stack_file else ""
    raise TargetError(
        f"{shown} (target '{handle.target}') is not in stack '{policy.stack}''s allowlist: add it (or a glob such "
        f"as {shown.rpartition('/')[0] + '/*' if '/' in shown else shown}) under allow.kubernetes in its stack "
        f"file{where}", target=handle.target)
