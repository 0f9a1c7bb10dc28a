"""Workforce plan of the airport example: officers on shifts, FTE, and officers vs e-gates.

Runs ``plan_workforce`` on ``scenarios/airport_arrivals.yaml`` with
``scenarios/options/airport.yaml`` (ILLUSTRATIVE costs) for ``passport.wait_p95<=15min``
(secondary keeps today's roster; ``--scenario land`` plans the land crossing for
``primary.wait_p95<=10min``): for each option the servers needed by hour (``gap``),
the fewest officers on 8 h / 12 h shifts with breaks (HiGHS integer programme), that
roster re-simulated on fresh travellers (seed + 1), FTE with 30 % shrinkage and the
annualised cost. Writes ``figures/workforce_options.png`` and prints the numbers.
Usage::

    python experiments/workforce_plan.py [--scenario land] [--replications N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from borderesim.analysis.workforce import plan_workforce
from borderesim.cli.plan import table
from borderesim.output.plots.checks import figure_problems
from borderesim.output.plots.style import save_png
from borderesim.output.plots.workforce import draw_options

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "airport": ("airport_arrivals", ["passport.wait_p95<=15min"]),
    "land": ("land_crossing", ["primary.wait_p95<=10min"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(CASES), default="airport")
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--replications", type=int, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "figures" / "workforce_options.png")
    args = parser.parse_args()

    name, targets = CASES[args.scenario]
    t0 = time.perf_counter()
    result = plan_workforce(ROOT / "scenarios" / f"{name}.yaml",
                            ROOT / "scenarios" / "options" / f"{args.scenario}.yaml", targets,
                            engine=args.engine, replications=args.replications,
                            say=lambda m: print(m, flush=True))
    seconds = time.perf_counter() - t0
    print(table(result))
    for r in result.results:
        sh = r.shifts
        print(f"{r.option.name}: shift programme {sh.status}, MIP gap {sh.mip_gap:.2%}, "
              f"solved in {sh.seconds:.1f} s; gap search {r.gap.seconds:.1f} s")
    for note in result.notes:
        print(f"note: {note}")
    print(f"evaluated {len(result.results)} options in {seconds:.0f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig = draw_options(result)
    problems = figure_problems(fig)
    if problems:
        raise SystemExit("figure checks failed: " + "; ".join(problems))
    save_png(fig, args.out)
    print(f"wrote {args.out} (passes the figure checks)")


if __name__ == "__main__":
    main()
