"""The ``borderesim`` command. Each subcommand lives in its own module of this package.

A subcommand module defines ``add_parser(subparsers)``, which registers the command
and sets ``func`` (taking the parsed ``argparse.Namespace``, returning an exit status).
Bad input raises ``ScenarioError`` and ends with one line on stderr and status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__
from ..errors import ScenarioError

COMMANDS = ("run", "validate", "schema", "compare", "gap", "plan", "sweep", "workshop", "animate",
            "report")
"""Subcommand modules, in the order ``--help`` lists them (missing ones are skipped)."""


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser. When ``argv`` names a subcommand, only that subcommand's
    module is imported (a second ``borderesim run`` starts faster); otherwise all are.
    """
    words = sys.argv[1:] if argv is None else argv
    chosen = next((w for w in words if not w.startswith("-")), None)
    names = (chosen,) if chosen in COMMANDS else COMMANDS
    parser = argparse.ArgumentParser(
        prog="borderesim",
        description="Simulate a border crossing point: queues, staffing, targeting, detection.",
    )
    parser.add_argument("--version", action="version", version=f"borderesim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in names:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``borderesim`` console script; returns the exit status."""
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ScenarioError as exc:
        if exc.source is None and exc.path and not exc.path.startswith("-"):
            # a field of the scenario named on the command line (e.g. a memory check)
            exc = ScenarioError(exc.problem, getattr(args, "scenario", None), exc.path)
        print(f"borderesim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("borderesim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
