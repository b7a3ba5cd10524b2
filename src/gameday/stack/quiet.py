"""Wait until the demo stack's alerting is quiet, so a drill's alerts are the drill's.

A stack that has just come up has often failed requests behind it (checkout starts before PostgreSQL answers,
most of all on Kubernetes, where every pod starts at once): the rules' ``rate(...[30s])`` keeps those errors for
30 s, so an alert can be pending when the fault is injected and fire seconds later, before the fault took
effect, where the run does not count it as the fault's (seen: a Kubernetes demo whose two expected alerts
fired at T+1.8 s, the fault effective at T+4 s, both "did not fire"). ``gameday demo`` waits here first.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from gameday.clock import Clock, SystemClock
from gameday.errors import ServiceUnavailable
from gameday.stack.config import StackConfig

QUIET_FOR_S = 10.0
"""Two of Prometheus' 5 s evaluations (prometheus.yml): an error it scraped just before the first look shows up
as a pending alert within one scrape and one evaluation."""
QUIET_TIMEOUT_S = 120.0


def active_alerts(config: StackConfig, http: httpx.Client) -> list[str] | None:
    """Names of the alerts Prometheus has pending or firing and Alertmanager holds; None if either cannot say."""
    try:
        rules = http.get(config.url(config.prometheus_port, "/api/v1/alerts")).json()["data"]["alerts"]
        held = http.get(config.url(config.alertmanager_port, "/api/v2/alerts"), params={"active": "true"}).json()
        names = {str(a["labels"]["alertname"]) for a in [*rules, *held]}
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    return sorted(names)


def wait_until_quiet(config: StackConfig, *, log: Callable[[str], None] = lambda _: None, clock: Clock | None = None,
                     quiet_for: float = QUIET_FOR_S, timeout: float = QUIET_TIMEOUT_S) -> float:
    """Return once no alert is pending or firing for ``quiet_for`` seconds in a row; the seconds waited. Alerts
    still active after ``timeout`` are a ServiceUnavailable naming them (the stack is not healthy after all)."""
    clock = clock or SystemClock()
    start = clock.monotonic()
    quiet_since: float | None = None
    said: list[str] = []
    with httpx.Client(timeout=5, trust_env=False) as http:
        while True:
            now = clock.monotonic()
            names = active_alerts(config, http)
            if names == []:
                quiet_since = now if quiet_since is None else quiet_since
                if now - quiet_since >= quiet_for:
                    return now - start
            else:
                quiet_since = None
                if names and names != said:
                    log(f"waiting for alerts left from the stack's start to clear: {', '.join(names)}")
                    said = names
            if now - start >= timeout:
                what = ", ".join(names) if names else "Prometheus or Alertmanager does not answer"
                raise ServiceUnavailable(f"the demo stack's alerting is not quiet after {timeout:.0f} s ({what}); "
                                         "a drill's alerts would not be its own")
            clock.sleep(1.0)
