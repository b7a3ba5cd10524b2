"""Alertmanager's wire formats and API: webhook payloads (version 4), GET/POST /api/v2/alerts, status.

Webhook payload (what Alertmanager POSTs to a ``webhook_config`` url)::

    {"version": "4", "groupKey": "...", "truncatedAlerts": 0, "status": "firing|resolved",
     "receiver": "...", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "...",
     "alerts": [{"status": "firing|resolved", "labels": {"alertname": ...}, "annotations": {},
                 "startsAt": RFC3339, "endsAt": RFC3339, "generatorURL": "...", "fingerprint": "..."}]}

``GET /api/v2/alerts`` returns active alerts only (resolved ones are left out), each with
``fingerprint``, ``labels``, ``annotations``, ``startsAt``, ``endsAt``, ``updatedAt`` and
``status.state`` (active, suppressed, unprocessed). httpx errors are translated into
``ServiceUnavailable`` here; the URL in messages has any password removed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from gameday.clock import iso
from gameday.errors import GamedayError, ServiceUnavailable

MAX_ALERTS_PER_PAYLOAD = 10_000
_ZERO_TIME_YEAR = 1  # Go's zero time, "0001-01-01T00:00:00Z": no end time


class PayloadError(GamedayError):
    """A webhook payload that is not Alertmanager's format; the receiver answers 400."""

    exit_code = 1


@dataclass(frozen=True)
class ReceivedAlert:
    alertname: str
    labels: dict[str, str]
    status: Literal["firing", "resolved"]
    starts_at: str | None
    ends_at: str | None
    fingerprint: str
    annotations: dict[str, str] = field(default_factory=dict)
    state: str | None = None
    """Alertmanager's state from the API (active, suppressed, unprocessed); None from a webhook."""
    external_url: str | None = None
    """The webhook's ``externalURL``: which Alertmanager sent it; None from the API."""

    def details(self, via: str) -> dict[str, Any]:
        """The details of an ``alert.firing`` / ``alert.resolved`` timeline event."""
        out: dict[str, Any] = {
            "alertname": self.alertname,
            "labels": self.labels,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "fingerprint": self.fingerprint,
            "via": via,
        }
        for key in ("summary", "runbook_url"):
            if key in self.annotations:
                out[key] = self.annotations[key]
        if self.state:
            out["state"] = self.state
        return out


def redact_url(url: str) -> str:
    """The URL without user:password, for messages and records."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint of a label set (FNV-1a 64 over sorted names and values, 0xff separated)."""
    h = 14695981039346656037
    if not labels:
        return f"{h:016x}"
    for name in sorted(labels):
        for part in (name.encode(), b"\xff", str(labels[name]).encode(), b"\xff"):
            for byte in part:
                h ^= byte
                h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def _time(value: Any, where: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{where}: not a timestamp: {value!r:.60}")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(f"{where}: not an RFC 3339 timestamp: {value!r:.60}") from None
    if when.tzinfo is None:
        raise PayloadError(f"{where}: timestamp without a time zone: {value!r:.60}")
    if when.year <= _ZERO_TIME_YEAR:
        return None
    return iso(when)


def _string_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise PayloadError(f"{where}: must be a mapping of strings to strings")
    return dict(value)


def parse_alert(raw: Any, where: str, *, from_api: bool = False) -> ReceivedAlert:
    """One alert object of a webhook payload or of the API's answer."""
    if not isinstance(raw, dict):
        raise PayloadError(f"{where}: an alert must be an object")
    labels = _string_map(raw.get("labels"), f"{where}.labels")
    name = labels.get("alertname")
    if not name:
        raise PayloadError(f"{where}.labels: no alertname")
    if from_api:
        status: Literal["firing", "resolved"] = "firing"  # the API lists active alerts only
        state = (raw.get("status") or {}).get("state") if isinstance(raw.get("status"), dict) else None
        ends_at = None  # while firing, endsAt is Prometheus's "valid until", not an end
    else:
        if raw.get("status") not in ("firing", "resolved"):
            raise PayloadError(f"{where}.status: must be 'firing' or 'resolved', got {raw.get('status')!r:.40}")
        status = raw["status"]
        state = None
        ends_at = _time(raw.get("endsAt"), f"{where}.endsAt") if status == "resolved" else None
    fp = raw.get("fingerprint")
    if fp is not None and not isinstance(fp, str):
        raise PayloadError(f"{where}.fingerprint: must be a string")
    return ReceivedAlert(
        alertname=name,
        labels=labels,
        status=status,
        starts_at=_time(raw.get("startsAt"), f"{where}.startsAt"),
        ends_at=ends_at,
        fingerprint=fp or fingerprint(labels),
        annotations=_string_map(raw.get("annotations"), f"{where}.annotations"),
        state=state if isinstance(state, str) else None,
    )


@dataclass(frozen=True)
class Webhook:
    """One webhook POST: its alerts and the Alertmanager that sent it."""

    alerts: list[ReceivedAlert]
    external_url: str | None
    """The payload's ``externalURL``: the sending Alertmanager's ``--web.external-url`` (by default
    ``http://<its host name>:<its port>``); None when the payload has none."""


def same_url(a: str, b: str) -> bool:
    """Whether two URLs name the same place: scheme and host in any case, the scheme's default port written or
    not, a trailing slash or not (a URL given to --web.external-url is sent as written)."""
    def key(url: str) -> tuple[str, str, int | None, str]:
        try:
            parts = urlsplit(url.strip())
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
        except ValueError:
            return ("", url, None, "")
        return (parts.scheme.lower(), (parts.hostname or "").lower(), port, parts.path.rstrip("/"))

    return key(a) == key(b)


def parse_webhook(body: bytes) -> Webhook:
    """One webhook POST; PayloadError says what is wrong with a malformed one."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"body is not JSON: {exc}") from None
    except RecursionError:
        raise PayloadError("body is nested too deeply") from None
    if not isinstance(data, dict):
        raise PayloadError("payload must be a JSON object")
    version = data.get("version")
    if version is not None and version != "4":
        raise PayloadError(f"unsupported webhook payload version {version!r:.20} (expected \"4\")")
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("payload has no 'alerts' list")
    if len(alerts) > MAX_ALERTS_PER_PAYLOAD:
        raise PayloadError(f"too many alerts in one payload ({len(alerts)})")
    external = data.get("externalURL")
    if external is not None and not isinstance(external, str):
        raise PayloadError("externalURL: must be a string")
    alerts = [replace(parse_alert(a, f"alerts[{i}]"), external_url=external or None) for i, a in enumerate(alerts)]
    return Webhook(alerts, external or None)


class AlertmanagerClient:
    """A small client of Alertmanager's v2 API; every failure becomes ServiceUnavailable."""

    def __init__(self, url: str, *, timeout: float = 2.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.safe_url = redact_url(self.url)
        # trust_env=False: never send loopback traffic through a proxy from the environment.
        self._http = httpx.Client(timeout=timeout, trust_env=False)

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self._http.request(method, self.url + path, **kwargs)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            reason = str(exc) or type(exc).__name__
            raise ServiceUnavailable(f"Alertmanager at {self.safe_url} cannot be reached: {reason}") from exc
        if response.status_code >= 400:
            raise ServiceUnavailable(
                f"Alertmanager at {self.safe_url} answered {response.status_code} to {method} {path}: "
                f"{response.text.strip()[:200]}"
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ServiceUnavailable(f"Alertmanager at {self.safe_url} answered {path} with something not JSON") from exc

    def status(self) -> dict[str, Any]:
        data = self._request("GET", "/api/v2/status")
        if not isinstance(data, dict):
            raise ServiceUnavailable(f"{self.safe_url}/api/v2/status does not look like Alertmanager's API")
        return data

    def alerts(self) -> list[ReceivedAlert]:
        """Alerts Alertmanager holds as active (including silenced and inhibited ones)."""
        data = self._request("GET", "/api/v2/alerts")
        if not isinstance(data, list):
            raise ServiceUnavailable(f"{self.safe_url}/api/v2/alerts did not answer a list")
        out = []
        for i, raw in enumerate(data):
            try:
                out.append(parse_alert(raw, f"[{i}]", from_api=True))
            except PayloadError:
                continue  # one odd alert must not hide the others
        return out

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        self._request("POST", "/api/v2/alerts", json=alerts)

    def close(self) -> None:
        self._http.close()
