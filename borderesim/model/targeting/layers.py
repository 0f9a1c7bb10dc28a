"""Layered targeting: any list of strategies; a traveller is referred if any layer refers.

``targeting: {layers: [{strategy: watchlist, ...}, {strategy: risk_score, ...}]}``
(``strategy: layers`` may be written but is not needed).

Detection estimator: P(referred | threat) is combined as ``1 - prod_k (1 - p_k)``,
which assumes the layers' signals are independent given the threat flag. Each
layer draws its own streams; when two layers would draw the same stream (two
``risk_score`` layers, or ``random`` with ``by_class``), the later one gets an
independent copy (the stream name with ``#2``, ``#3``... appended), so the
assumption holds. The first layer to use a stream sees the same draws as it would
alone: ``risk_score`` in a layer scores every traveller as ``risk_score`` alone does.

At most one layer may be queue-aware (one ``DynamicRule`` per scenario). Layers'
``extra`` counts (e.g. ``watchlist.hits``) are added up.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Literal, Self

import numpy as np
from pydantic import Field

from .base import Decision, Strategy, TargetingContext
from .registry import AnyStrategy, register_strategy

if TYPE_CHECKING:  # pragma: no cover
    from ..scenario import Scenario


def combine_p(ps: list[np.ndarray]) -> np.ndarray:
    """P(at least one layer refers) from per-layer probabilities, assuming independence."""
    miss = np.ones_like(ps[0], dtype=float)
    for p in ps:
        miss = miss * (1.0 - np.asarray(p, dtype=float))
    return 1.0 - miss


@register_strategy
class LayersStrategy(Strategy):
    """Refer a traveller if any of ``layers`` refers them.

    Its knobs are its layers': ``scaled`` scales every layer that has a main knob, and
    ``describe`` joins the layers' words. The workshop offers layers through presets
    (``targeting.presets``).
    """

    title = "Layers (referred if any layer refers)"
    offered = False

    strategy: Literal["layers"] = "layers"
    layers: Annotated[list[AnyStrategy], Field(min_length=1)]

    def check(self, scenario) -> None:
        for i, layer in enumerate(self.layers):
            try:
                layer.check(scenario)
            except ValueError as exc:
                raise ValueError(f"layers.{i}: {exc}") from None
        aware = [str(i) for i, layer in enumerate(self.layers) if layer.queue_aware()]
        if len(aware) > 1:
            raise ValueError(f"layers: layers {' and '.join(aware)} are queue-aware; at most "
                             "one layer may have a threshold that rises with the queue")

    def queue_aware(self) -> bool:
        return any(layer.queue_aware() for layer in self.layers)

    def scaled(self, factor: float) -> Self | None:
        """Every layer with a main knob scaled by ``factor`` (None if no layer has one)."""
        scaled = [layer.scaled(factor) for layer in self.layers]
        if all(s is None for s in scaled):
            return None
        return self.model_copy(update={"layers": [
            layer if s is None else s for layer, s in zip(self.layers, scaled, strict=True)]})

    def describe(self, scenario: Scenario) -> str:
        return "refers a traveller if any layer does: " + "; ".join(
            layer.describe(scenario) for layer in self.layers)

    def decide(self, ctx: TargetingContext) -> Decision:
        used: Counter[str] = Counter()

        def stream(name: str):
            used[name] += 1
            return ctx.stream(name if used[name] == 1 else f"{name}#{used[name]}")

        inner = replace(ctx, stream=stream)
        decisions = [layer.decide(inner) for layer in self.layers]
        refer = np.zeros(ctx.n, dtype=bool)
        extra: dict[str, float] = {}
        for d in decisions:
            refer |= np.asarray(d.refer, dtype=bool)
            for name, value in d.extra.items():
                extra[name] = extra.get(name, 0.0) + value
        dynamic = next((d.dynamic for d in decisions if d.dynamic is not None), None)
        return Decision(refer=refer, p_refer_if_threat=combine_p([d.p_refer_if_threat
                                                                  for d in decisions]),
                        dynamic=dynamic, extra=extra)
