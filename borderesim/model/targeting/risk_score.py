"""An analytics / AI risk model of a given quality: the equal-variance binormal score.

Innocent travellers score ``z ~ N(0, 1)``, threats ``z + d'``, where the model's
``auc`` sets ``d' = sqrt(2) * Phi^-1(auc)`` (so ``AUC = Phi(d' / sqrt(2))``). A
per-class ``shift`` adds a constant to everybody's score in that class (a biased
model). Referring every score ``>= t`` then refers a threat of class c with
probability ``1 - Phi(t - d' - shift_c)`` and an innocent with ``1 - Phi(t - shift_c)``.

The noise ``z`` comes from the stream ``targeting.risk_score``, one draw per
traveller, so a traveller's score is the same whatever the threshold, the AUC or
the other strategies alongside: sweeps and comparisons are paired.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from ..limits import MAX_SCORE
from .base import (
    Decision,
    DynamicRule,
    Knob,
    KnobSweep,
    Strategy,
    TargetingContext,
    refer_probability,
    share_words,
)
from .basic import RATE_GRID, RATE_KNOB, Rate
from .registry import register_strategy

if TYPE_CHECKING:  # pragma: no cover
    from ..scenario import Scenario

STREAM = "targeting.risk_score"
"""Random stream of the score noise (one standard normal per traveller)."""


def d_prime(auc: float) -> float:
    """Separation of the binormal model with area under the ROC curve ``auc``."""
    from scipy import special  # imported on use: SciPy is slow to import

    return math.sqrt(2.0) * float(special.ndtri(auc))


def expected_referral_share(
    threshold: float, dprime: float, shares: np.ndarray, prevalence: np.ndarray,
    shift: np.ndarray,
) -> float:
    """Share of all travellers with a score at or above ``threshold``.

    ``shares``, ``prevalence`` and ``shift`` are per class: the class's share of
    arrivals, its threat prevalence and its score shift.
    """
    innocent = refer_probability(threshold, shift)
    threat = refer_probability(threshold, shift + dprime)
    return float(np.sum(shares * ((1 - prevalence) * innocent + prevalence * threat)))


def threshold_for_rate(
    rate: float, dprime: float, shares: np.ndarray, prevalence: np.ndarray, shift: np.ndarray,
) -> float:
    """The threshold whose expected referral share over the population is ``rate``.

    0 gives ``+inf`` (nobody) and 1 gives ``-inf`` (everybody).
    """
    if rate <= 0:
        return math.inf
    if rate >= 1:
        return -math.inf
    lo = float(np.min(shift)) - 40.0
    hi = float(np.max(shift)) + abs(dprime) + 40.0

    def gap(t: float) -> float:
        return expected_referral_share(t, dprime, shares, prevalence, shift) - rate

    from scipy import optimize

    return float(optimize.brentq(gap, lo, hi, xtol=1e-12, rtol=1e-12))


SHIFTS = (1.0, 0.5, 0.0, -0.5, -1.0)
"""Shifts of a threshold for the trade-off (score units; 0 = the strategy's own)."""


@register_strategy
class RiskScoreStrategy(Strategy):
    """Refer travellers whose binormal risk score is at or above a threshold.

    ``auc``: the model's quality, 0.5 (chance) to below 1.
    ``threshold`` (score units, innocent SDs) or ``referral_rate`` (the share of all
    travellers referred on average, from class shares and prevalences): give one.
    ``shift``: per-class score shift (score units, within ±``limits.MAX_SCORE``);
    classes not listed get 0.
    ``per_waiting``: queue-aware option; the threshold rises by this much for every
    traveller waiting at the referred stage when the traveller reaches it (a rule
    both engines implement). 0 (default) keeps the threshold fixed.

    Knobs: ``auc`` and ``referral_rate`` (the main one). Given a ``threshold`` instead,
    its trade-off shifts the threshold by ``SHIFTS``.
    """

    title = "Risk model (analytics / AI score)"
    knobs = (Knob("auc", "Risk model quality (AUC: 0.5 = chance, 1 = perfect)",
                  0.5, 0.99, 0.01, 0.8, percent=False), RATE_KNOB)
    main_knob = "referral_rate"
    grid = RATE_GRID
    keep = ("shift", "per_waiting")

    strategy: Literal["risk_score"]
    auc: Annotated[float, Field(ge=0.5, lt=1, allow_inf_nan=False)]
    threshold: Annotated[float, Field(allow_inf_nan=False)] | None = None
    referral_rate: Rate | None = None
    shift: dict[str, Annotated[float, Field(ge=-MAX_SCORE, le=MAX_SCORE, allow_inf_nan=False)]] \
        = Field(default_factory=dict)
    per_waiting: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0

    @model_validator(mode="after")
    def _one_cut(self) -> RiskScoreStrategy:
        if (self.threshold is None) == (self.referral_rate is None):
            raise ValueError("give either 'threshold' or 'referral_rate' (exactly one)")
        return self

    def check(self, scenario) -> None:
        unknown = sorted(set(self.shift) - set(scenario.classes))
        if unknown:
            raise ValueError(
                f"shift: names unknown class(es) {unknown}; classes are {sorted(scenario.classes)}"
            )

    def queue_aware(self) -> bool:
        return self.per_waiting > 0

    def tradeoff(self) -> KnobSweep | None:
        if self.threshold is None:
            return super().tradeoff()
        values = tuple(self.threshold + d for d in SHIFTS)
        return KnobSweep("threshold", values,
                         tuple(self.model_copy(update={"threshold": t}) for t in values),
                         SHIFTS.index(0.0),
                         "threshold shifted by " + ", ".join(f"{d:+g}" for d in SHIFTS))

    def describe(self, scenario: Scenario) -> str:
        cut = (f"at or above threshold {self.threshold:g}" if self.threshold is not None
               else f"in the top {share_words(self.referral_rate)} on average")
        text = f"refers travellers whose risk score (a model with AUC {self.auc:g}) is {cut}"
        if self.shift:
            text += "; scores shifted for " + ", ".join(
                f"{c} by {v:+g}" for c, v in self.shift.items())
        if self.per_waiting:
            text += (f"; the threshold rises by {self.per_waiting:g} for every traveller "
                     "waiting at secondary (queue-aware)")
        return text

    @property
    def dprime(self) -> float:
        """The score separation d' (innocent SDs) implied by ``auc``."""
        return d_prime(self.auc)

    def shifts(self, class_names: list[str]) -> np.ndarray:
        """Score shift per class index."""
        return np.array([self.shift.get(c, 0.0) for c in class_names], dtype=float)

    def base_threshold(self, scenario) -> float:
        """The threshold in force with an empty queue (solved from ``referral_rate``)."""
        if self.threshold is not None:
            return float(self.threshold)
        classes = list(scenario.classes.values())
        return threshold_for_rate(
            float(self.referral_rate),
            self.dprime,
            np.array([c.share for c in classes]),
            np.array([c.threat_prevalence for c in classes]),
            self.shifts(list(scenario.classes)),
        )

    def _per_class(self, scenario: Scenario) -> tuple[np.ndarray, float, np.ndarray,
                                                       np.ndarray, float]:
        """Per class: score shift, then d', per class the mean score of a threat and the
        probability it is referred (with an empty queue), and the threshold; the same in
        every replication (:meth:`per_scenario`)."""
        shift = self.shifts(list(scenario.classes))
        dprime = self.dprime
        threshold = self.base_threshold(scenario)
        threat_mean = shift + dprime
        return shift, dprime, threat_mean, refer_probability(threshold, threat_mean), threshold

    def decide(self, ctx: TargetingContext) -> Decision:
        z = ctx.stream(STREAM).standard_normal(ctx.n)
        shifts, dprime, means, p_class, threshold = self.per_scenario(
            ctx.scenario, "risk_score", lambda: self._per_class(ctx.scenario))
        shift = shifts.take(ctx.cls)  # as [ctx.cls], faster
        score = z + shift + dprime * ctx.threat
        if self.per_waiting > 0:
            rule = DynamicRule(score=score, threshold=threshold, per_waiting=self.per_waiting,
                               threat_mean=means.take(ctx.cls))
            zeros = np.zeros(ctx.n)
            return Decision(refer=zeros.astype(bool), p_refer_if_threat=zeros, dynamic=rule)
        # each traveller's probability is their class's (the same numbers, computed once)
        return Decision(refer=score >= threshold, p_refer_if_threat=p_class.take(ctx.cls))
