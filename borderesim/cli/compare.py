"""``borderesim compare``: targeting strategies on the same travellers, paired differences."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..compare import Comparison, compare, load_policies, load_strategies
from ..kpis import format_value, kpi_info
from ..serialize import dumps
from ..tables import grid
from ..targeting import Strategy
from .common import add_run_args, add_scenario_args, load, output_dir, require, warn, writing


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare", help="compare targeting strategies on the same travellers",
        description="Run each strategy of a strategies file (and each value of a swept knob) "
                    "on the same seed and travellers; print KPIs and paired differences from "
                    "the first strategy with 95% t-intervals. Files are written only when "
                    "asked: --out DIR (comparison.json, tradeoff.png) or --plot PATH. A region "
                    "file (top-level crossings:) is compared with --variants FILE, or with "
                    "--strategies FILE applied at every crossing; its figure is region.png.")
    add_scenario_args(p)
    p.add_argument("--strategies", type=Path, metavar="FILE",
                   help="YAML file: strategies: {NAME: targeting block, ...}; a list of "
                        "numbers in a block sweeps that knob. Strategies: "
                        + "; ".join(_knobs_in_words(cls) for cls in Strategy.registry.values()))
    p.add_argument("--variants", type=Path, metavar="FILE",
                   help="for a region file (top-level crossings:): YAML file variants: "
                        "{NAME: {region field: value, ...}}, dotted paths as in --set PATH=VALUE "
                        "(crossings.NAME.FIELD sets a field of that crossing's "
                        "scenario); "
                        "the first variant is the baseline")
    p.add_argument("--policies", type=Path, metavar="FILE",
                   help="instead of --strategies, YAML file: policies: {NAME: {stages: ..., "
                        "targeting: ...}}: response policies (reserve, flushing, a queue-aware "
                        "referral) merged into the scenario; the table shows the shock KPIs")
    add_run_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="write comparison.json and tradeoff.png into DIR (created if missing); "
                        "without --out or --plot nothing is written")
    figure = p.add_mutually_exclusive_group()
    figure.add_argument("--plot", type=Path, metavar="PATH",
                        help="write the trade-off figure to PATH (.png, .svg or .pdf) instead "
                             "of DIR/tradeoff.png")
    figure.add_argument("--no-plot", action="store_true",
                        help="with --out, do not draw tradeoff.png")
    p.set_defaults(func=command)


def _knobs_in_words(cls: type[Strategy]) -> str:
    """``"random (main knob referral_rate)"``: a registered strategy for the help text."""
    return cls.tag() + (f" (main knob {cls.main_knob})" if cls.main_knob else "")


def _diff_cell(ci: dict[str, float], unit: str) -> str:
    """``"+1.20 ±0.40"``: a paired difference and its interval's half-width (shown unit)."""
    mean = format_value(ci["mean"], unit, sign=True)
    if math.isnan(ci["mean"]) or math.isnan(ci["ci_high"]):
        return mean
    return f"{mean} ±{format_value(ci['ci_high'] - ci['mean'], unit)}"


def tables(comparison: Comparison) -> str:
    """KPI means per strategy, then paired differences from the baseline (95 % CI)."""
    infos = [kpi_info(k) for k in comparison.key_kpis]
    heads = [f"{i.short} {i.unit.symbol}" for i in infos]
    kind = "policy" if any(v.changes is not None for v in comparison.variants) else "strategy"
    means = [[kind, *heads]]
    for i, v in enumerate(comparison.variants):
        means.append([v.label, *(k.format(comparison.mean(i, k.name)) for k in infos)])
    base = comparison.variants[comparison.baseline].label
    diffs = [[kind, *heads]]
    for i, v in enumerate(comparison.variants):
        if i != comparison.baseline:
            diffs.append([v.label, *(_diff_cell(comparison.difference(i, k.name), k.unit.name)
                                     for k in infos)])
    engines = ", ".join(comparison.engines)
    out = [f"{comparison.scenario.name} — engine {engines}, seed {comparison.seed}, "
           f"{comparison.replications} replications, same travellers for every {kind}",
           "", "Means (the unit follows each column heading)",
           "\n".join(grid(means))]
    if len(diffs) > 1:
        out += ["", f"Paired differences from '{base}' (mean ± 95% t-interval half-width)",
                "\n".join(grid(diffs))]
    return "\n".join(out)


FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
"""Figure formats ``--plot`` writes (from the file name's ending)."""


def figure_path(args: argparse.Namespace) -> Path | None:
    """Where the trade-off figure goes: ``--plot PATH``, else ``DIR/tradeoff.png`` with
    ``--out DIR`` (unless ``--no-plot``), else nowhere. Checked before anything runs."""
    if args.plot is None:
        return None if args.out is None or args.no_plot else args.out / "tradeoff.png"
    path: Path = args.plot
    require(path.suffix.lower() in FIGURE_SUFFIXES,
            f"the figure's file name must end in {', '.join(FIGURE_SUFFIXES)}", str(path),
            "--plot")
    require(not path.is_dir(), "is a folder; give a file name", str(path), "--plot")
    require(path.parent.is_dir(), "folder does not exist", str(path.parent), "--plot")
    return path


def command(args: argparse.Namespace) -> int:
    from ..region.cli import is_region_file

    if is_region_file(args.scenario):  # a region of crossings (a top-level `crossings:`)
        from ..region.variants import compare_region_command

        return compare_region_command(args)
    require(args.variants is None, "--variants is for a region file (a top-level "
            "crossings:); a scenario is compared with --strategies FILE", str(args.scenario),
            "--variants")
    require((args.strategies is None) != (args.policies is None),
            "a scenario is compared with --strategies FILE or --policies FILE (one of them)",
            str(args.scenario), "--strategies")
    figure = figure_path(args)
    scenario = load(args)
    source = args.strategies if args.policies is None else args.policies
    variants = (load_strategies(args.strategies) if args.policies is None
                else load_policies(args.policies))
    comparison = compare(scenario, variants, engine=args.engine, replications=args.replications,
                         seed=args.seed, source=str(source),
                         workers=getattr(args, "workers", 1))
    for message in comparison.warnings:
        warn(message)
    written: list[Path] = []
    if args.out is not None:
        path = output_dir(args.out) / "comparison.json"
        with writing(path):
            path.write_text(dumps(comparison.to_dict()) + "\n")
        written.append(path)
    if figure is not None:
        from ..plots.tradeoff import plot_tradeoff

        with writing(figure, "--plot"):
            written.append(plot_tradeoff(comparison, figure))
    if args.json:
        data = comparison.to_dict()
        data["written"] = [str(p) for p in written]
        print(dumps(data))
    else:
        print(tables(comparison))
        if written:
            print(f"\nwrote {', '.join(str(p) for p in written)}")
    return 0
