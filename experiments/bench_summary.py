"""Benchmark: the KPI work around the compiled passes, per ``simulate()`` call (issue 18).

For each example scenario (72 hours; ``airport_shock`` as written) and R replications
(default 5), fast engine, the replications are replayed once, then each part is timed
on them as ``simulate()`` runs it, in CPU milliseconds for the whole call (all R
replications), best of ``--repeats``:

- ``kpis``: ``metrics.replication_kpis`` with the tails pooled percentiles keep;
  ``kpi_sums``: the compiled KPI pass alone (``metrics.kernel_sums``), so ``kpis -
  kpi_sums`` is the Python and percentile work around it (noisy: a difference);
- ``shock``: ``shocks.shock_kpis`` (nothing without events or reserves);
- ``summarise``: ``metrics.summarise`` across replications (pooled percentiles with
  their Woodruff intervals and influences included);
- ``warnings``: ``simulate.overload_warnings`` and ``drain.drain_warnings``;
- ``simulate``: the whole ``simulate()`` call.

Usage: .venv/bin/python experiments/bench_summary.py [--replications 5] [--repeats 40]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {"land crossing": ("land_crossing.yaml", ["duration=72h"]),
             "airport": ("airport_arrivals.yaml", ["duration=72h"]),
             "cargo terminal": ("cargo_terminal.yaml", ["duration=72h"]),
             "airport shock": ("airport_shock.yaml", [])}


def best_ms(f: Callable[[], object], repeats: int) -> float:
    """CPU milliseconds of ``f()``, best of ``repeats``."""
    best = float("inf")
    for _ in range(repeats):
        t = time.process_time()
        f()
        best = min(best, time.process_time() - t)
    return best * 1e3


def row(path: Path, overrides: list[str], replications: int, repeats: int) -> dict:
    """The parts of one scenario's ``simulate()`` call (CPU ms for all replications)."""
    from borderesim.analysis.metrics import kernel_sums, replication_kpis, summarise
    from borderesim.analysis.shocks import shock_kpis
    from borderesim.model.scenario import load_scenario
    from borderesim.run import drain
    from borderesim.run.drain import drain_warnings
    from borderesim.run.engines import get_engine
    from borderesim.run.sampling import budget_checked
    from borderesim.run.simulate import overload_warnings, plan_of, simulate

    scenario = load_scenario(path, overrides)
    plan = plan_of(scenario)
    with budget_checked(scenario):
        runs = [drain.replay(scenario, plan, get_engine("fast"), scenario.seed, r)
                for r in range(replications)]
    n_classes = len(scenario.classes)
    per_rep, samples = [], []
    for inputs, trace in runs:
        tails: dict = {}
        per_rep.append(replication_kpis(scenario, plan, inputs, trace, tails, replications))
        samples.append(tails)
    summary = summarise(per_rep, samples, {})
    lanes = [s["lane_hours"] for s in samples]
    parts = {
        "kpis": lambda: [replication_kpis(scenario, plan, i, t, {}, replications)
                         for i, t in runs],
        "kpi_sums": lambda: [kernel_sums(plan, i, t, n_classes, True, fill=True)
                             for i, t in runs],
        "shock": lambda: [shock_kpis(scenario, plan, i, t) for i, t in runs],
        "summarise": lambda: summarise(per_rep, samples, {}),
        "warnings": lambda: (overload_warnings(plan, summary, lanes),
                             drain_warnings(plan, summary)),
        "simulate": lambda: simulate(scenario, engine="fast", replications=replications),
    }
    for f in parts.values():  # compiled code loaded before timing
        f()
    out = {name: best_ms(f, max(1, repeats // 2) if name == "simulate" else repeats)
           for name, f in parts.items()}
    out["kpis - kpi_sums"] = out["kpis"] - out["kpi_sums"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=40,
                    help="repeats of each timing; the best is kept (default 40)")
    args = ap.parse_args()
    print(f"CPU ms per simulate() call of {args.replications} replications, fast engine, "
          f"best of {args.repeats}")
    for name, (file, overrides) in SCENARIOS.items():
        got = row(ROOT / "scenarios" / file, overrides, args.replications, args.repeats)
        print(f"{name:15s} " + "  ".join(f"{k} {v:.3f}" for k, v in got.items()), flush=True)
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
