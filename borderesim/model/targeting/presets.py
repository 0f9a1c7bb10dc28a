"""Presets: ready-made ``layers`` of registered strategies, offered with their sliders.

A preset lists strategy tags; its sliders are those layers' knobs (a knob's default may be
changed), its main knob the last layer's, and it builds ``{layers: [...]}`` from each
layer's ``from_knobs``. The workshop offers a preset when ``layers`` and every strategy it
names are registered.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .base import Knob, Strategy

if TYPE_CHECKING:  # pragma: no cover
    from ..scenario import Scenario

LAYERS = "layers"
"""The tag of the strategy a preset builds."""


@dataclass(frozen=True, eq=False)
class Preset:
    """Layers of the strategies tagged ``layers``, with knob ``defaults`` of its own."""

    key: str
    title: str
    layers: tuple[str, ...]
    defaults: dict[str, float] = field(default_factory=dict)

    @property
    def needs(self) -> tuple[str, ...]:
        """The strategies that must be registered for the preset to be offered."""
        return (LAYERS, *self.layers)

    def classes(self) -> list[type[Strategy]]:
        """The layers' classes, from the registry."""
        return [Strategy.registry[tag] for tag in self.layers]

    @property
    def knobs(self) -> tuple[Knob, ...]:
        """Every layer's knobs in order, with this preset's defaults."""
        knobs = [k for cls in self.classes() for k in cls.knobs]
        names = [k.name for k in knobs]
        if len(set(names)) != len(names):
            raise ValueError(f"preset {self.key}: two layers have a knob of the same name")
        return tuple(replace(k, default=self.defaults.get(k.name, k.default)) for k in knobs)

    @property
    def main_knob(self) -> str | None:
        return self.classes()[-1].main_knob

    @property
    def grid(self) -> tuple[float, ...]:
        return self.classes()[-1].grid

    def from_knobs(self, values: dict[str, float], scenario: Scenario) -> dict[str, Any]:
        """The ``layers`` block the sliders ``values`` set (each layer from its own knobs)."""
        return {LAYERS: [cls.from_knobs(values, scenario) for cls in self.classes()]}

    def knob_values(self, scenario: Scenario) -> dict[str, float] | None:
        """The knob values a scenario's ``layers`` block sets through layers of the kinds
        listed (None if the scenario's targeting is not layers, or sets none)."""
        own = scenario.targeting
        if getattr(own, "strategy", None) != LAYERS:
            return None
        kinds = tuple(self.classes())
        out: dict[str, float] = {}
        for layer in own.layers:
            if isinstance(layer, kinds):
                out.update(layer.knob_values(scenario))
        return out or None


PRESETS: tuple[Preset, ...] = (
    Preset("watchlist+risk", "Watchlist and risk model (layers)", ("watchlist", "risk_score"),
           {"referral_rate": 0.03}),
)
"""The presets the workshop offers after the strategies themselves."""
