"""A random exploration share, added to any strategy as a layer (Kim et al. 2022).

``{strategy: explore, share: 0.02}`` refers each traveller independently with
probability ``share``, from its own stream ``targeting.explore`` (independent of
every other strategy's draws). Used in ``layers`` it adds random selection to a
profile or a risk model: deterrence, a defence against probing ("Carnival Booth",
Chakrabarti & Strauss 2002), and unbiased data on the travellers a model passes.
Alone it is the same as ``random``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from .base import Decision, Knob, Strategy, TargetingContext, share_words
from .basic import Rate
from .registry import register_strategy

if TYPE_CHECKING:  # pragma: no cover
    from ..scenario import Scenario

STREAM = "targeting.explore"


@register_strategy
class ExploreStrategy(Strategy):
    """Refer each traveller with probability ``share``, independently of other layers.

    Not offered by the workshop on its own: alone it is ``random``, which the page offers.
    """

    title = "Random exploration share"
    knobs = (Knob("share", "Exploration share (travellers referred at random)",
                  0.0, 0.1, 0.005, 0.02),)
    main_knob = "share"
    grid = (0.0, 0.005, 0.01, 0.02, 0.04, 0.06, 0.1)
    offered = False

    strategy: Literal["explore"]
    share: Rate

    def describe(self, scenario: Scenario) -> str:
        return f"refers a random {share_words(self.share)} of travellers (exploration)"

    def decide(self, ctx: TargetingContext) -> Decision:
        p = np.full(ctx.n, float(self.share))
        return Decision.at_random(ctx.stream(STREAM), p)
