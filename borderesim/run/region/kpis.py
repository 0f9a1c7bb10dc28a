"""Regional KPIs of one replication (names ``region.*``, declared in ``borderesim.analysis.kpis``).

Waits and throughput add up the crossings (counted travellers: those reaching their
crossing in the counted window, as at a single crossing, followed to their exit); a
journey is the travel time to the crossing plus the waits there (what an informed
traveller minimises; a surge's traveller arrives directly, so its journey is its
waits). Detection is seen from the threat's side: every traveller is weighted by their
class's threat prevalence, and scored at the route they would take were they a threat
(``threat_route``; the route taken for threats), so displacement moves the weight, not
only the few sampled threats.

Per traveller, P(detected were they a threat) at their threat route is:
- at a crossing they actually passed: the single-crossing estimator
  (:func:`borderesim.analysis.metrics.check_probability`, from the stages they passed), scored
  as there (every counted traveller, followed to their exit in the drain);
- at a crossing they did not pass (an innocent whose threat route differs from their
  route): the static value, nobody waved through (``CrossingDraws.detect``);
- at the green border: its detection probability at the hour they reach it.
A knowing prober's referral probability is conditional on its dry run, which meets a
quiet crossing (``CrossingDraws.learnable``): 1 if the deterministic part refers it, else
the random part's probability only; under a queue-aware rule it knows its own score, so
at a crossing it passed the rule refers it exactly when that score meets the threshold
it met there (never, when its dry run passed: the threshold only rises with the queue),
and at one it did not pass, as at a quiet time.
Travellers not passing a crossing are scored when they reach their route within the
counted window ``[warmup, horizon)``.

**Shocks.** A crossing whose own file has events (surges, outages, slowdowns) or reserve
officers reports the shock KPIs a single crossing reports
(:func:`borderesim.analysis.shocks.shock_kpis` on the crossing's plan, inputs and trace:
peak queue, recovery time, reserve officer-hours, detection in and outside its shock
window, ...): in its own KPIs under their usual names (``crossings.<c>`` of ``run
--json``) and among the regional KPIs as ``region.route.<c>.<name>``
(:func:`shock_name`), so compare, sweeps and reports pair and summarise them as every
regional KPI. A crossing without events or reserves has none.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ...analysis.metrics import check_probability, detection_population
from ...analysis.outcomes import Outcome
from ...analysis.quantiles import Tail, keep_limit, quantile, tail_of
from ...model.targeting import DynamicRule
from ..sampling import Inputs
from .sampling import stage_misses
from .schema import GREEN, Region

if TYPE_CHECKING:  # pragma: no cover
    from .runner import RegionReplication


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def detection_if_threat(region: Region, rep: RegionReplication
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(P(detected were they a threat) at their threat route, scored mask), per traveller."""
    people, spec = rep.people, region.spec
    n = people.n
    q = np.zeros(n)
    scored = np.zeros(n, dtype=bool)
    w0, w1 = spec.warmup, spec.horizon
    prober = people.knowing if spec.adversary.behaviour == "probing" else np.zeros(n, bool)
    for i, run in enumerate(rep.crossings.values()):
        d = rep.draws[i]
        pref = np.where(prober, np.where(d.learnable, 1.0, d.random_p), d.p_threat)  # quiet
        target = rep.threat_route == i
        away = target & (rep.route != i)  # would come here as a threat, but did not
        miss_all, miss_ref = stage_misses(run.plan)
        static = 1.0 - miss_all * (1.0 - pref * (1.0 - miss_ref)) \
            if run.plan.stage_referred.any() else np.full(n, 1.0 - miss_all)
        q[away] = static[away]
        scored[away] = (d.arrival[away] >= w0) & (d.arrival[away] < w1)
        who = run.who
        if who.size == 0:
            continue
        outcome = Outcome(run.plan, _as_probed(run, d, prober[who]), run.trace)
        here = detection_population(outcome)
        q_here = check_probability(outcome, here)
        mine = target[who]  # passed here and would as a threat too
        q[who[mine]] = q_here[mine]
        scored[who[mine]] = here[mine]
    if spec.green_border is not None:
        g = rep.threat_route == len(rep.crossings)
        reach = people.depart[g] + spec.green_border.travel
        q[g] = spec.green_border.detect_at(reach)
        scored[g] = (reach >= w0) & (reach < w1)
    return q, scored


def _as_probed(run, d, prober: np.ndarray) -> Inputs:
    """``run``'s inputs with each prober's referral probability (``prober``: bool over
    ``run.who``) conditional on what its dry runs taught it (see the module docstring)."""
    inputs, who = run.inputs, run.who
    if not prober.any():
        return inputs
    p = np.where(d.static[who], 1.0, d.random_p[who])
    rule = inputs.dynamic
    if isinstance(rule, DynamicRule):  # its own score against the threshold it met
        met = run.trace.threshold
        hit = ~np.isnan(met) & (d.score[who] >= np.where(np.isnan(met), np.inf, met))
        p = np.where(hit, 1.0, p)
        rule = replace(rule, threat_mean=np.where(prober, -np.inf, rule.threat_mean))
    return replace(inputs, dynamic=rule,
                   p_refer_if_threat=np.where(prober, p, inputs.p_refer_if_threat))


def regional_kpis(region: Region, rep: RegionReplication, samples: dict[str, Tail] | None = None,
                  replications: int = 10) -> dict[str, float]:
    """The ``region.*`` KPIs of one replication (see the module docstring).

    ``region.wait_p95_rep`` is this replication's percentile; pass a dict as ``samples``
    to receive the tail that ``metrics.summarise`` pools into ``region.wait_p95``, sized
    for a run of ``replications`` (as :func:`borderesim.analysis.metrics.replication_kpis`).
    """
    spec = region.spec
    hours = spec.duration / 60.0
    k: dict[str, float] = {}
    waits, journeys = [], []
    arrived = finished = throughput = 0.0
    for run in rep.crossings.values():
        outcome = Outcome(run.plan, run.inputs, run.trace)
        total = np.zeros(run.inputs.n)
        for s in range(run.plan.n_stages):
            total += outcome.wait(s)
        waits.append(total[outcome.counted])
        travel = run.inputs.arrival - rep.people.depart[run.who]
        journeys.append((travel + total)[outcome.counted])
        arrived += run.kpis["arrived"]
        finished += run.kpis["finished"]
        throughput += run.kpis["throughput_per_hour"]
    wait = np.concatenate(waits) if waits else np.zeros(0)
    k["region.arrivals_per_hour"] = arrived / hours
    k["region.throughput_per_hour"] = throughput
    k["region.wait_mean"] = float(wait.mean()) if wait.size else math.nan
    k["region.wait_p95_rep"] = quantile(wait, 0.95)
    if samples is not None:
        samples["region.wait_p95"] = tail_of(wait, keep_limit(replications))
    journey = np.concatenate(journeys) if journeys else np.zeros(0)
    k["region.journey_mean"] = float(journey.mean()) if journey.size else math.nan
    k["region.unfinished"] = arrived - finished

    prevalence = np.array([c.threat_prevalence for c in region.classes.values()])
    weight = prevalence[rep.people.cls]
    q, scored = detection_if_threat(region, rep)
    w = np.where(scored, weight, 0.0)
    k["region.detection_rate"] = _ratio(float(w @ q), float(w.sum()))
    k["region.threats_per_day"] = float(w.sum()) / hours * 24
    k["region.threats_missed_per_day"] = (
        0.0 if w.sum() == 0 else k["region.threats_per_day"] * (1 - k["region.detection_rate"]))
    k["region.displacement_share"] = _ratio(float(w[rep.threat_route != rep.naive].sum()),
                                            float(w.sum()))
    routes = region.crossing_names + ([GREEN] if spec.green_border else [])
    for r, name in enumerate(routes):
        on = rep.threat_route == r
        k[f"region.route.{name}.threat_share"] = _ratio(float(w[on].sum()), float(w.sum()))
        k[f"region.route.{name}.detection_rate"] = _ratio(float(w[on] @ q[on]),
                                                          float(w[on].sum()))
    threats = scored & rep.people.threat
    k["region.threats"] = float(threats.sum())
    for c, run in rep.crossings.items():
        k.update({shock_name(c, name): value for name, value in run.shocks.items()})
    return k


SHOCK_PREFIX = "region.route."
"""A crossing's shock KPI among the regional ones is ``SHOCK_PREFIX + "<crossing>.<name>"``."""


def shock_name(crossing: str, kpi: str) -> str:
    """The regional name of ``crossing``'s shock KPI ``kpi`` (``primary.queue_peak`` at
    ``north``: ``region.route.north.primary.queue_peak``)."""
    return f"{SHOCK_PREFIX}{crossing}.{kpi}"


def crossing_shocks(region: Region, kpis: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The shock KPIs among regional ``kpis`` (a summary or one replication's row), per
    crossing that has any, under their single-crossing names: ``{crossing: {kpi: value}}``,
    crossings in the file's order."""
    from ...analysis.kpis import SHOCK_FAMILIES

    out: dict[str, dict[str, Any]] = {}
    for c in region.crossing_names:
        head = f"{SHOCK_PREFIX}{c}."
        mine = {name.removeprefix(head): v for name, v in kpis.items()
                if name.startswith(head)
                and any(f.regex.fullmatch(name.removeprefix(head)) for f in SHOCK_FAMILIES)}
        if mine:
            out[c] = mine
    return out
