"""``borderesim run``: simulate a scenario and print its KPIs."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..output.records import write_outputs
from ..output.tables import header, kpi_table
from ..run.simulate import simulate
from .common import add_run_args, add_scenario_args, load, show, warn

EXAMPLES = """\
examples (each runs on the demo scenario):
  borderesim run scenarios/land_crossing.yaml --set stages.secondary.servers=6
  borderesim run scenarios/land_crossing.yaml --set stages.primary.lanes.general.servers=8
  borderesim run scenarios/land_crossing.yaml --set targeting.referral_rate.general=0.08
  borderesim run scenarios/land_crossing.yaml --replications 20 --workers 2 --json

a region of crossings (a file with a top-level `crossings:`; regional and per-crossing KPIs):
  borderesim run scenarios/region/north.yaml

switching strategy: set it and each of its fields (a field of the old strategy that the
new one lacks is refused as unknown; then replace the whole block):
  borderesim run scenarios/land_crossing.yaml --set targeting.strategy=random \\
      --set targeting.referral_rate=0.05
or replace the whole block:
  borderesim run scenarios/land_crossing.yaml \\
      --set 'targeting={strategy: risk_score, auc: 0.8, referral_rate: 0.05}'
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="simulate a scenario and print its KPIs",
                       description="Simulate a scenario; print KPIs with 95 % intervals.",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_scenario_args(p)
    add_run_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="write summary.json, per-traveller records and the resolved scenario")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from ..run.region.cli import is_region_file, run_region

    if is_region_file(args.scenario):  # a region of crossings (a top-level `crossings:`)
        return run_region(args)
    scenario = load(args)
    result = simulate(scenario, engine=args.engine, replications=args.replications,
                      seed=args.seed, keep_traces=args.out is not None,
                      workers=args.workers)
    for message in result.warnings:
        warn(message)
    return show(args, result.to_dict(), f"{header(result)}\n{kpi_table(result)}",
                lambda out: write_outputs(result, out))
