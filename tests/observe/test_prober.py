"""The prober never raises: whatever goes wrong is a red check with a reason."""

from __future__ import annotations

from gameday.observe.probes import Prober
from gameday.scenario.model import HttpCheck, ProbeSpec


def test_a_url_validate_would_refuse_is_a_red_check_not_a_crash() -> None:
    # Built around validation, as a Python caller could: `gameday validate` refuses this URL in a file.
    check = HttpCheck.model_construct(url="http://[::1", method="GET", expect_status=[200], max_latency=1.0, timeout=1.0)
    probe = ProbeSpec.model_construct(name="web", http=check, tcp=None, interval=1.0)
    prober = Prober()
    try:
        result = prober.check(probe)
    finally:
        prober.close()
    assert not result.ok and result.error is not None and result.error.startswith("bad URL")
