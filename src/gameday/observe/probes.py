"""Steady-state probes: what a user would see (an HTTP answer in time, a TCP port that accepts), and the probe
kinds plugins add (``gameday.probes``: a Kubernetes workload's available replicas, say)."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gameday.errors import GamedayError
from gameday.httpcall import HttpFailure, request
from gameday.plugins import installed_probe_kinds
from gameday.scenario.model import ProbeSpec, StackSpec

if TYPE_CHECKING:
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
    """Runs probes. An HTTP probe is one request on a new connection (gameday.httpcall: no keep-alive, so a
    dead server is seen at once; no HTTP proxy; redirects not followed).

    ``stack`` is the scenario's: a probe kind from a plugin resolves the names it refers to (a target) there.
    """

    def __init__(self, stack: StackSpec | None = None) -> None:
        self.stack = stack if stack is not None else StackSpec()
        self._kinds: dict[str, ProbeKind] = {}

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
        spec = probe.http
        assert spec is not None
        start = time.perf_counter()
        try:
            response = request(spec.method, spec.url, timeout=spec.timeout, headers=_HEADERS)
        except HttpFailure as exc:
            return ProbeResult(probe.name, False, (time.perf_counter() - start) * 1000, error=_reason(exc, spec.timeout))
        latency_ms = (time.perf_counter() - start) * 1000
        if not spec.status_ok(response.status):
            return ProbeResult(probe.name, False, latency_ms, response.status, f"status {response.status}")
        if latency_ms > spec.max_latency * 1000:
            return ProbeResult(
                probe.name, False, latency_ms, response.status, f"slow: {latency_ms:.0f} ms > {spec.max_latency * 1000:.0f} ms"
            )
        return ProbeResult(probe.name, True, latency_ms, response.status)

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
        """Nothing to release: every HTTP probe closes its own connection. Kept for callers that close."""


_HEADERS = {"User-Agent": "gameday-probe"}


def _reason(exc: HttpFailure, timeout: float) -> str:
    """A short, stable reason: a killed server shows as refused, reset or disconnected depending on timing."""
    text = str(exc) or exc.reason
    match exc.reason:
        case "timeout":
            return f"timed out after {timeout:g}s"
        case "refused":
            return "connection refused"
        case "reset":
            return "connection reset"
        case "disconnected":
            return "server disconnected"
        case "connect":
            return f"cannot connect: {text[:120]}"
        case "url":  # a URL validate would refuse, from an API caller
            return f"bad URL: {text}"[:160]
    return text[:160]
