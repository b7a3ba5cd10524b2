"""One lightkube client per (kubeconfig, context), and the translation of its errors into gameday's.

A handle's address carries ``kubeconfig`` (an absolute path) and ``context`` (resolved at prepare, so a
later ``gameday cleanup`` reaches the same cluster even if the kubeconfig's current-context changed).

    a kubeconfig that is missing or wrong, a cluster that does not answer   EnvironmentProblem (exit 2)
    the object is not there (404)                                            TargetError
    any other refusal of the API (403, 409, 422...)                          FaultError (RevertError in revert)
"""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx2
import yaml
from lightkube import ApiError, Client, ConfigError, KubeConfig

from gameday.errors import EnvironmentProblem, FaultError, RevertError, TargetError

TIMEOUT_S = 10.0
FIELD_MANAGER = "gameday"


def connect(address: Mapping[str, Any]) -> Client:
    """The client for ``address`` (``{kubeconfig, context}``), made once per pair in this process (a client holds
    its connections; a fault's prepare, inject, check and revert reuse them)."""
    key = (str(address["kubeconfig"]), str(address.get("context") or ""))
    with _LOCK:  # observers' threads ask too; a client is thread-safe once made
        client = _CLIENTS.get(key)
        if client is None:
            client = _CLIENTS[key] = _make(*key)
    return client


def close_all() -> None:
    """Close every client this process made (tests call it; a CLI process simply exits)."""
    with _LOCK:
        for client in _CLIENTS.values():
            with contextlib.suppress(Exception):  # one that never connected has nothing to close
                client.close()
        _CLIENTS.clear()


_CLIENTS: dict[tuple[str, str], Client] = {}
"""The process's clients by (kubeconfig, context): the one cache a process keeps, as Docker's client is kept."""
_LOCK = threading.Lock()


def _make(kubeconfig: str, context: str) -> Client:
    config = _config(kubeconfig)
    try:
        single = config.get(context or None)
        # trust_env=False: no proxy from the environment (during a game day we break the network on purpose)
        return Client(config=single, trust_env=False, timeout=httpx2.Timeout(TIMEOUT_S), field_manager=FIELD_MANAGER)
    except (ConfigError, KeyError, OSError, ssl.SSLError, ValueError, TypeError) as exc:
        raise EnvironmentProblem(f"kubeconfig {kubeconfig}: {_why(exc)}"[:300]) from exc


def _config(kubeconfig: str) -> KubeConfig:
    try:
        return KubeConfig.from_file(kubeconfig)
    except ConfigError as exc:
        raise EnvironmentProblem(f"kubeconfig {kubeconfig}: {_why(exc)}"[:300]) from exc
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise EnvironmentProblem(f"kubeconfig {kubeconfig} is not a readable kubeconfig: {_why(exc)}"[:300]) from exc


def current_context(kubeconfig: Path) -> str:
    """The context a kubeconfig selects when none is named (EnvironmentProblem if it names none)."""
    context = _config(str(kubeconfig)).current_context
    if not context:
        raise EnvironmentProblem(f"kubeconfig {kubeconfig} has no current-context: name one in the stack file "
                                 "(platforms: {kubernetes: {context: NAME}})")
    return context


def contexts(kubeconfig: Path) -> list[str]:
    """Every context the kubeconfig defines."""
    return sorted(_config(str(kubeconfig)).contexts)


def _why(exc: BaseException) -> str:
    """One line: a YAML error as its problem and place (PyYAML writes several lines with a caret)."""
    if isinstance(exc, KeyError):
        return f"no entry {exc}"
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.YAMLError) and mark is not None:
        problem = getattr(exc, "problem", None) or "invalid YAML"
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


@contextlib.contextmanager
def api_errors(target: str, what: str, *, reverting: bool = False) -> Iterator[None]:
    """Translate lightkube and transport errors raised inside into gameday errors, naming ``what`` was asked."""
    try:
        yield
    except ApiError as exc:
        code = exc.status.code or exc.response.status_code
        message = (exc.status.message or str(exc))[:300]
        if code == 404 and not reverting:
            raise TargetError(f"{what}: not found ({message})", target=target) from exc
        hint = "; the kubeconfig's user lacks the RBAC permission (docs/kubernetes.md)" if code == 403 else ""
        error_cls = RevertError if reverting else FaultError
        raise error_cls(f"{what}: the API server refused ({code}): {message}{hint}", target=target) from exc
    except httpx2.TransportError as exc:
        raise EnvironmentProblem(f"{what}: the Kubernetes API server cannot be reached: "
                                 f"{type(exc).__name__}: {exc}"[:300]) from exc
