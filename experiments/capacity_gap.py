"""Capacity gap of the airport example, and how long the search takes.

Solves ``scenarios/airport_arrivals.yaml`` (24 hours, two stages: passport control with
e-gates and two kinds of desk, and secondary inspection) for
``passport.wait_p95<=15min`` and ``secondary.wait_p95<=30min`` with the scenario's 10
replications, draws ``figures/capacity_gap.png`` and prints the gap per stage. Then
times the same search on the land-crossing example. Prints measured seconds (the
issue's benchmark: a 24-hour two-stage scenario in under 30 s). Usage::

    python experiments/capacity_gap.py [--engine auto|fast|simpy] [--replications N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from borderesim.capacity import gap
from borderesim.plots.checks import figure_problems
from borderesim.plots.gap import draw_gap
from borderesim.plots.style import save_png

ROOT = Path(__file__).resolve().parent.parent
CASES = (
    ("airport_arrivals", ["passport.wait_p95<=15min", "secondary.wait_p95<=30min"]),
    ("land_crossing", ["primary.wait_p95<=10min", "secondary.wait_p95<=30min"]),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--replications", type=int, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "figures" / "capacity_gap.png")
    args = parser.parse_args()

    # load the compiled kernels once, so the timings below are the search itself
    gap(ROOT / "scenarios" / "airport_arrivals.yaml", CASES[0][1], engine=args.engine,
        replications=1)
    for i, (name, targets) in enumerate(CASES):
        t0 = time.perf_counter()
        result = gap(ROOT / "scenarios" / f"{name}.yaml", targets, engine=args.engine,
                     replications=args.replications)
        seconds = time.perf_counter() - t0
        d = result.to_dict()
        print(f"{name}: {', '.join(targets)}")
        print(f"  solved in {seconds:.1f} s with the {d['engine']} engine, "
              f"{d['replications']} replications, {d['simulations']} simulations of the day "
              f"({d['simulations'] * d['replications']} replayed days)")
        for sname, st in d["stages"].items():
            missed = [r["hour"] for r in st["by_hour"] if not r["met_scheduled"]]
            print(f"  {sname}: {st['officer_hours_scheduled']:g} server-hours/day scheduled, "
                  f"{st['officer_hours_required']:g} needed (gap {st['officer_hours_gap']:+g}); "
                  f"today's roster misses the target in hours {missed or 'none'}; "
                  f"infrastructure gap hours: {st['infrastructure_gap_hours'] or 'none'}")
            for lane, rows in (st.get("lanes") or {}).items():
                print(f"    {lane}: {sum(rows['scheduled'])} -> {sum(rows['required'])} "
                      "server-hours/day")
            worst = max((r["wait_p95_required"] or 0.0) for r in st["by_hour"])
            print(f"    worst hourly wait_p95 with the needed roster: {worst:.1f} min")
        for note in d["notes"]:
            print(f"  note: {note}")
        if i == 0:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            fig = draw_gap(result)
            problems = figure_problems(fig)
            if problems:
                raise SystemExit("figure checks failed: " + "; ".join(problems))
            save_png(fig, args.out)
            print(f"  wrote {args.out} (passes the figure checks)")


if __name__ == "__main__":
    main()
