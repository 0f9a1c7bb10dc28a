"""Rule-based strategies: uniform random selection and per-class (profile) rates."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from .base import Decision, Strategy, TargetingContext

Rate = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
"""A share between 0 and 1."""


class RandomStrategy(Strategy):
    """Refer each traveller independently with probability ``referral_rate``."""

    strategy: Literal["random"]
    referral_rate: Rate

    def decide(self, ctx: TargetingContext) -> Decision:
        u = ctx.stream("targeting.random").random(ctx.n)
        p = np.full(ctx.n, self.referral_rate)
        return Decision(refer=u < p, p_refer_if_threat=p)


class ByClassStrategy(Strategy):
    """Refer travellers of class C with probability ``referral_rate[C]`` (a profile)."""

    strategy: Literal["by_class"]
    referral_rate: dict[str, Rate]

    def check(self, scenario) -> None:
        unknown = sorted(set(self.referral_rate) - set(scenario.classes))
        if unknown:
            raise ValueError(
                f"referral_rate names unknown class(es) {unknown}; classes are "
                f"{sorted(scenario.classes)}"
            )

    def rates(self, class_names: list[str]) -> np.ndarray:
        """Referral probability per class index (0 for classes not listed)."""
        return np.array([self.referral_rate.get(c, 0.0) for c in class_names])

    def decide(self, ctx: TargetingContext) -> Decision:
        u = ctx.stream("targeting.random").random(ctx.n)
        p = self.rates(ctx.class_names)[ctx.cls]
        return Decision(refer=u < p, p_refer_if_threat=p)
