"""The KPI catalogue: every KPI family declared once, and the one number formatter.

A *family* is a name pattern such as ``{stage}.wait_p95`` with its plain-words label,
its unit, which direction is better and how it is summarised across replications.
Tables, ``compare``, the report, plots and the README's KPI table read it; nothing
guesses a unit from a name. :func:`kpi_info` resolves a concrete name
(``primary.wait_p95``) to a :class:`KpiInfo`.

One unit per KPI in every output: JSON, CSV, Parquet and Python hold the *stored* unit
(minutes, shares 0-1, per hour, ...); a table or a figure shows ``stored × scale`` with
the unit's symbol (a share as %), and only :func:`format_value` and
:meth:`KpiInfo.axis_label` do that conversion.

Adding a KPI: compute it in :mod:`borderesim.analysis.metrics` and add one :class:`KpiFamily` to
:data:`FAMILIES` below (a strategy's own ``Decision.extra`` counts call :func:`declare`
in the strategy's file instead); then ``python -m borderesim.analysis.kpis --write-readme``
regenerates the README's KPI table, which ``tests/test_kpis.py`` keeps equal to this
catalogue.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

Better = Literal["lower", "higher", "neither"]
"""Which direction of a KPI is better (``neither``: context decides, e.g. utilisation)."""

Summary = Literal["mean_t", "pooled_quantile", "per_replication"]
"""How a KPI is summarised across replications (:func:`borderesim.analysis.metrics.summarise`).
``mean_t``: the mean of the per-replication values (NaN left out) with a 95 % Student-t
interval, cut to the KPI's :attr:`KpiFamily.bounds` (``"clipped": true`` when cut).
``pooled_quantile``: the percentile of all counted travellers' values pooled over
replications, with a 95 % Woodruff interval (:mod:`borderesim.analysis.quantiles`).
``per_replication``: a per-replication row only (``..._p95_rep``), not summarised."""

Source = Literal["run", "report", "workshop", "region"]
"""Who computes the KPI: ``run`` (every ``run --json``), ``report`` (from traces, in the
report only), ``workshop`` (the workshop page only) or ``region`` (a region file's run,
:mod:`borderesim.run.region`)."""


@dataclass(frozen=True)
class Unit:
    """A stored unit and how it is shown: ``shown = stored * scale``, followed by ``symbol``."""

    name: str
    symbol: str
    scale: float = 1.0


UNITS: dict[str, Unit] = {u.name: u for u in (
    Unit("min", "min"),
    Unit("share", "%", 100.0),  # 0-1 stored, shown as %
    Unit("per hour", "/h"),
    Unit("per day", "/day"),
    Unit("travellers", "travellers"),  # a count or a time-average number (or vehicles)
    Unit("ratio", "ratio"),
    Unit("hours", "h"),
)}
"""Every unit a KPI may have, by name."""


def unit(name: str) -> Unit:
    """The :class:`Unit` called ``name`` (``"min"``, ``"share"``, ...); KeyError if unknown."""
    try:
        return UNITS[name]
    except KeyError:
        raise KeyError(f"unknown unit {name!r}; one of {', '.join(UNITS)}") from None


PLACEHOLDERS = {"stage": "a stage", "lane": "a lane of the stage", "cls": "a traveller class",
                "route": "a route of a region: a crossing or green_border"}
"""Placeholders a name pattern may hold, and what each stands for."""


@dataclass(frozen=True)
class KpiFamily:
    """One family of KPIs, e.g. ``{stage}.wait_p95`` (one KPI per stage).

    ``label`` is plain words with the same placeholders; ``meaning`` adds what the
    label cannot say (README); ``short`` heads a narrow table column. ``bounds``: the
    values the KPI can take (default ``[0, 1]`` for a share, ``[0, inf)`` otherwise);
    intervals are cut to them. ``exact_if_constant``: when every replication gives the
    same value, the value is exact under the model (it has no sampling noise), and the
    summary says ``"exact": true`` instead of showing a zero-width interval.
    """

    pattern: str
    label: str
    unit: str
    better: Better
    meaning: str = ""
    short: str = ""
    summary: Summary = "mean_t"
    source: Source = "run"
    bounds: tuple[float, float] | None = None
    exact_if_constant: bool = False
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.unit not in UNITS:  # a typo in a declaration fails at import
            raise ValueError(f"{self.pattern}: unknown unit {self.unit!r}; one of "
                             f"{', '.join(UNITS)}")
        names = re.findall(r"{(\w+)}", self.pattern)
        unknown = set(names) - set(PLACEHOLDERS)
        if unknown:
            raise ValueError(f"{self.pattern}: unknown placeholder(s) {sorted(unknown)}")
        parts = re.split(r"{(\w+)}", self.pattern)
        body = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+)"
                       for i, p in enumerate(parts))
        object.__setattr__(self, "regex", re.compile(body))
        if self.bounds is None:  # shares lie in [0, 1]; every other unit is >= 0
            object.__setattr__(self, "bounds",
                               (0.0, 1.0) if self.unit == "share" else (0.0, math.inf))

    @property
    def quantile(self) -> float | None:
        """The percentile as a share (0.95 for ``..._p95``) of a pooled-quantile KPI."""
        if self.summary != "pooled_quantile":
            return None
        m = re.search(r"_p(\d+(?:\.\d+)?)$", self.pattern)
        return float(m.group(1)) / 100 if m else None

    @property
    def specificity(self) -> tuple[int, int]:
        """Literal characters, then placeholders: when two families match a name, the
        higher wins (``class.{cls}.wait_mean`` over ``{stage}.{lane}.wait_mean``)."""
        fixed = len(re.sub(r"{\w+}", "", self.pattern))
        return fixed, self.pattern.count("{")


@dataclass(frozen=True)
class KpiInfo:
    """A concrete KPI (``primary.wait_p95``): its family and the label filled in."""

    name: str
    family: KpiFamily
    label: str
    unit: Unit

    @property
    def better(self) -> Better:
        return self.family.better

    @property
    def summary(self) -> Summary:
        return self.family.summary

    @property
    def short(self) -> str:
        """A short column heading (the family's ``short``, else the name)."""
        return self.family.short or self.name

    @property
    def axis_label(self) -> str:
        """``"95th percentile wait at primary (min)"``: the label with the shown unit."""
        return f"{self.label} ({self.unit.symbol})"

    def format(self, value: float | None, digits: int = 2, sign: bool = False,
               with_unit: bool = False) -> str:
        """:func:`format_value` in this KPI's unit."""
        return format_value(value, self.unit.name, digits=digits, sign=sign,
                            with_unit=with_unit)


SHOCK_FAMILIES: list[KpiFamily] = [
    KpiFamily("{stage}.queue_peak", "Peak queue at {stage}", "travellers", "lower",
              "most travellers waiting at once after the warm-up"),
    KpiFamily("{stage}.recovery_min", "Recovery time of {stage}", "min", "lower",
              "from the first shock's start until the rolling 30-minute p95 wait is back "
              "under recovery_target and stays there"),
    KpiFamily("{stage}.recovered", "Replications where {stage} recovered", "share", "higher",
              "the rolling p95 wait was back under recovery_target before the end"),
    KpiFamily("{stage}.reserve_officer_hours", "Reserve officer-hours at {stage}", "hours",
              "lower"),
    KpiFamily("reserve_officer_hours", "Reserve officer-hours (all stages)", "hours", "lower",
              "reserve officers on duty, from arrival to leaving or the end", "reserve_h"),
    KpiFamily("{stage}.flushed_in_shock", "Flushed at {stage} during the shock", "travellers",
              "lower", "waved through unchecked while entering in the shock window"),
    KpiFamily("detection_rate.shock", "Threats detected during the shock", "share", "higher",
              "the detection estimator over travellers arriving in the shock window",
              "detect_shock"),
    KpiFamily("detection_rate.outside", "Threats detected outside the shock", "share",
              "higher", "the detection estimator over travellers arriving outside it"),
]
"""The shock KPIs of a crossing with events or a reserve (:mod:`borderesim.analysis.shocks`);
in a region each crossing's are also named ``region.route.<crossing>.<name>``
(:func:`at_crossing`)."""


def at_crossing(family: KpiFamily) -> KpiFamily:
    """``family`` of one crossing of a region: ``region.route.{route}.<pattern>``, labelled
    "..., crossing {route}" (the region's per-crossing KPIs, as ``region.route.{route}.*``)."""
    return KpiFamily(f"region.route.{{route}}.{family.pattern}",
                     f"{family.label}, crossing {{route}}", family.unit, family.better,
                     family.meaning, family.short, family.summary, "region", family.bounds,
                     family.exact_if_constant)


FAMILIES: list[KpiFamily] = [
    # the crossing as a whole
    KpiFamily("arrivals_per_hour", "Arrivals per hour", "per hour", "neither",
              "counted travellers arriving, per hour of the counted window"),
    KpiFamily("throughput_per_hour", "Throughput per hour", "per hour", "higher",
              "travellers leaving the crossing per hour of the counted window"),
    KpiFamily("wait_mean", "Mean wait (all stages)", "min", "lower",
              "total queueing time per counted traveller over all stages, to their exit"),
    KpiFamily("wait_p95", "95th percentile wait (all stages)", "min", "lower",
              "the same, 95th percentile of all counted travellers pooled over "
              "replications", short="wait_p95", summary="pooled_quantile"),
    KpiFamily("wait_p95_rep", "95th percentile wait (all stages) of one replication", "min",
              "lower", "per-replication rows only (`per_replication.csv`, sweeps); the "
              "summary's `wait_p95` pools replications instead", summary="per_replication"),
    KpiFamily("time_in_system_mean", "Mean time in the crossing", "min", "lower",
              "arrival to exit"),
    KpiFamily("time_in_system_p95", "95th percentile time in the crossing", "min", "lower",
              "arrival to exit, pooled over replications", summary="pooled_quantile"),
    KpiFamily("time_in_system_p95_rep", "95th percentile time in the crossing of one "
              "replication", "min", "lower", "per-replication rows only",
              summary="per_replication"),
    KpiFamily("referral_rate", "Travellers referred", "share", "neither",
              "referred / counted", short="referred"),
    KpiFamily("false_referral_rate", "Innocent travellers referred", "share", "lower",
              "innocent referred / innocent", short="innocent_ref"),
    KpiFamily("detection_rate", "Threats detected", "share", "higher",
              "a low-variance estimator: prevalence-weighted P(detect | threat) over "
              "counted travellers, each followed to their exit; exact under the model (no "
              "interval) when no referral probability is random", short="detect",
              exact_if_constant=True),
    KpiFamily("detection_rate_observed", "Share of sampled threats detected", "share",
              "higher", "detected / threats: counts the few sampled threats (noisy)"),
    KpiFamily("threats", "Sampled threats", "travellers", "neither",
              "threats among the travellers scored for detection"),
    KpiFamily("detected", "Sampled threats detected", "travellers", "higher",
              "of those, how many were caught"),
    KpiFamily("threats_per_day", "Threats arriving per day (expected)", "per day", "neither",
              "threat prevalence summed over counted travellers, per day"),
    KpiFamily("threats_missed_per_day", "Threats missed per day", "per day", "lower",
              "expected threats arriving per day × (1 − detection rate)", short="missed"),
    KpiFamily("arrived", "Travellers counted", "travellers", "neither",
              "travellers arriving in the counted window; arrived = finished + unfinished"),
    KpiFamily("finished", "Counted travellers who finished", "travellers", "neither"),
    KpiFamily("unfinished", "Still inside at the drain cap (unfinished)", "travellers",
              "lower", "counted travellers still inside when the drain cap ended the run; "
              "their waits count as lower bounds"),
    KpiFamily("queue_aware_spared", "Referrals a queue-aware rule skipped", "travellers",
              "neither", "counted travellers a queue-aware rule left unreferred because of "
              "the queue (they would have been referred with nobody waiting)"),
    KpiFamily("innocent_delay_mean", "Mean delay of referred innocents", "min", "lower",
              "minutes an innocent referred traveller spends at `visits: referred` stages",
              short="innocent_delay"),
    KpiFamily("fairness.disparity_ratio",
              "Highest / lowest innocent referral rate across classes", "ratio", "lower",
              "1 when no innocent is referred; undefined when the lowest rate is 0 and "
              "another is not", short="disparity"),
    KpiFamily("fairness.undefined_share",
              "Replications where the disparity ratio is undefined", "share", "neither"),
    KpiFamily("fairness.referral_rate_gap",
              "Highest minus lowest innocent referral rate across classes", "share", "lower"),
    KpiFamily("watchlist.hits", "Watchlist matches", "travellers", "neither",
              "counted travellers a watchlist matched (0 without a watchlist)",
              short="wl_hits"),
    KpiFamily("watchlist.false_hits", "Innocent watchlist matches", "travellers", "lower"),
    # each stage
    KpiFamily("{stage}.wait_mean", "Mean wait at {stage}", "min", "lower",
              "reaching the stage to starting service, counted travellers, to their start"),
    KpiFamily("{stage}.wait_p95", "95th percentile wait at {stage}", "min", "lower",
              "counted travellers, to their start, pooled over replications",
              summary="pooled_quantile"),
    KpiFamily("{stage}.wait_p95_rep", "95th percentile wait at {stage} of one replication",
              "min", "lower", "per-replication rows only", summary="per_replication"),
    KpiFamily("{stage}.censored", "Still waiting at {stage} at the drain cap", "travellers",
              "lower", "counted travellers whose wait at the stage is a lower bound"),
    KpiFamily("{stage}.queue_mean", "Mean queue at {stage}", "travellers", "lower",
              "time-average number waiting over the counted window"),
    KpiFamily("{stage}.utilization", "Utilisation of {stage}", "share", "neither",
              "busy server time within the servers on duty / server time on duty (the roster "
              "less outages, plus reserve officers serving), counted window "
              "(at most 100 %: serving past a shift's end or into an outage is overtime)"),
    KpiFamily("{stage}.overtime_hours", "Overtime at {stage}", "hours", "lower",
              "server-hours of service beyond the officers on duty in each clock hour "
              "(officers finishing a traveller after their shift or as an outage starts), "
              "counted window"),
    KpiFamily("{stage}.offered_load", "Offered load at {stage}", "share", "lower",
              "work arriving (service times, stretched by any slowdown in force when service "
              "started) / server time on duty (the roster less outages, plus reserve officers "
              "serving); 100 % or more: the queue grows without bound; `null` in JSON when "
              "no server is on duty", bounds=(0.0, math.inf)),
    KpiFamily("{stage}.visit_rate", "Counted travellers reaching {stage}", "share", "neither"),
    KpiFamily("{stage}.flushed", "Waved through {stage} unchecked (flushed)", "travellers",
              "lower", "counted travellers waved through because the queue was over "
              "`flush_above`"),
    # each named lane of a stage
    KpiFamily("{stage}.{lane}.utilization", "Utilisation of lane {lane} at {stage}", "share",
              "neither"),
    KpiFamily("{stage}.{lane}.overtime_hours", "Overtime in lane {lane} at {stage}", "hours",
              "lower"),
    KpiFamily("{stage}.{lane}.wait_mean", "Mean wait in lane {lane} at {stage}", "min",
              "lower"),
    KpiFamily("{stage}.{lane}.share", "Share of {stage}'s travellers served in lane {lane}",
              "share", "neither"),
    # each traveller class
    KpiFamily("class.{cls}.referral_rate", "Travellers of class {cls} referred", "share",
              "neither"),
    KpiFamily("class.{cls}.false_referral_rate", "Innocent travellers of class {cls} referred",
              "share", "lower"),
    KpiFamily("class.{cls}.wait_mean", "Mean wait of class {cls} (all stages)", "min",
              "lower"),
    # computed by the report from traces (borderesim.output.report.indicators)
    KpiFamily("release.green", "Green channel (not referred): mean release time", "min",
              "lower", source="report"),
    KpiFamily("release.red", "Red channel (referred): mean release time", "min", "lower",
              source="report"),
    KpiFamily("release.red_share", "Share in the red channel", "share", "neither",
              source="report"),
    KpiFamily("release.hit_rate", "Hit rate of red-channel examinations", "share", "higher",
              source="report"),
    KpiFamily("detection.{cls}", "Threats of class {cls} detected", "share", "higher",
              source="report"),
    # shocks and the response to them (borderesim/analysis/shocks.py; scenarios with events or
    # a reserve only)
    *SHOCK_FAMILIES,
    # computed by the workshop page
    KpiFamily("innocent_referred_per_day", "Innocent travellers referred per day", "per day",
              "lower", source="workshop"),
    # a region of crossings (borderesim.run.region.kpis)
    KpiFamily("region.arrivals_per_hour", "Arrivals per hour, all crossings", "per hour",
              "neither", source="region"),
    KpiFamily("region.throughput_per_hour", "Throughput per hour, all crossings", "per hour",
              "higher", source="region"),
    KpiFamily("region.wait_mean", "Mean wait, all crossings", "min", "lower", source="region"),
    KpiFamily("region.wait_p95", "95th percentile wait, all crossings", "min", "lower",
              "pooled over replications", summary="pooled_quantile", source="region"),
    KpiFamily("region.wait_p95_rep", "95th percentile wait, all crossings, of one replication",
              "min", "lower", "per-replication rows only", summary="per_replication",
              source="region"),
    KpiFamily("region.unfinished", "Still inside a crossing at the end", "travellers", "lower",
              source="region"),
    KpiFamily("region.detection_rate", "Threats detected in the region", "share", "higher",
              "prevalence-weighted P(detect) at the route each traveller would take as a "
              "threat (crossings and green border)", source="region"),
    KpiFamily("region.threats_per_day", "Threats per day in the region (expected)", "per day",
              "neither", source="region"),
    KpiFamily("region.threats_missed_per_day", "Threats missed per day in the region",
              "per day", "lower", source="region"),
    KpiFamily("region.threats", "Sampled threats in the region", "travellers", "neither",
              source="region"),
    KpiFamily("region.displacement_share", "Threats on another route than as naive", "share",
              "neither", source="region"),
    KpiFamily("region.journey_mean", "Mean travel + wait to cross", "min", "lower",
              "travel time to the crossing plus all waits there", source="region"),
    KpiFamily("region.information_time_saving", "Travel + wait saved by posted waits", "min",
              "higher", "mean journey with informed_share 0 minus as given, same travellers",
              source="region", bounds=(-math.inf, math.inf)),
    KpiFamily("region.route.{route}.threat_share", "Threats taking route {route}", "share",
              "neither", source="region"),
    KpiFamily("region.route.{route}.detection_rate", "Threats detected on route {route}",
              "share", "higher", source="region"),
    # each crossing's shock KPIs (borderesim.run.region.kpis; crossings with events or a reserve)
    *(at_crossing(f) for f in SHOCK_FAMILIES),
]
"""Every KPI family, in the order of the README's table."""


class UnknownKpi(KeyError):
    """A KPI name no family of the catalogue matches."""


def declare(family: KpiFamily) -> KpiFamily:
    """Add ``family`` to the catalogue (a strategy's ``Decision.extra`` counts, say).

    Declaring the same pattern twice with the same fields is harmless; a different
    declaration of an existing pattern raises ``ValueError``.
    """
    for old in FAMILIES:
        if old.pattern == family.pattern:
            if old != family:
                raise ValueError(f"KPI {family.pattern!r} is already declared differently")
            return old
    FAMILIES.append(family)
    _resolve.cache_clear()
    return family


def kpi_info(name: str) -> KpiInfo:
    """The catalogue entry of a concrete KPI name; :class:`UnknownKpi` if none matches.

    When several families match (a stage named ``class``), the most specific wins
    (:attr:`KpiFamily.specificity`).
    """
    return _resolve(name)


def _best(name: str) -> tuple[KpiFamily, dict[str, str]] | None:
    found = [(f, m.groupdict()) for f in FAMILIES if (m := f.regex.fullmatch(name))]
    if not found:
        return None
    return max(found, key=lambda fm: fm[0].specificity)


@lru_cache(maxsize=4096)  # cleared by declare()
def _resolve(name: str) -> KpiInfo:
    best = _best(name)
    if best is None:
        raise UnknownKpi(f"no KPI family in borderesim.analysis.kpis matches {name!r}; declare it "
                         "with borderesim.analysis.kpis.declare(KpiFamily(...))")
    family, values = best
    return KpiInfo(name, family, family.label.format(**values), unit(family.unit))


def is_declared(name: str) -> bool:
    """Whether :func:`kpi_info` knows ``name`` (cached through it: simulate() asks for
    every KPI name of every run)."""
    try:
        _resolve(name)
    except UnknownKpi:
        return False
    return True


# --------------------------------------------------------------------------- numbers


def format_value(value: float | None, unit_name: str, *, digits: int = 2, sign: bool = False,
                 with_unit: bool = False) -> str:
    """A number stored in unit ``unit_name`` as text, in the unit shown.

    A share becomes a percentage (``0.0423`` → ``"4.23"``); thousands are separated
    (``"1,234.50"``); ``None`` or NaN (undefined) → ``"—"``; ±inf → ``"∞"``/``"−∞"``.
    ``sign``: always print the sign (differences). ``with_unit``: append the symbol
    (``"4.2 min"``, ``"8.0%"``, ``"183/h"``).
    """
    u = unit(unit_name)
    if value is None or math.isnan(value):
        return "—"
    if math.isinf(value):
        text = "∞" if value > 0 else "−∞"
    else:
        text = f"{value * u.scale:{'+' if sign else ''},.{digits}f}"
    if not with_unit:
        return text
    return f"{text}{u.symbol}" if u.symbol.startswith(("%", "/")) else f"{text} {u.symbol}"


def interval_text(ci: dict, unit_name: str, digits: int = 2) -> str:
    """A summary's 95 % interval as text, in the unit shown: ``"1.20 – 3.40"``;
    ``"exact under the model"`` when the summary says ``"exact"``; ``"(cut to range)"``
    appended when the interval was cut to the KPI's bounds (``"clipped"``);
    a note for a pooled percentile that is not exact (``"approximate"``); ``"—"`` if undefined."""
    if ci.get("exact"):
        return "exact under the model"
    lo, hi = ci.get("ci_low", math.nan), ci.get("ci_high", math.nan)
    if lo is None or hi is None or math.isnan(lo) or math.isnan(hi):
        return "—"
    # a narrow interval gets the digits that tell its ends apart ("8.030 – 8.052", never
    # "8.04 – 8.04", which would read as exact)
    while (digits < 6 and lo != hi and format_value(lo, unit_name, digits=digits)
           == format_value(hi, unit_name, digits=digits)):
        digits += 1
    text = (f"{format_value(lo, unit_name, digits=digits)} – "
            f"{format_value(hi, unit_name, digits=digits)}")
    notes = []
    if ci.get("clipped"):
        notes.append("cut to range")
    if ci.get("approximate"):
        notes.append("estimate within ±0.1 % of rank")
    return text + (f" ({'; '.join(notes)})" if notes else "")


# --------------------------------------------------------------------------- README


README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- kpi-table:start -->", "<!-- kpi-table:end -->"
"""Markers around the generated KPI table in README.md."""

_BETTER = {"lower": "lower", "higher": "higher", "neither": "—"}
SUMMARY_WORDS = {
    "mean_t": "the mean with a 95 % Student-t interval cut to the KPI's range (replications "
              "where the KPI is undefined left out)",
    "pooled_quantile": "the percentile of all replications' travellers pooled, with a 95 % "
                       "Woodruff interval (replications as clusters)",
    "per_replication": "not summarised (per-replication rows only)",
}
"""Each :data:`Summary` in words, for the README."""


def markdown_table(source: Source = "run") -> str:
    """The README's KPI table: one row per family that ``source`` produces."""
    rows = [f for f in FAMILIES if f.source == source]
    mixed = len({f.summary for f in rows}) > 1  # then each row says how it is summarised
    head = ["KPI", "in plain words", "unit", "better"] + (["across replications"] * mixed)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for f in rows:
        words = (f.label + (f" — {f.meaning}" if f.meaning else "")).replace("|", "\\|")
        cells = [f"`{f.pattern}`", words, f.unit, _BETTER[f.better]]
        cells += [SUMMARY_WORDS[f.summary]] * mixed
        lines.append("| " + " | ".join(cells) + " |")
    holders = ", ".join(f"`{{{k}}}` {v}" for k, v in PLACEHOLDERS.items())
    lines += ["", f"Placeholders: {holders}. Values are stored (JSON, CSV, Parquet, Python) in "
              "the unit listed; tables and figures show a share as %."]
    if rows and not mixed:
        lines.append(f"Across replications every KPI is summarised by "
                     f"{SUMMARY_WORDS[rows[0].summary]}.")
    return "\n".join(lines)


def readme_section(text: str, start: str = START, end: str = END) -> str:
    """The text between the markers ``start`` and ``end`` (default: the KPI table's) of a
    README, without the markers' lines."""
    _, sep, rest = text.partition(start + "\n")
    body, sep2, _ = rest.partition("\n" + end)
    if not sep or not sep2:
        raise ValueError(f"README has no {start} … {end} section")
    return body


def replace_section(new: str, start: str, end: str, path: Path = README) -> bool:
    """Put ``new`` between the markers ``start`` and ``end`` of ``path`` (each on a line of
    its own); True if the text there changed."""
    text = path.read_text(encoding="utf-8")
    old = readme_section(text, start, end)
    if old == new:
        return False
    path.write_text(text.replace(f"{start}\n{old}\n{end}", f"{start}\n{new}\n{end}"),
                    encoding="utf-8")
    return True


def write_readme(path: Path = README) -> bool:
    """Rewrite the KPI table between the markers of ``path``; True if it changed."""
    return replace_section(markdown_table(), START, END, path)


if __name__ == "__main__":  # python -m borderesim.analysis.kpis [--write-readme]
    if sys.argv[1:] == ["--write-readme"]:
        print("README.md " + ("updated" if write_readme() else "already up to date"))
    else:
        print(markdown_table())
