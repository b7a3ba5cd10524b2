"""What an ApiError says, for the faults that act on some refusals themselves (a 404 on revert is done, a 409 on
a guarded patch is a retry, a 429 on an eviction is a PodDisruptionBudget); every other error goes through
``gameday.kubernetes.client.api_errors``."""

from __future__ import annotations

from lightkube import ApiError


def status_code(exc: ApiError) -> int:
    return int(exc.status.code or exc.response.status_code)


def reason(exc: ApiError) -> str:
    return str(exc.status.message or exc.status.reason or exc)
