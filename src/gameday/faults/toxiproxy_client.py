"""A small typed client for the Toxiproxy HTTP API (v2), over the standard library (gameday.httpcall).

Why our own and not ``toxiproxy-python``: see docs/decisions.md. In short: every call here has a
timeout, the base URL belongs to the instance (one process can drive two servers), a toxic can be
updated, calls return what the server returned, and HTTP failures become gameday errors:

    connection refused / timed out / not HTTP   -> ToxiproxyUnavailable   (exit 2)
    404 for a proxy or a toxic                  -> TargetError            (carries .target)
    any other refusal (400, 409, 500, ...)      -> FaultError             (carries .target)

Each message is one line and names the server, the proxy and, where it matters, the toxic.
Endpoints (Shopify/toxiproxy api.go): GET/POST /proxies, POST /populate, GET/POST/DELETE
/proxies/{proxy}, GET/POST /proxies/{proxy}/toxics, GET/POST/DELETE /proxies/{proxy}/toxics/{toxic},
POST /reset, GET /version.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import quote

from gameday.errors import FaultError, TargetError, ToxiproxyUnavailable
from gameday.httpcall import HttpFailure, Response, request

DEFAULT_TIMEOUT = 5.0
"""Seconds for any one API call; the server answers in milliseconds when it is alive."""

Stream = Literal["downstream", "upstream"]


@dataclass(frozen=True)
class Toxic:
    """One toxic on a proxy, as the server reports it."""

    name: str
    type: str
    stream: Stream = "downstream"
    toxicity: float = 1.0
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Toxic:
        return cls(
            name=str(raw["name"]),
            type=str(raw["type"]),
            stream="upstream" if raw.get("stream") == "upstream" else "downstream",
            toxicity=float(raw.get("toxicity", 1.0)),
            attributes=dict(raw.get("attributes") or {}),
        )


@dataclass(frozen=True)
class Proxy:
    """One proxy: where it listens, where it forwards, whether it is enabled, and its toxics."""

    name: str
    listen: str
    upstream: str
    enabled: bool = True
    toxics: tuple[Toxic, ...] = ()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Proxy:
        return cls(
            name=str(raw["name"]),
            listen=str(raw.get("listen", "")),
            upstream=str(raw.get("upstream", "")),
            enabled=bool(raw.get("enabled", False)),
            toxics=tuple(Toxic.from_api(t) for t in raw.get("toxics") or ()),
        )

    @property
    def listen_port(self) -> int:
        """The port the proxy listens on (from ``127.0.0.1:25432`` or ``[::]:25432``)."""
        return int(self.listen.rsplit(":", 1)[1])

    def toxic(self, name: str) -> Toxic | None:
        return next((t for t in self.toxics if t.name == name), None)


class ToxiproxyClient:
    """Talks to one Toxiproxy server. Not shared across threads; cheap to create."""

    def __init__(self, base_url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    # --- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Nothing to release: every call has its own connection (no keep-alive: a server that died
        between two calls is seen at once). Kept so the client can be used as a context manager."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- server ------------------------------------------------------------------------------

    def version(self) -> str:
        """The server's version string (``2.5.0``; ``git`` for a build without version stamp)."""
        return self._call("GET", "/version").text.strip()

    def reset(self) -> None:
        """Enable every proxy and remove EVERY toxic on the server. Never used by fault drivers."""
        self._call("POST", "/reset")

    def populate(self, proxies: Sequence[Mapping[str, Any]]) -> list[Proxy]:
        """Create or replace proxies in one call (``[{name, listen, upstream, enabled}, ...]``)."""
        body = self._call("POST", "/populate", json=list(proxies)).json()
        return [Proxy.from_api(p) for p in body.get("proxies") or ()]

    # --- proxies -----------------------------------------------------------------------------

    def proxies(self) -> dict[str, Proxy]:
        raw = self._call("GET", "/proxies").json()
        return {name: Proxy.from_api(p) for name, p in raw.items()}

    def proxy(self, name: str) -> Proxy:
        return Proxy.from_api(self._call("GET", _proxy_path(name), proxy=name).json())

    def create_proxy(self, name: str, *, listen: str, upstream: str, enabled: bool = True) -> Proxy:
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
        return Proxy.from_api(self._call("POST", "/proxies", json=body, proxy=name).json())

    def update_proxy(
        self, name: str, *, enabled: bool | None = None, listen: str | None = None, upstream: str | None = None
    ) -> Proxy:
        """Change only the fields given; the server keeps the others."""
        body: dict[str, Any] = {}
        if enabled is not None:
            body["enabled"] = enabled
        if listen is not None:
            body["listen"] = listen
        if upstream is not None:
            body["upstream"] = upstream
        if not body:
            return self.proxy(name)
        # The server fills missing fields from the current proxy, so a partial body is safe.
        return Proxy.from_api(self._call("POST", _proxy_path(name), json=body, proxy=name).json())

    def enable(self, name: str) -> Proxy:
        return self.update_proxy(name, enabled=True)

    def disable(self, name: str) -> Proxy:
        """Stop listening and drop every connection through the proxy."""
        return self.update_proxy(name, enabled=False)

    def delete_proxy(self, name: str) -> None:
        self._call("DELETE", _proxy_path(name), proxy=name)

    # --- toxics ------------------------------------------------------------------------------

    def toxics(self, proxy: str) -> list[Toxic]:
        return [Toxic.from_api(t) for t in self._call("GET", f"{_proxy_path(proxy)}/toxics", proxy=proxy).json()]

    def toxic(self, proxy: str, name: str) -> Toxic:
        path = _toxic_path(proxy, name)
        return Toxic.from_api(self._call("GET", path, proxy=proxy, toxic=name).json())

    def add_toxic(
        self,
        proxy: str,
        *,
        name: str,
        type: str,
        attributes: Mapping[str, Any],
        stream: Stream = "downstream",
        toxicity: float = 1.0,
    ) -> Toxic:
        """Add one toxic and return it as the server stored it; a name already taken is a FaultError."""
        body = {"name": name, "type": type, "stream": stream, "toxicity": toxicity, "attributes": dict(attributes)}
        raw = self._call("POST", f"{_proxy_path(proxy)}/toxics", json=body, proxy=proxy, toxic=name).json()
        return Toxic.from_api(raw)

    def update_toxic(
        self, proxy: str, name: str, *, attributes: Mapping[str, Any] | None = None, toxicity: float | None = None
    ) -> Toxic:
        """Change a live toxic's attributes and/or toxicity without removing it."""
        body: dict[str, Any] = {}
        # Fields left out keep their current value on the server (toxic_collection.go UpdateToxicJson).
        if toxicity is not None:
            body["toxicity"] = toxicity
        if attributes is not None:
            body["attributes"] = dict(attributes)
        raw = self._call("POST", _toxic_path(proxy, name), json=body, proxy=proxy, toxic=name).json()
        return Toxic.from_api(raw)

    def remove_toxic(self, proxy: str, name: str, *, missing_ok: bool = False) -> bool:
        """Remove exactly one toxic. With ``missing_ok``, a toxic (or proxy) already gone returns False."""
        try:
            self._call("DELETE", _toxic_path(proxy, name), proxy=proxy, toxic=name)
        except TargetError:
            if missing_ok:
                return False
            raise
        return True

    # --- plumbing ----------------------------------------------------------------------------

    def _call(
        self, method: str, path: str, *, json: Any = None, proxy: str = "", toxic: str = ""
    ) -> Response:
        try:
            response = request(method, self.base_url + path, timeout=self.timeout,
                               connect_timeout=min(self.timeout, 2.0), json_body=json, headers=_HEADERS)
        except HttpFailure as exc:
            if exc.reason == "timeout":
                raise ToxiproxyUnavailable(
                    f"Toxiproxy at {self.base_url} did not answer {method} {path} within {self.timeout:g}s"
                ) from exc
            raise ToxiproxyUnavailable(f"cannot reach Toxiproxy at {self.base_url}: {_reason(exc)}") from exc
        if response.is_success:
            return response
        message = _server_message(response)
        target = proxy or self.base_url
        if response.status == 404 and "proxy not found" in message:
            raise TargetError(f"Toxiproxy at {self.base_url} has no proxy '{proxy}'", target=target)
        if response.status == 404 and "toxic not found" in message:
            raise TargetError(f"Toxiproxy proxy '{proxy}' has no toxic '{toxic}'", target=target)
        if response.status == 404:
            raise ToxiproxyUnavailable(
                f"{self.base_url} does not look like a Toxiproxy API ({method} {path}: 404 {message})"
            )
        raise FaultError(
            f"Toxiproxy at {self.base_url} refused {method} {path}: {message} ({response.status})", target=target
        )


def _proxy_path(name: str) -> str:
    return f"/proxies/{quote(name, safe='')}"


def _toxic_path(proxy: str, toxic: str) -> str:
    return f"{_proxy_path(proxy)}/toxics/{quote(toxic, safe='')}"


_HEADERS = {"User-Agent": "gameday-toxiproxy-client"}


def _server_message(response: Response) -> str:
    """The ``error`` field of Toxiproxy's JSON error body, else the first line of the body."""
    text = response.text.strip()
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return " ".join(text.split())[:200] or response.reason_phrase


def _reason(exc: HttpFailure) -> str:
    if exc.reason == "refused":
        return "connection refused (is toxiproxy-server running?)"
    return " ".join(str(exc).split())[:160] or exc.reason
