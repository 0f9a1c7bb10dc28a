"""Targeting strategies: who is referred to secondary inspection.

Importing this package registers the built-in strategies; ``StrategySpec`` is the
pydantic type a scenario's ``targeting:`` block is validated against. A block is
told apart by its ``strategy`` field; a block with ``layers`` and no ``strategy``
is a ``layers`` strategy.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Tag

from .base import Decision, DynamicRule, Strategy, TargetingContext, no_referrals
from .basic import ByClassStrategy, RandomStrategy
from .explore import ExploreStrategy
from .layers import LayersStrategy
from .risk_score import RiskScoreStrategy
from .sqrt_biased import SqrtBiasedStrategy
from .watchlist import WatchlistStrategy

_BUILTIN = (RandomStrategy, ByClassStrategy, RiskScoreStrategy, WatchlistStrategy,
            SqrtBiasedStrategy, ExploreStrategy, LayersStrategy)


def strategy(value: Any) -> str | None:
    """The tag of a targeting block (named so error messages read "unknown strategy")."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        tag = value.get("strategy")
        if tag is None and "layers" in value:
            return "layers"
        return tag if isinstance(tag, str) else None
    return getattr(value, "strategy", None)


def _tagged(cls: type[Strategy]) -> Any:
    return Annotated[cls, Tag(cls.model_fields["strategy"].annotation.__args__[0])]


StrategySpec = Annotated[
    Union[tuple(_tagged(cls) for cls in _BUILTIN)],  # noqa: UP007
    Discriminator(strategy),
]
FallbackSpec = Annotated[
    Union[(Annotated[Literal["none"], Tag("none")], Annotated[Literal["all"], Tag("all")],  # noqa: UP007
           *(_tagged(cls) for cls in _BUILTIN))],
    Discriminator(strategy),
]
"""What a watchlist does during outages: ``none``, ``all`` or any strategy block."""

for _cls in (LayersStrategy, WatchlistStrategy):
    _cls.model_rebuild(_types_namespace={"StrategySpec": StrategySpec,
                                         "FallbackSpec": FallbackSpec})

__all__ = [
    "ByClassStrategy",
    "Decision",
    "DynamicRule",
    "ExploreStrategy",
    "FallbackSpec",
    "LayersStrategy",
    "RandomStrategy",
    "RiskScoreStrategy",
    "SqrtBiasedStrategy",
    "Strategy",
    "StrategySpec",
    "TargetingContext",
    "WatchlistStrategy",
    "no_referrals",
]
