"""A sweep whose base is a region file (``borderesim sweep`` with ``scenario: REGION.yaml``).

Swept and ``set`` paths are region fields (``information.informed_share``,
``adversary.knowledge``, ``green_border.detection_probability``); a path
``crossings.NAME.FIELD...`` changes a field of that crossing's own scenario (through the
crossing's ``set``, :func:`borderesim.run.region.schema.set_region_field`). Each (point,
replication) row holds the regional KPIs (``region.*``, with
``region.information_time_saving`` and each crossing's shock KPIs,
``region.route.<crossing>.<KPI>``) of one replication, run by
:func:`borderesim.run.region.runner.replication_with_information` with the sweep's seed:
the same travellers at every point. Crossing files are read relative to the region file,
so workers must see the same files (local processes do; a Dask cluster needs them at the
same path).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .runner import check_memory, engine_name, replication_with_information
from .schema import Region, load_region, region_from_mapping, set_region_field

DEFAULT_KPIS = ("region.wait_mean", "region.journey_mean", "region.detection_rate",
                "region.displacement_share")
"""KPIs a region sweep's figures show by default."""


def region_base(path: Path) -> tuple[Region, dict[str, Any], dict[str, Any]]:
    """The region file at ``path``: the region, its mapping as resolved (times in minutes)
    and each crossing's resolved scenario (for the sweep's fingerprint: a changed crossing
    file is a different sweep)."""
    region = load_region(path)
    return region, dump(region), crossing_dumps(region)


def dump(region: Region) -> dict[str, Any]:
    """The region's mapping as validated (times in minutes)."""
    return region.spec.model_dump(mode="json", exclude_none=True)


def crossing_dumps(region: Region) -> dict[str, Any]:
    """Each crossing's resolved scenario as a mapping."""
    return {c: sc.model_dump(mode="json", exclude_none=True)
            for c, sc in region.scenarios.items()}


def set_field(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``data`` with the dotted region field ``path`` set (crossing fields via ``set``)."""
    return set_region_field(data, path.split("."), value)


def point_region(base: dict[str, Any], values: dict[str, Any], region_file: str) -> Region:
    """The region of one point: ``base`` with each dotted path of ``values`` set,
    validated with its crossings read relative to ``region_file``."""
    data = base
    for path, value in values.items():
        data = set_field(data, path, value)
    return region_from_mapping(data, region_file, Path(region_file).parent)


def check_point(base: dict[str, Any], values: dict[str, Any], region_file: str) -> Region:
    """:func:`point_region` and the memory check of one replication."""
    region = point_region(base, values, region_file)
    check_memory(region)
    return region


def resolved_engine(region: Region, requested: str) -> str:
    """The engine name a row records for ``requested`` (see :func:`engine_name`)."""
    return engine_name(region, requested)


def row_kpis(region: Region, engine: str, seed: int, replication: int,
             replications: int) -> dict[str, float]:
    """The regional KPIs of one replication. ``engine``: a row's recorded engine
    ("fast+simpy" runs as ``auto``, which chose it)."""
    run_with = "auto" if "+" in engine else engine
    kpis, _ = replication_with_information(region, seed, replication, run_with, replications)
    return kpis
