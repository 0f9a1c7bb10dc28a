"""``borderesim validate``: check a scenario file and say what it describes."""

from __future__ import annotations

import argparse

from .common import add_scenario_args, load


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check a scenario file",
                       description="Check a scenario file; exit 2 with the problem if it is wrong.")
    add_scenario_args(p)
    p.add_argument("--print", dest="show", action="store_true",
                   help="print the fully resolved scenario (times in minutes)")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from ..run.region.cli import is_region_file, validate_region

    if is_region_file(args.scenario):  # a region of crossings (a top-level `crossings:`)
        return validate_region(args)
    scenario = load(args)
    if args.show:
        print(scenario.to_yaml(), end="")
    else:
        stages = ", ".join(scenario.stages)
        print(f"{args.scenario}: ok — '{scenario.name}', stages: {stages}; "
              f"{scenario.duration / 60:g} h counted after {scenario.warmup / 60:g} h warm-up")
    return 0
