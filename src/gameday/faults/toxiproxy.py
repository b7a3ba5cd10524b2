"""Network faults through Toxiproxy: latency, bandwidth, timeout, reset_peer, proxy_down.

Each toxic fault adds ONE toxic with a name of its own (``gameday-<kind>-<random>``), written into
the handle before it is added; revert removes exactly that toxic and never resets the server or
touches anyone else's toxics. ``proxy_down`` disables the proxy and revert enables it again, only
if it was enabled when the fault was prepared. The handle holds the server URL (without
credentials), the proxy name and the toxic name, so ``gameday cleanup`` can revert from it alone.
A server that cannot be reached during revert raises ToxiproxyUnavailable as it is (the engine retries
those); any other failure to revert is a RevertError.
"""

from __future__ import annotations

import secrets
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field

from gameday.errors import GamedayError, RevertError, TargetError, ToxiproxyUnavailable
from gameday.faults.base import FaultArgs, FaultHandle
from gameday.faults.toxiproxy_client import ToxiproxyClient
from gameday.platforms.resources import ToxiproxyPlatform, ToxiproxyTarget
from gameday.scenario.model import Duration, FaultSpec, StackSpec

MAX_DURATION_S = 3600.0


proxy_resource = ToxiproxyPlatform.resource

class ToxicArgs(FaultArgs):
    """What every toxic takes: which way the bytes it slows flow, and for what share of connections."""

    direction: Literal["downstream", "upstream"] = Field(
        "downstream", description="downstream: server -> client bytes; upstream: client -> server"
    )
    toxicity: float = Field(1.0, ge=0.0, le=1.0, description="probability that a connection is affected")


class LatencyArgs(ToxicArgs):
    latency: Duration = Field(gt=0.0, le=MAX_DURATION_S, description="delay added to each chunk of data, e.g. 800ms")
    jitter: Duration = Field(0.0, ge=0.0, le=MAX_DURATION_S, description="+- random variation, e.g. 50ms")


class BandwidthArgs(ToxicArgs):
    rate_kb: int = Field(gt=0, le=10_000_000, description="at most this many KB per second")


class TimeoutArgs(ToxicArgs):
    timeout: Duration = Field(
        0.0, ge=0.0, le=MAX_DURATION_S, description="hold data, then close after this long; 0 holds forever"
    )


class ResetPeerArgs(ToxicArgs):
    timeout: Duration = Field(0.0, ge=0.0, le=MAX_DURATION_S, description="reset connections after this long (0: at once)")


class ProxyDownArgs(FaultArgs):
    """No arguments: the proxy stops listening and drops every connection."""


def toxiproxy_url(fault: FaultSpec, stack: StackSpec) -> str:
    """The scenario's ``stack.toxiproxy.url``, checked; an error naming the fault when it is missing."""
    if stack.toxiproxy is None or not stack.toxiproxy.url:
        raise TargetError(
            f"fault {fault.label} needs stack.toxiproxy.url (e.g. http://127.0.0.1:18474) in the scenario",
            target=fault.target,
        )
    url = stack.toxiproxy.url.rstrip("/")
    parts = urlsplit(url)
    if parts.username or parts.password:
        # The handle (and so the journal) keeps the URL; it must never carry a credential.
        raise TargetError("stack.toxiproxy.url must not contain credentials", target=fault.target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetError(f"stack.toxiproxy.url must be an http(s) URL, got {url!r}", target=fault.target)
    return url


class _ToxiproxyFault:
    """What the five kinds share: find the server and the proxy, keep one client per server URL."""

    kind: ClassVar[str]
    args_model: ClassVar[type[FaultArgs]]
    target_fields: ClassVar[tuple[str, ...]] = ("proxy",)
    target_platforms: ClassVar[tuple[type, ...]] = (ToxiproxyPlatform,)

    def __init__(self, *, timeout: float = 5.0) -> None:
        self._timeout = timeout
        self._clients: dict[str, ToxiproxyClient] = {}

    def _client(self, url: str) -> ToxiproxyClient:
        if url not in self._clients:
            self._clients[url] = ToxiproxyClient(url, timeout=self._timeout)
        return self._clients[url]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def _proxy_name(self, fault: FaultSpec, stack: StackSpec) -> str:
        target = stack.targets.get(fault.target)
        if not isinstance(target, ToxiproxyTarget):
            raise TargetError(f"target '{fault.target}' names no Toxiproxy proxy", target=fault.target)
        return target.proxy


class _ToxicFault(_ToxiproxyFault):
    toxic_type: ClassVar[str]

    def attributes(self, args: Any) -> dict[str, int]:
        """The toxic's attributes in Toxiproxy's units (milliseconds, KB/s)."""
        raise NotImplementedError

    def describe(self, proxy: str, args: Any) -> str:
        raise NotImplementedError

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        args = self.args_model.model_validate(fault.args)
        assert isinstance(args, ToxicArgs)
        url = toxiproxy_url(fault, stack)
        proxy_name = self._proxy_name(fault, stack)
        proxy = self._client(url).proxy(proxy_name)  # unknown proxy or dead server: fails here, before any change
        toxic = f"gameday-{self.kind.replace('_', '-')}-{secrets.token_hex(4)}"
        return FaultHandle(
            kind=self.kind,
            target=fault.target,
            description=self.describe(proxy.name, args),
            data={
                "url": url,
                "proxy": proxy.name,
                "toxic": toxic,
                "toxic_type": self.toxic_type,
                "stream": args.direction,
                "toxicity": args.toxicity,
                "attributes": self.attributes(args),
            },
            platform=ToxiproxyPlatform.name,
            resource=proxy_resource(url, proxy.name),
        )

    def inject(self, handle: FaultHandle) -> None:
        data = handle.data
        self._client(data["url"]).add_toxic(
            data["proxy"],
            name=data["toxic"],
            type=data["toxic_type"],
            attributes=data["attributes"],
            stream=data["stream"],
            toxicity=data["toxicity"],
        )

    def check(self, handle: FaultHandle) -> bool:
        """True while our toxic is on the proxy."""
        data = handle.data
        return self._client(data["url"]).proxy(data["proxy"]).toxic(data["toxic"]) is not None

    def describe_revert(self, handle: FaultHandle) -> str:
        return f"remove toxic {handle.data['toxic']} from proxy {handle.data['proxy']} (any other toxic stays)"

    def revert(self, handle: FaultHandle) -> None:
        """Remove our toxic; already gone (or its proxy gone) is fine. Other toxics are left alone."""
        data = handle.data
        try:
            self._client(data["url"]).remove_toxic(data["proxy"], data["toxic"], missing_ok=True)
        except ToxiproxyUnavailable:
            raise  # the engine retries while the server is restarting; cleanup can run later
        except GamedayError as exc:
            raise RevertError(
                f"could not remove toxic {data['toxic']} from proxy {data['proxy']}: {exc}", target=handle.target
            ) from exc


def _ms(seconds: float) -> int:
    """Toxiproxy counts in whole milliseconds; descriptions do too, so 1500ms is not rounded to 2s."""
    return round(seconds * 1000)


class Latency(_ToxicFault):
    """Delay the data through a proxy (Toxiproxy ``latency`` toxic)."""

    kind = "latency"
    args_model: ClassVar[type[FaultArgs]] = LatencyArgs
    toxic_type = "latency"

    def attributes(self, args: Any) -> dict[str, int]:
        return {"latency": _ms(args.latency), "jitter": _ms(args.jitter)}

    def describe(self, proxy: str, args: Any) -> str:
        jitter = f" +-{_ms(args.jitter)}ms" if args.jitter else ""
        return f"add {_ms(args.latency)}ms{jitter} latency {args.direction} on proxy {proxy}"


class Bandwidth(_ToxicFault):
    """Limit the throughput of a proxy (Toxiproxy ``bandwidth`` toxic)."""

    kind = "bandwidth"
    args_model: ClassVar[type[FaultArgs]] = BandwidthArgs
    toxic_type = "bandwidth"

    def attributes(self, args: Any) -> dict[str, int]:
        return {"rate": args.rate_kb}

    def describe(self, proxy: str, args: Any) -> str:
        return f"limit proxy {proxy} to {args.rate_kb} KB/s {args.direction}"


class Timeout(_ToxicFault):
    """Stop all data through a proxy, closing the connection after ``timeout`` (0: hold forever)."""

    kind = "timeout"
    args_model: ClassVar[type[FaultArgs]] = TimeoutArgs
    toxic_type = "timeout"

    def attributes(self, args: Any) -> dict[str, int]:
        return {"timeout": _ms(args.timeout)}

    def describe(self, proxy: str, args: Any) -> str:
        after = f", close after {_ms(args.timeout)}ms" if args.timeout else ", hold forever"
        return f"stop data through proxy {proxy}{after}"


class ResetPeer(_ToxicFault):
    """Reset connections through a proxy with a TCP RST (Toxiproxy ``reset_peer`` toxic)."""

    kind = "reset_peer"
    args_model: ClassVar[type[FaultArgs]] = ResetPeerArgs
    toxic_type = "reset_peer"

    def attributes(self, args: Any) -> dict[str, int]:
        return {"timeout": _ms(args.timeout)}

    def describe(self, proxy: str, args: Any) -> str:
        after = f" after {_ms(args.timeout)}ms" if args.timeout else ""
        return f"reset connections through proxy {proxy}{after}"


class ProxyDown(_ToxiproxyFault):
    """Disable a proxy: it stops listening and drops its connections, as if the path were cut."""

    kind = "proxy_down"
    args_model: ClassVar[type[FaultArgs]] = ProxyDownArgs

    def prepare(self, fault: FaultSpec, stack: StackSpec) -> FaultHandle:
        self.args_model.model_validate(fault.args)
        url = toxiproxy_url(fault, stack)
        proxy = self._client(url).proxy(self._proxy_name(fault, stack))
        if not proxy.enabled:
            raise TargetError(f"proxy {proxy.name} is already disabled; nothing to break", target=fault.target)
        return FaultHandle(
            kind=self.kind,
            target=fault.target,
            description=f"disable proxy {proxy.name}",
            data={"url": url, "proxy": proxy.name, "was_enabled": proxy.enabled},
            platform=ToxiproxyPlatform.name,
            resource=proxy_resource(url, proxy.name),
        )

    def inject(self, handle: FaultHandle) -> None:
        self._client(handle.data["url"]).disable(handle.data["proxy"])

    def check(self, handle: FaultHandle) -> bool:
        """True while the proxy is disabled."""
        return not self._client(handle.data["url"]).proxy(handle.data["proxy"]).enabled

    def describe_revert(self, handle: FaultHandle) -> str:
        return f"enable proxy {handle.data['proxy']} again"

    def revert(self, handle: FaultHandle) -> None:
        """Enable the proxy again if it was enabled before; harmless when it already is."""
        data = handle.data
        if not data.get("was_enabled", True):
            return
        try:
            client = self._client(data["url"])
            if not client.proxy(data["proxy"]).enabled:
                client.enable(data["proxy"])
        except ToxiproxyUnavailable:
            raise
        except GamedayError as exc:
            raise RevertError(f"could not enable proxy {data['proxy']} again: {exc}", target=handle.target) from exc
