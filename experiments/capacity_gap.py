"""Capacity gap of the airport example: how long the search takes, the replications it
chose, and how the roster does on fresh travellers.

Solves ``scenarios/airport_arrivals.yaml`` (24 hours, two stages: passport control with
e-gates and two kinds of desk, and secondary inspection) for
``passport.wait_p95<=15min`` and ``secondary.wait_p95<=30min`` at 95 % confidence,
starting from the scenario's 10 replications (the search doubles them where a decision
is unresolved, up to ``--max-replications``), then re-simulates the roster on fresh
replications of another seed. Draws ``figures/capacity_gap.png`` and prints, per
stage, the gap, the unresolved hours and the validation; then does the same for the
land-crossing example. The issue's benchmark: the airport solves in under 30 s on 2
cores (the printed time is the search plus the validation run). Usage::

    python experiments/capacity_gap.py [--engine auto|fast|simpy] [--replications N]
        [--max-replications N] [--validation-replications N] [--confidence C]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from borderesim.analysis.capacity import VALIDATION_REPLICATIONS, gap
from borderesim.output.plots.checks import figure_problems
from borderesim.output.plots.gap import draw_gap
from borderesim.output.plots.style import save_png

ROOT = Path(__file__).resolve().parent.parent
CASES = (
    ("airport_arrivals", ["passport.wait_p95<=15min", "secondary.wait_p95<=30min"]),
    ("land_crossing", ["primary.wait_p95<=10min", "secondary.wait_p95<=30min"]),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="auto")
    parser.add_argument("--replications", type=int, default=None)
    parser.add_argument("--max-replications", type=int, default=None)
    parser.add_argument("--validation-replications", type=int, default=VALIDATION_REPLICATIONS)
    parser.add_argument("--confidence", type=float, default=0.95)
    parser.add_argument("--out", type=Path, default=ROOT / "figures" / "capacity_gap.png")
    args = parser.parse_args()

    # load the compiled kernels once, so the timings below are the search itself
    gap(ROOT / "scenarios" / "airport_arrivals.yaml", CASES[0][1], engine=args.engine,
        replications=2, max_replications=2, validation_replications=0)
    for i, (name, targets) in enumerate(CASES):
        t0 = time.perf_counter()
        result = gap(ROOT / "scenarios" / f"{name}.yaml", targets, engine=args.engine,
                     replications=args.replications, max_replications=args.max_replications,
                     validation_replications=args.validation_replications,
                     confidence=args.confidence)
        seconds = time.perf_counter() - t0
        d = result.to_dict()
        rounds = " -> ".join(str(r) for r in d["replications_by_round"])
        print(f"{name}: {', '.join(targets)} at {d['confidence']:.0%} confidence")
        print(f"  solved and validated in {seconds:.1f} s with the {d['engine']} engine; "
              f"replications chosen by the search: {rounds} (cap {d['replications_max']}); "
              f"{d['simulations']} simulations, {d['replicated_days']} replicated days "
              f"(including {d['validation_replications']} fresh ones)")
        for sname, st in d["stages"].items():
            missed = [r["hour"] for r in st["by_hour"] if not r["met_scheduled"]]
            print(f"  {sname}: {st['officer_hours_scheduled']:g} server-hours/day scheduled, "
                  f"{st['officer_hours_required']:g} needed (gap {st['officer_hours_gap']:+g}); "
                  f"today's roster misses the target in hours {missed or 'none'}; "
                  f"infrastructure gap hours: {st['infrastructure_gap_hours'] or 'none'}")
            for lane, rows in (st.get("lanes") or {}).items():
                print(f"    {lane}: {sum(rows['scheduled'])} -> {sum(rows['required'])} "
                      "server-hours/day")
            if st["unresolved"]:
                print("    unresolved at the cap: " + ", ".join(
                    f"{u['hour']:02d}:00 {u['lane']} {u['candidates'][0]} or "
                    f"{u['candidates'][1]}" for u in st["unresolved"]))
            if st["validation"]:
                print(f"    fresh travellers (seed {st['validation']['seed']}): "
                      f"{st['validation']['text']}")
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
