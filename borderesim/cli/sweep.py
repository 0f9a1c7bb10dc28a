"""``borderesim sweep``: run a parameter sweep locally or on a Dask cluster."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ScenarioError
from ..output.plots.sizes import size_option
from .common import positive_int, warn

DEFAULT_KPIS = ("wait_p95_rep", "wait_mean", "throughput_per_hour", "detection_rate")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep", help="run many scenario variants (grid, LHS or Sobol'); resumable",
        description="Run every point of a sweep file, one row per (point, replication), into "
                    "DIR/results.parquet. Rerun the same command to finish an interrupted "
                    "sweep: only missing rows are computed.")
    p.add_argument("sweep", help="sweep YAML file (scenario, grid or sample, replications, "
                                  "seed); its scenario may be a region file: rows then hold "
                                  "the regional KPIs (region.*)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="results folder (manifest.json, results.parquet/, figures)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, default=1, metavar="N",
                       help="local worker processes; rows are identical for any N (default: "
                            "1 = this process, as for every command; give the cores to use)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on an existing Dask cluster, e.g. tcp://host:8786")
    p.add_argument("--plot", action="store_true",
                   help="draw DIR/main_effects.png (95 %% intervals), DIR/heatmap.png for a "
                        "grid of two or more parameters, DIR/sensitivity.png for Sobol'")
    p.add_argument("--size", type=size_option, default=None, metavar="WxH",
                   help="figure size in pixels (default 1280x720, a 16:9 slide)")
    p.add_argument("--dpi", type=positive_int, default=None, metavar="N",
                   help="dots per inch of the figures (default 100; text scales with it)")
    p.add_argument("--kpi", action="append", default=None, metavar="NAME",
                   help=f"KPI to plot (repeatable; default: {', '.join(DEFAULT_KPIS)})")
    p.add_argument("--no-progress", action="store_true", help="no progress bar or lines")
    p.add_argument("--chunk-size", type=positive_int, default=None, metavar="N",
                   help="(point, replication) tasks per job sent to a worker (default: auto)")
    p.add_argument("--flush-seconds", type=float, default=2.0, metavar="S",
                   help="write finished rows at least this often (default: 2 s)")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from ..run.sweep import load_results, load_sweep, run_sweep
    from ..run.sweep.sensitivity import write_sensitivity
    from ..run.sweep.store import RESULTS

    spec = load_sweep(args.sweep)
    if args.flush_seconds <= 0:
        raise ScenarioError("must be above 0 seconds", None, "--flush-seconds")
    run = run_sweep(spec, args.out, workers=args.workers, scheduler=args.scheduler,
                    progress=not args.no_progress, stream=sys.stderr,
                    flush_seconds=args.flush_seconds, chunk_size=args.chunk_size)
    engines = ", ".join(f"{k} ({v})" for k, v in run.engines.items()) or "none needed"
    print(f"sweep {spec.source}: {len(spec.points)} points x {spec.replications} "
          f"replications = {run.total} rows in {args.out / RESULTS}")
    print(f"computed {run.computed} now ({run.already_done} were done) in "
          f"{run.seconds:.1f} s on {run.backend}; engine: {engines}")
    df = load_results(args.out)
    if len(df) != run.total:  # pragma: no cover - only when interrupted
        warn(f"{run.total - len(df)} rows are missing; rerun the same command to finish")
        return 1
    table = None
    sens = write_sensitivity(spec, df, args.out)
    if sens is not None:
        from ..run.sweep.sensitivity import sobol_indices

        table = sobol_indices(spec, df)
        print(f"Sobol' indices of every KPI: {sens}")
        shown = table[table["kpi"].isin(args.kpi or DEFAULT_KPIS)]
        if len(shown):
            print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.plot:
        from ..analysis.kpis import kpi_info
        from ..output.plots.style import DPI, inches
        from ..output.plots.sweep import (
            draw_heatmaps,
            draw_main_effects,
            draw_sensitivity,
            heatmap_pairs,
        )
        from ..run.sweep.spec import META_COLUMNS

        names = [c for c in df.columns if c not in META_COLUMNS and c not in spec.paths]
        unknown = [k for k in (args.kpi or []) if k not in names]
        if unknown:
            raise ScenarioError(f"unknown KPI {unknown[0]!r}; choose from {', '.join(names)}",
                                None, "--kpi")
        if spec.region_file is not None and not args.kpi:
            from ..run.region.sweep import DEFAULT_KPIS as region_kpis

            kpis = [k for k in region_kpis if k in names]
        else:
            kpis = [k for k in (args.kpi or DEFAULT_KPIS) if k in names]
        dpi = args.dpi or DPI
        size = inches(args.size, dpi)
        figures = {"main_effects.png": draw_main_effects(spec, df, kpis, size)}
        if heatmap_pairs(spec):
            figures["heatmap.png"] = draw_heatmaps(spec, df, kpis[0], heatmap_pairs(spec),
                                                   log=kpi_info(kpis[0]).unit.name == "min",
                                                   size=size)
        if table is not None and len(table):
            title = (f"Sobol' indices at {spec.base.get('name', spec.scenario_path)} from "
                     f"{len(spec.points)} points")
            figures["sensitivity.png"] = draw_sensitivity(table, kpis, title, size)
        for name, fig in figures.items():
            fig.savefig(args.out / name, dpi=dpi)
        print(f"wrote {', '.join(str(args.out / name) for name in figures)}")
    return 0
