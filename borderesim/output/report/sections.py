"""The report's sections, each built from a :class:`~borderesim.output.report.build.ReportData`.

A :class:`Section` holds plain-text paragraphs, optional HTML tables, an optional
figure and its caption; :mod:`borderesim.output.report.render` lays them out as HTML and
:mod:`borderesim.output.report.pdf` as PDF pages. Numbers that come from ``run --json``
sit in table cells carrying ``data-kpi`` (the KPI name) and ``data-mean``,
``data-ci-low``, ``data-ci-high`` (exact JSON numbers, ``null`` for undefined);
numbers computed from traces carry ``data-derived`` instead.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field

import yaml
from matplotlib.figure import Figure

from ...analysis.kpis import format_value, interval_text, kpi_info
from ..plots.tradeoff import PANELS
from ..serialize import to_jsonable
from . import describe, figures
from .build import ReportData
from .standards import NO_KIND_NOTE, Verdict

NAN = {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan}

SECTION_IDS = ("summary", "standards", "kpis", "release-time", "hourly", "utilisation",
               "fairness", "tradeoff", "capacity-gap", "scenario-yaml", "method")
"""Every section a report holds, in order (the HTML ``id`` of each); a report given an
options file also holds ``workforce`` (:mod:`borderesim.output.report.workforce`) after
``capacity-gap``."""


@dataclass
class Section:
    """One section: ``paragraphs`` are plain text; ``tables`` are (plain rows, HTML) pairs."""

    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[list[list[str]], str]] = field(default_factory=list)
    figure: Figure | None = None
    caption: str = ""
    pre: str | None = None
    subsections: list[tuple[str, list[str]]] = field(default_factory=list)
    table_intros: list[tuple[str, list[str]]] = field(default_factory=list)
    """A heading and plain-text paragraphs shown before each table, in table order (the
    list may be shorter than ``tables``; an empty heading shows none)."""


# --------------------------------------------------------------------------- cells


fmt = format_value


def _json(value: float) -> str:
    """The value as ``run --json`` prints it (NaN and inf are ``null``)."""
    return json.dumps(to_jsonable(value))


def _interval(ci: dict[str, float], unit: str) -> str:
    """``"1.20 – 3.40"`` in the shown unit of ``unit`` (a catalogue unit name), or what
    :func:`borderesim.analysis.kpis.interval_text` says instead (exact, cut to the range)."""
    return interval_text(ci, unit)


def value_cells(ci: dict[str, float], unit: str | None = None, *, kpi: str | None = None,
                derived: str | None = None) -> tuple[str, list[str]]:
    """HTML for a mean cell and an interval cell, and their plain text.

    ``kpi`` marks a ``run --json`` KPI (``data-kpi``); ``derived`` a trace indicator.
    ``unit``: the catalogue unit the values are stored in (a share is shown as %);
    by default the unit the catalogue gives ``kpi`` or ``derived``.
    """
    if unit is None:
        unit = kpi_info(kpi or derived or "").unit.name
    attrs = ""
    if kpi is not None:
        attrs = f' data-kpi="{html.escape(kpi)}"'
    elif derived is not None:
        attrs = f' data-derived="{html.escape(derived)}"'
    attrs += "".join(f' data-{k.replace("_", "-")}="{_json(ci[k])}"'
                     for k in ("mean", "ci_low", "ci_high", "clipped", "exact", "approximate")
                     if k in ci)
    mean, interval = fmt(ci["mean"], unit), _interval(ci, unit)
    return (f'<td class="num"{attrs}>{mean}</td><td class="ci">{interval}</td>',
            [mean, interval])


def _table(head: list[str], rows: list[tuple[list[str], list[str]]], cls: str = "",
           plain_head: list[str] | None = None) -> tuple[list[list[str]], str]:
    """``rows``: (HTML cells, plain cells) pairs; ``plain_head`` heads the plain cells when
    they differ from the HTML columns. Returns (plain rows, HTML table)."""
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(f"<tr>{''.join(cells)}</tr>" for cells, _ in rows)
    plain = [plain_head or head] + [p for _, p in rows]
    return plain, f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _td(text: str, cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f"<td{c}>{html.escape(text)}</td>"


def _kpi_row(name: str, data: ReportData) -> tuple[list[str], list[str]]:
    info = kpi_info(name)
    ci = data.result.kpis.get(name, NAN)
    cells, plain = value_cells(ci, kpi=name)
    shown = info.unit.symbol
    return ([_td(info.label), f"<td><code>{html.escape(name)}</code></td>", cells,
             _td(shown)], [name, *plain, shown])


def _backing(data: ReportData) -> str:
    r = data.result
    return (f"{r.replications} replication{'s' if r.replications != 1 else ''} "
            f"(seed {r.seed}, engine {r.engine})")


# --------------------------------------------------------------------------- sections


def kind_words(data: ReportData) -> str:
    """The crossing kind and where it came from, e.g. ``land (the scenario's `kind:`)``."""
    if data.kind is None:
        return "not given (see the warning below)"
    if data.kind == data.scenario.kind:
        return f"{data.kind} (the scenario's `kind:`)"
    given = data.scenario.kind
    return f"{data.kind} (`--kind`{f'; the scenario says {given}' if given else ''})"


def summary(data: ReportData) -> Section:
    s = data.scenario
    r = data.result
    run = [f"{r.replications} replications, seed {r.seed}, engine {r.engine}, "
           f"borderesim {r.version}. Crossing kind: {kind_words(data)}; it decides which "
           "standards apply. Every interval is a 95 % Student-t interval across replications."]
    run += [f"Warning: {w}" for w in data.notes]
    return Section("summary", "The scenario in plain words", subsections=[
        ("Crossing", describe.crossing(s)),
        ("Demand", describe.demand(s)),
        ("Staffing", describe.staffing(s)),
        ("Strategy", describe.strategy(s)),
        ("This run", run),
    ])


def _verdict_row(v: Verdict) -> tuple[list[str], list[str]]:
    s = v.standard
    unit = kpi_info(s.kpi).unit
    ci = {"mean": v.mean, "ci_low": v.ci_low, "ci_high": v.ci_high}
    if v.clipped:
        ci["clipped"] = True
    cells, plain = value_cells(ci, kpi=s.kpi)
    op = {"<=": "≤", ">=": "≥"}[s.op]
    limit = f"{op} {unit.scale * s.limit:g} {unit.symbol}"
    status = {"met": "met", "missed": "missed"}.get(v.status, "na")
    mark = (f'<td class="mark {status}" data-status="{html.escape(v.status)}" '
            f'data-op="{html.escape(s.op)}" data-limit="{_json(s.limit)}">'
            f"{html.escape(v.mark)}</td>")
    what = f"<td><b>{html.escape(s.name)}</b><br><small>{html.escape(s.source)}</small></td>"
    reading = (f"<td>{html.escape(s.wording)}<br><small><code>{html.escape(s.kpi)}</code>: "
               f"{html.escape(s.reading)}</small></td>")
    return ([what, reading, cells, _td(limit, "limit"), mark],
            [s.name.split(" (")[0], s.kpi, *plain, limit, v.mark])


def standards(data: ReportData) -> Section:
    rows = [_verdict_row(v) for v in data.standards]
    table = _table(["standard", "reading (KPI)", "mean", "95% CI", "limit", "verdict"], rows,
                   "standards", plain_head=["standard", "KPI", "mean", "95% CI", "limit",
                                            "verdict"])
    met = sum(v.status == "met" for v in data.standards)
    judged = sum(v.status in ("met", "missed") for v in data.standards)
    na = (f"do not cover this kind of crossing ({data.kind})" if data.kind else
          "cover only a kind of crossing the scenario does not state")
    paragraphs = [
        f"{met} of {judged} applicable standards and benchmarks met, judged on the estimates of "
        f"{_backing(data)}. Rows marked n/a {na} and are shown for reference. The numbers "
        "are those of `borderesim run --json` with the same seed, replications and engine."]
    if data.kind is None:
        paragraphs.append(NO_KIND_NOTE[0].upper() + NO_KIND_NOTE[1:] + ".")
    return Section("standards", "Service standards", paragraphs=paragraphs, tables=[table])


def key_kpis(data: ReportData) -> list[str]:
    """KPI names of the key-indicator table (labels and units: :mod:`borderesim.analysis.kpis`)."""
    names = ["arrivals_per_hour", "throughput_per_hour", "wait_mean", "wait_p95",
             "time_in_system_mean", "time_in_system_p95", "unfinished", "referral_rate",
             "false_referral_rate", "detection_rate", "threats_missed_per_day",
             "innocent_delay_mean", "fairness.disparity_ratio"]
    for stage in data.plan.stage_names:
        names += [f"{stage}.{k}" for k in ("wait_mean", "wait_p95", "queue_mean", "utilization",
                                           "offered_load")]
    return [name for name in names if name in data.result.kpis]


def kpis(data: ReportData) -> Section:
    head = ["indicator", "KPI", "mean", "95% CI", "unit"]
    main = _table(head, [_kpi_row(name, data) for name in key_kpis(data)], "kpis",
                  plain_head=["KPI", "mean", "95% CI", "unit"])
    every = _table(head, [_kpi_row(name, data) for name in data.result.kpis], "kpis all")
    details = (f"<details><summary>All {len(data.result.kpis)} KPIs of "
               f"<code>borderesim run --json</code></summary>{every[1]}</details>")
    return Section("kpis", "Key indicators", paragraphs=[
        f"Estimates and 95 % intervals across {_backing(data)}. Means are averaged over "
        "replications (t-intervals, cut to the possible range where they would cross it); "
        "a 95th percentile is the wait 95 % of all counted travellers stay within, pooled "
        "over replications (Woodruff intervals). Shares are in %, times in minutes.",
    ], tables=[main, ([], details)])


def release(data: ReportData) -> Section:
    kp = data.result.kpis
    rel = data.release

    def row(name: str, ci: dict[str, float], derived: bool = False
            ) -> tuple[list[str], list[str]]:
        info = kpi_info(name)
        cells, plain = value_cells(ci, kpi=None if derived else name,
                                   derived=name if derived else None)
        src = f"from traces ({name})" if derived else name
        label, shown = info.label, info.unit.symbol
        return ([_td(label), _td(src), cells, _td(shown)], [label, src, *plain, shown])

    rows = [
        row("time_in_system_mean", kp.get("time_in_system_mean", NAN)),
        row("release.green", rel.get("green", NAN), derived=True),
        row("release.red", rel.get("red", NAN), derived=True),
        row("referral_rate", kp.get("referral_rate", NAN)),
        row("release.hit_rate", rel.get("hit_rate", NAN), derived=True),
    ]
    table = _table(["indicator", "source", "mean", "95% CI", "unit"], rows, "release")
    return Section("release-time", "Release time by channel (WCO Time Release Study style)",
                   paragraphs=[
        "Release time is the time from arriving at the crossing to leaving it, for counted "
        "travellers (or consignments) who finished. Green channel: not referred; red channel: "
        "referred to a secondary stage. Hit rate: share of red-channel travellers found to be "
        "threats at a secondary stage (seizures per examination) — rare events, so read its "
        f"interval. Per replication, then averaged over {_backing(data)}.",
    ], tables=[table])


def hourly(data: ReportData) -> Section:
    r = data.result
    return Section("hourly", "Waits and queues by hour", figure=figures.fig_hourly(data),
                   caption=(
        "Top: 95th-percentile wait (minutes) at each stage by the hour of day travellers "
        "enter it; bottom: time-averaged number waiting at each stage in that hour. Waits of "
        f"all {r.replications} replications are pooled before the hourly percentile is taken, "
        "as for the whole-run percentiles in the KPI table. "
        "Dashed: the queue standard. Empty hours: nobody counted entered the stage. "
        f"Backed by {_backing(data)}."))


def utilisation(data: ReportData) -> Section:
    r = data.result
    return Section("utilisation", "Utilisation by stage", figure=figures.fig_utilisation(data),
                   caption=(
        "Left: busy server-time over on-duty server-time across the counted run for each stage "
        "(blue) and lane (grey): the KPI table's STAGE.utilization, mean of "
        f"{r.replications} replications with 95 % intervals. Right: the same by hour of day, "
        f"pooled over the replications. Backed by {_backing(data)}."))


def fairness(data: ReportData) -> Section:
    kp = data.result.kpis
    rows = []
    for c in data.scenario.classes:
        ref_cells, ref_plain = value_cells(kp.get(f"class.{c}.false_referral_rate", NAN),
                                           kpi=f"class.{c}.false_referral_rate")
        det_cells, det_plain = value_cells(data.class_detection.get(c, NAN),
                                           derived=f"detection.{c}")
        wait_cells, wait_plain = value_cells(kp.get(f"class.{c}.wait_mean", NAN),
                                             kpi=f"class.{c}.wait_mean")
        rows.append(([_td(c), ref_cells, det_cells, wait_cells],
                     [c, *ref_plain, *det_plain, *wait_plain]))
    head = ["class", "innocents referred (%)", "95% CI", "threats detected (%)", "95% CI",
            "mean wait (min)", "95% CI"]
    r = data.result
    return Section("fairness", "Detection and innocent referrals by class",
                   tables=[_table(head, rows, "fairness")],
                   figure=figures.fig_fairness(data), caption=(
        "Left: share of innocent travellers of each class referred to secondary inspection "
        "(class.C.false_referral_rate); right: probability that a threat of each class is "
        "detected (the low-variance detection estimator restricted to the class, from traces); "
        "dashed: all classes (detection_rate). The burden of a strategy falls on the classes "
        f"with tall orange bars. Mean of {r.replications} replications with 95 % intervals; "
        f"backed by {_backing(data)}."))


def tradeoff(data: ReportData) -> Section:
    c = data.comparison
    if c is None:
        return Section("tradeoff", "Detection–delay trade-off", paragraphs=[
            f"No trade-off curve: {data.tradeoff_note}."])
    n = len(c.variants)
    fig = figures.fig_tradeoff(c, data.own_variant)
    against = "; ".join(label for _, label, _ in PANELS)
    return Section("tradeoff", "Detection–delay trade-off", figure=fig, caption=(
        f"Threats detected (%, vertical) against what detection costs: {against}. {n} "
        "settings of the scenario's strategy "
        f"({c.variants[0].group}): {data.tradeoff_note}. Each point runs {c.replications} "
        f"replications on the same travellers (common random numbers, seed {c.seed}, engine "
        f"{', '.join(c.engines)}); bars: 95 % intervals of detection. Star: the scenario's own "
        "setting."))


def capacity_gap(data: ReportData) -> Section:
    g = data.gap
    if g is None:
        return Section("capacity-gap", "Capacity gap by hour", paragraphs=[
            f"No capacity gap: {data.gap_note}."])
    d = g.to_dict()
    rows = []
    for stage, sd in d["stages"].items():
        sched, req = sd["officer_hours_scheduled"], sd["officer_hours_required"]
        short = [r["hour"] for r in sd["by_hour"] if r["gap"] > 0]
        hours = ", ".join(f"{h:02d}" for h in short) or "none"
        rows.append(([_td(stage), _td(f"{sched:,.0f}", "num"), _td(f"{req:,.0f}", "num"),
                      _td(f"{req - sched:+,.0f}", "num"), _td(hours)],
                     [stage, f"{sched:,.0f}", f"{req:,.0f}", f"{req - sched:+,.0f}", hours]))
    head = ["stage", "server-hours scheduled", "required", "gap", "hours short of staff"]
    notes = [f"Note: {n}" for n in d["notes"]]
    targets = ", ".join(data.gap_targets)
    return Section("capacity-gap", "Capacity gap by hour", paragraphs=[
        f"The fewest servers in each hour of day that meet {targets} (from the report's "
        "standards); a target without a stage applies to every stage.", *notes],
        tables=[_table(head, rows, "gap")], figure=figures.fig_gap(data), caption=(
        f"Servers on duty by hour of day: scheduled (blue) and the fewest meeting {targets} in "
        "every hour (required, red), found by the capacity gap search on the travellers of "
        f"{g.start_replications} replications, added to {g.replications} where a count was "
        f"not yet clear (seed {g.seed}, engine {g.engine}; {g.simulations} rosters "
        f"simulated). Each count is the fewest servers that meet the targets with "
        f"{g.confidence:.0%} confidence, and the roster was then re-run on fresh travellers "
        "the search never saw (see the notes). Red shading: hours short of staff; green: "
        "spare; grey bands: hours the booths cannot cover; dotted: booth limit."))


def resolved_yaml(data: ReportData) -> str:
    """The resolved scenario as YAML (hourly lists on one line each)."""
    return yaml.safe_dump(data.scenario.model_dump(mode="json", exclude_none=True),
                          sort_keys=False, default_flow_style=None, width=96)


def scenario_yaml(data: ReportData) -> Section:
    return Section("scenario-yaml", "Resolved scenario (YAML)", paragraphs=[
        "The fully resolved scenario this report ran (all times in minutes); "
        "`borderesim run` on it reproduces the numbers above."], pre=resolved_yaml(data))


def method(data: ReportData) -> Section:
    return Section("method", "How to read this report", paragraphs=[
        "Counted travellers are those arriving after the warm-up; travellers still inside at "
        "the end are 'unfinished', never silently lost. A 95th percentile is the wait 95 % of "
        "all counted travellers stay within, their waits pooled over replications (so '95 % "
        "of travellers wait at most X' reads it directly), with a Woodruff 95 % interval "
        "that treats each replication as one independent cluster; other KPIs are means "
        "across replications with 95 % Student-t intervals, cut to the possible range (0 to "
        "100 % for a share, at least 0 for a count) when they would cross it. A value "
        "'exact under the model' does not vary between replications by construction.",
        "A standard is met when the estimate (mean, or pooled percentile) is on the right "
        "side of its "
        "limit; '(interval crosses the limit)' warns that the run cannot tell met from missed "
        "at that precision — add replications.",
        "ICAO Annex 9 RP 3.39 is read as time_in_system_p95 <= 45 min: the clock starts at "
        "the first stage (the walk from the aircraft is not modelled) and referred travellers "
        "count too. The queue standard reads '95 % within X min' as the stage's wait_p95. The "
        "WCO Time Release Study sets no limit; mean release time is compared with the FHWA "
        "2001 survey average (26.8 min) as a benchmark for cargo.",
        "Detection rates use the low-variance estimator: each finished traveller's probability "
        "of detection were they a threat, weighted by prevalence; detection_rate_observed "
        "counts the few threats actually caught.",
    ])


BUILDERS = (summary, standards, kpis, release, hourly, utilisation, fairness, tradeoff,
            capacity_gap, scenario_yaml, method)


def build_sections(data: ReportData) -> list[Section]:
    """Every section of the report, in :data:`SECTION_IDS` order; with an options file,
    the "Workforce and cost" section (id ``workforce``) follows the capacity gap."""
    from .workforce import workforce  # it builds on this module's cells

    out = [b(data) for b in BUILDERS]
    extra = workforce(data)
    if extra is not None:
        out.insert(SECTION_IDS.index("capacity-gap") + 1, extra)
    return out
