"""Targeting strategies: who is referred to secondary inspection.

Importing this package registers the built-in strategies; ``StrategySpec`` is the
pydantic type a scenario's ``targeting:`` block is validated against.
"""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from .base import Decision, DynamicRule, Strategy, TargetingContext, no_referrals
from .basic import ByClassStrategy, RandomStrategy

_BUILTIN = (RandomStrategy, ByClassStrategy)

StrategySpec = Annotated[Union[_BUILTIN], Field(discriminator="strategy")]  # noqa: UP007

__all__ = [
    "ByClassStrategy",
    "Decision",
    "DynamicRule",
    "RandomStrategy",
    "Strategy",
    "StrategySpec",
    "TargetingContext",
    "no_referrals",
]
