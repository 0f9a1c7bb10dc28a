"""``borderesim report``: a self-contained briefing report (HTML, or PDF) of a scenario."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..output.report import FORMATS, KINDS, ReportData, build, write_report
from ..output.tables import printable
from .common import add_run_args, add_scenario_args, check_output_file, load, warn, writing
from .gap import add_target_args


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="write a briefing report: KPIs against standards, with figures",
        description="Simulate a scenario and write one self-contained report (figures "
                    "embedded, opens offline): the scenario in plain words, KPIs against "
                    "ICAO Annex 9, a '95% within X min' queue standard and WCO release time, "
                    "waits by hour, utilisation, fairness by class, the detection-delay "
                    "trade-off and the capacity gap; with --options, a workforce and cost "
                    "section (officers on shifts, FTE and the cheapest option meeting the "
                    "targets, as `borderesim plan`). Its KPI numbers equal `borderesim run "
                    "--json` with the same seed, replications and engine.")
    add_scenario_args(p)
    p.add_argument("-o", "--output", type=Path, default=None, metavar="FILE",
                   help="report file (default: report.html, or report.pdf with --format pdf)")
    add_target_args(p, "a service target replacing the default queue standard, in the gap "
                       "grammar: [STAGE.]wait_p95<=X, [STAGE[.LANE].]wait_mean<=X or "
                       "detection_rate>=X (e.g. --target 'primary.wait_p95<=25min'; "
                       "repeatable); the targets are also the capacity gap's")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="html (default) or pdf (default: from the file name's ending)")
    p.add_argument("--kind", choices=KINDS, default=None,
                   help="kind of crossing, which decides the standards that apply (default: "
                        "the scenario's kind:; neither: only standards fitting any crossing)")
    p.add_argument("--no-tradeoff", action="store_true",
                   help="skip the trade-off curve (it runs 5 variants of the strategy)")
    p.add_argument("--no-gap", action="store_true",
                   help="skip the capacity gap (it searches rosters)")
    p.add_argument("--options", type=Path, default=None, metavar="OPTIONS.yaml",
                   help="staffing-options file (as for `borderesim plan`): adds a 'Workforce "
                        "and cost' section evaluating each option on the report's targets")
    add_run_args(p)
    p.set_defaults(func=command)


def output_format(output: Path | None, fmt: str | None) -> tuple[Path, str]:
    """The file to write and its format, from ``-o`` and ``--format``."""
    if fmt is None:
        fmt = "pdf" if output is not None and output.suffix.lower() == ".pdf" else "html"
    if output is None:
        output = Path(f"report.{fmt}")
    check_output_file(output, "-o")
    return output, fmt


def command(args: argparse.Namespace) -> int:
    from ..run.region.cli import is_region_file

    output, fmt = output_format(args.output, args.format)
    if is_region_file(args.scenario):  # a region of crossings (a top-level `crossings:`)
        return region_command(args, output, fmt)
    scenario = load(args)
    data = build(scenario, targets=args.targets, kind=args.kind, engine=args.engine,
                 replications=args.replications, seed=args.seed,
                 tradeoff=not args.no_tradeoff, capacity_gap=not args.no_gap,
                 workers=args.workers, options=args.options,
                 say=lambda m: print(f"borderesim: {m}", file=sys.stderr))
    for message in data.notes + (data.workforce.notes if data.workforce else []):
        warn(message)
    with writing(output, "-o"):
        path = write_report(data, output, fmt)
    met = sum(v.status == "met" for v in data.standards)
    judged = sum(v.status in ("met", "missed") for v in data.standards)
    print(f"wrote {path} ({fmt}; {met} of {judged} standards met; "
          f"{data.result.replications} replications, seed {data.result.seed}, "
          f"engine {data.result.engine}{cheapest_words(data)})")
    return 0


def cheapest_words(data: ReportData) -> str:
    """``"; cheapest option meeting every target: X"`` (empty without an options file)."""
    if data.workforce is None:
        return ""
    best = data.workforce.cheapest
    return ("; no staffing option meets every target" if best is None
            else f"; cheapest option meeting every target: {printable(best.option.name)}")


def region_command(args: argparse.Namespace, output: Path, fmt: str) -> int:
    """``borderesim report REGION.yaml``: regional KPIs, threats by route, the value of
    information, the map and each crossing's headline KPIs (no standards or gap)."""
    from ..output.report.region import build_region, write_region_report
    from ..run.region import load_region

    if args.targets or args.kind or args.options:
        warn("--target, --kind and --options judge one crossing against standards and "
             "staffing options; a region report does not use them")
    if args.workers > 1:
        warn("a region's replications run one after another; --workers is not used")
    region = load_region(args.scenario, tuple(args.overrides))
    report = build_region(region, engine=args.engine, replications=args.replications,
                          seed=args.seed)
    with writing(output, "-o"):
        path = write_region_report(report, output, fmt)
    r = report.result
    print(f"wrote {path} ({fmt}; region of {len(region.crossing_names)} crossings; "
          f"{r.replications} replications, seed {r.seed}, engine {r.engine})")
    return 0
