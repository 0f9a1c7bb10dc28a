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

from matplotlib.figure import Figure

from borderesim.cli.compare import tables
from borderesim.compare import compare, load_strategies
from borderesim.plots.tradeoff import PANELS, draw_tradeoff

ROOT = Path(__file__).resolve().parent.parent
CASES = (("land_crossing", "strategies_land"), ("airport_arrivals", "strategies_airport"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=None,
                        help="replications (default: each scenario's own)")
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--out", type=Path, default=ROOT / "figures" / "tradeoff_frontier.png")
    args = parser.parse_args()

    fig = Figure(figsize=(13.0, 7.6))
    rows = fig.subplots(len(CASES), len(PANELS), sharey="row")
    for row, (scenario, strategies) in zip(rows, CASES, strict=True):
        t0 = time.perf_counter()
        comparison = compare(ROOT / "scenarios" / f"{scenario}.yaml",
                             load_strategies(ROOT / "scenarios" / f"{strategies}.yaml"),
                             engine=args.engine, replications=args.replications)
        print(tables(comparison))
        print(f"({len(comparison.variants)} variants in {time.perf_counter() - t0:.1f} s)\n")
        draw_tradeoff(list(row), comparison)
        row[0].set_title(f"{comparison.scenario.name}\n({comparison.replications} "
                         f"replications, seed {comparison.seed}, same travellers for all)",
                         fontsize=8, loc="left")
        row[-1].legend(fontsize=6.5, loc="lower right")
    fig.suptitle("Targeting strategies: threats detected vs delay and innocent burden "
                 "(bars: 95% intervals)", fontsize=10)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
