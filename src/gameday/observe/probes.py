"""Steady-state probes: what a user would see (an HTTP answer in time, a TCP port that accepts), and the probe
kinds plugins add (``gameday.probes``: a Kubernetes workload's available replicas, say)."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gameday.errors import GamedayError
from gameday.plugins import installed_probe_kinds
from gameday.scenario.model import ProbeSpec, StackSpec

if TYPE_CHECKING:
    import httpx

    from gameday.contracts import ProbeKind


@dataclass(frozen=True)
class ProbeResult:
    probe: str
    ok: bool
    latency_ms: float
    status: int | None = None
    error: str | None = None

    def details(self) -> dict[str, object]:
        out: dict[str, object] = {"probe": self.probe, "ok": self.ok, "latency_ms": round(self.latency_ms, 1)}
        if self.status is not None:
            out["status"] = self.status
        if self.error:
            out["error"] = self.error
        return out


class Prober:
    """Runs probes; one HTTP client is reused so connection set-up is not counted as latency each time.

    ``stack`` is the scenario's: a probe kind from a plugin resolves the names it refers to (a target) there.
    """

    def __init__(self, stack: StackSpec | None = None) -> None:
        self.stack = stack if stack is not None else StackSpec()
        self._http: dict[bool, httpx.Client] = {}
        self._kinds: dict[str, ProbeKind] = {}

    def _client(self, url: str) -> httpx.Client:
        """One client for plain http and one for https, each made on first use: loading the CA bundle takes
        ~0.1 s, which plain http never needs (redirects are not followed, so it never turns into TLS)."""
        tls = url.lower().startswith("https:")
        if tls not in self._http:
            import httpx

            # No keep-alive: a probe must see a dead server at once, not reuse a socket that says nothing.
            self._http[tls] = httpx.Client(limits=httpx.Limits(max_keepalive_connections=0), trust_env=False,
                                           verify=tls)
        return self._http[tls]

    def check(self, probe: ProbeSpec) -> ProbeResult:
        if probe.http is not None:
            return self._check_http(probe)
        if probe.tcp is not None:
            return self._check_tcp(probe)
        return self._check_plugin(probe)

    def _check_plugin(self, probe: ProbeSpec) -> ProbeResult:
        found = probe.plugin_check
        if found is None:  # a ProbeSpec made with model_construct: validation would have refused it
            return ProbeResult(probe.name, False, 0.0, error="the probe says nothing to check")
        name, spec = found
        start = time.perf_counter()
        try:
            reason = self._kind(name).check(spec, self.stack)
        except GamedayError as exc:
            reason = str(exc)
        latency_ms = (time.perf_counter() - start) * 1000
        return ProbeResult(probe.name, reason is None, latency_ms, error=None if reason is None else reason[:300])

    def _kind(self, name: str) -> ProbeKind:
        if name not in self._kinds:
            plugin: Any = installed_probe_kinds().load(name)  # checked already, when the scenario was validated
            self._kinds[name] = plugin() if isinstance(plugin, type) else plugin
        return self._kinds[name]

    def _check_http(self, probe: ProbeSpec) -> ProbeResult:
        import httpx

        spec = probe.http
        assert spec is not None
        client = self._client(spec.url)  # made before the clock starts: its set-up is not the probe's latency
        start = time.perf_counter()
        try:
            response = client.request(spec.method, spec.url, timeout=spec.timeout)
        except httpx.TimeoutException:
            return ProbeResult(probe.name, False, (time.perf_counter() - start) * 1000, error=f"timed out after {spec.timeout:g}s")
        except httpx.HTTPError as exc:
            return ProbeResult(probe.name, False, (time.perf_counter() - start) * 1000, error=_reason(exc))
        except (httpx.InvalidURL, ValueError) as exc:  # a URL validate would refuse, from an API caller
            return ProbeResult(probe.name, False, (time.perf_counter() - start) * 1000, error=f"bad URL: {exc}"[:160])
        latency_ms = (time.perf_counter() - start) * 1000
        if not spec.status_ok(response.status_code):
            return ProbeResult(probe.name, False, latency_ms, response.status_code, f"status {response.status_code}")
        if latency_ms > spec.max_latency * 1000:
            return ProbeResult(
                probe.name, False, latency_ms, response.status_code, f"slow: {latency_ms:.0f} ms > {spec.max_latency * 1000:.0f} ms"
            )
        return ProbeResult(probe.name, True, latency_ms, response.status_code)

    def _check_tcp(self, probe: ProbeSpec) -> ProbeResult:
        spec = probe.tcp
        assert spec is not None
        start = time.perf_counter()
        try:
            with socket.create_connection((spec.host, spec.port), timeout=spec.timeout):
                pass
        except OSError as exc:
            return ProbeResult(probe.name, False, (time.perf_counter() - start) * 1000, error=exc.strerror or str(exc))
        return ProbeResult(probe.name, True, (time.perf_counter() - start) * 1000)

    def close(self) -> None:
        for client in self._http.values():
            client.close()
        self._http.clear()


def _reason(exc: Exception) -> str:
    """A short, stable reason: a killed server shows as refused, reset or disconnected depending on timing."""
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if "reset by peer" in lowered:
        return "connection reset"
    if "disconnected" in lowered:
        return "server disconnected"
    if "ConnectError" in type(exc).__name__:
        return f"cannot connect: {text[:120]}"
    return text[:160]
