"""Options and helpers shared by subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ScenarioError
from ..scenario import Scenario, load_scenario
from ..serialize import dumps


def add_scenario_args(parser: argparse.ArgumentParser, optional: bool = False) -> None:
    """SCENARIO and ``--set PATH=VALUE`` (repeatable)."""
    if optional:
        parser.add_argument("scenario", nargs="?", help="scenario YAML file")
    else:
        parser.add_argument("scenario", help="scenario YAML file")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
        help="override a field, e.g. --set stages.secondary.servers=6 (repeatable)",
    )


def add_run_args(parser: argparse.ArgumentParser) -> None:
    """``--engine``, ``--replications``, ``--seed``, ``--workers``."""
    parser.add_argument("--engine", choices=["auto", "simpy", "fast"], default="auto",
                        help="simulation engine (default: auto = fast when possible)")
    parser.add_argument("--replications", type=positive_int, default=None, metavar="N",
                        help="replications (default: the scenario's)")
    parser.add_argument("--seed", type=non_negative_int, default=None, metavar="S",
                        help="random seed (default: the scenario's)")
    parser.add_argument("--workers", type=positive_int, default=1, metavar="N",
                        help="processes running replications in parallel; results are "
                             "identical to a serial run (default: 1, as for every command)")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def load(args: argparse.Namespace) -> Scenario:
    """The scenario named on the command line, with its ``--set`` overrides."""
    return load_scenario(args.scenario, tuple(args.overrides))


def show(args: argparse.Namespace, data: Any, as_table: str,
         write: Callable[[Path], list[Path]]) -> int:
    """Print ``data`` as strict JSON (``--json``; NaN and inf become ``null``) or
    ``as_table``; with ``--out DIR`` write files there."""
    print(dumps(data) if args.json else as_table)
    if args.out is not None:
        written = write(args.out)
        if not args.json:
            print(f"\nwrote {', '.join(str(p) for p in written)}")
    return 0


def warn(message: str) -> None:
    print(f"borderesim: warning: {message}", file=sys.stderr)


def require(condition: bool, problem: str, source: str | None = None,
            path: str | None = None) -> None:
    """Raise a ``ScenarioError`` unless ``condition``."""
    if not condition:
        raise ScenarioError(problem, source, path)
