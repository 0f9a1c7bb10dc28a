"""``borderesim plan``: officers on shifts, FTE and the cheapest option meeting the targets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..analysis.kpis import format_value
from ..analysis.workforce.options import WorkforcePlan, plan_workforce
from .common import add_run_args, add_scenario_args, load, show, warn
from .gap import add_target_args

EXAMPLES = """\
example (the land crossing with its illustrative options file):
  borderesim plan scenarios/land_crossing.yaml --options scenarios/options/land.yaml \\
      --target 'primary.wait_p95<=10min'
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan", help="workforce plan: officers on shifts, FTE and the cost of each option",
        description="For each option of a staffing-options file: the servers needed by hour\n"
        "(as `gap`), the fewest officers on allowed shifts covering them (an integer\n"
        "programme, HiGHS), that roster re-simulated on fresh travellers (seed + 1), FTE\n"
        "with shrinkage, and the annualised cost; names the cheapest option meeting every\n"
        "target. Waits are minutes; money is the options file's currency a year.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_scenario_args(p)
    p.add_argument("--options", required=True, type=Path, metavar="OPTIONS.yaml",
                   help="staffing-options file: shifts, officer kinds, workforce, what to buy")
    add_run_args(p)
    add_target_args(p, "[STAGE[.LANE].]KPI<=VALUE or detection_rate>=SHARE, as for `gap` "
                    "(repeatable; at least one)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="write plan.json and workforce_options.png")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    scenario = load(args)
    result = plan_workforce(scenario, args.options, args.targets, engine=args.engine,
                            replications=args.replications, seed=args.seed,
                            say=lambda m: print(f"borderesim: {m}", file=sys.stderr))
    for note in result.notes:
        warn(note)
    return show(args, result.to_dict(), table(result), lambda out: write_outputs(result, out))


def write_outputs(result: WorkforcePlan, out: Path) -> list[Path]:
    """Write ``plan.json`` and ``workforce_options.png`` into ``out`` (created if missing)."""
    from ..output.plots.workforce import plot_options

    out.mkdir(parents=True, exist_ok=True)
    (out / "plan.json").write_text(result.to_json())
    plot_options(result, out / "workforce_options.png")
    return [out / "plan.json", out / "workforce_options.png"]


def table(result: WorkforcePlan) -> str:
    """The options compared, then the shift plan of the cheapest (or first) option."""
    d = result.to_dict()
    cur = d["currency"]
    w = d["workforce"]
    lines = [
        f"Workforce plan: {d['scenario']} — {d['options_name']}",
        f"targets: {', '.join(t['target'] for t in d['targets'])}; requirement from `gap` "
        f"(seed {d['seed']}), checked on fresh travellers (seed {d['check_seed']}), "
        f"{d['replications']} replications, engine {d['engine']}",
        f"shrinkage {w['shrinkage']:.0%}, {w['hours_per_fte']:g} paid h per FTE a year, "
        f"{w['days_per_year']:g} days; establishment {w['establishment']:g} FTE; "
        f"discount rate {d['discount_rate']:.1%}; costs: {d['cost_source']}",
        "",
        f"{'option':<24} {'officers':>8} {'paid h':>7} {'slack h':>7} {'FTE':>7} {'FTE gap':>8}"
        f" {'cost/yr':>13} {'worst p95':>9} {'hours met':>9} {'detect':>7}  meets",
    ]
    for o in d["options"]:
        sh = o["shifts"]
        worst = format_value(o["worst_wait_p95"], "min", digits=1)
        detect = format_value(o["detection_rate"], "share", digits=1) + " %"
        lines.append(
            f"{o['name'][:24]:<24} {sh['officers_on_shift']:>8} {sh['paid_hours']:>7g} "
            f"{sh['slack_hours']:>7g} {o['fte_total']:>7.1f} {o['fte_gap']:>+8.1f} "
            f"{o['cost']['total']:>13,.0f} {worst:>9} "
            f"{24 - len(o['hours_missed']):>6}/24 {detect:>7}  "
            + ("yes" if o["meets_targets"] else "no (hours " + ", ".join(
                map(str, o["hours_missed"] or o["infrastructure_gap_hours"])) + ")"))
    best = d["cheapest"]
    lines += ["", f"cheapest option meeting every target: {best}" if best
              else "no option meets every target on fresh travellers"]
    shown = next((o for o in d["options"] if o["name"] == best), d["options"][0])
    sh = shown["shifts"]
    lines += ["", f"shift plan of {shown['name']!r}: {sh['officers_on_shift']} officers a day, "
              f"{sh['paid_hours']:g} officer-hours paid vs {sh['required_hours']:g} required "
              f"(slack {sh['slack_hours']:g}); objective {sh['objective']} = "
              f"{sh['objective_value']:g}; HiGHS: {sh['status']}, MIP gap {sh['mip_gap']:.2%}"
              + (" (proven optimal)" if sh["proven_optimal"] else " (NOT proven optimal)"),
              f"{'kind':<10} {'shift':<8} {'start':>5} {'officers':>8}  breaks start (officers)"]
    for row in sh["shifts"]:
        brk = ", ".join(f"{t}×{n}" for t, n in row["breaks"].items()) or "—"
        lines.append(f"{row['kind']:<10} {row['shift']:<8} {row['start']:>5} "
                     f"{row['officers']:>8}  {brk}")
    marks = "".join("✓" if ok else "✗" for ok in shown["hours_met"])
    lines.append(f"fresh-traveller check by hour 00-23: {marks}  (✗: a target missed)")
    c = shown["cost"]
    by_kind = ", ".join(f"{k} {v:g}" for k, v in shown["fte"].items())
    by_kind = ", ".join(f"{k} {v:g}" for k, v in shown["fte"].items())
    lines.append(f"FTE {shown['fte_total']:.1f} ({by_kind}); "
                 f"employ {sum(shown['officers_to_employ'].values())}; cost a year ({cur}): "
                 f"staff {c['staff']:,.0f} + capital {c['capital_annualised']:,.0f} + upkeep "
                 f"{c['upkeep']:,.0f} = {c['total']:,.0f}")
    lines += ["", "officers: on shift in the day; paid h / slack h: officer-hours a day (breaks "
              "paid); FTE = paid h x days / (h per FTE x (1 - shrinkage)); cost: whole FTE x "
              "annual cost + capital annuity C·r/(1-(1+r)^-n) + upkeep; worst p95: minutes, "
              "worst hour of a targeted stage on fresh travellers"]
    return "\n".join(lines)



