"""Trade-off frontiers of targeting strategies at the land crossing and the airport.

Runs ``scenarios/strategies_land.yaml`` on ``scenarios/land_crossing.yaml`` and
``scenarios/strategies_airport.yaml`` on ``scenarios/airport_arrivals.yaml`` (each
strategy and swept value on the same seed and travellers) and draws
``figures/tradeoff_frontier.png``: detection rate against the 95th-percentile wait,
the share of innocent travellers referred and the minutes an innocent referral
loses, one row per crossing.
Prints each comparison's table. Usage::

    python experiments/compare_strategies.py [--replications N] [--engine auto|fast|simpy]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from borderesim.analysis.compare import compare, load_strategies
from borderesim.cli.compare import tables
from borderesim.output.plots.checks import figure_problems
from borderesim.output.plots.style import (
    legend_below,
    place_labels,
    save_png,
    slide_figure,
    slide_style,
    wrap,
)
from borderesim.output.plots.text import plain
from borderesim.output.plots.tradeoff import PANELS, draw_tradeoff

ROOT = Path(__file__).resolve().parent.parent
CASES = (("land_crossing", "strategies_land"), ("airport_arrivals", "strategies_airport"))


@slide_style
def draw(args: argparse.Namespace):
    """One row per crossing (its own legend below it), three trade-off panels each."""
    fig = slide_figure((12.8, 12.0))
    labels = []
    for sub, (scenario, strategies) in zip(fig.subfigures(len(CASES), 1), CASES, strict=True):
        t0 = time.perf_counter()
        comparison = compare(ROOT / "scenarios" / f"{scenario}.yaml",
                             load_strategies(ROOT / "scenarios" / f"{strategies}.yaml"),
                             engine=args.engine, replications=args.replications)
        print(tables(comparison))
        print(f"({len(comparison.variants)} variants in {time.perf_counter() - t0:.1f} s)\n")
        row = list(sub.subplots(1, len(PANELS), sharey=True))
        labels += draw_tradeoff(row, comparison)
        sub.suptitle(plain(wrap(f"{comparison.scenario.name}: {comparison.replications} "
                                f"replications, seed {comparison.seed}, same travellers "
                                "for all", 100)), fontsize=15)
        legend_below(sub, axes=row[:1], ncol=3)
    fig.suptitle("Targeting strategies: threats detected against delay and innocent burden\n"
                 "(bars: 95 % intervals; labels: the swept value)")
    place_labels(fig, labels)
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=None,
                        help="replications (default: each scenario's own)")
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--out", type=Path, default=ROOT / "figures" / "tradeoff_frontier.png")
    args = parser.parse_args()

    fig = draw(args)
    problems = figure_problems(fig)
    if problems:
        raise SystemExit("figure checks failed: " + "; ".join(problems))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_png(fig, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
