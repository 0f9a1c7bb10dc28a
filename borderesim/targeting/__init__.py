"""Targeting strategies: who is referred to secondary inspection.

Importing this package registers the built-in strategies; ``StrategySpec`` is the
pydantic type a scenario's ``targeting:`` block is validated against. A block is
told apart by its ``strategy`` field; a block with ``layers`` and no ``strategy``
is a ``layers`` strategy.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Discriminator, Tag

from .base import Decision, DynamicRule, PythonRule, Strategy, TargetingContext, no_referrals
from .basic import ByClassStrategy, RandomStrategy
from .explore import ExploreStrategy
from .layers import LayersStrategy
from .risk_score import RiskScoreStrategy
from .sqrt_biased import SqrtBiasedStrategy
from .watchlist import WatchlistStrategy

_BUILTIN: tuple[type[Strategy], ...] = (
    RandomStrategy, ByClassStrategy, RiskScoreStrategy, WatchlistStrategy,
    SqrtBiasedStrategy, ExploreStrategy, LayersStrategy,
)


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


def _specs(classes: tuple[type[Strategy], ...]) -> tuple[Any, Any]:
    spec = Annotated[
        Union[tuple(_tagged(cls) for cls in classes)],  # noqa: UP007
        Discriminator(strategy),
    ]
    fallback = Annotated[
        Union[(Annotated[Literal["none"], Tag("none")], Annotated[Literal["all"], Tag("all")],  # noqa: UP007
               *(_tagged(cls) for cls in classes))],
        Discriminator(strategy),
    ]
    for cls in (LayersStrategy, WatchlistStrategy):
        cls.model_rebuild(force=True, _types_namespace={"StrategySpec": spec,
                                                        "FallbackSpec": fallback})
    return spec, fallback


StrategySpec, FallbackSpec = _specs(_BUILTIN)
"""``StrategySpec``: any strategy block. ``FallbackSpec``: what a watchlist does during
outages: ``none``, ``all`` or any strategy block."""


def register_strategy(cls: type[Strategy]) -> type[Strategy]:
    """Make a user's ``Strategy`` subclass usable in scenario files (``strategy: its_name``).

    Rebuilds the scenario schema so validation, layers and fallbacks accept it. Usable
    as a class decorator. A strategy whose ``decide`` returns a ``PythonRule`` must set
    ``simpy_only`` (a reason), so ``--engine auto`` runs it with SimPy.
    """
    global _BUILTIN, StrategySpec, FallbackSpec
    from ..scenario import Scenario

    if cls not in _BUILTIN:
        _BUILTIN = (*_BUILTIN, cls)
    StrategySpec, FallbackSpec = _specs(_BUILTIN)
    # fields already typed with the old unions get the new ones, then schemas are rebuilt
    for model, name, annotation in (
        (LayersStrategy, "layers", list[StrategySpec]),
        (WatchlistStrategy, "fallback", FallbackSpec | None),
        (Scenario, "targeting", StrategySpec | None),
    ):
        model.model_fields[name].annotation = annotation
        model.model_rebuild(force=True)
    return cls

__all__ = [
    "ByClassStrategy",
    "Decision",
    "DynamicRule",
    "ExploreStrategy",
    "FallbackSpec",
    "LayersStrategy",
    "PythonRule",
    "RandomStrategy",
    "RiskScoreStrategy",
    "SqrtBiasedStrategy",
    "Strategy",
    "StrategySpec",
    "TargetingContext",
    "WatchlistStrategy",
    "no_referrals",
    "register_strategy",
]
