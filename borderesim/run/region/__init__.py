"""A region of crossings: travellers choosing where to cross, shared information,
displacement of threats and the green border (``borderesim run REGION.yaml``).

``load_region(path)`` → :class:`Region`; ``simulate_region(region)`` →
:class:`RegionResult` (regional ``region.*`` KPIs and each crossing's KPIs);
``route_replication(region, seed, r)`` → one replication's routes, inputs and traces;
``compare_regions({name: region, ...})`` → paired differences on the same travellers;
``crossing_shocks(region, kpis)`` → each crossing's shock KPIs among the regional ones
(named ``shock_name(crossing, kpi)``).
"""

from __future__ import annotations

from .compare import RegionComparison, compare_regions
from .kpis import crossing_shocks, shock_name
from .runner import RegionReplication, RegionResult, route_replication, simulate_region
from .schema import GREEN, Region, RegionSpec, is_region_mapping, load_region

__all__ = [
    "GREEN",
    "Region",
    "RegionComparison",
    "RegionReplication",
    "RegionResult",
    "RegionSpec",
    "compare_regions",
    "crossing_shocks",
    "is_region_mapping",
    "load_region",
    "route_replication",
    "shock_name",
    "simulate_region",
]
