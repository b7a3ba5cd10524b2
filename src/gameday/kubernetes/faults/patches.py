"""What the rollout and secret faults share: reaching the object a handle names, and changing it only if it is
still what was read.

Every write here is a JSON Patch whose first operation tests ``metadata.resourceVersion``: the API server
applies it only to the object exactly as it was read, so a change made by someone else in between is a 409/422
and never overwritten. ``api_errors`` turns lightkube's and httpx's errors into gameday's at this boundary
(an unreachable cluster is an EnvironmentProblem, a missing object a TargetError, any other refusal a
FaultError, and a RevertError while reverting); ``scrub`` keeps a value out of an error message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import httpx2
from lightkube import ApiError, Client
from lightkube.types import PatchType

from gameday.errors import EnvironmentProblem, FaultError, RevertError, TargetError

CHANGED = "changed by someone else"
TOKEN_ANNOTATION = "gameday.fault-token"
"""Set on what a fault changed (a workload's pod template, a backup Secret): which fault did it, for people
and for revert, which recognises its own change by it."""


def pointer(*parts: str | int) -> str:
    """A JSON Pointer (RFC 6901) from path parts: ``pointer("data", "a/b")`` is ``/data/a~1b``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def guarded(resource_version: str, operations: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``operations`` as one JSON Patch that applies only to the object at ``resource_version``."""
    return [{"op": "test", "path": "/metadata/resourceVersion", "value": resource_version},
            *(dict(op) for op in operations)]


def scrub(text: str, secrets: Sequence[str]) -> str:
    """One line with every known secret value blanked out (an API server may echo what it refused)."""
    line = " ".join(str(text).split())
    for value in secrets:
        if value:
            line = line.replace(value, "***")
    return line[:300]


@contextlib.contextmanager
def api_errors(what: str, *, target: str, reverting: bool = False, secrets: Sequence[str] = ()) -> Iterator[None]:
    """Translate the client's errors while doing ``what`` (``"patch Deployment shop/web"``) into gameday's."""
    error_cls = RevertError if reverting else FaultError
    try:
        yield
    except ApiError as exc:
        code = exc.status.code if exc.status is not None else None
        message = scrub((exc.status.message if exc.status is not None else None) or str(exc), secrets)
        if code == 404 and not reverting:
            raise TargetError(f"{what}: not found ({message})", target=target) from exc
        if code in (409, 422):
            # A failed JSON Patch test is a 422 with no detail: the object moved since it was read.
            raise error_cls(f"{what}: {CHANGED} since it was read, or the API server refused the change; "
                            f"nothing written (HTTP {code}: {message})", target=target) from exc
        raise error_cls(f"{what}: the API server refused it (HTTP {code}: {message})", target=target) from exc
    except httpx2.HTTPError as exc:
        raise EnvironmentProblem(f"{what}: the Kubernetes API server cannot be reached "
                                 f"({scrub(str(exc) or type(exc).__name__, secrets)})") from exc


def is_not_found(exc: BaseException | None) -> bool:
    return isinstance(exc, ApiError) and exc.status is not None and exc.status.code == 404


def json_patch(client: Client, resource: Any, name: str, namespace: str,
               operations: list[dict[str, Any]]) -> Any:
    return client.patch(resource, name, operations, namespace=namespace, patch_type=PatchType.JSON)


def read(client: Client, resource: Any, name: str, namespace: str) -> Any:
    """One object (typed as Any: the models make every field optional, the API server fills them in)."""
    return client.get(resource, name, namespace=namespace)


def listed(client: Client, resource: Any, namespace: str) -> list[Any]:
    return list(client.list(resource, namespace=namespace))


def patch_unless_moved(client: Client, resource: Any, name: str, namespace: str,
                       plan: Callable[[Any], list[dict[str, Any]] | None], *, what: str, target: str,
                       reverting: bool = False, secrets: Sequence[str] = (), attempts: int = 5) -> None:
    """Read the object, ask ``plan`` what to write (None: nothing), and write it guarded by the resourceVersion
    read. A workload's controller updates its status all the time, so an object that moved in between is read
    again and ``plan`` asked again (it raises if what moved matters); a refusal that is not a move is raised."""
    error_cls = RevertError if reverting else FaultError
    for _ in range(attempts):
        with api_errors(f"read {what}", target=target, reverting=reverting):
            obj = read(client, resource, name, namespace)
        operations = plan(obj)
        if not operations:
            return
        version = obj.metadata.resourceVersion
        try:
            with api_errors(f"patch {what}", target=target, reverting=reverting, secrets=secrets):
                json_patch(client, resource, name, namespace, guarded(version, operations))
            return
        except (FaultError, RevertError) as exc:
            with api_errors(f"read {what}", target=target, reverting=reverting):
                moved = read(client, resource, name, namespace).metadata.resourceVersion != version
            if CHANGED not in str(exc) or not moved:
                raise
    raise error_cls(f"{what} kept changing while gameday wrote it ({attempts} tries); nothing written", target=target)
