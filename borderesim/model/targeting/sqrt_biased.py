"""Screening in proportion to the square root of prior risk (Press, PNAS 2009).

Class c is referred with probability ``p_c = min(1, k * risk_c ** exponent)``, with
``k`` solved so the expected share of all travellers referred, ``sum_c share_c p_c``,
equals ``referral_rate``. Press showed that for finding a rare malfeasor under
repeated screening the square root (``exponent: 0.5``) beats both uniform random
screening (``exponent: 0``) and screening in proportion to risk (``exponent: 1``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import Field

from .base import Decision, Strategy, TargetingContext, share_words
from .basic import RATE_GRID, RATE_KNOB, Rate
from .registry import register_strategy

if TYPE_CHECKING:  # pragma: no cover
    from ..scenario import Scenario

MAX_EXPONENT = 10.0
"""Largest ``exponent``: beyond it the heaviest class takes every referral anyway."""
STREAM = "targeting.random"
"""The selection lottery of ``random`` and ``by_class``: equal rates pick the same travellers."""


def class_rates(weights: np.ndarray, shares: np.ndarray, rate: float) -> np.ndarray:
    """Per-class probabilities ``min(1, k * weights)`` whose share-weighted mean is ``rate``.

    Raises ``ValueError`` if ``rate`` cannot be reached (classes of weight 0 are never
    referred).
    """
    reachable = float(np.sum(shares[weights > 0]))
    if rate > reachable + 1e-12:
        raise ValueError(
            f"referral_rate: {rate:g} cannot be reached: classes with prior risk 0 are never "
            f"referred, so at most {reachable:g} of travellers can be"
        )
    if rate <= 0:
        return np.zeros_like(weights, dtype=float)
    # cap the m heaviest classes at 1 and scale the rest: the first m that is consistent
    order = np.argsort(-weights, kind="stable")
    positive = [int(c) for c in order if weights[c] > 0]
    for m in range(len(positive) + 1):
        capped, free = positive[:m], positive[m:]
        left = rate - float(np.sum(shares[capped]))
        if not free:
            break
        k = left / float(np.sum(shares[free] * weights[free]))
        if k * weights[free[0]] <= 1.0:
            break
    p = np.zeros_like(weights, dtype=float)
    p[capped] = 1.0
    if free:
        p[free] = np.minimum(1.0, k * weights[free])
    return p


@register_strategy
class SqrtBiasedStrategy(Strategy):
    """Refer class c with probability proportional to ``risk_c ** exponent``, capped at 1.

    ``referral_rate``: expected share of all travellers referred. ``exponent``: 0.5
    (default, Press 2009); 0 is uniform random, 1 proportional to risk.
    ``prior_risk``: the planner's belief about each class's risk (any scale; every
    class must be listed); by default the scenario's ``threat_prevalence``.
    """

    title = "Square-root biased profile (Press 2009)"
    knobs = (RATE_KNOB,)
    main_knob = "referral_rate"
    grid = RATE_GRID
    keep = ("exponent", "prior_risk")

    strategy: Literal["sqrt_biased"]
    referral_rate: Rate
    exponent: Annotated[float, Field(ge=0, le=MAX_EXPONENT, allow_inf_nan=False)] = 0.5
    prior_risk: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]] | None = None

    def risks(self, scenario) -> np.ndarray:
        """Prior risk per class index."""
        if self.prior_risk is None:
            return np.array([c.threat_prevalence for c in scenario.classes.values()])
        return np.array([self.prior_risk[c] for c in scenario.classes])

    def rates(self, scenario) -> np.ndarray:
        """Referral probability per class index."""
        risk = self.risks(scenario)
        # relative to the largest risk (the solved k absorbs the scale): no overflow
        top = float(np.max(risk)) if risk.size else 0.0
        weights = np.where(risk > 0, (risk / (top or 1.0)) ** self.exponent, 0.0)
        shares = np.array([c.share for c in scenario.classes.values()])
        return class_rates(weights, shares, float(self.referral_rate))

    def check(self, scenario) -> None:
        if self.prior_risk is not None:
            unknown = sorted(set(self.prior_risk) - set(scenario.classes))
            missing = [c for c in scenario.classes if c not in self.prior_risk]
            if unknown or missing:
                raise ValueError(
                    f"prior_risk: must give every class exactly once; classes are "
                    f"{sorted(scenario.classes)}"
                    + (f", unknown {unknown}" if unknown else "")
                    + (f", missing {missing}" if missing else "")
                )
        if not np.any(self.risks(scenario) > 0) and self.referral_rate > 0:
            raise ValueError("prior_risk: every class has prior risk 0 (threat_prevalence); give "
                             "'prior_risk' or use the random strategy")
        self.rates(scenario)

    def describe(self, scenario: Scenario) -> str:
        return (f"refers {share_words(self.referral_rate)} of travellers, each class in "
                f"proportion to its prior risk to the power {self.exponent:g}")

    def decide(self, ctx: TargetingContext) -> Decision:
        rates = self.per_scenario(ctx.scenario, "sqrt_biased", lambda: self.rates(ctx.scenario))
        p = rates.take(ctx.cls)  # as [ctx.cls], faster
        return Decision.at_random(ctx.stream(STREAM), p)
