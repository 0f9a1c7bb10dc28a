"""KPIs of one replication from its trace, and confidence intervals across replications.

Times are minutes, rates are shares (0-1) unless the name says ``per_hour``.
Only travellers who *arrive* in the counted window ``[warmup, horizon)`` are
counted; their waits, times in system and detection are followed to their exit in
the drain after the window (lower bounds, counted in ``censored``, for the few still
inside at the drain cap). Throughput, queue lengths and utilisation are time
averages over the counted window.
Who is counted, finished, checked or flushed is defined once, in :mod:`outcomes`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .outcomes import CHUNK, Outcome
from .plan import Plan
from .sampling import Inputs
from .scenario import Scenario
from .student_t import t_quantile
from .targeting import DynamicRule
from .trace import Trace


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if x.size else math.nan


def _p95(x: np.ndarray) -> float:
    return float(np.percentile(x, 95)) if x.size else math.nan


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


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


def detection_population(outcome: Outcome) -> np.ndarray:
    """Travellers whose detection is scored: every counted traveller.

    The run follows each counted traveller to their exit (the drain), so nobody is
    left out for still being inside and there is no end-of-run bias to avoid. Only
    when the drain cap cuts a run short (an overloaded stage) are a few still inside;
    they are scored by what happened before the run ended (a referred traveller
    stuck in the secondary queue counts as unchecked), so a queue that grows without
    bound lowers detection instead of vanishing from it.
    """
    return outcome.counted


def check_probability(outcome: Outcome, scored: np.ndarray) -> np.ndarray:
    """P(a traveller would have been detected were they a threat), per traveller.

    Stages everybody visits count as the traveller actually passed them (checked,
    waved through, or not reached when the run ended); stages for referred travellers
    count through the strategy's probability of referring the traveller were they a
    threat, times the share of the scored travellers entering that stage who were
    checked there, for travellers who reached the referral decision. Averaged with
    prevalence weights over ``scored`` this is the low-variance detection estimator
    (threats are rare, so counting them is noisy).
    """
    plan = outcome.plan
    miss_all = np.ones(outcome.inputs.n)
    miss_ref = 1.0
    for s in range(plan.n_stages):
        p = plan.detect_p[s]
        checked = outcome.checked(s)
        if plan.stage_referred[s]:
            entered = scored & outcome.entered(s)
            share = checked[entered].mean() if entered.any() else 1.0
            miss_ref *= 1.0 - p * share
        else:
            miss_all[checked] *= 1.0 - p
    if not plan.stage_referred.any():
        return 1.0 - miss_all
    # 1 - miss_all * (1 - p_ref * (1 - miss_ref) * reached), in place (n can be ~10^7)
    q = outcome.p_refer_if_threat() * (1.0 - miss_ref)
    q *= outcome.reached_referral()
    np.subtract(1.0, q, out=q)
    q *= miss_all
    return np.subtract(1.0, q, out=q)


def queue_aware_spared(outcome: Outcome) -> np.ndarray:
    """Travellers a queue-aware rule left unreferred because of the queue (bool[n]):
    their score met the rule's base threshold but not the raised one they met.
    All False without such a rule (a ``PythonRule``'s reasons are unknown)."""
    dyn, trace = outcome.inputs.dynamic, outcome.trace
    if not isinstance(dyn, DynamicRule):
        return np.zeros(outcome.inputs.n, dtype=bool)
    met = ~np.isnan(trace.threshold)
    return met & ~trace.referred & (np.asarray(dyn.score) >= dyn.threshold)


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


def referred_stage_time(outcome: Outcome) -> np.ndarray:
    """Minutes each traveller spent at ``visits: referred`` stages (waiting and served).

    Flushed travellers spent 0 there; a traveller still inside such a stage gets NaN.
    """
    trace = outcome.trace
    total = np.zeros(trace.exit.shape)
    for s in np.flatnonzero(outcome.plan.stage_referred):
        total += np.where(outcome.queued(s), trace.end[s] - trace.entry[s], 0.0)
    return total


def stage_kpis(outcome: Outcome, s: int, k: dict[str, float]) -> np.ndarray:
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
    k[f"{sname}.wait_p95"] = _p95(wait[here])
    k[f"{sname}.censored"] = float((here & outcome.censored(s)).sum())
    k[f"{sname}.visit_rate"] = _ratio((counted & outcome.entered(s)).sum(), counted.sum())
    k[f"{sname}.flushed"] = float((counted & outcome.flushed(s)).sum())
    lanes = list(plan.lanes_of(s))
    offset = lanes[0]
    occupied = outcome.occupancy(s, np.array([w0, w1]))
    queued, busy = occupied.waiting[:, 0], occupied.busy[:, 0]
    avail = np.array([plan.server_minutes(ln, w0, w1) for ln in lanes])
    if plan.lane_names[offset] != sname:  # a stage with named lanes
        here_lane = outcome.trace.lane[s][here] - offset
        counts = np.bincount(here_lane, minlength=len(lanes))
        wait_sums = np.bincount(here_lane, wait[here], len(lanes))
        for j, ln in enumerate(lanes):
            lname = plan.lane_names[ln]
            k[f"{lname}.utilization"] = _ratio(busy[j], avail[j])
            k[f"{lname}.wait_mean"] = _ratio(wait_sums[j], counts[j])
            k[f"{lname}.share"] = _ratio(counts[j], counts.sum())
    k[f"{sname}.utilization"] = _ratio(busy.sum(), avail.sum())
    k[f"{sname}.queue_mean"] = float(queued.sum()) / (w1 - w0)
    return wait


def replication_kpis(scenario: Scenario, plan: Plan, inputs: Inputs, trace: Trace) -> dict:
    """All KPIs of one replication as ``{name: value}``."""
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
        wait_total += stage_kpis(outcome, s, stage_k)  # minutes queueing
    k["wait_mean"] = _mean(wait_total[counted])
    k["wait_p95"] = _p95(wait_total[counted])
    tis = outcome.time_in_system()[counted]
    k["time_in_system_mean"] = _mean(tis)
    k["time_in_system_p95"] = _p95(tis)
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
