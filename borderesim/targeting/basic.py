"""Rule-based strategies: uniform random selection and per-class (profile) rates."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, field_validator

from .base import Decision, Strategy, TargetingContext

Rate = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
"""A share between 0 and 1."""


ONE_RATE = "*"
"""Key under which a single number given to ``by_class`` is held until ``check`` rejects it
naming the scenario's classes (a field validator cannot see the scenario)."""


def switch_to_random(rate: str = "RATE") -> str:
    """The command-line words that replace any targeting block by one rate for everyone."""
    return f"--set targeting.strategy=random --set targeting.referral_rate={rate}"


def _one_rate_problem(classes: list[str], rate: str = "RATE") -> str:
    example = ", ".join(f"{c}: {rate}" for c in classes) if classes else "CLASS: RATE, ..."
    one = classes[0] if classes else "CLASS"
    return (f"by_class takes one rate per class, {{{example}}} (on the command line: --set "
            f"targeting.referral_rate.{one}={rate}); for one rate for every traveller use the "
            f"random strategy: {switch_to_random(rate)}")


class RandomStrategy(Strategy):
    """Refer each traveller independently with probability ``referral_rate``."""

    strategy: Literal["random"]
    referral_rate: Rate

    @field_validator("referral_rate", mode="before")
    @classmethod
    def _not_per_class(cls, value: Any) -> Any:
        """Refuse a per-class mapping (left over from ``--set targeting.strategy=random``)."""
        if isinstance(value, dict):
            raise ValueError(
                "random takes one rate for every traveller, not one per class (strategy "
                f"by_class); switching strategy on the command line: {switch_to_random()}")
        return value

    def decide(self, ctx: TargetingContext) -> Decision:
        u = ctx.stream("targeting.random").random(ctx.n)
        p = np.full(ctx.n, self.referral_rate)
        return Decision(refer=u < p, p_refer_if_threat=p)


class ByClassStrategy(Strategy):
    """Refer travellers of class C with probability ``referral_rate[C]`` (a profile)."""

    strategy: Literal["by_class"]
    referral_rate: dict[str, Rate]

    @field_validator("referral_rate", mode="before")
    @classmethod
    def _one_number(cls, value: Any) -> Any:
        """Hold a lone share (``--set targeting.referral_rate=0.5``) for ``check``, which
        names the scenario's classes; refuse any other non-mapping here."""
        if isinstance(value, dict):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
            return {ONE_RATE: value}
        raise ValueError(f"{_one_rate_problem([])} (got {value!r})")

    def check(self, scenario) -> None:
        if ONE_RATE in self.referral_rate:
            raise ValueError("referral_rate: " + _one_rate_problem(
                list(scenario.classes), f"{self.referral_rate[ONE_RATE]:g}"))
        unknown = sorted(set(self.referral_rate) - set(scenario.classes))
        if unknown:
            raise ValueError(
                f"referral_rate names unknown class(es) {unknown}; classes are "
                f"{sorted(scenario.classes)}"
            )

    def rates(self, class_names: list[str]) -> np.ndarray:
        """Referral probability per class index (0 for classes not listed)."""
        if ONE_RATE in self.referral_rate:
            raise ValueError(_one_rate_problem(class_names))
        return np.array([self.referral_rate.get(c, 0.0) for c in class_names])

    def decide(self, ctx: TargetingContext) -> Decision:
        u = ctx.stream("targeting.random").random(ctx.n)
        p = self.rates(ctx.class_names)[ctx.cls]
        return Decision(refer=u < p, p_refer_if_threat=p)
