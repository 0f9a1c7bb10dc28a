"""Rule-based strategies: uniform random selection and per-class (profile) rates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

import numpy as np
from pydantic import Field, field_validator

from .base import Decision, Knob, Strategy, TargetingContext, share_words
from .registry import register_strategy

if TYPE_CHECKING:  # pragma: no cover
    from ..scenario import Scenario

Rate = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
"""A share between 0 and 1."""

RATE_KNOB = Knob("referral_rate", "Referral rate (share of travellers sent to secondary)",
                 0.0, 0.3, 0.005, 0.05)
"""The slider of a strategy whose ``referral_rate`` is the share of travellers referred."""
RATE_GRID = (0.0, 0.01, 0.02, 0.04, 0.06, 0.08, 0.12, 0.16, 0.2, 0.3)
"""Referral rates a trade-off curve runs."""


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


@register_strategy
class RandomStrategy(Strategy):
    """Refer each traveller independently with probability ``referral_rate``."""

    title = "Random selection"
    knobs = (RATE_KNOB,)
    main_knob = "referral_rate"
    grid = RATE_GRID

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

    def describe(self, scenario: Scenario) -> str:
        return f"refers {share_words(self.referral_rate)} of travellers at random"

    def decide(self, ctx: TargetingContext) -> Decision:
        p = np.full(ctx.n, self.referral_rate)
        return Decision.at_random(ctx.stream("targeting.random"), p)


@register_strategy
class ByClassStrategy(Strategy):
    """Refer travellers of class C with probability ``referral_rate[C]`` (a profile).

    Its knob is the average referral rate over arrivals; the profile's shape is kept when
    it is changed (``profile_rates``, ``scaled``).
    """

    title = "Profile by traveller class"
    knobs = (RATE_KNOB,)
    main_knob = "referral_rate"
    grid = RATE_GRID

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

    def average_rate(self, scenario: Scenario) -> float:
        """The share of all travellers referred on average (class shares as weights)."""
        return float(sum(c.share * self.referral_rate.get(name, 0.0)
                         for name, c in scenario.classes.items()))

    def knob_values(self, scenario: Scenario) -> dict[str, float]:
        return {"referral_rate": self.average_rate(scenario)}

    @classmethod
    def from_knobs(cls, values: dict[str, float], scenario: Scenario,
                   own: Strategy | None = None) -> dict[str, Any]:
        return {"strategy": cls.tag(),
                "referral_rate": profile_rates(values["referral_rate"], scenario, own)}

    def scaled(self, factor: float) -> Self:
        """Every class's rate times ``factor`` (capped at 1): the profile's shape is kept."""
        return self.model_copy(update={"referral_rate": {
            c: min(1.0, max(0.0, r * factor)) for c, r in self.referral_rate.items()}})

    def describe(self, scenario: Scenario) -> str:
        rates = ", ".join(f"{c} {share_words(self.referral_rate.get(c, 0.0))}"
                          for c in scenario.classes)
        return f"refers a fixed share of each class (a profile): {rates}"

    def decide(self, ctx: TargetingContext) -> Decision:
        rates = self.per_scenario(ctx.scenario, "by_class", lambda: self.rates(ctx.class_names))
        p = rates.take(ctx.cls)  # as [ctx.cls], faster
        return Decision.at_random(ctx.stream("targeting.random"), p)


def profile_rates(rate: float, scenario: Scenario,
                  own: Strategy | None = None) -> dict[str, float]:
    """Per-class referral rates averaging ``rate`` over arrivals.

    Keeps the proportions of ``own`` (default: the scenario's targeting) if it is a
    ``by_class`` profile referring anybody, else makes rates proportional to each class's
    threat prevalence (equal if none). Rates are capped at 1, so a very high ``rate``
    may average a little less.
    """
    own = scenario.targeting if own is None else own
    if isinstance(own, ByClassStrategy) and own.average_rate(scenario) > 0:
        weight = {c: own.referral_rate.get(c, 0.0) for c in scenario.classes}
    else:
        weight = {c: cls.threat_prevalence for c, cls in scenario.classes.items()}
        if sum(weight.values()) <= 0:
            weight = dict.fromkeys(scenario.classes, 1.0)
    mean = sum(scenario.classes[c].share * w for c, w in weight.items())
    scale = rate / mean if mean > 0 else 0.0
    return {c: min(1.0, w * scale) for c, w in weight.items()}
