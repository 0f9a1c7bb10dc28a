"""The report's "Workforce and cost" section, from a
:class:`~borderesim.analysis.workforce.WorkforcePlan`.

Built only when the report was given a staffing-options file (``--options``). Every
number comes from ``WorkforcePlan.to_dict()`` — what ``borderesim plan --json`` prints for
the same scenario, targets, seed, replications and engine — and each table cell holding
one carries ``data-plan`` (its path in that JSON, dot-separated, list items by index) and
``data-value`` (the exact JSON value), so a test can check the report against the command.
Hours are officer-hours a day, waits minutes, money the options file's currency a year.
"""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np

from ...analysis.kpis import format_value
from ...analysis.workforce import OptionResult, WorkforcePlan
from ..plots.workforce import _hours as hour_runs
from ..plots.workforce import draw_options
from .build import ReportData
from .sections import Section, _table

SECTION_ID = "workforce"
TITLE = "Workforce and cost"
Cell = tuple[str, str]
"""(HTML ``<td>``, plain text) of one table cell."""


def cell(text: str, path: str | None = None, value: Any = None, cls: str = "num",
         plain: str | None = None) -> Cell:
    """A ``<td>`` showing ``text``; ``path``: its ``plan --json`` path, ``value`` the JSON
    value there (written as ``data-plan``/``data-value``); ``plain``: shorter text for the
    PDF's monospace table (default ``text``)."""
    attrs = f' class="{cls}"' if cls else ""
    if path is not None:
        attrs += (f' data-plan="{html.escape(path)}" '
                  f'data-value="{html.escape(json.dumps(value))}"')
    return f"<td{attrs}>{html.escape(text)}</td>", text if plain is None else plain


def row(cells: list[Cell]) -> tuple[list[str], list[str]]:
    """A table row as (HTML cells, plain cells)."""
    return [c[0] for c in cells], [c[1] for c in cells]


def money(value: float, currency: str) -> str:
    """``"EUR 1,234,567"``: a sum of money, whole units with thousands separators."""
    return f"{currency} {value:,.0f}"


def hours_text(hours: float) -> str:
    """Officer-hours a day as text, e.g. ``"180 h"`` or ``"182.5 h"``."""
    return f"{hours:,.1f} h".replace(".0 h", " h")


def _wait(minutes: float | None) -> str:
    return format_value(minutes, "min", digits=1, with_unit=True)


def _yes_no(ok: bool) -> str:
    return "yes" if ok else "no"


def options_table(d: dict[str, Any]) -> tuple[list[list[str]], str]:
    """One row per option: staff, hours, FTE, cost, worst-hour wait, hours met, verdict."""
    cur = d["currency"]
    rows = []
    for i, o in enumerate(d["options"]):
        p, sh = f"options.{i}", o["shifts"]
        met = sum(o["hours_met"])
        verdict = "yes" if o["meets_targets"] else "no"
        if o["infrastructure_gap_hours"]:
            verdict += " (booths too few)"
        rows.append(row([
            cell(o["name"], f"{p}.name", o["name"], cls=""),
            cell(f"{sh['officers_on_shift']:,}", f"{p}.shifts.officers_on_shift",
                 sh["officers_on_shift"]),
            cell(hours_text(sh["paid_hours"]), f"{p}.shifts.paid_hours", sh["paid_hours"]),
            cell(hours_text(sh["slack_hours"]), f"{p}.shifts.slack_hours", sh["slack_hours"]),
            cell(f"{o['fte_total']:,.1f}", f"{p}.fte_total", o["fte_total"]),
            cell(f"{o['fte_gap']:+,.1f}", f"{p}.fte_gap", o["fte_gap"]),
            cell(money(o["cost"]["total"], cur), f"{p}.cost.total", o["cost"]["total"],
                 plain=f"{o['cost']['total']:,.0f}"),
            cell(_wait(o["worst_wait_p95"]), f"{p}.worst_wait_p95", o["worst_wait_p95"]),
            cell(f"{met} of 24", plain=f"{met}/24"),
            cell(verdict, f"{p}.meets_targets", o["meets_targets"],
                 cls=f"mark {'met' if o['meets_targets'] else 'missed'}",
                 plain=verdict.split(" ")[0]),
        ]))
    head = ["option", "officers on shift a day", "paid officer-hours a day",
            "slack (paid, not needed)", "FTE needed", "FTE gap (vs today)",
            f"annual cost ({cur})", "worst hour: 95% of travellers wait at most",
            "hours meeting the targets (fresh travellers)", "meets every target?"]
    plain_head = ["option", "officers", "paid h", "slack h", "FTE", "FTE gap",
                  f"{cur} a year", "worst p95", "met h", "meets"]
    return _table(head, rows, "workforce options", plain_head=plain_head)


def choice_table(d: dict[str, Any], i: int) -> tuple[list[list[str]], str]:
    """The chosen option in a few lines: what it buys, whom to employ, what it costs."""
    o, cur = d["options"][i], d["currency"]
    p, c = f"options.{i}", o["cost"]
    bought = ", ".join(f"{n} × {item}" for item, n in o["buy"].items() if n) or "nothing"
    employ = sum(o["officers_to_employ"].values())
    kinds = ", ".join(f"{n} {k}" for k, n in o["officers_to_employ"].items())
    rows = [
        row([cell("option", cls=""), cell(o["name"], "cheapest" if d["cheapest"] else None,
                                          d["cheapest"], cls="")]),
        row([cell("buys", cls=""), cell(bought, cls="")]),
        row([cell("full-time officers to employ", cls=""),
             cell(f"{employ:,} ({kinds})" if len(o["officers_to_employ"]) > 1 else f"{employ:,}",
                  f"{p}.officers_to_employ", o["officers_to_employ"])]),
        row([cell("FTE needed (with shrinkage)", cls=""),
             cell(f"{o['fte_total']:,.1f}", f"{p}.fte_total", o["fte_total"])]),
        row([cell("FTE gap against today's establishment", cls=""),
             cell(f"{o['fte_gap']:+,.1f} (establishment "
                  f"{d['workforce']['establishment']:,.1f})", f"{p}.fte_gap", o["fte_gap"])]),
        row([cell("staff cost a year", cls=""),
             cell(money(c["staff"], cur), f"{p}.cost.staff", c["staff"])]),
        row([cell("purchases a year (capital annuity)", cls=""),
             cell(money(c["capital_annualised"], cur), f"{p}.cost.capital_annualised",
                  c["capital_annualised"])]),
        row([cell("upkeep a year", cls=""),
             cell(money(c["upkeep"], cur), f"{p}.cost.upkeep", c["upkeep"])]),
        row([cell("total cost a year", cls=""),
             cell(money(c["total"], cur), f"{p}.cost.total", c["total"])]),
    ]
    return _table(["", "value"], rows, "workforce choice")


def shifts_table(d: dict[str, Any], i: int) -> tuple[list[list[str]], str]:
    """Officers per shift start and when their breaks start."""
    sh, p = d["options"][i]["shifts"], f"options.{i}.shifts.shifts"
    rows = []
    for j, s in enumerate(sh["shifts"]):
        brk = ", ".join(f"{n} at {t}" for t, n in s["breaks"].items()) or "no break"
        rows.append(row([
            cell(s["kind"], cls=""), cell(s["shift"], cls=""),
            cell(s["start"], f"{p}.{j}.start", s["start"], cls=""),
            cell(f"{s['officers']:,}", f"{p}.{j}.officers", s["officers"]),
            cell(brk, f"{p}.{j}.breaks", s["breaks"], cls=""),
        ]))
    head = ["officer kind", "shift", "starts at", "officers", "breaks start (officers at time)"]
    return _table(head, rows, "workforce shifts",
                  plain_head=["kind", "shift", "start", "officers", "breaks"])


def solver_words(sh: dict[str, Any], currency: str) -> str:
    """The solver's verdict in plain words (``proven optimal`` when the MIP gap is 0)."""
    gap = format_value(sh["mip_gap"], "share", digits=2, with_unit=True)
    proof = ("proven optimal: no shift plan does better" if sh["proven_optimal"] else
             "NOT proven optimal: a better shift plan may exist")
    value = sh["objective_value"]
    goal = {"paid_hours": f"the paid officer-hours a day ({hours_text(value)})",
            "officers": f"the officers on shift a day ({value:,.0f})",
            "cost": f"the officers' cost a day ({money(value, currency)})"}[sh["objective"]]
    return (f"The shift plan is an integer programme solved by HiGHS; it minimises {goal}. "
            f"Solver status {sh['status']}, MIP gap {gap} — {proof}.")


def missed_where(result: OptionResult, hour: int) -> str:
    """The lanes missing a target in ``hour`` on fresh travellers, e.g. ``"primary.ready"``
    (``"LANE (no officer on duty)"`` when travellers wait at a lane nobody staffs)."""
    check, names = result.check, result.gap.lane_names
    return ", ".join(names[lane] + (" (no officer on duty)" if check.stranded[lane, hour] else "")
                     for lane in np.flatnonzero(check.fail[:, hour]))


def check_table(d: dict[str, Any], i: int, stages: list[str], result: OptionResult
                ) -> tuple[list[list[str]], str]:
    """Hour by hour on fresh travellers: officers on duty, servers, each stage's wait, met?

    ``result``: option ``i`` evaluated, for the lanes that miss (``plan --json`` gives
    only whole hours)."""
    o, p = d["options"][i], f"options.{i}"
    on_duty = [sum(v[h] for v in o["shifts"]["on_duty_by_hour"].values()) for h in range(24)]
    rows = []
    for h in range(24):
        need = sum(v[h] for v in o["required_servers"].values())
        staffed = sum(v[h] for v in o["shift_roster"].values())
        waits = [cell(_wait(o["wait_p95_by_hour"][s][h]), f"{p}.wait_p95_by_hour.{s}.{h}",
                      o["wait_p95_by_hour"][s][h]) for s in stages]
        ok = o["hours_met"][h]
        rows.append(row([
            cell(f"{h:02d}:00", cls=""), cell(f"{on_duty[h]:,}"), cell(f"{need:,}"),
            cell(f"{staffed:,}"), *waits,
            cell("met" if ok else f"missed: {missed_where(result, h) or 'a target'}",
                 f"{p}.hours_met.{h}", ok,
                 cls=f"mark {'met' if ok else 'missed'}")]))
    head = ["hour", "officers on duty (whole hour)", "servers required", "servers staffed",
            *[f"{s}: 95% wait at most" for s in stages], "targets"]
    plain_head = ["hour", "officers", "required", "staffed", *[f"{s} p95" for s in stages],
                  "targets"]
    return _table(head, rows, "workforce check", plain_head=plain_head)


def assumptions_table(d: dict[str, Any]) -> tuple[list[list[str]], str]:
    """Where the costs come from and the planning assumptions behind FTE and cost."""
    w = d["workforce"]
    rows = [
        row([cell("cost source", cls=""), cell(d["cost_source"], "cost_source",
                                               d["cost_source"], cls="")]),
        row([cell("currency", cls=""), cell(d["currency"], "currency", d["currency"], cls="")]),
        row([cell("shrinkage (leave, training, sickness)", cls=""),
             cell(format_value(w["shrinkage"], "share", digits=0, with_unit=True),
                  "workforce.shrinkage", w["shrinkage"])]),
        row([cell("paid hours of one full-time officer a year", cls=""),
             cell(f"{w['hours_per_fte']:,.0f} h", "workforce.hours_per_fte",
                  w["hours_per_fte"])]),
        row([cell("days the crossing opens a year", cls=""),
             cell(f"{w['days_per_year']:,.0f} days", "workforce.days_per_year",
                  w["days_per_year"])]),
        row([cell("establishment today", cls=""),
             cell(f"{w['establishment']:,.1f} FTE", "workforce.establishment",
                  w["establishment"])]),
        row([cell("discount rate", cls=""),
             cell(format_value(d["discount_rate"], "share", digits=1, with_unit=True),
                  "discount_rate", d["discount_rate"])]),
    ]
    return _table(["assumption", "value"], rows, "workforce assumptions")


def shown_option(wp: WorkforcePlan) -> int:
    """Index of the option the report details: the cheapest meeting every target, else the
    closest (fewest hours missed, then cheapest — as ``plan`` names it in its note)."""
    best = wp.cheapest
    if best is not None:
        return wp.results.index(best)
    return min(range(len(wp.results)), key=lambda i: (
        int((~wp.results[i].hours_met).sum()), wp.results[i].cost["total"]))


def workforce(data: ReportData) -> Section | None:
    """The "Workforce and cost" section (``None`` when the report has no options file)."""
    wp = data.workforce
    if wp is None:
        return None
    d = wp.to_dict()
    best = d["cheapest"]
    shown = shown_option(wp)
    o = d["options"][shown]
    name, sh = o["name"], o["shifts"]
    names = list(wp.results[0].gap.stage_names)
    stages = [names[s] for s in wp.targeted_stages]
    targets = ", ".join(f"`{t['target']}`" for t in d["targets"])
    reps = f"{d['replications']} replication{'s' if d['replications'] != 1 else ''}"
    source = f" ({d['options_file']})" if d["options_file"] else ""
    paragraphs = [
        f"What the planner could buy, from the options file “{d['options_name']}”{source}: "
        f"for each option, the fewest servers each hour needs to meet {targets} (as in the "
        "capacity gap), the fewest officers on the allowed shifts who staff them with breaks "
        "taken, that roster simulated again on fresh travellers, and the yearly cost. "
        f"Requirement: {reps}, seed {d['seed']}, engine {d['engine']}; check: as many new "
        f"replications, seed {d['check_seed']}. The numbers are those of `borderesim plan "
        "--json` with the same targets, seed, replications and engine.",
    ]
    if best is not None:
        paragraphs.append(f"The cheapest option meeting every target in every hour is "
                          f"“{best}”, at {money(o['cost']['total'], d['currency'])} a year.")
    else:
        missed = hour_runs(o["hours_missed"])
        paragraphs.append(
            "No option meets every target in every hour on fresh travellers. The closest is "
            f"“{name}” ({money(o['cost']['total'], d['currency'])} a year"
            + (f"; hours of the day missed: {missed}" if missed else "")
            + (f"; too few booths for the servers needed in hours "
               f"{hour_runs(o['infrastructure_gap_hours'])}"
               if o["infrastructure_gap_hours"] else "")
            + ("" if wp.results[shown].detection_met else "; detection target missed")
            + "); the details below are its.")
    chosen = "The cheapest option meeting every target" if best else \
        f"The closest option: “{name}”"
    intros = [
        ("The options compared", [
            "Officers on shift: officers working in the day; paid and slack hours are "
            "officer-hours a day (breaks are paid; slack is paid time the hourly requirement "
            "does not need, the price of whole shifts and breaks). FTE: full-time officers "
            "needed over a year; FTE gap: FTE needed minus today's establishment (positive: "
            "officers to recruit). Worst hour: the largest hourly 95th-percentile wait at a "
            "stage with a target, on fresh travellers."]),
        (chosen, []),
        (f"Shift plan of “{name}”", [
            f"{sh['officers_on_shift']:,} officers on shift a day, paid "
            f"{hours_text(sh['paid_hours'])} of officer time against "
            f"{hours_text(sh['required_hours'])} the hours require (slack "
            f"{hours_text(sh['slack_hours'])}).", solver_words(sh, d["currency"]),
            *[f"Note: {n}" for n in o["notes"]]]),
        (f"Hour by hour on fresh travellers (“{name}”)", [
            f"The shift plan's roster simulated on {reps} of new travellers (seed "
            f"{d['check_seed']}). An hour is met when every lane meets its targets in it; the 95 % "
            "wait shown pools a stage's lanes, so one lane can miss while the stage's pooled "
            "wait is within the target."]),
        ("Assumptions", [
            "FTE needed = paid officer-hours a day × days a year ÷ (paid hours per FTE × "
            "(1 − shrinkage)); whole officers are employed, each at the annual cost the "
            "options file states. A purchase costs its capital as an equal yearly payment "
            "over its life at the discount rate — the annuity C·r ÷ (1 − (1 + r)^−n), with C "
            "the capital, r the rate and n the life in years — plus its upkeep."]),
    ]
    return Section(SECTION_ID, TITLE, paragraphs=paragraphs, tables=[
        options_table(d), choice_table(d, shown), shifts_table(d, shown),
        check_table(d, shown, stages, wp.results[shown]), assumptions_table(d)],
        table_intros=intros,
        figure=draw_options(wp), caption=(
        f"Each option's annual cost ({d['currency']}: staff + capital annuity + upkeep) "
        "against its worst hour's 95th-percentile wait on fresh travellers; filled green: "
        "meets every target in every hour, open red: misses one; the large point is the "
        f"cheapest meeting every target. Requirement from {reps} (seed {d['seed']}, engine "
        f"{d['engine']}), checked on {reps} of fresh travellers (seed {d['check_seed']}). "
        f"Costs: {d['cost_source']}."))
