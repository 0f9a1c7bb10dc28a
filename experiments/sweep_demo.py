"""Sweep demo: a staffing x demand heatmap and Sobol' sensitivity of the land crossing.

Runs scenarios/sweeps/land_grid.yaml (42 points x 3 replications, one day each) and
scenarios/sweeps/land_sobol.yaml (1536 points, Saltelli scheme) through the same code as
``borderesim sweep``, then draws

- figures/sweep_heatmap.png: p95 of the total wait (minutes) over general primary booths
  x constant arrival rate (vehicles per hour), mean of the replications;
- figures/sensitivity.png: first- and total-order Sobol' indices of three KPIs with their
  95 % bootstrap intervals.

Each figure must pass :func:`borderesim.output.plots.checks.figure_problems` before it is saved.

Results are kept under OUT (default: the system temp dir), one folder per sweep version,
so a rerun only redraws.
Usage: .venv/bin/python experiments/sweep_demo.py [--out DIR] [--workers N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from borderesim.output.plots.checks import figure_problems
from borderesim.output.plots.style import save_png
from borderesim.output.plots.sweep import draw_heatmaps, draw_sensitivity
from borderesim.run.sweep import load_results, load_sweep, run_sweep
from borderesim.run.sweep.sensitivity import sobol_indices

ROOT = Path(__file__).resolve().parent.parent
SWEEPS = ROOT / "scenarios" / "sweeps"
FIGURES = ROOT / "figures"
KPIS = ["wait_p95_rep", "secondary.wait_mean", "detection_rate"]
QUOTED_RATE = 300
"""The arrival rate (vehicles per hour) whose row of the heatmap is printed."""


def save(fig, path: Path) -> None:
    """Save ``fig`` at ``path`` if it passes the figure checks; stop otherwise."""
    problems = figure_problems(fig)
    if problems:
        raise SystemExit(f"{path.name}: figure checks failed: " + "; ".join(problems))
    save_png(fig, path)
    print(f"wrote {path.relative_to(ROOT)} (passes the figure checks)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=Path(tempfile.gettempdir()) / "borderesim_sweep_demo")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    FIGURES.mkdir(exist_ok=True)

    grid = load_sweep(SWEEPS / "land_grid.yaml")
    t = time.perf_counter()
    grid_out = args.out / f"grid-{grid.fingerprint()[:12]}"
    run = run_sweep(grid, grid_out, workers=args.workers)
    print(f"grid: {run.total} rows ({run.computed} computed) in {time.perf_counter() - t:.1f} s "
          f"on {run.backend}, engines {run.engines}")
    df = load_results(grid_out)
    servers, rate = grid.paths
    at = df[df[rate] == QUOTED_RATE].groupby(servers)["wait_p95_rep"].mean()
    print(f"p95 wait (wait_p95_rep, mean of the replications) at {QUOTED_RATE} vehicles/h, "
          "by general booths: " + ", ".join(f"{int(k)}: {v:.1f} min" for k, v in at.items()))
    save(draw_heatmaps(grid, df, "wait_p95_rep", [(servers, rate)], log=True),
         FIGURES / "sweep_heatmap.png")

    sobol = load_sweep(SWEEPS / "land_sobol.yaml")
    t = time.perf_counter()
    sobol_out = args.out / f"sobol-{sobol.fingerprint()[:12]}"
    run = run_sweep(sobol, sobol_out, workers=args.workers)
    print(f"sobol: {run.total} rows ({run.computed} computed) in "
          f"{time.perf_counter() - t:.1f} s on {run.backend}, engines {run.engines}")
    table = sobol_indices(sobol, load_results(sobol_out), KPIS)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    title = (f"Land crossing: Sobol' indices (SALib) from {len(sobol.points)} one-day runs")
    save(draw_sensitivity(table, KPIS, title), FIGURES / "sensitivity.png")


if __name__ == "__main__":
    main()
