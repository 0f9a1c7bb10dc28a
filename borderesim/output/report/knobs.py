"""Variants of a scenario's own targeting strategy along its main knob (for the trade-off).

The strategy says how (``Strategy.tradeoff``): by default its main knob scaled by
``SCALES`` (a rate, a share, a coverage; a profile's rates together; every layer's knob
at once), a risk score given a threshold shifted by ``SHIFTS``. Variants are listed from
fewest referrals to most, and the scenario's own setting is always one of them.
"""

from __future__ import annotations

from ...analysis.compare import Variant, knob_variants
from ...model.scenario import Scenario
from ...model.targeting.base import SCALES
from ...model.targeting.risk_score import SHIFTS

__all__ = ["SCALES", "SHIFTS", "tradeoff_variants"]


def tradeoff_variants(scenario: Scenario) -> tuple[list[Variant], int, str]:
    """The variants to run, the index of the scenario's own setting, and a note.

    An empty list (with the reason in the note) when the scenario has no strategy,
    no ``visits: referred`` stage, or a strategy without a main knob.
    """
    if scenario.targeting is not None and not any(
            stage.visits == "referred" for stage in scenario.stages.values()):
        return [], -1, "no stage is visited by referred travellers only"
    return knob_variants(scenario.targeting)
