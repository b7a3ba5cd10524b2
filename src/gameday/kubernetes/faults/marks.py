"""How a fault marks what it changes in a cluster as its own, so revert touches only that.

A mark is ``<run id>/<fault id>/<token>``: the run and fault the engine stamps on the handle before the
journal records it (``-`` outside a run) and a random token drawn at prepare. It is computed from the
handle alone, so the watchdog or ``gameday cleanup`` in another process finds the same mark after a crash.
An object carries it as an annotation (any length); its labels (63 characters at most, for selectors) carry
the token, the fault id and the run id (cut to fit, with a hash of the whole, when longer).
"""

from __future__ import annotations

import hashlib
import re
import secrets

from gameday.handle import FaultHandle

PREFIX = "gameday.io/"
RUN_LABEL = PREFIX + "run"
FAULT_LABEL = PREFIX + "fault"
TOKEN_LABEL = PREFIX + "token"
MANAGED_BY = {"app.kubernetes.io/managed-by": "gameday"}

_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")


def new_token() -> str:
    """Drawn at prepare: what tells this fault's objects from any other's, even without a run id."""
    return secrets.token_hex(4)


def mark(handle: FaultHandle) -> str:
    """The fault's mark, from the handle alone."""
    return f"{handle.run_id or '-'}/{handle.fault_id or '-'}/{handle.data['token']}"


def label_value(text: str) -> str:
    """``text`` as a label value: itself when it is one, else cut to fit with a hash of the whole."""
    if _LABEL_VALUE.match(text):
        return text
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    kept = re.sub(r"[^A-Za-z0-9_.-]", "-", text)[:50].strip("-_.")
    return f"{kept}-{digest}" if kept else digest


def labels(handle: FaultHandle) -> dict[str, str]:
    """The labels of an object the fault creates: managed by gameday, its token, its run and fault where known
    (``kubectl get networkpolicy -l gameday.io/run=<run id>`` finds a run's)."""
    found = {**MANAGED_BY, TOKEN_LABEL: str(handle.data["token"])}
    if handle.run_id:
        found[RUN_LABEL] = label_value(handle.run_id)
    if handle.fault_id:
        found[FAULT_LABEL] = label_value(handle.fault_id)
    return found


def describing(handle: FaultHandle) -> dict[str, str]:
    """The full run id, fault id and target, where a person reading the object finds them."""
    return {PREFIX + "mark": mark(handle), PREFIX + "run-id": handle.run_id or "-",
            PREFIX + "fault-id": handle.fault_id or "-", PREFIX + "target": handle.target}
