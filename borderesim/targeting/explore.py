"""A random exploration share, added to any strategy as a layer (Kim et al. 2022).

``{strategy: explore, share: 0.02}`` refers each traveller independently with
probability ``share``, from its own stream ``targeting.explore`` (independent of
every other strategy's draws). Used in ``layers`` it adds random selection to a
profile or a risk model: deterrence, a defence against probing ("Carnival Booth",
Chakrabarti & Strauss 2002), and unbiased data on the travellers a model passes.
Alone it is the same as ``random``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .base import Decision, Strategy, TargetingContext
from .basic import Rate

STREAM = "targeting.explore"


class ExploreStrategy(Strategy):
    """Refer each traveller with probability ``share``, independently of other layers."""

    strategy: Literal["explore"]
    share: Rate

    def decide(self, ctx: TargetingContext) -> Decision:
        u = ctx.stream(STREAM).random(ctx.n)
        p = np.full(ctx.n, float(self.share))
        return Decision(refer=u < p, p_refer_if_threat=p)
