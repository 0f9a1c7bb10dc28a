"""The strategy interface and registry.

A strategy is a frozen pydantic model whose constructor takes only its parameters
(so sweeps and reports can list and vary them). It decides, from the travellers'
signals, who is referred to stages marked ``visits: referred``. Strategies draw
their own signals from named random streams handed to them in a context, so two
strategies compared on one seed see the same travellers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..schema_base import Strict

if TYPE_CHECKING:  # pragma: no cover
    from ..scenario import Scenario


@dataclass(frozen=True)
class TargetingContext:
    """What a strategy may look at for one replication.

    ``arrival`` is in minutes from the start of the run; ``cls`` indexes ``class_names``.
    ``stream(name)`` returns the replication's generator for the named random stream.
    """

    scenario: Scenario
    arrival: np.ndarray
    cls: np.ndarray
    threat: np.ndarray
    stream: Callable[[str], np.random.Generator]

    @property
    def n(self) -> int:
        return len(self.arrival)

    @property
    def class_names(self) -> list[str]:
        return list(self.scenario.classes)


@dataclass(frozen=True)
class DynamicRule:
    """A queue-aware referral rule both engines implement; plain data (it pickles).

    When a traveller first reaches a stage that only referred travellers visit,
    they are referred if ``score >= threshold + per_waiting * waiting``, where
    ``waiting`` is the number of travellers then waiting at that stage.

    The score is a unit-variance normal signal: were traveller ``i`` a threat, their
    score would be ``N(threat_mean[i], 1)``, so at a threshold ``t`` they would be
    referred with probability ``1 - Phi(t - threat_mean[i])`` (see
    :func:`p_refer_if_threat`, which the detection estimator uses).
    """

    score: np.ndarray
    """float64[n], score units; ``-inf`` for a traveller the rule never refers."""
    threshold: float
    """Threshold with nobody waiting (score units; ``-inf`` refers everybody)."""
    per_waiting: float
    """Threshold rise per traveller waiting at the stage (score units)."""
    threat_mean: np.ndarray
    """float64[n]: mean of each traveller's score were they a threat (score units);
    ``-inf`` for a traveller the rule never refers."""


@dataclass(frozen=True)
class PythonRule:
    """A referral rule written in Python, decided while the queues run (SimPy engine only).

    When a traveller first reaches a stage that only referred travellers visit, they
    are referred if ``decide(traveller_index, waiting)`` is true (OR-ed with the static
    choice), ``waiting`` being the number then waiting at that stage. A strategy
    returning one sets ``simpy_only`` so ``--engine auto`` uses SimPy and says why.
    The detection estimator cannot know how often the code would refer a threat, so
    it uses the decision's static ``p_refer_if_threat`` as given and never calls
    ``decide`` (see :func:`p_refer_if_threat`).
    """

    decide: Callable[[int, int], bool]


@dataclass(frozen=True)
class Decision:
    """A strategy's answer for one replication.

    ``refer``: referred whatever the queues (bool per traveller).
    ``p_refer_if_threat``: probability each traveller would be referred were they a
    threat; used by the low-variance detection estimator.
    ``dynamic``: an optional queue-aware rule, OR-ed with ``refer`` by the engines
    (a ``PythonRule`` only by the SimPy engine).
    ``extra``: per-replication counts a strategy reports (e.g. watchlist hits).
    """

    refer: np.ndarray
    p_refer_if_threat: np.ndarray
    dynamic: DynamicRule | PythonRule | None = None
    extra: dict[str, float] = field(default_factory=dict)


class Strategy(Strict):
    """Base class of targeting strategies. Subclasses set ``strategy: Literal[...]``."""

    registry: ClassVar[dict[str, type[Strategy]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        field_info = cls.model_fields.get("strategy")
        args = getattr(field_info.annotation, "__args__", ()) if field_info else ()
        for name in args:
            Strategy.registry[name] = cls

    def check(self, scenario: Scenario) -> None:
        """Raise ``ValueError`` if the strategy does not fit the scenario."""

    def queue_aware(self) -> bool:
        """True if ``decide`` returns a queue-aware ``DynamicRule`` (at most one per scenario)."""
        return False

    def decide(self, ctx: TargetingContext) -> Decision:  # pragma: no cover - abstract
        raise NotImplementedError


def refer_probability(threshold: np.ndarray | float, mean: np.ndarray | float) -> np.ndarray:
    """P(score >= threshold) for a N(mean, 1) score (vectorised, inf-safe)."""
    from scipy import special  # imported on use: SciPy is slow to import

    return special.ndtr(np.asarray(mean, dtype=float) - np.asarray(threshold, dtype=float))


def p_refer_if_threat(static: np.ndarray, rule: DynamicRule | PythonRule | None,
                      thresholds: np.ndarray) -> np.ndarray:
    """P(a traveller would be referred were they a threat), per traveller (float64[n]).

    ``static``: the decision's ``p_refer_if_threat``; ``rule``: its queue-aware rule;
    ``thresholds``: ``Trace.threshold``, the threshold each traveller met (NaN where the
    rule was not applied). Under a :class:`DynamicRule` the static choice OR the rule
    at the threshold met: ``1 - (1 - static) * (1 - p_rule)``, ``p_rule = 0`` where the
    rule was not applied. A :class:`PythonRule` is code whose referral probability
    cannot be known, so ``static`` is returned as given; its code is never called.
    This is the one place the estimator of detection reads a strategy's rule.
    """
    if not isinstance(rule, DynamicRule):
        return static
    decided = ~np.isnan(thresholds)
    with np.errstate(invalid="ignore"):  # -inf mean at a -inf threshold: handled below
        p_rule = refer_probability(np.where(decided, thresholds, np.inf), rule.threat_mean)
    p_rule = np.where(decided & ~np.isneginf(rule.threat_mean), p_rule, 0.0)
    return 1.0 - (1.0 - static) * (1.0 - p_rule)


def no_referrals(ctx: TargetingContext) -> Decision:
    """The decision when a scenario declares no targeting: nobody is referred."""
    zeros = np.zeros(ctx.n)
    return Decision(refer=zeros.astype(bool), p_refer_if_threat=zeros)
