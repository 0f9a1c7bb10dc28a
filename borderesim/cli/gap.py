"""``borderesim gap``: the servers each stage needs by hour to meet service targets."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..analysis.capacity import VALIDATION_REPLICATIONS, GapResult, gap
from ..analysis.kpis import format_value
from ..output.serialize import dumps
from .common import (
    add_run_args,
    add_scenario_args,
    load,
    non_negative_int,
    positive_int,
    show,
    warn,
)

EXAMPLES = """\
examples (each runs on the demo scenario):
  borderesim gap scenarios/land_crossing.yaml --target 'primary.wait_p95<=15min'
  borderesim gap scenarios/land_crossing.yaml --target 'wait_mean<=5' \\
      --target 'detection_rate>=0.075'
  borderesim gap scenarios/land_crossing.yaml --target 'primary.general.wait_p99.5<=30min' \\
      --max-servers primary.general=9
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gap", help="capacity gap: servers needed by hour to meet targets",
        description="Find the fewest servers per stage and hour of day that meet every\n"
        "target with a stated confidence (simulation with common random numbers, started\n"
        "from Erlang-C; replications are added where a decision is unresolved), check the\n"
        "roster on fresh travellers, and compare it with the scenario's roster. Waits are\n"
        "minutes. --replications is where the search starts.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_scenario_args(p)
    add_run_args(p)
    add_target_args(p, "[STAGE[.LANE].]KPI<=VALUE for wait_mean / wait_pNN (minutes or a "
                    "unit; NN may be decimal, e.g. wait_p99.5), or detection_rate>=SHARE "
                    "(repeatable; at least one)")
    p.add_argument("--max-servers", dest="max_servers", action="append", default=[],
                   metavar="STAGE=N", help="cap a stage's (or STAGE.LANE's) servers per hour; "
                   "replaces the stage's booths (repeatable)")
    p.add_argument("--confidence", type=_confidence, default=0.95, metavar="C",
                   help="how sure each count must be that its targets hold, 0.5-1 "
                   "(default: 0.95)")
    p.add_argument("--max-replications", dest="max_replications", type=positive_int,
                   default=None, metavar="N",
                   help="the most replications the search may add up to (default: 4 times "
                   "the starting replications); hours still unresolved are named")
    p.add_argument("--validation-replications", dest="validation_replications",
                   type=non_negative_int, default=VALIDATION_REPLICATIONS, metavar="N",
                   help="fresh replications the final roster is re-simulated on (default: "
                   f"{VALIDATION_REPLICATIONS}; 0 skips the check)")
    p.add_argument("--validation-seed", dest="validation_seed", type=non_negative_int,
                   default=None, metavar="S",
                   help="seed of the fresh replications (default: the search's seed + 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--out", type=Path, metavar="DIR", help="write gap.json and gap.png")
    p.set_defaults(func=command)


def add_target_args(parser: argparse.ArgumentParser, help: str) -> None:
    """``--target TARGET`` (repeatable, documented) and its alias ``--targets T [T ...]``.

    Both spellings add to ``args.targets``, in the order given, so ``gap`` and ``report``
    read targets the same way.
    """
    parser.add_argument("--target", dest="targets", action="append", default=[],
                        metavar="TARGET", help=help)
    parser.add_argument("--targets", dest="targets", nargs="+", action="extend",
                        help=argparse.SUPPRESS)


def command(args: argparse.Namespace) -> int:
    scenario = load(args)
    result = gap(scenario, args.targets, args.max_servers, engine=args.engine,
                 replications=args.replications, seed=args.seed, confidence=args.confidence,
                 max_replications=args.max_replications,
                 validation_replications=args.validation_replications,
                 validation_seed=args.validation_seed)
    for note in result.warnings:
        warn(note)
    return show(args, result.to_dict(), table(result), lambda out: write_outputs(result, out))


def _confidence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.5 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0.5 and below 1, got {text}")
    return value


def write_outputs(result: GapResult, out: Path) -> list[Path]:
    """Write ``gap.json`` and ``gap.png`` into ``out`` (created if missing)."""
    from ..output.plots.gap import plot_gap

    out.mkdir(parents=True, exist_ok=True)
    data = result.to_dict()
    data["scenario_resolved"] = result.scenario.model_dump(mode="json", exclude_none=True)
    (out / "gap.json").write_text(dumps(data))
    plot_gap(result, out / "gap.png")
    return [out / "gap.json", out / "gap.png"]


def table(result: GapResult) -> str:
    """The gap as plain-text tables, one per stage."""
    d = result.to_dict()
    rounds = " → ".join(str(r) for r in d["replications_by_round"])
    lines = [
        f"Capacity gap: {d['scenario']}",
        f"engine {d['engine']}, seed {d['seed']}, confidence {d['confidence']:.0%}; "
        f"replications {rounds} (cap {d['replications_max']}); solved in "
        f"{d['solve_seconds']:.1f} s ({d['simulations']} simulations, "
        f"{d['replicated_days']} replicated days)",
        "targets: " + ", ".join(t["target"] for t in d["targets"]),
    ]
    fresh = d["validation_replications"]
    for name, st in d["stages"].items():
        cap = st["max_servers"]
        lines += ["", f"{name}" + (f" (at most {cap} servers)" if cap else "")
                  + ("" if st["targets"] else " — no wait target: today's roster kept")]
        check = f"p95 on {fresh} fresh reps" if fresh else "p95 (search sample)"
        lines.append(f"{'hour':>4} {'today':>6} {'needed':>7} {'gap':>5}   "
                     f"{'wait_p95 today':>14}   {check:<28} entering/h")
        for row in st["by_hour"]:
            if row["entering_per_hour"] == 0 and row["scheduled"] == 0 and row["required"] == 0:
                continue
            today = format_value(row["wait_p95_scheduled"], "min", digits=1)
            today += "" if row["met_scheduled"] else " ✗"
            needed = f"{row['candidates'][0]}-{row['required']}?" if row["candidates"] \
                else str(row["required"])
            lo, hi = row["wait_p95_required_interval"] or (None, None)
            fresh_p95 = format_value(row["wait_p95_required"], "min", digits=1)
            if lo is not None and hi is not None:
                fresh_p95 += f" [{lo:.1f}, {hi:.1f}]"
            if row["validation"] is not None:
                fresh_p95 += " ✓" if row["met_required"] else " ✗"
            infra = "  infrastructure gap" if row["hour"] in st["infrastructure_gap_hours"] else ""
            lines.append(
                f"{row['hour']:>4} {row['scheduled']:>6} {needed:>7} "
                f"{row['gap']:>+5}   {today:>14}   {fresh_p95:<28} "
                f"{row['entering_per_hour']:>10,.0f}{infra}"
            )
        lines.append(
            f"officer-hours/day: today {st['officer_hours_scheduled']:g}, needed "
            f"{st['officer_hours_required']:g}, gap {st['officer_hours_gap']:+g}; "
            "infrastructure gap hours: "
            + (", ".join(str(h) for h in st["infrastructure_gap_hours"]) or "none")
        )
        if st["validation"]:
            lines.append(f"on fresh travellers (seed {st['validation']['seed']}): "
                         + st["validation"]["text"])
        for lane, rows in (st.get("lanes") or {}).items():
            lines.append(f"  {lane:<14} today  {' '.join(f'{x:>2}' for x in rows['scheduled'])}")
            lines.append(f"  {'':<14} needed {' '.join(f'{x:>2}' for x in rows['required'])}")
    det = d["detection"]
    if det is not None:
        lines += ["", f"detection_rate: target {det['target']:g}; today {det['scheduled']:.3f}, "
                  f"with the needed roster {det['required']:.3f}"
                  + (f", ceiling {det['ceiling']:.3f}" if det.get("ceiling") is not None else "")
                  + ("" if det["met"] else f" — not met ({det['limited_by']})")]
    lines += ["", "wait_p95: minutes, travellers entering the stage in that hour, pooled over "
              "replications (today: the search's sample; needed: fresh travellers, with a "
              f"{d['confidence']:.0%} interval); ✗ = a target missed (in some lane), ✓ = all "
              "met; 'a-b?' = unresolved at the replication cap, the larger count kept; "
              "entering/h: travellers queueing at the stage per clock hour (needed roster)"]
    notes = [n for n in d["notes"] if n not in d["warnings"]]
    if notes:
        lines += ["", "notes:"] + [f"- {n}" for n in notes]
    return "\n".join(lines)
