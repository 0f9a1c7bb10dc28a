"""``borderesim compare REGION.yaml --variants FILE``: variants of a region on the same
travellers, with paired differences.

A variants file names, per variant, the region fields it changes (dotted paths as for
``--set``; ``crossings.NAME.FIELD`` changes a field of that crossing's own scenario)::

    variants:
      no_information: {information.informed_share: 0}
      posted_waits:   {}                                  # the region file as it is
      better_model:   {crossings.north.targeting.auc: 0.9}
      displacement:   {adversary.behaviour: displacement, adversary.knowledge: 1}

The first variant is the baseline. Every variant runs on one seed and replication count
(:func:`borderesim.run.region.compare_regions`), so replication r of every variant sees the
same travellers; differences from the baseline are taken replication by replication
(Student-t 95 % intervals). ``--strategies FILE`` (a single crossing's strategies file)
compares each strategy applied at every crossing.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from ...analysis.kpis import format_value, kpi_info
from ...errors import ScenarioError, shorten
from ...model.scenario import read_named_section
from ...output.serialize import dumps, to_jsonable
from ...output.tables import grid, printable
from .compare import RegionComparison, compare_regions
from .kpis import SHOCK_PREFIX, crossing_shocks, shock_name
from .schema import GREEN, Region, load_region

MAX_VARIANTS = 50
"""Most variants one file may list (each is a full region run)."""

KEY_KPIS = ("region.wait_mean", "region.journey_mean", "region.detection_rate",
            "region.threats_missed_per_day", "region.displacement_share",
            f"region.route.{GREEN}.threat_share", "region.information_time_saving")
"""Regional KPIs shown in the comparison table (``--json`` has every regional KPI)."""


def load_variants(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read a variants file: ``{variant name: {dotted.path: value, ...}}``, in file order.

    Raises ``ScenarioError`` naming the file and field (``FILE: variants.NAME: PROBLEM``).
    """
    source, variants = read_named_section(
        path, "variants file", "variants", "needs a mapping of named variants, each a mapping "
        "of region fields to change (dotted paths as for --set)")
    if len(variants) > MAX_VARIANTS:
        raise ScenarioError(f"{len(variants)} variants; at most {MAX_VARIANTS}", source,
                            "variants")
    out: dict[str, dict[str, Any]] = {}
    for name, changes in variants.items():
        where = f"variants.{name}"
        if not isinstance(name, str) or not name.strip():
            raise ScenarioError(f"a variant's name must be text, got {shorten(name)}", source,
                                "variants")
        changes = {} if changes is None else changes
        if not isinstance(changes, dict):
            raise ScenarioError(f"must be a mapping of region fields to change, e.g. "
                                f"{{information.informed_share: 0}}; got {shorten(changes)}",
                                source, where)
        for key in changes:
            if not isinstance(key, str) or not key.strip() or "=" in key:
                raise ScenarioError(f"{shorten(key)} is not a field path", source, where)
        out[name] = dict(changes)
    return out


def variant_overrides(changes: dict[str, Any]) -> list[str]:
    """A variant's changes as ``--set`` assignments (values written as JSON, read as YAML)."""
    return [f"{key}={json.dumps(value)}" for key, value in changes.items()]


def strategies_as_variants(path: str | Path, crossings: list[str]
                           ) -> dict[str, dict[str, Any]]:
    """A strategies file (``borderesim compare --strategies``) as region variants: each
    strategy (and each value of a swept knob) replaces the targeting of every crossing."""
    from ...analysis.compare import load_strategies

    return {v.label: {f"crossings.{c}.targeting": v.targeting for c in crossings}
            for v in load_strategies(path)}


def load_variant_regions(region_file: str | Path, overrides: list[str] | tuple[str, ...],
                         variants: dict[str, dict[str, Any]], source: str,
                         section: str = "variants") -> dict[str, Region]:
    """Each variant's region: the region file, its ``--set`` overrides, then the variant's
    changes. A bad change is reported against ``source`` and ``SECTION.NAME``."""
    regions = {}
    for name, changes in variants.items():
        try:
            regions[name] = load_region(region_file,
                                        [*overrides, *variant_overrides(changes)])
        except ScenarioError as exc:
            raise ScenarioError(str(exc), source, f"{section}.{name}") from None
    return regions


def _diff_cell(ci: dict[str, float], unit: str) -> str:
    """``"+1.20 ±0.40"``: a paired difference and its interval's half-width (shown unit)."""
    mean = format_value(ci["mean"], unit, sign=True)
    if math.isnan(ci["mean"]) or math.isnan(ci.get("ci_high", math.nan)):
        return mean
    return f"{mean} ±{format_value(ci['ci_high'] - ci['mean'], unit)}"


def shown_kpis(comparison: RegionComparison) -> list[str]:
    """The key KPIs present in every variant's results."""
    return [k for k in KEY_KPIS
            if all(k in r.kpis for r in comparison.results.values())]


def comparison_tables(comparison: RegionComparison) -> str:
    """Means of the key regional KPIs per variant, then paired differences from the first."""
    names = list(comparison.results)
    first = comparison.results[names[0]]
    infos = [kpi_info(k) for k in shown_kpis(comparison)]
    heads = [f"{i.name.removeprefix('region.').removeprefix('route.')} {i.unit.symbol}"
             for i in infos]
    means = [["variant", *heads]]
    for name, res in comparison.results.items():
        means.append([name, *(i.format(res.mean(i.name)) for i in infos)])
    diffs = [["variant", *heads]]
    for name in names[1:]:
        d = comparison.differences[name]
        diffs.append([name, *(_diff_cell(d[i.name], i.unit.name) for i in infos)])
    out = [printable(f"{first.region.name} — {len(names)} variants, engine {first.engine}, "
                     f"seed {first.seed}, {first.replications} replications, same travellers "
                     "for every variant"),
           "", "Means (the unit follows each column heading)", "\n".join(grid(means))]
    if len(diffs) > 1:
        out += ["", printable(f"Paired differences from '{names[0]}' (mean ± 95% t-interval "
                              "half-width)"), "\n".join(grid(diffs))]
    shocks = shock_table(comparison)
    if shocks:
        out += ["", printable(f"Shocks at each crossing with events or reserve officers: "
                              f"means, and paired differences from '{names[0]}' (mean ± "
                              "95% t-interval half-width)"), "\n".join(grid(shocks, (0, 1, 2)))]
    return "\n".join(out)


def shock_table(comparison: RegionComparison) -> list[list[str]]:
    """Rows (crossing, KPI, unit, each variant's mean, each later variant's paired
    difference from the first) of every crossing's shock KPIs in any variant (``[]``
    when no variant has one); a header row first."""
    names = list(comparison.results)
    seen: dict[str, None] = {}
    for res in comparison.results.values():
        for c, kpis in crossing_shocks(res.region, res.kpis).items():
            seen.update(dict.fromkeys(shock_name(c, k) for k in kpis))
    if not seen:
        return []
    rows = [["crossing", "KPI", "unit", *names, *(f"{n} − {names[0]}" for n in names[1:])]]
    for full in seen:
        info = kpi_info(full)
        crossing, kpi = full.removeprefix(SHOCK_PREFIX).split(".", 1)
        means = [info.format(r.kpis[full]["mean"]) if full in r.kpis else "—"
                 for r in comparison.results.values()]
        diffs = [_diff_cell(comparison.differences[n][full], info.unit.name)
                 if full in comparison.differences[n] else "—" for n in names[1:]]
        rows.append([crossing, kpi, info.unit.symbol, *means, *diffs])
    return rows


def comparison_dict(comparison: RegionComparison, variants: dict[str, dict[str, Any]],
                    source: str) -> dict[str, Any]:
    """Strict-JSON-ready summary: each variant's changes, KPIs, crossings' KPIs and its
    paired differences from the baseline (the first variant)."""
    names = list(comparison.results)
    first = comparison.results[names[0]]
    return to_jsonable({
        "region": first.region.name,
        "variants_file": source,
        "engine": first.engine,
        "seed": first.seed,
        "replications": first.replications,
        "version": first.version,
        "baseline": names[0],
        "variants": {name: {"changes": variants[name], "kpis": res.kpis,
                            "crossings": res.crossings,
                            "difference": comparison.differences[name]}
                     for name, res in comparison.results.items()},
    })


def compare_region_command(args: argparse.Namespace) -> int:
    """``borderesim compare REGION.yaml --variants FILE`` (or ``--strategies FILE``: each
    strategy at every crossing): table, ``--json``, ``--out DIR`` (comparison.json and
    region.png: the first variant's map and every variant's threat routes), ``--plot``."""
    from ...cli.common import check_output_dir, output_dir, require, warn, writing
    from ...cli.compare import figure_path

    require((args.variants is None) != (args.strategies is None),
            "a region file is compared with --variants FILE (variants: {NAME: {region "
            "field: value, ...}}) or --strategies FILE (each strategy at every crossing); "
            "give one of them", str(args.scenario), "--variants")
    figure = figure_path(args)
    if figure is not None and args.plot is None:
        figure = args.out / "region.png"
    if args.out is not None:
        check_output_dir(args.out)
    if args.variants is not None:
        source = str(args.variants)
        variants = load_variants(args.variants)
    else:
        source = str(args.strategies)
        crossings = load_region(args.scenario, tuple(args.overrides)).crossing_names
        variants = strategies_as_variants(args.strategies, crossings)
    regions = load_variant_regions(args.scenario, tuple(args.overrides), variants, source,
                                   "variants" if args.variants is not None else "strategies")
    if getattr(args, "workers", 1) > 1:
        warn("a region's replications run one after another; --workers is not used")
    comparison = compare_regions(regions, engine=args.engine, replications=args.replications,
                                 seed=args.seed, keep_runs=figure is not None)
    data = comparison_dict(comparison, variants, source)
    written: list[Path] = []
    if args.out is not None:
        path = output_dir(args.out) / "comparison.json"
        with writing(path):
            path.write_text(dumps(data) + "\n", encoding="utf-8")
        written.append(path)
    if figure is not None:
        from .figure import plot_region

        first = next(iter(comparison.results.values()))
        with writing(figure, "--plot"):
            written.append(plot_region(first, comparison.results, figure))
    if args.json:
        data["written"] = [str(p) for p in written]
        print(dumps(data))
    else:
        print(comparison_tables(comparison))
        if written:
            print(f"\nwrote {', '.join(str(p) for p in written)}")
    return 0
