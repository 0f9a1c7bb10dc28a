"""Targeting strategies: who is referred to secondary inspection.

A strategy is one file: a ``Strategy`` subclass with its parameters, its knobs, its
words and its decision rule, registered with ``register_strategy``. Importing this
package imports every module in it, so a file added here registers its strategy (in the
order of the module names: the workshop lists them so).
``StrategySpec`` is the type a scenario's ``targeting:`` block is validated against,
through the registry as it is when validation runs; a block is told apart by its
``strategy`` field, and a block with ``layers`` and no ``strategy`` is a ``layers`` one.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import (
    Decision,
    DynamicRule,
    Knob,
    KnobSweep,
    PythonRule,
    Strategy,
    TargetingContext,
    no_referrals,
)
from .basic import ByClassStrategy, RandomStrategy
from .explore import ExploreStrategy
from .layers import LayersStrategy
from .presets import PRESETS, Preset
from .registry import AnyFallback, AnyStrategy, register_strategy, strategy
from .risk_score import RiskScoreStrategy
from .sqrt_biased import SqrtBiasedStrategy
from .watchlist import WatchlistStrategy

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")  # each registers its strategies

StrategySpec = AnyStrategy
"""Any registered strategy block (the type of a scenario's ``targeting``)."""
FallbackSpec = AnyFallback
"""What a watchlist does during outages: ``none``, ``all`` or any strategy block."""

__all__ = [
    "PRESETS",
    "AnyFallback",
    "AnyStrategy",
    "ByClassStrategy",
    "Decision",
    "DynamicRule",
    "ExploreStrategy",
    "FallbackSpec",
    "Knob",
    "KnobSweep",
    "LayersStrategy",
    "Preset",
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
    "strategy",
]
