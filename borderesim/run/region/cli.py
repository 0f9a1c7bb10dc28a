"""``borderesim run REGION.yaml``: the ``run`` command for a region file.

A file is a region file when its top-level mapping has a ``crossings:`` key. ``--set``
overrides apply to the region file; ``--replications`` and ``--seed`` as for a scenario;
``--engine auto`` is the fast engine wherever it can run a crossing; ``--workers`` is
not used (replications run one after the other; a warning says so); ``--out DIR``
writes ``summary.json``.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from ...errors import ScenarioError
from ...model.scenario import read_yaml_mapping
from ...output.serialize import dumps
from ...output.tables import grid, kpi_table, printable
from .kpis import crossing_shocks, shock_name
from .runner import RegionResult, simulate_region
from .schema import is_region_mapping, load_region

CROSSING_KPIS = ("arrivals_per_hour", "wait_mean", "wait_p95", "detection_rate", "unfinished")
"""The crossing KPIs the table shows side by side (``--json`` has them all)."""


def is_region_file(path: str | Path) -> bool:
    """Whether ``path`` is a readable YAML mapping with a top-level ``crossings:`` key
    (any problem reading it is left to the scenario loader to report)."""
    try:
        return is_region_mapping(read_yaml_mapping(Path(path)))
    except ScenarioError:
        return False


def region_table(result: RegionResult) -> str:
    """Header, regional KPIs with 95 % intervals, headline KPIs of each crossing, then the
    shock KPIs of each crossing with events or reserve officers (:func:`shock_rows`)."""
    from ...analysis.kpis import kpi_info

    head = printable(f"{result.region.name} — region of {len(result.crossings)} crossings, "
                     f"engine {result.engine}, seed {result.seed}, {result.replications} "
                     "replications (95% t-intervals)")
    shocks = crossing_shocks(result.region, result.kpis)
    named = {shock_name(c, k) for c, kpis in shocks.items() for k in kpis}
    regional = replace(result, kpis={k: v for k, v in result.kpis.items() if k not in named})
    rows = [("crossing", *CROSSING_KPIS)]
    for name, kpis in result.crossings.items():
        rows.append((name, *(kpi_info(k).format(kpis[k]["mean"]) for k in CROSSING_KPIS)))
    out = [head, kpi_table(regional), "", *grid(rows)]
    if shocks:
        out += ["", "Shocks at each crossing with events or reserve officers (in --json: "
                "region.route.CROSSING.KPI)", *grid(shock_rows(result), left=(0, 1, 4))]
    return "\n".join(out)


def shock_rows(result: RegionResult) -> list[tuple[str, ...]]:
    """Rows (crossing, KPI, mean, 95 % interval, unit) of every crossing's shock KPIs,
    a header row first; units and intervals as in the KPI catalogue."""
    from ...analysis.kpis import interval_text, kpi_info

    rows: list[tuple[str, ...]] = [("crossing", "KPI", "mean", "95% CI", "unit")]
    for c, kpis in crossing_shocks(result.region, result.kpis).items():
        for name, ci in kpis.items():
            info = kpi_info(shock_name(c, name))
            rows.append((c, name, info.format(ci["mean"]), interval_text(ci, info.unit.name),
                         info.unit.symbol))
    return rows


def validate_region(args: argparse.Namespace) -> int:
    """``borderesim validate REGION.yaml``: load the region and every crossing file."""
    import yaml

    region = load_region(args.scenario, tuple(args.overrides))
    if getattr(args, "show", False):
        print(yaml.safe_dump(region.spec.model_dump(mode="json", exclude_none=True),
                             sort_keys=False), end="")
        return 0
    spec = region.spec
    print(printable(
        f"{args.scenario}: ok — region '{spec.name}', crossings: "
        f"{', '.join(region.crossing_names)}; origins: {', '.join(spec.origins)}; "
        f"{'a green border, ' if spec.green_border else ''}"
        f"{spec.information.informed_share:.0%} informed, threats {spec.adversary.behaviour}; "
        f"{spec.duration / 60:g} h counted after {spec.warmup / 60:g} h warm-up"))
    return 0


def run_region(args: argparse.Namespace) -> int:
    """Run the region file named in ``args.scenario``; print a table or ``--json``."""
    from ...cli.common import output_dir, warn, writing

    region = load_region(args.scenario, tuple(args.overrides))
    if getattr(args, "workers", 1) > 1:
        warn("a region's replications run one after another; --workers is not used")
    out = getattr(args, "out", None)
    if out is not None:
        output_dir(out)
    result = simulate_region(region, engine=args.engine, replications=args.replications,
                             seed=args.seed)
    print(dumps(result.to_dict()) if args.json else region_table(result))
    if out is not None:
        path = out / "summary.json"
        with writing(path):
            path.write_text(result.to_json(), encoding="utf-8")
        if not args.json:
            print(f"\nwrote {path}")
    return 0
