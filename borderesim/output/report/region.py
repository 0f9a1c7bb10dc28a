"""The briefing report of a region of crossings (``borderesim report REGION.yaml``).

One :func:`borderesim.run.region.simulate_region` call (the one ``borderesim run REGION
--json`` makes, with the same engine, seed and replications) gives every number: the
regional KPIs with units from :mod:`borderesim.analysis.kpis`, threats by route, the value of
information (``region.information_time_saving``: replays with ``informed_share: 0`` on
the same travellers), the map-like figure of :mod:`borderesim.run.region.figure`, each
crossing's headline KPIs and the shock KPIs of each crossing with events or reserve
officers (``region.route.<crossing>.<KPI>``). When threats choose their route (``displacement`` or
``probing``) the same region with ``naive`` threats is run on the same travellers, so
the figure shows where the threats went instead.

The sections are :class:`~borderesim.output.report.sections.Section` objects laid out by the
scenario report's own HTML (:mod:`~borderesim.output.report.render`) and PDF
(:mod:`~borderesim.output.report.pdf`) code; every user text is escaped there.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from matplotlib.figure import Figure

from ...analysis.kpis import format_value, kpi_info
from ...model.events import OutageEvent, SlowdownEvent, SurgeEvent, clock_text
from ...run.region import GREEN, Region, RegionResult, load_region, simulate_region
from .render import CSS, PAGE, section_html
from .sections import NAN, Section, _table, _td, value_cells

CROSSING_KPIS = ("arrivals_per_hour", "wait_mean", "wait_p95", "detection_rate",
                 "referral_rate", "unfinished")
"""Each crossing's headline KPIs (``run --json`` has them all)."""

REGION_IDS = ("region-summary", "region-kpis", "threat-routes", "information", "region-map",
              "crossings", "region-shocks", "region-yaml")
"""Every section of a region report, in order (the HTML ``id`` of each)."""


@dataclass
class RegionReport:
    """Everything a region report shows; ``naive`` is the same region with ``naive``
    threats on the same travellers (``None`` when the threats are naive already)."""

    region: Region
    result: RegionResult
    naive: RegionResult | None
    notes: list[str] = field(default_factory=list)

    @property
    def scenario(self) -> Region:
        """The region (named like a report's scenario, for the PDF writer's header)."""
        return self.region


def build_region(region: Region | str | Path, engine: str = "auto",
                 replications: int | None = None, seed: int | None = None) -> RegionReport:
    """Simulate ``region`` (keeping the runs for the map) and, when its threats choose
    their route, the same region with naive threats on the same seed."""
    region = load_region(region)
    result = simulate_region(region, engine=engine, replications=replications, seed=seed,
                             keep_runs=True)
    naive = None
    if region.spec.adversary.behaviour != "naive":
        naive = simulate_region(load_region(region, ["adversary.behaviour=naive"]),
                                engine=engine, replications=result.replications,
                                seed=result.seed)
    return RegionReport(region, result, naive)


def _kpi_rows(table: dict[str, dict[str, float]], names: list[str]
              ) -> list[tuple[list[str], list[str]]]:
    rows = []
    for name in names:
        info = kpi_info(name)
        cells, plain = value_cells(table.get(name, NAN), kpi=name)
        rows.append(([_td(info.label), f"<td><code>{html.escape(name)}</code></td>", cells,
                      _td(info.unit.symbol)], [info.label, name, *plain, info.unit.symbol]))
    return rows


def _pct(p: float | list[float]) -> str:
    if isinstance(p, list):
        return f"{min(p):.0%}–{max(p):.0%} by hour"
    return f"{p:.0%}"


def summary(report: RegionReport) -> Section:
    """The region in plain words and how it was run."""
    spec, r = report.region.spec, report.result
    lines = [f"{spec.name}." + (f" {spec.description}" if spec.description else ""),
             f"Crossings: {', '.join(report.region.crossing_names)}; each is an ordinary "
             "scenario whose arrivals are the travellers routed to it."]
    for oname, origin in spec.origins.items():
        hourly = origin.hourly()
        travel = ", ".join(f"{c} {t:g} min" for c, t in origin.travel.items())
        shares = ("nearest crossing" if origin.shares is None else
                  ", ".join(f"{c} {s:.0%}" for c, s in origin.shares.items()))
        lines.append(f"Origin {oname}: {sum(hourly):,.0f} departures a day; travel {travel}; "
                     f"uninformed travellers choose: {shares}.")
    info = spec.information
    lines.append(f"{info.informed_share:.0%} of travellers check the posted waits "
                 f"(refreshed every {info.refresh:g} min, posted as `{info.posted}`).")
    if spec.green_border is not None:
        g = spec.green_border
        lines.append(f"Green border: {g.travel:g} min away, detection "
                     f"{_pct(g.detection_probability)}.")
    a = spec.adversary
    lines.append(f"Threats: `{a.behaviour}`, {a.knowledge:.0%} of them knowing; shared "
                 f"watchlist: {'yes' if spec.shared_watchlist else 'no'}.")
    run = [f"{r.replications} replications, seed {r.seed}, engine {r.engine}, borderesim "
           f"{r.version}; {spec.duration / 60:g} h counted after {spec.warmup / 60:g} h "
           "warm-up. Every interval is a 95 % Student-t interval across replications; the "
           "numbers are those of `borderesim run REGION --json` with the same options."]
    run += [f"Note: {n}" for n in report.notes]
    return Section("region-summary", "The region in plain words",
                   subsections=[("Region", lines), ("Run", run)])


def regional_kpis(report: RegionReport) -> Section:
    """Every regional KPI but the per-route ones (and so each crossing's shock KPIs,
    :func:`shocks`), with intervals and units."""
    names = [k for k in report.result.kpis if not k.startswith("region.route.")]
    head = ["KPI", "name", "mean", "95% CI", "unit"]
    return Section("region-kpis", "Regional KPIs",
                   paragraphs=["Waits and throughput add up the crossings; detection is seen "
                               "from the threat's side, at the route each would take."],
                   tables=[_table(head, _kpi_rows(report.result.kpis, names))])


def threat_routes(report: RegionReport) -> Section:
    """Threats by route: the share taking each, and the share detected there."""
    kpis = report.result.kpis
    head = ["route", "threats taking it", "95% CI", "detected there", "95% CI"]
    rows = []
    for route in report.region.routes:
        share = kpis.get(f"region.route.{route}.threat_share", NAN)
        det = kpis.get(f"region.route.{route}.detection_rate", NAN)
        c1, p1 = value_cells(share, kpi=f"region.route.{route}.threat_share")
        c2, p2 = value_cells(det, kpi=f"region.route.{route}.detection_rate")
        label = "green border" if route == GREEN else route
        rows.append(([_td(label), c1, c2], [label, *p1, *p2]))
    moved = format_value(kpis["region.displacement_share"]["mean"], "share", with_unit=True)
    text = [f"{moved} of the threats take another route than they would as naive travellers "
            "(`region.displacement_share`)."]
    if report.naive is not None:
        naive = format_value(report.naive.mean("region.detection_rate"), "share",
                             with_unit=True)
        given = format_value(kpis["region.detection_rate"]["mean"], "share", with_unit=True)
        text.append("Were the threats naive (choosing like everyone else, same travellers), "
                    f"the region would detect {naive} of them instead of {given}.")
    return Section("threat-routes", "Threats by route", paragraphs=text,
                   tables=[_table(head, rows)])


def information(report: RegionReport) -> Section:
    """The value of posted waits: travel + wait saved, paired against no information."""
    ci = report.result.kpis["region.information_time_saving"]
    share = report.region.spec.information.informed_share
    if share == 0:
        text = ["Nobody checks the posted waits (`information.informed_share: 0`), so they "
                "save nothing; set a share to see what they are worth."]
    else:
        text = [f"With {share:.0%} of travellers checking the posted waits, the mean travel + "
                f"wait per traveller is {format_value(ci['mean'], 'min', with_unit=True)} "
                "shorter than with nobody informed (the same travellers replayed with "
                "`informed_share: 0`; a negative value means the posted waits send travellers "
                "the longer way)."]
    head = ["KPI", "name", "mean", "95% CI", "unit"]
    return Section("information", "What the posted waits are worth", paragraphs=text,
                   tables=[_table(head, _kpi_rows(report.result.kpis,
                                                  ["region.information_time_saving",
                                                   "region.journey_mean"]))])


def region_map(report: RegionReport) -> Section:
    """The map of :mod:`borderesim.run.region.figure` and, when threats choose, their routes
    as given and as naive."""
    from ...run.region.figure import plot_region_map, plot_threat_routes

    fig = Figure(figsize=(12.0, 4.8))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1.0]})
    plot_region_map(report.result, left)
    variants = {"as given": report.result}
    if report.naive is not None:
        variants["naive threats"] = report.naive
    plot_threat_routes(variants, right)
    fig.tight_layout()
    return Section("region-map", "The region as a map", figure=fig,
                   caption="Left: origins and routes; each arrow is labelled with its flow "
                           "(travellers per hour; the green border: threats per day), each "
                           "crossing with its mean and 95th-percentile wait (min) and the "
                           "share of threats taking it. Right: the share of threats by route "
                           "and the regional detection rate"
                           + (", as given and with naive threats on the same travellers."
                              if report.naive is not None else "."))


def crossings(report: RegionReport) -> Section:
    """Each crossing's headline KPIs (units in the column heads)."""
    infos = [kpi_info(k) for k in CROSSING_KPIS]
    head = ["crossing"]
    for i in infos:
        head += [f"{i.short} ({i.unit.symbol})", "95% CI"]
    rows = []
    for name, kpis in report.result.crossings.items():
        cells, plain = [_td(name)], [name]
        for i in infos:
            c, p = value_cells(kpis.get(i.name, NAN), kpi=i.name)
            cells.append(c)
            plain += p
        rows.append((cells, plain))
    return Section("crossings", "Each crossing", tables=[_table(head, rows)],
                   paragraphs=["Each crossing's own KPIs, as `borderesim run` reports them "
                               "for a single crossing (`--json` of `run` has every one)."])


def event_words(event: SurgeEvent | OutageEvent | SlowdownEvent) -> str:
    """One event of a crossing's file in plain words (clock times of its day)."""
    day = f" on day {event.day}" if event.day != 1 else ""
    day += ", every day" if event.every else ""
    if isinstance(event, SurgeEvent):
        who = f" of class {event.class_}" if event.class_ else ""
        return (f"a surge of {event.travellers:,} travellers{who} arriving from "
                f"{clock_text(event.at)} over {event.over:g} min{day}")
    where = event.stage + (f" ({event.lane})" if event.lane else "")
    what = ("an outage at" if isinstance(event, OutageEvent)
            else f"service × {event.factor:g} at")
    return f"{what} {where} {clock_text(event.start)}–{clock_text(event.to)}{day}"


def shocks(report: RegionReport) -> Section:
    """Each crossing's shock KPIs (:func:`borderesim.run.region.kpis.crossing_shocks`),
    with the events and reserve officers of its file in words."""
    from ...run.region.kpis import crossing_shocks, shock_name

    per_crossing = crossing_shocks(report.region, report.result.kpis)
    title = "Shocks at each crossing"
    if not per_crossing:
        return Section("region-shocks", title, paragraphs=[
            "No crossing's file has events (surges, outages, slowdowns) or reserve officers, "
            "so there are no shock KPIs."])
    text = ["A crossing whose own file has events or reserve officers reports the shock KPIs "
            "a single crossing reports, over the travellers who reached it (a surge's "
            "travellers arrive at their crossing directly). Its shock window runs from its "
            "first event's start to its last event's end; times are minutes."]
    for c in per_crossing:
        scenario = report.region.scenarios[c]
        what = [event_words(e) for e in scenario.events]
        what += [f"up to {stage.reserve.officers} reserve officers at {sname}"
                 for sname, stage in scenario.stages.items() if stage.reserve is not None]
        text.append(f"{c}: {'; '.join(what)}.")
    names = [shock_name(c, k) for c, kpis in per_crossing.items() for k in kpis]
    head = ["KPI", "name", "mean", "95% CI", "unit"]
    return Section("region-shocks", title, paragraphs=text,
                   tables=[_table(head, _kpi_rows(report.result.kpis, names))])


def resolved(report: RegionReport) -> Section:
    data = report.region.spec.model_dump(mode="json", exclude_none=True)
    return Section("region-yaml", "The region file as run (times in minutes)",
                   pre=yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def region_sections(report: RegionReport) -> list[Section]:
    """The sections of a region report, in :data:`REGION_IDS` order."""
    return [summary(report), regional_kpis(report), threat_routes(report),
            information(report), region_map(report), crossings(report), shocks(report),
            resolved(report)]


def render_region_html(report: RegionReport, sections: list[Section]) -> str:
    """The region report as one self-contained HTML document (a string)."""
    r = report.result
    subtitle = (f"borderesim {r.version} region report — {len(report.region.crossing_names)} "
                f"crossings, engine {r.engine}, seed {r.seed}, {r.replications} "
                "replications, 95 % t-intervals")
    nav = " ".join(f'<a href="#{s.id}">{html.escape(s.title)}</a>' for s in sections)
    return PAGE.substitute(version=html.escape(r.version),
                           title=html.escape(report.region.name),
                           subtitle=html.escape(subtitle), css=CSS, nav=nav,
                           body="\n".join(section_html(s) for s in sections))


def write_region_report(report: RegionReport, path: str | Path, fmt: str = "html") -> Path:
    """Write the region report to ``path`` as ``html`` or ``pdf``; returns the path."""
    from .pdf import write_pdf

    sections = region_sections(report)
    path = Path(path)
    if fmt == "pdf":
        return write_pdf(report, sections, path)  # type: ignore[arg-type]  # same fields
    path.write_text(render_region_html(report, sections), encoding="utf-8")
    return path
