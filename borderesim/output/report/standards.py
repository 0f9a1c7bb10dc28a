"""Named service standards and how the report judges a run against them.

Every standard is read as one KPI of ``borderesim run --json`` compared with a limit,
so the KPI table of a report shows exactly the numbers ``run --json`` prints:

* **ICAO Annex 9, RP 3.39** (arriving passengers cleared within 45 min of
  disembarkation): ``time_in_system_p95 <= 45`` min. The model's clock starts when a
  traveller reaches the first stage (the walk from the aircraft is not modelled), it
  counts referred travellers too (RP 3.39 covers those needing no more than normal
  inspection, so this reading is stricter there), and it asks 95 % rather than all
  travellers (more lenient). Applies to airports.
* **"95 % within X min" queue standard** (UK Border Force at Heathrow: 95 % of queue
  measures under 25 min for EEA passengers, 45 min for others): ``STAGE.wait_p95 <= X``
  at every stage all travellers queue at (``visits: all``), one row per stage. X
  defaults to 25 min at airports and 30 min elsewhere (TSA's standard-lane limit; the
  reference lists no published land or cargo queue standard). ``--target`` replaces it.
* **WCO Time Release Study** style release time: ``time_in_system_mean`` (mean minutes
  from arrival to release) against the FHWA 2001 survey's mean inbound truck crossing of
  26.8 min — a *benchmark*, not a standard (the TRS measures, it sets no limit). Applies
  to cargo. The split by risk channel (green = not referred, red = referred) is computed
  from traces in :mod:`borderesim.output.report.indicators`.

The kind of crossing (``airport``, ``land``, ``cargo`` or ``generic``) is the scenario's
``kind:`` field, which ``report --kind`` overrides; it is never guessed from the wording.
Without it only the standards that fit any crossing apply (the queue standard), and the
report says which ``kind:`` would add the others.

A standard is *met* when the KPI's estimate (mean, or pooled percentile) is on the right side of
the limit; the mark says so too when the 95 % interval straddles the limit (the run
cannot tell met from missed at that precision).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import get_args

from ...analysis.capacity import parse_target
from ...errors import ScenarioError
from ...model.scenario import Scenario
from ...run.plan import Plan

KINDS: tuple[str, ...] = get_args(get_args(Scenario.model_fields["kind"].annotation)[0])
"""Kinds of crossing a scenario's ``kind:`` (or ``report --kind``) may name; the kind
decides which standards apply and the default queue limit."""

QUEUE_LIMIT = {"airport": 25.0, "land": 30.0, "cargo": 30.0, "generic": 30.0, None: 30.0}
"""Default "95 % within X min" limit by kind (minutes); ``None``: kind not given."""

ICAO_LIMIT = 45.0
"""ICAO Annex 9 RP 3.39: minutes from disembarkation to clearance."""

FHWA_RELEASE_MEAN = 26.8
"""FHWA 2001 survey of seven ports: mean inbound truck crossing time (minutes)."""


NO_KIND_NOTE = (
    "the scenario does not say what kind of crossing it is, so the report applies only the "
    "standards that fit any crossing (the queue standard, 30 min unless --target is "
    "given); add `kind: airport` to the scenario to compare against ICAO Annex 9 RP 3.39 "
    "and the 25-min UK Border Force queue standard, or `kind: cargo` to compare its mean "
    "release time against the FHWA truck benchmark (`kind: land` or `kind: generic` keeps "
    "the standards above and removes this note)")
"""What a report without a crossing kind leaves out, and how to get it."""


@dataclass(frozen=True)
class Standard:
    """One row of the standards table: ``kpi op limit``.

    ``kpi`` names a KPI of ``run --json``; ``limit`` is in that KPI's unit (minutes for
    times, a share 0-1 for rates). ``kind`` is ``standard``, ``benchmark`` or ``target``
    (given with ``--target``). ``applies`` is False for a standard shown for reference
    that does not cover this kind of crossing; ``reading`` says how the KPI reads it.
    """

    name: str
    source: str
    wording: str
    kpi: str
    op: str
    limit: float
    unit: str
    kind: str = "standard"
    applies: bool = True
    reading: str = ""
    target_text: str | None = None


@dataclass(frozen=True)
class Verdict:
    """A standard judged on a run: ``status`` is ``met``, ``missed``, ``n/a`` or ``no data``.

    ``uncertain``: the 95 % interval of the KPI contains the limit; ``clipped``: the
    interval was cut to the KPI's bounds (as in ``run --json``).
    """

    standard: Standard
    mean: float
    ci_low: float
    ci_high: float
    status: str
    uncertain: bool
    clipped: bool = False

    @property
    def mark(self) -> str:
        """A short mark for tables: ✔ met, ✘ missed, – otherwise."""
        sign = {"met": "✔ met", "missed": "✘ missed"}.get(self.status, f"– {self.status}")
        if self.standard.kind == "benchmark" and self.status in ("met", "missed"):
            sign = {"met": "✔ better", "missed": "✘ worse"}[self.status]
        return sign + (" (interval crosses the limit)" if self.uncertain else "")


def _ok(value: float, op: str, limit: float) -> bool:
    return value <= limit if op == "<=" else value >= limit


def judge(standard: Standard, ci: dict[str, float] | None) -> Verdict:
    """Judge ``standard`` on a KPI's mean and 95 % interval (``None``: KPI absent)."""
    nan = math.nan
    mean, lo, hi = (ci["mean"], ci["ci_low"], ci["ci_high"]) if ci else (nan, nan, nan)
    if not standard.applies:
        status = "n/a"
    elif math.isnan(mean):
        status = "no data"
    else:
        status = "met" if _ok(mean, standard.op, standard.limit) else "missed"
    uncertain = (status in ("met", "missed") and not (math.isnan(lo) or math.isnan(hi))
                 and lo <= standard.limit <= hi)
    return Verdict(standard, mean, lo, hi, status, uncertain,
                   bool(ci.get("clipped", False)) if ci else False)


def common_stages(scenario: Scenario) -> list[str]:
    """The stages every traveller visits (``visits: all``): the queues the default queue
    standard watches (all stages if none is)."""
    names = [name for name, stage in scenario.stages.items() if stage.visits == "all"]
    return names or list(scenario.stages)


def queue_standard(stage: str, limit: float, kind: str | None) -> Standard:
    """The default "95 % within X min" standard on ``stage`` (``limit`` in minutes)."""
    source = ("UK Border Force (Heathrow): 95 % of queues under 25 min (EEA) / 45 min "
              "(non-EEA)" if kind == "airport" else
              "no published standard for this kind of crossing; 30 min is TSA's "
              "standard-lane limit")
    return Standard(
        name="Queue standard", source=source,
        wording=f"95 % of travellers wait at most {limit:g} min at {stage}",
        kpi=f"{stage}.wait_p95", op="<=", limit=limit, unit="min",
        reading=f"95th percentile of the wait in the {stage} queue (minutes) of all "
                "counted travellers, pooled over replications",
        target_text=f"{stage}.wait_p95<={limit:g}min",
    )


def icao_standard(kind: str | None) -> Standard:
    """ICAO Annex 9 RP 3.39, read as ``time_in_system_p95 <= 45`` min."""
    return Standard(
        name="ICAO Annex 9, RP 3.39", source="ICAO Annex 9 (Facilitation), Recommended "
        "Practice 3.39", wording="arriving passengers cleared within 45 min of disembarkation",
        kpi="time_in_system_p95", op="<=", limit=ICAO_LIMIT, unit="min",
        applies=kind == "airport",
        reading="95th percentile of minutes from reaching the first stage to leaving the "
                "crossing (referred travellers included), all travellers pooled over "
                "replications; covers air arrivals only",
    )


def release_benchmark(kind: str | None) -> Standard:
    """WCO Time Release Study style mean release time against the FHWA 2001 benchmark."""
    return Standard(
        name="WCO Time Release Study (release time)",
        source="WCO TRS / WTO TFA art. 7.6 (measure and publish); benchmark: FHWA 2001 "
               "survey, mean inbound truck crossing 26.8 min",
        wording="mean time from arrival to release, against a published average",
        kpi="time_in_system_mean", op="<=", limit=FHWA_RELEASE_MEAN, unit="min",
        kind="benchmark", applies=kind == "cargo",
        reading="mean minutes from arrival to release (all channels); split by channel "
                "below; benchmark for cargo only",
    )


def target_standards(texts: list[str] | tuple[str, ...], plan: Plan) -> list[Standard]:
    """Standards from ``--target`` texts (the capacity-gap grammar, see
    :mod:`borderesim.analysis.capacity.targets`): ``[STAGE.]wait_p95<=X``,
    ``[STAGE[.LANE].]wait_mean<=X`` or ``detection_rate>=X``.

    A target without a stage gives one row per stage (as the capacity gap reads it).
    Raises ``ScenarioError`` (source ``--target``) for text the KPI table cannot show.
    """
    out: list[Standard] = []
    for text in texts:
        try:
            t = parse_target(text, plan)
        except ScenarioError as exc:
            raise ScenarioError(exc.problem, "--target", exc.path) from None
        if t.kpi == "detection_rate":
            out.append(Standard(
                name="Detection target", source="--target", wording=f"detect at least "
                f"{100 * t.value:g} % of threats", kpi="detection_rate", op=">=",
                limit=t.value, unit="%", kind="target", target_text=text,
                reading="prevalence-weighted share of threats detected (low-variance "
                        "estimator), per replication, averaged"))
            continue
        if t.percentile is not None and t.percentile != 95:
            raise ScenarioError(
                f"{text!r}: the report's KPI table holds 95th percentiles (as run --json); "
                "use wait_p95 or wait_mean", "--target")
        if t.lane is not None and t.percentile is not None:
            raise ScenarioError(
                f"{text!r}: run --json has no 95th percentile by lane; write "
                f"{t.stage}.wait_p95 or {t.stage}.{t.lane}.wait_mean", "--target")
        stages = [t.stage] if t.stage is not None else list(plan.stage_names)
        for stage in stages:
            where = stage if t.lane is None else f"{stage}.{t.lane}"
            if t.percentile is not None:
                wording = f"95 % of travellers wait at most {t.value:g} min at {where}"
                name, reading = "Queue standard", (f"95th percentile of the wait at {where} "
                                                   "(minutes), all counted travellers pooled "
                                                   "over replications")
            else:
                wording = f"mean wait at most {t.value:g} min at {where}"
                name, reading = "Mean-wait target", (f"mean wait at {where} (minutes), per "
                                                     "replication, averaged")
            out.append(Standard(
                name=name, source="--target", wording=wording, kpi=f"{where}.{t.kpi}",
                op="<=", limit=t.value, unit="min", kind="target", target_text=text,
                reading=reading))
    return out


def standards_for(scenario: Scenario, plan: Plan, kind: str | None,
                  targets: list[str] | tuple[str, ...] = ()) -> list[Standard]:
    """The report's standards: ICAO, the queue standard (or ``targets``), WCO release time.

    ``kind``: one of :data:`KINDS`, or ``None`` (not given: ICAO and the cargo benchmark are
    shown as n/a, the queue standard uses 30 min). Without wait targets the default queue
    standard watches each of :func:`common_stages` (one row each).
    """
    if kind is not None and kind not in KINDS:
        raise ScenarioError(f"unknown kind {kind!r}; choose one of {list(KINDS)}", "--kind")
    given = target_standards(targets, plan)
    rows = [icao_standard(kind)]
    if not any(s.unit == "min" for s in given):
        rows += [queue_standard(stage, QUEUE_LIMIT[kind], kind) for stage in
                 common_stages(scenario)]
    rows += given
    rows.append(release_benchmark(kind))
    return rows


def gap_targets(standards: list[Standard]) -> list[str]:
    """Target texts for the capacity gap: the wait and detection targets of ``standards``."""
    texts = [s.target_text for s in standards if s.target_text is not None]
    return list(dict.fromkeys(texts))
