"""Which pods a fault acts on, the same for the same seed: ``count`` or ``percent`` of the candidates, at
most ``max``. Candidates are sorted by name first, so the choice does not depend on the API's order, and
``random.Random(seed)`` picks. Prepare records the names it chose in the handle: plan and inject act on
exactly those pods.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable

from pydantic import Field, model_validator

from gameday.faults.base import FaultArgs


class SelectionArgs(FaultArgs):
    """The selection arguments; a fault kind's args model inherits them. Neither count nor percent: one pod."""

    count: int | None = Field(None, ge=1, le=100_000, description="how many pods (or percent)")
    percent: float | None = Field(None, gt=0, le=100, description="what share of the pods, rounded up (or count)")
    max: int | None = Field(None, ge=1, le=100_000, description="at most this many pods, whatever count or percent say")
    seed: int = Field(0, description="the same seed picks the same pods from the same candidates")

    @model_validator(mode="after")
    def _one_amount(self) -> SelectionArgs:
        if self.count is not None and self.percent is not None:
            raise ValueError("give count or percent, not both")
        return self

    def how_many(self, candidates: int) -> int:
        """How many of ``candidates`` pods are chosen."""
        if self.percent is not None:
            wanted = math.ceil(candidates * self.percent / 100)
        else:
            wanted = self.count if self.count is not None else 1
        if self.max is not None:
            wanted = min(wanted, self.max)
        return min(wanted, candidates)

    def describe(self, candidates: int) -> str:
        """The rule, for people: ``2 of 5 pods, seed 0``, ``10% of 20 pods, at most 5, seed 7``."""
        amount = f"{self.percent:g}% of {candidates} pods" if self.percent is not None else \
            f"{self.count or 1} of {candidates} pod{'s' if candidates != 1 else ''}"
        return amount + (f", at most {self.max}" if self.max is not None else "") + f", seed {self.seed}"


def select(candidates: Iterable[str], args: SelectionArgs) -> list[str]:
    """The chosen names, sorted: deterministic for the same candidates and args."""
    pool = sorted(set(candidates))
    chosen = random.Random(args.seed).sample(pool, args.how_many(len(pool)))
    return sorted(chosen)
