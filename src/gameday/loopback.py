"""Whether a host is this machine's loopback: where gameday's own servers may listen without a warning.

One test for the alert receiver (which refuses anything else), the drill room (which warns) and the stack file's
``alertmanager.webhook_url`` (where a run's receiver will listen)."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """``localhost`` or an address in 127.0.0.0/8 or ::1; a name other than localhost is not (it may resolve anywhere)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
