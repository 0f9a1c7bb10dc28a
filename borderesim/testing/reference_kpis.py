"""The plain NumPy KPIs of one replication: the reference the compiled ones must match.

``borderesim.analysis.metrics.replication_kpis`` computes the same numbers in two compiled
passes (``borderesim.analysis.kpi_kernel``); this is the version before it, kept as written so
tests can compare the two on every example scenario and on generated ones. The
definitions are stated in ``borderesim.analysis.metrics`` and ``borderesim.analysis.outcomes``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..analysis.by_hour import (
    HOURS,
    by_hour,
    hour_of_day,
    window_duty,
    window_segments,
    within_duty,
)
from ..analysis.metrics import (
    _mean,
    _p95,
    _ratio,
    check_probability,
    detection_population,
    fairness_kpis,
    queue_aware_spared,
    referred_stage_time,
    slowed_extra_work,
)
from ..analysis.outcomes import CHUNK, Outcome
from ..analysis.overload import LaneHours
from ..analysis.quantiles import (
    GRID,
    KEEP_SHARE,
    POOL_VALUES,
    PooledEstimate,
    Tail,
    keep_limit,
    rank,
)
from ..analysis.student_t import t_quantile
from ..model.scenario import Scenario
from ..run.plan import Plan
from ..run.sampling import Inputs
from ..run.trace import Trace


def offered_load(outcome: Outcome) -> dict[str, float]:
    """Work arriving at each stage in the counted window over server time on duty (a share).

    Each counted traveller who visits the stage (everyone, or the referred) brings
    the service time of the lane they used, or of their first eligible lane, stretched
    by any slowdown (``metrics.slowed_extra_work``).
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
        work += slowed_extra_work(plan, inputs, trace, s)
        avail = sum(plan.server_minutes(lane, plan.warmup, plan.horizon) for lane in lanes)
        if trace.reserve_duty is not None:
            avail += float(trace.reserve_duty[lanes].sum())
        out[f"{sname}.offered_load"] = work / avail if avail > 0 else math.inf
    return out


def busy_on_duty(plan: Plan, outcome: Outcome, s: int) -> tuple[np.ndarray, ...]:
    """Per lane of stage ``s`` over the counted window (minutes, float[lanes] each): time
    waiting, busy time within the officers on duty, server time on duty, and overtime.

    Overtime is busy server-time above the servers on duty in a clock hour (officers
    finishing a traveller after their shift or as an outage starts); it is counted hour
    by hour where the servers on duty change (roster, outage, reserve), so utilisation
    (busy within duty / on duty) stays in [0, 1].
    """
    w0, w1 = plan.warmup, plan.horizon
    lanes = list(plan.lanes_of(s))
    trace = outcome.trace
    if (all(np.all(plan.roster[ln] == plan.roster[ln][0]) for ln in lanes)
            and not np.isin(lanes, plan.out_lane).any() and trace.reserve_duty is None):
        occupied = outcome.occupancy(s, np.array([w0, w1]))  # constant roster: no overtime
        avail = np.array([plan.server_minutes(ln, w0, w1) for ln in lanes])
        busy = occupied.busy[:, 0]
        return occupied.waiting[:, 0], busy, avail, np.zeros(len(lanes))
    occupied = outcome.occupancy(s, window_segments(w0, w1)[0])
    duty = window_duty(plan)[lanes]  # the roster less outages
    if trace.reserve_duty is not None:  # and reserve officers serving
        duty = duty + trace.reserve_duty[lanes]
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


# --- pooled percentiles and lane hours as written before they were made faster: sorted
# tails, three selections per interval, a NumPy pass per lane (issue 18) ---------------


def tail_of(values: np.ndarray, limit: int = POOL_VALUES // 10) -> Tail:
    """``borderesim.quantiles.tail_of`` before: the kept values sorted ascending."""
    values = np.asarray(values, dtype=float)
    n = values.size
    m = n if n <= limit else min(n, math.ceil(KEEP_SHARE * n) + 1, limit)
    if m == n:
        return Tail(n, np.sort(values), -math.inf, np.zeros(0))
    d = n - m
    grid = min(GRID, limit, d)
    ranks = np.unique(np.round(np.linspace(0, d - 1, grid)).astype(np.int64))
    part = np.partition(values, np.unique(np.concatenate([ranks, [d - 1, d]])))
    return Tail(n, np.sort(part[d:]), float(part[d - 1]), part[ranks].copy())


def tail_quantile(tail: Tail, share: float) -> float:
    """``Tail.quantile`` before (``tail.top`` sorted, as :func:`tail_of` leaves it)."""
    if tail.n == 0:
        return math.nan
    k = rank(tail.n, share) - tail.dropped
    return float(tail.top[k]) if k >= 0 else math.nan


def pooled_quantile(tails: Sequence[Tail], share: float) -> tuple[float, bool]:
    """``borderesim.quantiles.pooled_quantile`` before."""
    n = sum(t.n for t in tails)
    if n == 0:
        return math.nan, True
    k = rank(n, share) - sum(t.dropped for t in tails)
    kept = np.concatenate([t.top for t in tails])
    cut = max(t.dropped_max for t in tails)
    if k >= 0:
        value = float(np.partition(kept, k)[k])
        if value >= cut:
            return value, True
    values = np.concatenate([kept, *(t.grid for t in tails)])
    weights = np.concatenate([np.ones(kept.size),
                              *(np.full(t.grid.size, t.dropped / max(t.grid.size, 1))
                                for t in tails)])
    order = np.argsort(values, kind="stable")
    position = np.searchsorted(np.cumsum(weights[order]), rank(n, share) + 1 - 1e-9)
    return float(values[order][min(position, values.size - 1)]), False


def count_at_most(tail: Tail, x: float) -> float:
    """``borderesim.quantiles.count_at_most`` before (``tail.top`` sorted)."""
    if x >= tail.dropped_max:
        return float(tail.dropped + np.searchsorted(tail.top, x, side="right"))
    return float(np.searchsorted(tail.grid, x, side="right")) * tail.dropped / tail.grid.size


def pooled_interval(tails: Sequence[Tail], share: float, level: float = 0.95
                    ) -> PooledEstimate:
    """``borderesim.quantiles.pooled_interval`` before (tails from :func:`tail_of`)."""
    value, exact = pooled_quantile(tails, share)
    n = np.array([t.n for t in tails], dtype=float)
    used = n > 0
    r = int(used.sum())
    influence = np.zeros(len(tails))
    if r < 2:
        return PooledEstimate(value, math.nan, math.nan, exact, influence)
    a = np.array([count_at_most(t, value) if t.n else 0.0 for t in tails])
    ratio = a[used].sum() / n[used].sum()
    resid = a - ratio * n
    se = math.sqrt(float((resid[used] ** 2).sum()) / (r * (r - 1))) / float(n[used].mean())
    t = t_quantile(0.5 + level / 2, r - 1)
    low, _ = pooled_quantile(tails, max(share - t * se, 0.0))
    high, _ = pooled_quantile(tails, min(share + t * se, 1.0))
    if high > low:
        influence[used] = -resid[used] / float(n[used].mean()) * (high - low) / (2 * t * se)
    return PooledEstimate(value, low, high, exact, influence)


def longest_spell(entry: np.ndarray, start: np.ndarray) -> tuple[float, float]:
    """``borderesim.overload.longest_spell`` before."""
    waited = start > entry
    if not waited.any():
        return 0.0, math.nan
    order = np.argsort(entry[waited], kind="stable")
    a, b = entry[waited][order], start[waited][order]
    reach = np.maximum.accumulate(b)
    new = np.ones(a.size, dtype=bool)
    new[1:] = a[1:] > reach[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, a.size - 1)
    length = reach[last] - a[first]
    k = int(np.argmax(length))
    return float(length[k]), float(a[first[k]])


def lane_hours(outcome: Outcome) -> LaneHours:
    """``borderesim.overload.lane_hours`` before: a NumPy pass per lane."""
    plan, trace, inputs = outcome.plan, outcome.trace, outcome.inputs
    n_lanes = plan.roster.shape[0]
    edges, seg_hours, _ = window_segments(plan.warmup, plan.horizon)
    # on duty: the plan's servers between capacity changes (roster, outages), piece by
    # piece, plus the replication's reserve officers
    ch = plan.capacity_changes()
    ends = [*ch.times[1:].tolist(), math.inf]
    pieces = np.zeros((n_lanes, len(seg_hours)))
    for k in range(len(seg_hours)):
        for j, (t0, t1) in enumerate(zip(ch.times.tolist(), ends, strict=True)):
            overlap = min(edges[k + 1], t1) - max(edges[k], t0)
            if overlap > 0:
                pieces[:, k] += ch.on_duty()[j] * overlap
    if trace.reserve_duty is not None:
        pieces += trace.reserve_duty
    duty = np.array([by_hour(seg_hours, pieces[ln]) for ln in range(n_lanes)])
    work = np.zeros((n_lanes, HOURS))
    spell, spell_start = np.zeros(n_lanes), np.full(n_lanes, math.nan)
    wait_max, wait_max_hour = np.zeros(n_lanes), np.full(n_lanes, -1.0)
    open_end = np.zeros(n_lanes, dtype=bool)
    for s in range(plan.n_stages):
        queued = outcome.counted & outcome.queued(s)
        entry = trace.entry[s]
        inside = queued & (entry >= plan.warmup) & (entry < plan.horizon)
        for ln in plan.lanes_of(s):
            mine = inside & (trace.lane[s] == ln)
            if not mine.any():
                continue
            t_in = entry[mine]
            began = trace.start[s][mine]
            waiting = np.isnan(began)
            began = np.where(waiting, plan.run_end, began)
            work[ln] = by_hour(hour_of_day(t_in), inputs.service[ln][mine])
            spell[ln], spell_start[ln] = longest_spell(t_in, began)
            waits = began - t_in
            k = int(np.argmax(waits))
            wait_max[ln], wait_max_hour[ln] = waits[k], float(hour_of_day(t_in[k:k + 1])[0])
            open_end[ln] = bool(waiting.any())
    return LaneHours(work, duty, spell, spell_start, wait_max, wait_max_hour, open_end)


def recovery_minutes(entry: np.ndarray, wait: np.ndarray, t_shock: float, horizon: float,
                     target: float) -> float:
    """``borderesim.analysis.shocks.recovery_minutes`` before: ``np.percentile`` of each
    rolling window in a Python loop."""
    from ..analysis.shocks import GRID_MIN, ROLLING_MIN

    order = np.argsort(entry, kind="stable")
    entry, wait = entry[order], wait[order]
    grid = np.arange(t_shock, horizon, GRID_MIN)
    lo = np.searchsorted(entry, grid - ROLLING_MIN, side="right")
    hi = np.searchsorted(entry, grid, side="right")
    over = np.zeros(len(grid), dtype=bool)
    for k in range(len(grid)):
        if hi[k] > lo[k]:
            over[k] = np.percentile(wait[lo[k]:hi[k]], 95) > target
    bad = np.flatnonzero(over)
    if bad.size == 0:
        return 0.0
    last = int(bad[-1])
    if last + 1 >= len(grid):
        return horizon - t_shock
    return float(grid[last + 1] - t_shock)


def detection_split(scenario: Scenario, outcome: Outcome, window: tuple[float, float]
                    ) -> dict[str, float]:
    """``borderesim.analysis.shocks._detection_split`` before: the detection estimator
    per traveller (``metrics.check_probability``) weighted by prevalence, for counted
    arrivals inside and outside ``window`` (both ends included)."""
    inputs = outcome.inputs
    prevalence = np.array([c.threat_prevalence for c in scenario.classes.values()])
    scored = detection_population(outcome)
    q = check_probability(outcome, scored)
    inside = (inputs.arrival >= window[0]) & (inputs.arrival <= window[1])
    out = {}
    for name, part in (("shock", inside), ("outside", ~inside)):
        mine = scored & part
        weight = prevalence[inputs.cls[mine]]
        total = float(weight.sum())
        out[f"detection_rate.{name}"] = float(weight @ q[mine]) / total if total > 0 \
            else math.nan
    return out
