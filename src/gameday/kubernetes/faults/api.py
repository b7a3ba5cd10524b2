"""The API boundary of the node and network faults: lightkube's errors become gameday's, in one place.

Until the platform's own client (``gameday.kubernetes.client``) lands, ``connect`` reads the kubeconfig here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import httpx2
from lightkube import ApiError, Client, ConfigError, KubeConfig

from gameday.errors import EnvironmentProblem, FaultError, RevertError, TargetError

_clients: dict[tuple[str, str], Client] = {}


def connect(address: Mapping[str, Any]) -> Client:
    """A client for the handle's ``{kubeconfig, context}``, made once per pair."""
    key = (str(address["kubeconfig"]), str(address.get("context") or ""))
    if key not in _clients:
        try:
            config = KubeConfig.from_file(key[0])
            single = config.get(context_name=key[1] or None)
        except (OSError, ConfigError, ValueError, KeyError) as exc:
            raise EnvironmentProblem(f"kubeconfig {key[0]}: {exc}") from exc
        _clients[key] = Client(single, trust_env=False, field_manager="gameday")
    return _clients[key]


def status_code(exc: ApiError) -> int:
    return int(exc.status.code or exc.response.status_code)


def reason(exc: ApiError) -> str:
    return str(exc.status.message or exc.status.reason or exc)


@contextlib.contextmanager
def api_errors(target: str, what: str, *, reverting: bool = False) -> Iterator[None]:
    """A refusal is a FaultError (a RevertError while reverting), a missing object a TargetError, an API
    server that does not answer an EnvironmentProblem; each names what was being done."""
    try:
        yield
    except ApiError as exc:
        if status_code(exc) == 404 and not reverting:
            raise TargetError(f"{what}: not found ({reason(exc)})", target=target) from exc
        error = RevertError if reverting else FaultError
        raise error(f"{what}: the API server refused ({status_code(exc)}): {reason(exc)}", target=target) from exc
    except httpx2.TransportError as exc:
        if reverting:
            raise RevertError(f"{what}: the API server did not answer: {exc}", target=target) from exc
        raise EnvironmentProblem(f"{what}: the API server did not answer: {exc}") from exc
