"""Options and helpers shared by subcommands."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import ScenarioError
from ..model.scenario import Scenario, load_scenario
from ..output.serialize import dumps
from ..output.tables import printable


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
    """The scenario named on the command line, with its ``--set`` overrides.

    A command's ``--out DIR`` (when it has one) is checked here too, before any
    simulation, so a long run never fails at its end for want of a writable folder.
    """
    scenario = load_scenario(args.scenario, tuple(args.overrides))
    out = getattr(args, "out", None)
    if isinstance(out, Path):
        check_output_dir(out)
    return scenario


# --------------------------------------------------------------------------- outputs


def _existing_ancestor(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_output_dir(path: Path, option: str = "--out") -> None:
    """Refuse, without creating anything, a folder that cannot be made or written into.

    Raises ``ScenarioError`` (``PATH: OPTION: PROBLEM``) when ``path`` is an existing
    file, lies under a file, or its nearest existing folder is not writable.
    """
    if path.exists() and not path.is_dir():
        raise ScenarioError("is a file, not a folder; give a folder name", str(path), option)
    base = _existing_ancestor(path)
    if not base.is_dir():
        raise ScenarioError("is a file, so no folder can be made under it", str(base), option)
    if not os.access(base, os.W_OK | os.X_OK):
        raise ScenarioError("cannot write into this folder (permission denied)", str(base),
                            option)


def check_output_file(path: Path, option: str = "-o") -> None:
    """Refuse, without creating anything, a file that cannot be written.

    Raises ``ScenarioError`` when ``path`` is a folder, its folder does not exist or is a
    file, or the file (or its folder, for a new file) is not writable.
    """
    if path.is_dir():
        raise ScenarioError("is a folder; give a file name", str(path), option)
    parent = path.parent
    if not parent.exists():
        raise ScenarioError("folder does not exist", str(parent), option)
    if not parent.is_dir():
        raise ScenarioError("is a file, not a folder", str(parent), option)
    if path.exists() and not os.access(path, os.W_OK):
        raise ScenarioError("cannot write this file (permission denied)", str(path), option)
    if not path.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise ScenarioError("cannot write into this folder (permission denied)",
                            str(parent), option)


@contextlib.contextmanager
def writing(path: Path, option: str = "--out") -> Iterator[None]:
    """Turn an ``OSError`` raised while writing ``path`` into one ``ScenarioError`` line
    naming the file (disk full, permission denied, a file where a folder should be)."""
    try:
        yield
    except OSError as exc:
        where = exc.filename if exc.filename is not None else path
        problem = exc.strerror or str(exc) or type(exc).__name__
        raise ScenarioError(f"cannot write: {problem}", str(where), option) from None


def output_dir(path: Path, option: str = "--out") -> Path:
    """Check ``path`` (``check_output_dir``) and create it with its parents; return it."""
    check_output_dir(path, option)
    with writing(path, option):
        path.mkdir(parents=True, exist_ok=True)
    return path


def show(args: argparse.Namespace, data: Any, as_table: str,
         write: Callable[[Path], list[Path]]) -> int:
    """Print ``data`` as strict JSON (``--json``; NaN and inf become ``null``) or
    ``as_table``; with ``--out DIR`` write files there. The folder is prepared by
    ``output_dir``; a failing write ends in one line (exit 2)."""
    print(dumps(data) if args.json else as_table)
    if args.out is not None:
        with writing(args.out):
            written = write(output_dir(args.out))
        if not args.json:
            print(f"\nwrote {', '.join(str(p) for p in written)}")
    return 0


def warn(message: str) -> None:
    """One warning line on stderr (control characters shown as escapes)."""
    print(f"borderesim: warning: {printable(message)}", file=sys.stderr)


def require(condition: bool, problem: str, source: str | None = None,
            path: str | None = None) -> None:
    """Raise a ``ScenarioError`` unless ``condition``."""
    if not condition:
        raise ScenarioError(problem, source, path)
