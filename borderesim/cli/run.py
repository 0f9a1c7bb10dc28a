"""``borderesim run``: simulate a scenario and print its KPIs."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..records import write_outputs
from ..simulate import simulate
from ..tables import header, kpi_table
from .common import add_run_args, add_scenario_args, load, show, warn


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="simulate a scenario and print its KPIs",
                       description="Simulate a scenario; print KPIs with 95 % intervals.")
    add_scenario_args(p)
    add_run_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="write summary.json, per-traveller records and the resolved scenario")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    scenario = load(args)
    result = simulate(scenario, engine=args.engine, replications=args.replications,
                      seed=args.seed, keep_traces=args.out is not None,
                      workers=args.workers)
    for message in result.warnings:
        warn(message)
    return show(args, result.to_json(), f"{header(result)}\n{kpi_table(result)}",
                lambda out: write_outputs(result, out))
