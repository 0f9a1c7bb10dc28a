"""Paired comparison of region variants on the same travellers (the core of a future
``borderesim compare`` for regions).

Every draw of a region is keyed by origin, crossing and traveller (``sampling``), so
variants that change information, shares, adversaries or a crossing's targeting see the
same travellers; their per-replication differences have far narrower intervals than the
KPIs themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...analysis.metrics import confidence_interval
from .runner import RegionResult, simulate_region
from .schema import Region, load_region


@dataclass
class RegionComparison:
    """``results``: each variant's run; ``differences[name][kpi]``: the paired difference
    from the first variant (mean and 95 % t-interval), for every regional KPI."""

    results: dict[str, RegionResult]
    differences: dict[str, dict[str, dict[str, float]]]


def compare_regions(variants: dict[str, Region | str | dict[str, Any]], engine: str = "fast",
                    replications: int | None = None, seed: int | None = None,
                    keep_runs: bool = False) -> RegionComparison:
    """Run each variant on one seed and replication count; differences from the first.

    ``replications`` and ``seed`` default to the first variant's; ``keep_runs``: keep
    the first variant's replications (for its map, ``region.figure``).
    """
    if not variants:
        raise ValueError("compare_regions needs at least one variant")
    regions = {name: load_region(v) for name, v in variants.items()}
    first = next(iter(regions.values()))
    reps = first.spec.replications if replications is None else int(replications)
    seed = first.spec.seed if seed is None else int(seed)
    results = {name: simulate_region(r, engine, reps, seed, keep_runs=keep_runs and i == 0)
               for i, (name, r) in enumerate(regions.items())}
    base = next(iter(results.values())).per_replication
    differences = {}
    for name, res in results.items():
        kpis = [k for k in res.per_replication[0] if k in base[0]]
        differences[name] = {
            k: confidence_interval(mine[k] - theirs[k]
                                   for mine, theirs in zip(res.per_replication, base,
                                                           strict=True))
            for k in kpis}
    return RegionComparison(results, differences)
