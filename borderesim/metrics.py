"""KPIs of one replication from its trace, and confidence intervals across replications.

Times are minutes, rates are shares (0-1) unless the name says ``per_hour``.
Only travellers who *arrive* after the warm-up are counted; queue lengths and
utilisation are time averages over the counted window ``[warmup, horizon)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .plan import Plan
from .sampling import Inputs
from .scenario import Scenario
from .student_t import t_quantile
from .trace import Trace


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else math.nan


def _p95(x: np.ndarray) -> float:
    return float(np.percentile(x, 95)) if x.size else math.nan


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def _overlap(a: np.ndarray, b: np.ndarray, t0: float, t1: float) -> float:
    """Total length of the intervals [a, b) that falls inside [t0, t1)."""
    lo = np.maximum(a, t0)
    hi = np.minimum(b, t1)
    return float(np.clip(hi - lo, 0, None).sum())


def offered_load(plan: Plan, inputs: Inputs, trace: Trace) -> dict[str, float]:
    """Work arriving at each stage in the counted window over server time on duty (a share).

    Each counted traveller who visits the stage (everyone, or the referred) brings
    the service time of the lane they used, or of their first eligible lane.
    """
    counted = inputs.arrival >= plan.warmup
    out = {}
    for s, sname in enumerate(plan.stage_names):
        visits = counted & (trace.referred if plan.stage_referred[s] else True)
        lanes = list(plan.lanes_of(s))
        first = np.full(inputs.n, lanes[0])
        for lane in reversed(lanes):
            first = np.where(plan.eligible[lane, inputs.cls], lane, first)
        used = np.where(trace.lane[s] >= 0, trace.lane[s], first)[visits]
        # each visitor's service time in the lane used, lane by lane (no n-sized fancy index)
        service = np.empty(used.size)
        for lane in lanes:
            mine = used == lane
            service[mine] = inputs.service[lane][visits][mine]
        work = service.sum()
        avail = sum(plan.server_minutes(lane, plan.warmup, plan.horizon) for lane in lanes)
        out[f"{sname}.offered_load"] = float(work / avail) if avail > 0 else math.inf
    return out


def detection_population(plan: Plan, inputs: Inputs, trace: Trace, overloaded: bool
                         ) -> np.ndarray:
    """Travellers whose detection is scored.

    Normally the counted travellers who finished: their outcome is known, and the
    few still inside at the horizon would only add an end-of-run bias. When a stage
    is overloaded, finishing depends on the path (referred travellers pile up at
    secondary), so every counted traveller is scored by what happened by the horizon.
    """
    counted = inputs.arrival >= plan.warmup
    return counted if overloaded else counted & ~np.isnan(trace.exit)


def check_probability(plan: Plan, inputs: Inputs, trace: Trace, scored: np.ndarray
                      ) -> np.ndarray:
    """P(a traveller would have been detected were they a threat), per traveller.

    Stages everybody visits count as the traveller actually passed them (checked,
    waved through, or not reached by the horizon); stages for referred travellers
    count through the strategy's probability of referring the traveller were they a
    threat, times the share of the scored travellers entering that stage who were
    checked there, for travellers who reached the referral decision. Averaged with
    prevalence weights over ``scored`` this is the low-variance detection estimator
    (threats are rare, so counting them is noisy).
    """
    checked = (trace.lane >= 0) & ~np.isnan(trace.end)
    miss_all = np.ones(inputs.n)
    miss_ref = 1.0
    ref_stages = np.flatnonzero(plan.stage_referred)
    for s in range(plan.n_stages):
        p = plan.detect_p[s]
        if plan.stage_referred[s]:
            entered = scored & ~np.isnan(trace.entry[s])
            share = checked[s][entered].mean() if entered.any() else 1.0
            miss_ref *= 1.0 - p * share
        else:
            miss_all *= 1.0 - p * checked[s]
    if ref_stages.size == 0:
        return 1.0 - miss_all
    p_ref = inputs.p_refer_if_threat
    dyn = inputs.dynamic
    if dyn is not None:
        decided = ~np.isnan(trace.threshold)
        p_dyn = np.where(decided, dyn.p_refer_if_threat(np.where(decided, trace.threshold,
                                                                 np.inf)), 0.0)
        p_ref = 1.0 - (1.0 - p_ref) * (1.0 - p_dyn)
    later = np.arange(plan.n_stages) >= ref_stages[0]
    reached = ~np.isnan(trace.exit) | (~np.isnan(trace.entry[later])).any(axis=0)
    return 1.0 - miss_all * (1.0 - p_ref * (1.0 - miss_ref) * reached)


def fairness_kpis(innocent_rates: list[float]) -> dict[str, float]:
    """Disparity of innocent referral rates across classes (NaN rates left out).

    ``fairness.disparity_ratio``: highest / lowest class rate; 1 when no innocent is
    referred at all; NaN (undefined, dropped from the mean across replications) when
    the lowest rate is 0 but another is not. ``fairness.undefined_share`` is 1 in
    such a replication, 0 otherwise, so its mean says how often that happened.
    ``fairness.referral_rate_gap``: highest minus lowest rate (a share, always defined).
    """
    rates = np.array([r for r in innocent_rates if not math.isnan(r)])
    if rates.size == 0:
        return {"fairness.disparity_ratio": math.nan, "fairness.undefined_share": 0.0,
                "fairness.referral_rate_gap": math.nan}
    hi, lo = float(rates.max()), float(rates.min())
    if hi == 0:
        ratio = 1.0
    elif lo == 0:
        ratio = math.nan
    else:
        ratio = hi / lo
    return {"fairness.disparity_ratio": ratio,
            "fairness.undefined_share": float(hi > 0 and lo == 0),
            "fairness.referral_rate_gap": hi - lo}


def referred_stage_time(plan: Plan, trace: Trace) -> np.ndarray:
    """Minutes each traveller spent at ``visits: referred`` stages (waiting and served).

    Flushed travellers spent 0 there; a traveller still inside such a stage gets NaN.
    """
    total = np.zeros(trace.exit.shape)
    for s in np.flatnonzero(plan.stage_referred):
        total += np.where(trace.lane[s] >= 0, trace.end[s] - trace.entry[s], 0.0)
    return total


def replication_kpis(scenario: Scenario, plan: Plan, inputs: Inputs, trace: Trace) -> dict:
    """All KPIs of one replication as ``{name: value}``."""
    w0, w1 = plan.warmup, plan.horizon
    hours = (w1 - w0) / 60.0
    counted = inputs.arrival >= w0
    finished = ~np.isnan(trace.exit)
    done = counted & finished
    started = ~np.isnan(trace.start)
    waits = np.where(started, trace.start - trace.entry, 0.0)
    wait_total = waits.sum(axis=0)
    tis = trace.exit - inputs.arrival
    innocent = counted & ~inputs.threat
    referred = trace.referred
    k: dict[str, float] = {}

    leaving = finished & (trace.exit >= w0) & (trace.exit < w1)
    k["throughput_per_hour"] = leaving.sum() / hours
    k["arrivals_per_hour"] = counted.sum() / hours
    k["wait_mean"] = _mean(wait_total[done])
    k["wait_p95"] = _p95(wait_total[done])
    k["time_in_system_mean"] = _mean(tis[done])
    k["time_in_system_p95"] = _p95(tis[done])
    k["referral_rate"] = _ratio((referred & counted).sum(), counted.sum())
    k["false_referral_rate"] = _ratio((referred & innocent).sum(), innocent.sum())

    prevalence = np.array([c.threat_prevalence for c in scenario.classes.values()])
    loads = offered_load(plan, inputs, trace)
    overloaded = any(v >= 1.0 for v in loads.values())
    scored = detection_population(plan, inputs, trace, overloaded)
    weight = prevalence[inputs.cls] * scored
    q = check_probability(plan, inputs, trace, scored)
    k["detection_rate"] = _ratio(float((weight * q).sum()), float(weight.sum()))
    checked = (trace.lane >= 0) & ~np.isnan(trace.end)
    detected = (inputs.caught & checked).any(axis=0) & inputs.threat & scored
    threats = inputs.threat & scored
    k["detection_rate_observed"] = _ratio(detected.sum(), threats.sum())
    k["threats"] = float(threats.sum())
    k["detected"] = float(detected.sum())
    k["threats_per_day"] = float((prevalence[inputs.cls] * counted).sum()) / hours * 24
    # expected threats a day the crossing lets through; 0 when there are none, NaN when
    # threats arrive but nobody counted finished (the detection rate is then unknown)
    k["threats_missed_per_day"] = (
        0.0 if k["threats_per_day"] == 0 else k["threats_per_day"] * (1 - k["detection_rate"])
    )
    k["arrived"] = float(counted.sum())
    k["finished"] = float(done.sum())
    k["unfinished"] = float((counted & ~finished).sum())

    for s, sname in enumerate(plan.stage_names):
        here = counted & started[s]
        k[f"{sname}.wait_mean"] = _mean(waits[s][here])
        k[f"{sname}.wait_p95"] = _p95(waits[s][here])
        k[f"{sname}.visit_rate"] = _ratio((counted & ~np.isnan(trace.entry[s])).sum(),
                                          counted.sum())
        k[f"{sname}.flushed"] = float((counted & (trace.lane[s] == -2)).sum())
        busy = avail = queued = 0.0
        for lane in plan.lanes_of(s):
            in_lane = trace.lane[s] == lane
            start = np.where(started[s], trace.start[s], w1)[in_lane]
            end = np.where(np.isnan(trace.end[s]), w1, trace.end[s])[in_lane]
            lane_busy = _overlap(start, end, w0, w1)
            lane_avail = plan.server_minutes(lane, w0, w1)
            busy, avail = busy + lane_busy, avail + lane_avail
            queued += _overlap(trace.entry[s][in_lane], start, w0, w1)
            if plan.lane_names[lane] != sname:
                lname = plan.lane_names[lane]
                k[f"{lname}.utilization"] = _ratio(lane_busy, lane_avail)
                k[f"{lname}.wait_mean"] = _mean(waits[s][here & in_lane])
                k[f"{lname}.share"] = _ratio((here & in_lane).sum(), here.sum())
        k[f"{sname}.utilization"] = _ratio(busy, avail)
        k[f"{sname}.queue_mean"] = queued / (w1 - w0)

    innocent_rates = []
    for c, cname in enumerate(scenario.classes):
        mine = counted & (inputs.cls == c)
        k[f"class.{cname}.referral_rate"] = _ratio((referred & mine).sum(), mine.sum())
        k[f"class.{cname}.false_referral_rate"] = _ratio(
            (referred & mine & ~inputs.threat).sum(), (mine & ~inputs.threat).sum()
        )
        k[f"class.{cname}.wait_mean"] = _mean(wait_total[mine & finished])
        innocent_rates.append(k[f"class.{cname}.false_referral_rate"])
    k.update(fairness_kpis(innocent_rates))
    k["innocent_delay_mean"] = _mean(referred_stage_time(plan, trace)[innocent & referred
                                                                       & finished])
    k["watchlist.hits"] = 0.0
    k["watchlist.false_hits"] = 0.0
    for name, value in inputs.extra.items():
        k[name] = float(value)
    k.update(loads)
    return {name: float(v) for name, v in k.items()}


def confidence_interval(values: Iterable[float], level: float = 0.95) -> dict[str, float]:
    """Mean and Student-t confidence interval of per-replication values (NaNs dropped).

    With one value the interval is undefined and reported as NaN.
    """
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if x.size == 0:
        return {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    mean = float(x.mean())
    if x.size < 2:
        return {"mean": mean, "ci_low": math.nan, "ci_high": math.nan}
    half = t_quantile(0.5 + level / 2, x.size - 1) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half}


def summarise(per_replication: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """KPI name → mean and 95 % confidence interval across replications."""
    names = list(dict.fromkeys(n for rep in per_replication for n in rep))
    return {n: confidence_interval(rep.get(n, math.nan) for rep in per_replication) for n in names}
