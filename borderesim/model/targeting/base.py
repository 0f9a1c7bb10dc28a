"""The strategy interface and registry.

A strategy is a frozen pydantic model whose constructor takes only its parameters
(so sweeps and reports can list and vary them). It decides, from the travellers'
signals, who is referred to stages marked ``visits: referred``. Strategies draw
their own signals from named random streams handed to them in a context, so two
strategies compared on one seed see the same travellers.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

import numpy as np

from ...memo import per_object
from ..schema_base import Strict

if TYPE_CHECKING:  # pragma: no cover
    from ..scenario import Scenario

T = TypeVar("T")


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

    @classmethod
    def at_random(cls, rng: np.random.Generator, p: np.ndarray) -> Decision:
        """Refer traveller ``i`` with probability ``p[i]``, whatever the queues:
        ``rng.random(len(p)) < p``, the same draws in the same order, made
        :data:`UNIFORMS` at a time (a year-long run holds no traveller-sized array of
        uniforms: 88 MB at 11 million travellers)."""
        n = len(p)
        refer = np.empty(n, dtype=bool)
        u = np.empty(min(n, UNIFORMS))
        for lo in range(0, n, UNIFORMS):
            hi = min(lo + UNIFORMS, n)
            np.less(rng.random(out=u[:hi - lo]), p[lo:hi], out=refer[lo:hi])
        return cls(refer=refer, p_refer_if_threat=p)


UNIFORMS = 1 << 16
"""Uniforms :meth:`Decision.at_random` draws at a time."""


@dataclass(frozen=True)
class Knob:
    """A number of a strategy a user may vary: a slider on the workshop page, the knob a
    trade-off curve or the report sweeps.

    ``name``: the parameter (field) it sets; ``lo``/``hi``/``step``/``default``: the
    slider's range, step and starting value (in the parameter's units). ``percent``: the
    value is a share (0-1), shown as a percentage and capped at 1 when scaled.
    """

    name: str
    label: str
    lo: float
    hi: float
    step: float
    default: float
    percent: bool = True
    help: str = ""


SCALES = (0.25, 0.5, 1.0, 1.5, 2.0)
"""Factors on a strategy's main knob for its trade-off (1 = its own setting)."""


@dataclass(frozen=True)
class KnobSweep:
    """A strategy at several settings of its main knob, fewest referrals first.

    ``knob``: what varies (``"scale"``: a factor on the main knob, or a parameter name);
    ``values``: its settings; ``strategies``: the strategy at each; ``own``: the index of
    the strategy's own setting; ``note``: the settings in words.
    """

    knob: str
    values: tuple[float, ...]
    strategies: tuple[Strategy, ...]
    own: int
    note: str


def share_words(x: float) -> str:
    """A share as a percentage with just enough digits (0.0002 -> "0.02 %")."""
    v = 100 * x
    if v == 0:
        return "0 %"
    digits = 0 if v >= 10 else 1 if v >= 1 else 2 if v >= 0.1 else 3
    return f"{v:.{digits}f} %"


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


class Strategy(Strict):
    """Base class of targeting strategies. Subclasses set ``strategy: Literal["name"]``.

    A strategy is one file: its parameters (fields), ``decide``, and what every surface
    shows of it, read from the class by the workshop, the report, ``compare`` and the
    strategy kit: ``title``; ``knobs`` (sliders) and ``main_knob`` (the one that sets how
    many are referred) with the workshop curve's ``grid``; ``knob_values``/``from_knobs``
    (the sliders' values and the block they build); ``scaled``/``tradeoff`` (the
    strategy along its main knob); ``describe`` (plain words). ``registry`` maps each
    registered tag to its class (see :func:`targeting.registry.register_strategy`).
    """

    registry: ClassVar[dict[str, type[Strategy]]] = {}
    """Tag -> class of every registered strategy, in registration order."""

    title: ClassVar[str] = ""
    """Words for menus ("Random selection"); empty: the tag."""
    knobs: ClassVar[tuple[Knob, ...]] = ()
    """The sliders the workshop offers for this strategy."""
    main_knob: ClassVar[str | None] = None
    """The knob (one of ``knobs``) that sets how many are referred: the workshop's curve
    sweeps it over ``grid`` and the report's trade-off scales it. None: no such knob."""
    grid: ClassVar[tuple[float, ...]] = ()
    """Values of ``main_knob`` the workshop's trade-off curve runs."""
    keep: ClassVar[tuple[str, ...]] = ()
    """Parameters ``from_knobs`` keeps from the scenario's own strategy of this kind."""
    offered: ClassVar[bool] = True
    """Whether the workshop offers this strategy with sliders of its own."""

    @classmethod
    def tag(cls) -> str:
        """The strategy's name in scenario files (the value of its ``strategy`` field)."""
        return cls.model_fields["strategy"].annotation.__args__[0]

    @classmethod
    def knob(cls, name: str) -> Knob:
        """The knob called ``name``."""
        return next(k for k in cls.knobs if k.name == name)

    def per_scenario(self, scenario: Scenario, name: str, make: Callable[[], T]) -> T:
        """``make()`` once per strategy object and scenario object (both immutable), then
        the same value again: what ``decide`` derives from its parameters and the
        scenario alone (per-class rates, a solved threshold) is the same in every
        replication (``borderesim.memo``; the value must not be modified)."""
        kept = per_object(scenario, f"targeting.{name}@{id(self)}", lambda: [None, None])
        if kept[0] is None or kept[0]() is not self:  # first, or another strategy's id
            kept[:] = [weakref.ref(self), make()]
        return kept[1]

    def check(self, scenario: Scenario) -> None:
        """Raise ``ValueError`` if the strategy does not fit the scenario."""

    def queue_aware(self) -> bool:
        """True if ``decide`` returns a queue-aware ``DynamicRule`` (at most one per scenario)."""
        return False

    def decide(self, ctx: TargetingContext) -> Decision:  # pragma: no cover - abstract
        raise NotImplementedError

    # ----------------------------------------------------------------- knobs

    def knob_values(self, scenario: Scenario) -> dict[str, float]:
        """The value of each of ``knobs`` this strategy sets (those that are numbers)."""
        values = {k.name: getattr(self, k.name, None) for k in self.knobs}
        return {name: float(v) for name, v in values.items() if _is_number(v)}

    @classmethod
    def from_knobs(cls, values: dict[str, float], scenario: Scenario,
                   own: Strategy | None = None) -> dict[str, Any]:
        """The targeting block the sliders ``values`` set (validated by the caller).

        ``own``: the scenario's own strategy; if it is of this kind, its ``keep``
        parameters are kept (a biased model, a queue-aware rule).
        """
        block: dict[str, Any] = {"strategy": cls.tag()}
        block.update({k.name: values[k.name] for k in cls.knobs})
        if isinstance(own, cls):
            kept = own.model_dump(mode="json", exclude_none=True)
            block.update({name: kept[name] for name in cls.keep if name in kept})
        return block

    def scaled(self, factor: float) -> Self | None:
        """This strategy with its main knob times ``factor`` (a share capped at 1); None
        if it has no main knob set to a number."""
        if self.main_knob is None or not _is_number(value := getattr(self, self.main_knob)):
            return None
        new = value * factor
        if self.knob(self.main_knob).percent:
            new = min(1.0, max(0.0, new))
        return self.model_copy(update={self.main_knob: new})

    def tradeoff(self) -> KnobSweep | None:
        """The strategy along its main knob, fewest referrals first (its own setting among
        them); None if it has none. By default the main knob scaled by ``SCALES``."""
        if self.scaled(1.0) is None:
            return None
        return KnobSweep("scale", SCALES, tuple(self.scaled(f) for f in SCALES),
                         SCALES.index(1.0),
                         "referral knob scaled by " + ", ".join(f"×{f:g}" for f in SCALES))

    # ----------------------------------------------------------------- words

    def describe(self, scenario: Scenario) -> str:
        """What the strategy does, in plain words (a clause: "refers ...")."""
        params = self.model_dump(mode="json", exclude_none=True, exclude={"strategy"})
        shown = ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in params.items())
        return f"{self.title or self.tag()}" + (f" ({shown})" if shown else "")


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
