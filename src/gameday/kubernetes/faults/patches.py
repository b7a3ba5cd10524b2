"""What the rollout and secret faults share: changing an object only if it is still what was read.

Every write is a JSON Patch whose first operation tests ``metadata.resourceVersion``: the API server applies it
only to the object exactly as it was read, so a change made by someone else in between is refused (a failed
test is a 422, a conflict a 409) and never overwritten. A workload's controller updates its status all the
time, so ``patch_unless_moved`` reads again and asks again what to write; whether what moved matters is the
caller's decision. Errors are translated by the platform's ``api_errors``; ``api_call`` first blanks any
secret value out of the API server's message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from lightkube import ApiError, Client
from lightkube.types import PatchType

from gameday.errors import FaultError, RevertError
from gameday.kubernetes.client import api_errors

TOKEN_ANNOTATION = "gameday.fault-token"
"""Set on what a fault changed (a workload's pod template, a backup Secret): which fault did it, for people and
for revert, which recognises its own change by it."""


def pointer(*parts: str | int) -> str:
    """A JSON Pointer (RFC 6901) from path parts: ``pointer("data", "a/b")`` is ``/data/a~1b``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every known secret value blanked out."""
    for value in secrets:
        if value:
            text = text.replace(value, "***")
    return text


@contextlib.contextmanager
def api_call(target: str, what: str, *, reverting: bool = False, secrets: Sequence[str] = ()) -> Iterator[None]:
    """The platform's error translation, with ``secrets`` blanked out of what the API server said first."""
    with api_errors(target, what, reverting=reverting):
        try:
            yield
        except ApiError as exc:
            if exc.status is not None and exc.status.message:
                exc.status.message = scrub(exc.status.message, secrets)
            raise


def is_not_found(exc: BaseException | None) -> bool:
    return isinstance(exc, ApiError) and exc.status is not None and exc.status.code == 404


def read(client: Client, resource: Any, name: str, namespace: str) -> Any:
    """One object (typed as Any: the models make every field optional, the API server fills them in)."""
    return client.get(resource, name, namespace=namespace)


def listed(client: Client, resource: Any, namespace: str) -> list[Any]:
    return list(client.list(resource, namespace=namespace))


def patch_unless_moved(client: Client, resource: Any, name: str, namespace: str,
                       plan: Callable[[Any], list[dict[str, Any]] | None], *, what: str, target: str,
                       reverting: bool = False, secrets: Sequence[str] = (), attempts: int = 5) -> None:
    """Read the object, ask ``plan`` what to write (None: nothing; it raises if the object is not as it must be),
    and write it guarded by the resourceVersion read; when the object moved in between, read and ask again."""
    for _ in range(attempts):
        with api_errors(target, f"read {what}", reverting=reverting):
            obj = read(client, resource, name, namespace)
        operations = plan(obj)
        if not operations:
            return
        version = obj.metadata.resourceVersion
        guard = {"op": "test", "path": "/metadata/resourceVersion", "value": version}
        with api_call(target, f"patch {what}", reverting=reverting, secrets=secrets):
            try:
                client.patch(resource, name, [guard, *operations], namespace=namespace, patch_type=PatchType.JSON)
                return
            except ApiError as exc:
                code = exc.status.code if exc.status is not None else None
                if code in (409, 422) and read(client, resource, name, namespace).metadata.resourceVersion != version:
                    continue
                raise
    error_cls = RevertError if reverting else FaultError
    raise error_cls(f"{what} kept changing while gameday wrote it ({attempts} tries); nothing written", target=target)
