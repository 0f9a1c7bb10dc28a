"""The headline wait: the stage that breaks first, not an average over everyone.

A 95th-percentile wait over all travellers hides a stage only some of them visit:
halving secondary officers can move it from 1.5 to 1.8 min while secondary's own
95th percentile goes from 8 to 105 min. :func:`worst_stage` picks, from a run's KPI
summary, the stage whose own pooled 95th-percentile wait (``STAGE.wait_p95``, minutes)
is furthest past — or closest to — its standard, for a headline such as
"secondary: 95 % of travellers wait at most 105 min (standard 30 min)".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class StageHeadline:
    """The stage that breaks first: its pooled 95th-percentile wait with its 95 %
    interval (minutes), its limit (minutes; NaN when it has none) and ``ratio`` =
    wait / limit (NaN without a limit)."""

    stage: str
    wait_p95: float
    ci_low: float
    ci_high: float
    limit: float
    ratio: float

    @property
    def breaks(self) -> bool:
        """Whether the stage's 95th-percentile wait is over its limit."""
        return self.ratio > 1.0

    def words(self) -> str:
        """``"secondary: 95 % of travellers wait at most 105.0 min (standard 30 min)"``."""
        text = f"{self.stage}: 95 % of travellers wait at most {self.wait_p95:.1f} min"
        return text if math.isnan(self.limit) else text + f" (standard {self.limit:g} min)"


def worst_stage(kpis: Mapping[str, Mapping[str, float]], stages: list[str],
                limits: Mapping[str, float] | None = None) -> StageHeadline | None:
    """The stage of ``stages`` whose ``STAGE.wait_p95`` is the largest share of its limit
    (``limits``: stage → minutes; a stage without one is judged by its wait alone and
    only when no stage has a limit). ``kpis``: a run's summary (``Result.kpis``).
    None when no stage has a defined 95th-percentile wait."""
    limits = limits or {}
    rows = []
    for stage in stages:
        ci = kpis.get(f"{stage}.wait_p95")
        if ci is None or ci.get("mean") is None or math.isnan(ci["mean"]):
            continue
        limit = float(limits.get(stage, math.nan))
        ratio = ci["mean"] / limit if limit > 0 else (math.inf if limit == 0 and ci["mean"] > 0
                                                      else math.nan)
        rows.append(StageHeadline(stage, ci["mean"], ci.get("ci_low", math.nan),
                                  ci.get("ci_high", math.nan), limit, ratio))
    if not rows:
        return None
    judged = [r for r in rows if not math.isnan(r.ratio)]
    if judged:
        return max(judged, key=lambda r: r.ratio)
    return max(rows, key=lambda r: r.wait_p95)
