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
    """A queue-aware referral rule both engines implement.

    When a traveller first reaches a stage that only referred travellers visit,
    they are referred if ``score >= threshold + per_waiting * waiting``, where
    ``waiting`` is the number of travellers then waiting at that stage.
    """

    score: np.ndarray
    threshold: float
    per_waiting: float
    p_refer_if_threat: Callable[[np.ndarray], np.ndarray]
    """Maps the thresholds in force per traveller to P(referred | threat).

    Called with one threshold per traveller (float64[n], in traveller order; ``+inf``
    where the rule was never applied), so the answer may depend on the traveller
    (e.g. a per-class score shift); returns float64[n].
    """


@dataclass(frozen=True)
class PythonRule:
    """A referral rule written in Python, decided while the queues run (SimPy engine only).

    When a traveller first reaches a stage that only referred travellers visit, they
    are referred if ``decide(traveller_index, waiting)`` is true (OR-ed with the static
    choice), ``waiting`` being the number then waiting at that stage. A strategy
    returning one sets ``simpy_only`` so ``--engine auto`` uses SimPy and says why.
    The estimator of detection uses the strategy's ``p_refer_if_threat`` as given.
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


def no_referrals(ctx: TargetingContext) -> Decision:
    """The decision when a scenario declares no targeting: nobody is referred."""
    zeros = np.zeros(ctx.n)
    return Decision(refer=zeros.astype(bool), p_refer_if_threat=zeros)
