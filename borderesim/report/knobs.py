"""Variants of a scenario's own targeting strategy along its main knob (for the trade-off).

The main knob is what sets how many travellers a strategy refers:

* ``random``, ``sqrt_biased``, ``risk_score`` with ``referral_rate``: the rate, scaled;
* ``by_class``: every class's rate, scaled together (the profile's shape is kept);
* ``risk_score`` with ``threshold``: the threshold, shifted (score units; lower refers more);
* ``explore``: its ``share``; ``watchlist``: its ``coverage``;
* ``layers``: every layer's knob above at once.

Scaled rates are capped at 1. Variants are listed from fewest referrals to most, and
the scenario's own setting (scale 1, shift 0) is always one of them.
"""

from __future__ import annotations

import copy
from typing import Any

from ..compare import Variant
from ..scenario import Scenario

SCALES = (0.25, 0.5, 1.0, 1.5, 2.0)
"""Factors on a rate knob (1 = the scenario's own)."""
SHIFTS = (1.0, 0.5, 0.0, -0.5, -1.0)
"""Shifts of a risk-score threshold (score units; 0 = the scenario's own)."""


def _cap(x: float) -> float:
    return min(1.0, max(0.0, x))


def _scale(block: dict[str, Any], factor: float) -> tuple[dict[str, Any], bool]:
    """``block`` with its rate knob(s) scaled by ``factor``; False if it has none."""
    out = copy.deepcopy(block)
    kind = out.get("strategy")
    if kind == "layers" or (kind is None and "layers" in out):
        found = False
        for i, layer in enumerate(out["layers"]):
            out["layers"][i], ok = _scale(layer, factor)
            found |= ok
        return out, found
    if kind == "by_class":
        out["referral_rate"] = {c: _cap(r * factor) for c, r in out["referral_rate"].items()}
        return out, True
    for key in ("referral_rate", "share", "coverage"):
        if isinstance(out.get(key), int | float):
            out[key] = _cap(out[key] * factor)
            return out, True
    return out, False


def tradeoff_variants(scenario: Scenario) -> tuple[list[Variant], int, str]:
    """The variants to run, the index of the scenario's own setting, and a note.

    An empty list (with the reason in the note) when the scenario has no strategy,
    no ``visits: referred`` stage, or a strategy without a knob this module knows.
    """
    if scenario.targeting is None:
        return [], -1, "the scenario has no targeting strategy: nobody is referred"
    if not any(stage.visits == "referred" for stage in scenario.stages.values()):
        return [], -1, "no stage is visited by referred travellers only"
    block = scenario.targeting.model_dump(mode="json", exclude_none=True)
    name = block.get("strategy", "layers")
    if name == "risk_score" and "threshold" in block:
        variants = [Variant(name, {**block, "threshold": block["threshold"] + d}, "threshold",
                            block["threshold"] + d) for d in SHIFTS]
        return variants, SHIFTS.index(0.0), "threshold shifted by " + ", ".join(
            f"{d:+g}" for d in SHIFTS)
    _, ok = _scale(block, 1.0)
    if not ok:
        return [], -1, f"strategy '{name}' has no referral knob to vary"
    variants = [Variant(name, _scale(block, f)[0], "scale", f) for f in SCALES]
    return variants, SCALES.index(1.0), "referral knob scaled by " + ", ".join(
        f"×{f:g}" for f in SCALES)
