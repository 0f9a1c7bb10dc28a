"""The plain NumPy KPIs of one replication: the reference the compiled ones must match.

``borderesim.analysis.metrics.replication_kpis`` computes the same numbers in two compiled
passes (``borderesim.analysis.kpi_kernel``); this is the version before it, kept as written so
tests can compare the two on every example scenario and on generated ones. The
definitions are stated in ``borderesim.analysis.metrics`` and ``borderesim.analysis.outcomes``.
"""

from __future__ import annotations

import math

import numpy as np

from ..analysis.by_hour import window_segments, within_duty
from ..analysis.metrics import (
    _mean,
    _p95,
    _ratio,
    check_probability,
    detection_population,
    fairness_kpis,
    queue_aware_spared,
    referred_stage_time,
)
from ..analysis.outcomes import CHUNK, Outcome
from ..analysis.quantiles import Tail, keep_limit
from ..model.scenario import Scenario
from ..run.plan import Plan
from ..run.sampling import Inputs
from ..run.trace import Trace


def offered_load(outcome: Outcome) -> dict[str, float]:
    """Work arriving at each stage in the counted window over server time on duty (a share).

    Each counted traveller who visits the stage (everyone, or the referred) brings
    the service time of the lane they used, or of their first eligible lane.
    """
    plan, inputs, trace = outcome.plan, outcome.inputs, outcome.trace
    counted = outcome.counted
    out = {}
    for s, sname in enumerate(plan.stage_names):
        visits = counted & trace.referred if plan.stage_referred[s] else counted
        lanes = list(plan.lanes_of(s))
        first_by_class = np.array([next(ln for ln in lanes if plan.eligible[ln, c])
                                   for c in range(plan.eligible.shape[1])])
        work = 0.0
        for lo in range(0, inputs.n, CHUNK):  # in chunks: bounded temporaries
            part = slice(lo, lo + CHUNK)
            mine = visits[part]
            used = trace.lane[s][part][mine]
            unused = used < 0
            used[unused] = first_by_class[inputs.cls[part][mine][unused]]
            for lane in lanes:  # lane by lane: no 2-D fancy index
                work += float(inputs.service[lane][part][mine][used == lane].sum())
        avail = sum(plan.server_minutes(lane, plan.warmup, plan.horizon) for lane in lanes)
        out[f"{sname}.offered_load"] = work / avail if avail > 0 else math.inf
    return out


def busy_on_duty(plan: Plan, outcome: Outcome, s: int) -> tuple[np.ndarray, ...]:
    """Per lane of stage ``s`` over the counted window (minutes, float[lanes] each): time
    waiting, busy time within the officers on duty, server time on duty, and overtime.

    Overtime is busy server-time above the servers on duty in a clock hour (officers
    finishing a traveller after their shift); it is counted hour by hour, where the
    roster is constant, so utilisation (busy within duty / on duty) stays in [0, 1].
    """
    w0, w1 = plan.warmup, plan.horizon
    lanes = list(plan.lanes_of(s))
    if all(np.all(plan.roster[ln] == plan.roster[ln][0]) for ln in lanes):
        occupied = outcome.occupancy(s, np.array([w0, w1]))  # constant roster: no overtime
        avail = np.array([plan.server_minutes(ln, w0, w1) for ln in lanes])
        busy = occupied.busy[:, 0]
        return occupied.waiting[:, 0], busy, avail, np.zeros(len(lanes))
    edges, hours, lengths = window_segments(w0, w1)
    occupied = outcome.occupancy(s, edges)
    duty = plan.roster[lanes][:, hours] * lengths
    within, overtime = within_duty(occupied.busy, duty)
    return (occupied.waiting.sum(axis=1), within.sum(axis=1), duty.sum(axis=1),
            overtime.sum(axis=1))


def stage_kpis(outcome: Outcome, s: int, k: dict[str, float],
               samples: dict[str, Tail] | None = None, limit: int = keep_limit(10)
               ) -> np.ndarray:
    """Add stage ``s``'s KPIs (and its lanes') to ``k``; return each traveller's wait there.

    Waits (minutes) count from reaching the stage to starting service, for every
    counted traveller who queued there (:meth:`Outcome.wait`: a lower bound for those
    still waiting at the drain cap, counted in ``{stage}.censored``); utilisation and
    queue length are time averages over the counted window, including travellers who
    arrived in the warm-up. Written to keep few traveller-sized temporaries alive (a
    year of a busy crossing is ~10^7 rows).
    """
    plan, counted = outcome.plan, outcome.counted
    w0, w1 = plan.warmup, plan.horizon
    sname = plan.stage_names[s]
    wait = outcome.wait(s)
    here = counted & outcome.queued(s)
    k[f"{sname}.wait_mean"] = _mean(wait[here])
    k[f"{sname}.wait_p95_rep"] = _p95(wait[here], f"{sname}.wait_p95", samples, limit)
    k[f"{sname}.censored"] = float((here & outcome.censored(s)).sum())
    k[f"{sname}.visit_rate"] = _ratio((counted & outcome.entered(s)).sum(), counted.sum())
    k[f"{sname}.flushed"] = float((counted & outcome.flushed(s)).sum())
    lanes = list(plan.lanes_of(s))
    offset = lanes[0]
    queued, busy, avail, overtime = busy_on_duty(plan, outcome, s)
    if plan.lane_names[offset] != sname:  # a stage with named lanes
        here_lane = outcome.trace.lane[s][here] - offset
        counts = np.bincount(here_lane, minlength=len(lanes))
        wait_sums = np.bincount(here_lane, wait[here], len(lanes))
        for j, ln in enumerate(lanes):
            lname = plan.lane_names[ln]
            k[f"{lname}.utilization"] = _ratio(busy[j], avail[j])
            k[f"{lname}.overtime_hours"] = overtime[j] / 60.0
            k[f"{lname}.wait_mean"] = _ratio(wait_sums[j], counts[j])
            k[f"{lname}.share"] = _ratio(counts[j], counts.sum())
    k[f"{sname}.utilization"] = _ratio(busy.sum(), avail.sum())
    k[f"{sname}.overtime_hours"] = float(overtime.sum()) / 60.0
    k[f"{sname}.queue_mean"] = float(queued.sum()) / (w1 - w0)
    return wait


def replication_kpis(scenario: Scenario, plan: Plan, inputs: Inputs, trace: Trace,
                     samples: dict[str, Tail] | None = None, replications: int = 10) -> dict:
    """All KPIs of one replication as ``{name: value}``.

    Percentile KPIs appear as this replication's percentile (``wait_p95_rep``); pass a
    dict as ``samples`` to receive, for each pooled percentile KPI (``wait_p95``), the
    :class:`~borderesim.analysis.quantiles.Tail` :func:`summarise` pools across replications,
    sized for a run of ``replications`` (:func:`~borderesim.analysis.quantiles.keep_limit`).
    """
    limit = keep_limit(replications)
    outcome = Outcome(plan, inputs, trace)
    w0, w1 = plan.warmup, plan.horizon
    hours = (w1 - w0) / 60.0
    counted, finished, done = outcome.counted, outcome.finished, outcome.done
    innocent = counted & ~inputs.threat
    referred = trace.referred
    k: dict[str, float] = {}

    leaving = finished & (trace.exit >= w0) & (trace.exit < w1)
    k["throughput_per_hour"] = leaving.sum() / hours
    k["arrivals_per_hour"] = counted.sum() / hours
    wait_total = np.zeros(inputs.n)
    stage_k: dict[str, float] = {}
    for s in range(plan.n_stages):
        wait_total += stage_kpis(outcome, s, stage_k, samples, limit)  # minutes queueing
    k["wait_mean"] = _mean(wait_total[counted])
    k["wait_p95_rep"] = _p95(wait_total[counted], "wait_p95", samples, limit)
    tis = outcome.time_in_system()[counted]
    k["time_in_system_mean"] = _mean(tis)
    k["time_in_system_p95_rep"] = _p95(tis, "time_in_system_p95", samples, limit)
    del tis
    k["referral_rate"] = _ratio((referred & counted).sum(), counted.sum())
    k["false_referral_rate"] = _ratio((referred & innocent).sum(), innocent.sum())

    prevalence = np.array([c.threat_prevalence for c in scenario.classes.values()])
    loads = offered_load(outcome)
    scored = detection_population(outcome)
    q = check_probability(outcome, scored)
    q[~scored] = 0.0
    n_classes = len(prevalence)
    q_by_class = np.bincount(inputs.cls, q, n_classes)
    del q
    scored_by_class = np.bincount(inputs.cls[scored], minlength=n_classes)
    k["detection_rate"] = _ratio(float(prevalence @ q_by_class),
                                 float(prevalence @ scored_by_class))
    threats = inputs.threat & scored
    detected = np.zeros(inputs.n, dtype=bool)
    for s in range(plan.n_stages):
        detected |= inputs.caught[s] & outcome.checked(s)
    detected &= threats
    k["detection_rate_observed"] = _ratio(detected.sum(), threats.sum())
    k["threats"] = float(threats.sum())
    k["detected"] = float(detected.sum())
    k["threats_per_day"] = float(prevalence[inputs.cls[counted]].sum()) / hours * 24
    # expected threats a day the crossing lets through (0 when none arrive)
    k["threats_missed_per_day"] = (
        0.0 if k["threats_per_day"] == 0 else k["threats_per_day"] * (1 - k["detection_rate"])
    )
    k["arrived"] = float(counted.sum())
    k["finished"] = float(done.sum())
    k["unfinished"] = float(outcome.unfinished.sum())
    k["queue_aware_spared"] = float((counted & queue_aware_spared(outcome)).sum())
    k.update(stage_k)

    innocent_rates = []
    for c, cname in enumerate(scenario.classes):
        mine = counted & (inputs.cls == c)
        k[f"class.{cname}.referral_rate"] = _ratio((referred & mine).sum(), mine.sum())
        k[f"class.{cname}.false_referral_rate"] = _ratio(
            (referred & mine & ~inputs.threat).sum(), (mine & ~inputs.threat).sum()
        )
        k[f"class.{cname}.wait_mean"] = _mean(wait_total[mine])
        innocent_rates.append(k[f"class.{cname}.false_referral_rate"])
    k.update(fairness_kpis(innocent_rates))
    k["innocent_delay_mean"] = _mean(referred_stage_time(outcome)[innocent & referred
                                                                  & finished])
    k["watchlist.hits"] = 0.0
    k["watchlist.false_hits"] = 0.0
    for name, value in inputs.extra.items():
        k[name] = float(value)
    k.update(loads)
    return {name: float(v) for name, v in k.items()}
