"""``borderesim compare``: targeting strategies on the same travellers, paired differences."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from ..compare import KEY_KPIS, Comparison, compare, load_strategies
from ..tables import grid, unit_of
from .common import add_run_args, add_scenario_args, load, require, warn

SHORT = {
    "detection_rate": "detect",
    "threats_missed_per_day": "missed",
    "wait_p95": "wait_p95",
    "referral_rate": "referred",
    "false_referral_rate": "innocent_ref",
    "innocent_delay_mean": "innocent_delay",
    "fairness.disparity_ratio": "disparity",
    "watchlist.hits": "wl_hits",
}
"""Column headings of the comparison table."""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare", help="compare targeting strategies on the same travellers",
        description="Run each strategy of a strategies file (and each value of a swept knob) "
                    "on the same seed and travellers; print KPIs and paired differences from "
                    "the first strategy with 95% t-intervals. Files are written only when "
                    "asked: --out DIR (comparison.json, tradeoff.png) or --plot PATH.")
    add_scenario_args(p)
    p.add_argument("--strategies", required=True, type=Path, metavar="FILE",
                   help="YAML file: strategies: {NAME: targeting block, ...}; a list of "
                        "numbers in a block sweeps that knob")
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


def _scaled(value: float, unit: str) -> float:
    return value * 100 if unit == "%" else value


def _cell(value: float, unit: str, sign: bool = False) -> str:
    if value is None or math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞"
    v = _scaled(value, unit)
    return f"{v:+.2f}" if sign else f"{v:.2f}"


def _diff_cell(ci: dict[str, float], unit: str) -> str:
    if math.isnan(ci["mean"]):
        return "—"
    if math.isnan(ci["ci_high"]):
        return _cell(ci["mean"], unit, sign=True)
    half = _scaled(ci["ci_high"] - ci["mean"], unit)
    return f"{_cell(ci['mean'], unit, sign=True)} ±{half:.2f}"


def tables(comparison: Comparison) -> str:
    """KPI means per strategy, then paired differences from the baseline (95 % CI)."""
    heads = [f"{SHORT.get(k, k)} {unit_of(k)}".strip() for k in KEY_KPIS]
    means = [["strategy", *heads]]
    for i, v in enumerate(comparison.variants):
        means.append([v.label, *(_cell(comparison.mean(i, k), unit_of(k)) for k in KEY_KPIS)])
    base = comparison.variants[comparison.baseline].label
    diffs = [["strategy", *heads]]
    for i, v in enumerate(comparison.variants):
        if i != comparison.baseline:
            diffs.append([v.label, *(_diff_cell(comparison.difference(i, k), unit_of(k))
                                     for k in KEY_KPIS)])
    engines = ", ".join(comparison.engines)
    out = [f"{comparison.scenario.name} — engine {engines}, seed {comparison.seed}, "
           f"{comparison.replications} replications, same travellers for every strategy",
           "", "Means (% for rates, min for times, per day for missed threats)",
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
    figure = figure_path(args)
    scenario = load(args)
    variants = load_strategies(args.strategies)
    comparison = compare(scenario, variants, engine=args.engine, replications=args.replications,
                         seed=args.seed, source=str(args.strategies),
                         workers=getattr(args, "workers", 1))
    for message in comparison.warnings:
        warn(message)
    written: list[Path] = []
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / "comparison.json"
        path.write_text(json.dumps(comparison.to_dict(), indent=2) + "\n")
        written.append(path)
    if figure is not None:
        from ..plots.tradeoff import plot_tradeoff

        written.append(plot_tradeoff(comparison, figure))
    if args.json:
        data = comparison.to_dict()
        data["written"] = [str(p) for p in written]
        print(json.dumps(data, indent=2))
    else:
        print(tables(comparison))
        if written:
            print(f"\nwrote {', '.join(str(p) for p in written)}")
    return 0
