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
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..memo import per_object
from ..model.events import shock_window
from ..model.scenario import Scenario
from ..model.targeting import DynamicRule
from ..run import pages
from ..run.plan import Plan
from ..run.sampling import Inputs
from ..run.trace import Trace
from . import quantiles
from .by_hour import window_duty, window_segments, within_duty
from .kpis import FAMILIES, is_declared, kpi_info
from .outcomes import Outcome
from .overload import LaneHours, duty_hours
from .quantiles import Tail, keep_limit, quantile, tail_and_quantile
from .student_t import t_quantile

if TYPE_CHECKING:  # pragma: no cover
    from .kpi_kernel import Sums


def _mean(x: np.ndarray) -> float:
    """``x.mean()`` (the same pairwise sum and division, bit for bit), NaN for no values,
    without ``np.mean``'s Python overhead (a few microseconds a call)."""
    return float(np.add.reduce(x)) / x.size if x.size else math.nan


def _p95(x: np.ndarray, name: str, samples: dict[str, Tail] | None, limit: int,
         own: bool = False) -> float:
    """The 95th percentile of ``x`` in this replication (kept as ``{name}_rep``); with
    ``samples``, also keep the :class:`Tail` (at most ``limit`` values) that pools
    ``name`` across replications (``own``: ``x`` is scratch the tail may keep or
    reorder, :func:`~borderesim.analysis.quantiles.tail_and_quantile`)."""
    if samples is None:
        return quantile(x, 0.95)
    samples[name], value = tail_and_quantile(x, 0.95, limit, own)
    return quantile(x, 0.95) if math.isnan(value) and x.size else value


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


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
    rates = [float(r) for r in innocent_rates if not math.isnan(r)]
    if not rates:
        return {"fairness.disparity_ratio": math.nan, "fairness.undefined_share": 0.0,
                "fairness.referral_rate_gap": math.nan}
    hi, lo = max(rates), min(rates)  # the first of equals, as NumPy's max and min
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


def _first_lanes(plan: Plan) -> np.ndarray:
    """int64[S, C]: the first lane of each stage each class may use (-1: none)."""
    return np.array([[next((ln for ln in plan.lanes_of(s) if plan.eligible[ln, c]), -1)
                      for c in range(plan.eligible.shape[1])] for s in range(plan.n_stages)],
                    dtype=np.int64).reshape(plan.n_stages, plan.eligible.shape[1])


@dataclass(frozen=True)
class _Layout:
    """What the KPIs of every replication of a plan share (:func:`_layout`)."""

    edges: np.ndarray  # the clock-hour pieces of the counted window (by_hour.window_segments)
    hourly: np.ndarray  # bool[S]: servers on duty change (roster, outage, reserve): busy by piece
    first_lanes: np.ndarray  # int64[S, C] (_first_lanes)
    avail: np.ndarray  # float[L]: server-minutes on duty in the counted window
    lanes: tuple[slice, ...]  # each stage's lanes
    duty: tuple[np.ndarray | None, ...]  # per hourly stage: server-minutes per lane, piece
    work_time: tuple[float, ...]  # per stage: server-minutes on duty (offered load)
    avail_lists: tuple[list[float], ...]  # per stage: avail of its lanes
    duty_sums: tuple[list[float] | None, ...]  # per hourly stage: duty summed per lane


def _layout(plan: Plan) -> _Layout:
    """The :class:`_Layout` of ``plan``, computed once per plan."""
    def make() -> _Layout:
        w0, w1 = plan.warmup, plan.horizon
        edges = window_segments(w0, w1)[0]
        constant = np.all(plan.roster == plan.roster[:, :1], axis=1)  # per lane
        lanes = tuple(slice(int(plan.lane_start[s]), int(plan.lane_start[s + 1]))
                      for s in range(plan.n_stages))
        # busy time by piece (overtime) where the servers on duty change: by the hour, in
        # an outage, or with a reserve (then also from one replication to the next)
        constant &= ~np.isin(np.arange(plan.n_lanes), plan.out_lane)
        reserve = plan.reserve_arrays()[0] > 0
        hourly = np.array([not constant[sl].all() or reserve[s] for s, sl in enumerate(lanes)],
                          dtype=bool)
        # the plan's own count: outages take servers off duty between hour boundaries
        avail = np.array([plan.server_minutes(ln, w0, w1) for ln in range(plan.n_lanes)])
        duty = tuple(window_duty(plan)[sl] if hourly[s] else None  # outages removed
                     for s, sl in enumerate(lanes))
        return _Layout(edges, hourly, _first_lanes(plan), avail, lanes, duty,
                       tuple(sum(avail[sl].tolist()) for sl in lanes),
                       tuple(avail[sl].tolist() for sl in lanes),
                       tuple(None if d is None else d.sum(axis=1).tolist() for d in duty))
    return per_object(plan, "metrics.layout", make)


def slowdown_factors(plan: Plan, lane: np.ndarray, t: np.ndarray) -> np.ndarray:
    """[slowdowns] The factor a service starting at minute ``t[i]`` in global lane
    ``lane[i]`` is multiplied by: the product of the factors of the plan's slowdown
    windows holding it (1 outside every window; NaN or infinite times: 1)."""
    factor = np.ones(np.shape(t))
    for w in range(len(plan.slow_lane)):
        hit = (lane == plan.slow_lane[w]) & (plan.slow_from[w] <= t) & (t < plan.slow_to[w])
        factor[hit] *= plan.slow_factor[w]
    return factor


def slowed_extra_work(plan: Plan, inputs: Inputs, trace: Trace, s: int) -> float:
    """Minutes of work slowdowns add at stage ``s`` to what the counted travellers visiting
    it bring: the sum of ``service × (factor − 1)`` over them, in the lane they used (or
    their first eligible lane), ``factor`` being :func:`slowdown_factors` when their
    service there started (the engines' rule; a pre-empted traveller's last start); for
    one who never started (flushed, or still waiting at the drain cap), when they reached
    the stage; for one who never reached it, none. 0 without slowdowns."""
    if not len(plan.slow_lane):
        return 0.0
    visits = Outcome(plan, inputs, trace).counted
    if plan.stage_referred[s]:
        visits = visits & trace.referred
    who = np.flatnonzero(visits)
    lane = trace.lane[s][who].astype(np.int64)
    unused = lane < 0
    lane[unused] = _layout(plan).first_lanes[s][inputs.cls[who][unused]]
    when = trace.start[s][who]
    when = np.where(np.isnan(when), trace.entry[s][who], when)
    factor = slowdown_factors(plan, lane, when)
    slowed = factor != 1.0
    return float(np.sum(inputs.service[lane[slowed], who[slowed]] * (factor[slowed] - 1.0)))


_NO_SPLIT = np.full(2, np.nan)
"""``kpi_kernel.kpi_sums``' ``split`` when the detection estimator is not split."""


def kernel_sums(plan: Plan, inputs: Inputs, trace: Trace, n_classes: int, want_lanes: bool,
                split: tuple[float, float] | None = None, fill: bool = False) -> Sums:
    """:func:`borderesim.analysis.kpi_kernel.kpi_sums` of one replication (a
    ``kpi_kernel.Sums``): ``want_lanes`` fills the lane hours, ``split`` (times,
    minutes) splits the detection estimator's sums by arrival inside or outside,
    ``fill`` writes the per-traveller waits and times in the crossing (else empty:
    :func:`_traveller_values` makes them one at a time)."""
    from . import kpi_kernel as kk  # compiled on first use

    lay = _layout(plan)
    p_ref = (Outcome(plan, inputs, trace).p_refer_if_threat() if plan.stage_referred.any()
             else np.zeros(0))
    return kk.Sums(*kk.kpi_sums(
        trace.lane, trace.entry, trace.start, trace.end, trace.exit, trace.referred,
        inputs.arrival, inputs.cls, inputs.threat, inputs.caught, inputs.service,
        np.asarray(p_ref, dtype=np.float64), plan.lane_start, plan.stage_referred,
        plan.detect_p, lay.first_lanes, float(plan.warmup), float(plan.horizon),
        float(plan.run_end), n_classes, lay.edges, lay.hourly, want_lanes,
        _NO_SPLIT if split is None else np.array(split, dtype=np.float64), fill))


def _split_key(plan: Plan, window: tuple[float, float]) -> str:
    """The name under which a trace keeps its detection split (:func:`detection_split`)."""
    return f"metrics.detection_split {id(plan)} {window[0]!r} {window[1]!r}"


def detection_split(plan: Plan, inputs: Inputs, trace: Trace, n_classes: int,
                    window: tuple[float, float]) -> np.ndarray:
    """``kpi_kernel.Sums.cls`` of one replication with the detection estimator's sums
    split by arrival inside or outside ``window`` (times, minutes): kept with the trace
    by :func:`replication_kpis`, whose pass splits them when the scenario has shocks,
    else a pass of its own (:func:`kernel_sums`)."""
    return per_object(trace, _split_key(plan, window), lambda: kernel_sums(
        plan, inputs, trace, n_classes, False, window).cls)


class _StageNames(NamedTuple):
    wait_mean: str
    wait_p95_rep: str
    wait_p95: str
    censored: str
    visit_rate: str
    flushed: str
    utilization: str
    overtime_hours: str
    queue_mean: str
    offered_load: str


class _LaneNames(NamedTuple):
    utilization: str
    overtime_hours: str
    wait_mean: str
    share: str


class _ClassNames(NamedTuple):
    referral_rate: str
    false_referral_rate: str
    wait_mean: str


@dataclass(frozen=True)
class _Names:
    """The KPI names of each stage, lane and class (:func:`_names`)."""

    stages: tuple[_StageNames, ...]
    lanes: tuple[_LaneNames, ...]  # by global lane
    classes: tuple[_ClassNames, ...]


def _names(scenario: Scenario, plan: Plan) -> _Names:
    """The per-stage, per-lane and per-class KPI names of a run: the stages' and lanes'
    made once per plan, the classes' once per scenario (``borderesim.memo``)."""
    stages, lanes = per_object(plan, "metrics.names", lambda: (
        tuple(_StageNames(*(f"{s}.{f}" for f in _StageNames._fields))
              for s in plan.stage_names),
        tuple(_LaneNames(*(f"{ln}.{f}" for f in _LaneNames._fields))
              for ln in plan.lane_names)))
    classes = per_object(scenario, "metrics.class_names", lambda: tuple(
        _ClassNames(*(f"class.{c}.{f}" for f in _ClassNames._fields))
        for c in scenario.classes))
    return _Names(stages, lanes, classes)


def shock_window_of(scenario: Scenario) -> tuple[float, float] | None:
    """``events.shock_window(scenario)``, made once per scenario (``borderesim.memo``)."""
    return per_object(scenario, "metrics.shock_window", lambda: shock_window(scenario))


def prevalence_of(scenario: Scenario) -> np.ndarray:
    """Each class's threat prevalence (float64[C]), made once per scenario (not to be
    modified)."""
    return per_object(scenario, "metrics.prevalence", lambda: np.array(
        [c.threat_prevalence for c in scenario.classes.values()]))


def _scratch(row: np.ndarray, whole: int) -> np.ndarray:
    """``row`` (a view of a kernel buffer of ``whole`` values) for a tail to keep: itself
    when it fills most of the buffer, else a copy (not to keep the buffer alive)."""
    return row if 2 * row.size >= whole else row.copy()


def _traveller_values(got: Sums, which: int, plan: Plan, inputs: Inputs, trace: Trace,
                      filled: bool, keep: bool, buffer: np.ndarray | None = None,
                      limit: int = 0) -> np.ndarray:
    """The counted travellers' total waits (``which`` = ``kpi_kernel.WAIT_TOTAL``), times
    in the crossing (``TIME_IN_SYSTEM``) or waits at stage ``which`` (minutes, traveller
    order): the kernel's buffer when its pass ``filled`` them (a stage's row copied when
    a tail is to ``keep`` it, :func:`_scratch`), else made now, alone
    (``kpi_kernel.kpi_waits``), so that a year holds one such array at a time: in
    ``buffer`` (float64 scratch of at least the counted travellers) when there are more
    than ``limit`` values (a tail then keeps a copy of their largest:
    ``quantiles.tail_of``), so that a year's four such arrays are written to one
    array's memory, not to fresh pages each (88 MB each at 11 million travellers)."""
    from . import kpi_kernel as kk

    if filled:
        if which == kk.WAIT_TOTAL:
            return got.wait_total
        if which == kk.TIME_IN_SYSTEM:
            return got.tis
        row = got.stage_wait[which, :int(got.stage[which, kk.S_HERE])]
        return _scratch(row, got.stage_wait.shape[1]) if keep else row
    size = int(got.stage[which, kk.S_HERE] if which >= 0 else got.total[kk.G_COUNTED])
    out = buffer if buffer is not None and size > limit else np.empty(size)
    return kk.kpi_waits(which, trace.lane, trace.entry, trace.start, trace.exit,
                        inputs.arrival, float(plan.warmup), float(plan.horizon),
                        float(plan.run_end), size, out)


def _fills(n: int, limit: int) -> bool:
    """Whether the KPI pass over ``n`` travellers writes every per-traveller array at once
    (the fastest): when the tails of pooled percentiles keep up to ``limit`` values, and
    so all of them anyway. A bigger replication (a year) gets none from the pass: each
    is made and cut to its tail alone, the next one after (:func:`_traveller_values`),
    for a lower peak."""
    return n <= limit


def _mean_p95(x: np.ndarray, name: str, samples: dict[str, Tail] | None,
              limit: int) -> tuple[float, float]:
    """The mean of ``x`` and :func:`_p95` (``x``: scratch the tail may keep or reorder)."""
    return _mean(x), _p95(x, name, samples, limit, own=True)


def replication_kpis(scenario: Scenario, plan: Plan, inputs: Inputs, trace: Trace,
                     samples: dict[str, Tail | LaneHours] | None = None,
                     replications: int = 10) -> dict:
    """All KPIs of one replication as ``{name: value}``.

    Percentile KPIs appear as this replication's percentile (``wait_p95_rep``); pass a
    dict as ``samples`` to receive, for each pooled percentile KPI (``wait_p95``), the
    :class:`~borderesim.analysis.quantiles.Tail` :func:`summarise` pools across replications,
    sized for a run of ``replications`` (:func:`~borderesim.analysis.quantiles.keep_limit`),
    and under ``"lane_hours"`` the :class:`~borderesim.analysis.overload.LaneHours` the
    overload warnings pool (what ``overload.lane_hours`` gives, from the same pass).

    Per stage ``s`` (named ``{s}.*``): waits (minutes) count from reaching the stage to
    starting service, for every counted traveller who queued there (a lower bound for
    those still waiting at the drain cap, counted in ``{s}.censored``); utilisation and
    queue length are time averages over the counted window, including travellers who
    arrived in the warm-up; busy time above the servers on duty in a clock hour is
    ``overtime_hours`` (not utilisation); ``{s}.offered_load`` is the work the counted
    travellers visiting the stage bring (the service time of the lane they used, or of
    their first eligible lane, times any slowdown in force when it started:
    :func:`slowed_extra_work`) over the server-minutes on duty in the counted window
    (``Plan.server_minutes``: the roster less outages; plus ``Trace.reserve_duty``).
    ``detection_rate`` is the low-variance estimator of :func:`check_probability`
    averaged with prevalence weights over every counted traveller (:func:`detection_population`);
    ``detection_rate_observed`` counts the sampled threats caught.
    ``innocent_delay_mean``: minutes innocent referred travellers who finished spent at
    ``visits: referred`` stages (:func:`referred_stage_time`).

    The sums come from compiled loops over the travellers (one per stage, then one
    over them: :func:`borderesim.analysis.kpi_kernel.kpi_sums`), percentiles from compiled
    selections (:mod:`borderesim.analysis.selection`); ``borderesim.testing.reference_kpis`` is
    the plain NumPy statement of the same numbers, and tests hold the two together.
    """
    from . import kpi_kernel as kk  # compiled on first use

    limit = keep_limit(replications)
    w0, w1 = plan.warmup, plan.horizon
    hours = (w1 - w0) / 60.0
    lay = _layout(plan)
    prevalence = prevalence_of(scenario)
    filled = _fills(inputs.n, limit)
    window = shock_window_of(scenario)
    got = kernel_sums(plan, inputs, trace, len(prevalence), samples is not None, window,
                      fill=filled)
    if window is not None:  # the shock KPIs' detection split, from this pass
        per_object(trace, _split_key(plan, window), lambda: got.cls)
    if samples is not None:  # what the overload warnings pool (overload.lane_hours)
        samples["lane_hours"] = LaneHours(got.work, duty_hours(plan, trace.reserve_duty),
                                          got.spell,
                                          got.spell_start, got.wait_max, got.wait_max_hour,
                                          got.open_end)
    g, by_cls = got.total.tolist(), got.cls  # Python floats: no NumPy call per number
    counted = g[kk.G_COUNTED]
    k: dict[str, float] = {}
    k["throughput_per_hour"] = g[kk.G_LEAVING] / hours
    k["arrivals_per_hour"] = counted / hours
    buffer = None if filled else pages.empty(int(counted))  # the waits made one at a time
    k["wait_mean"], k["wait_p95_rep"] = _mean_p95(_traveller_values(
        got, kk.WAIT_TOTAL, plan, inputs, trace, filled, True, buffer, limit), "wait_p95",
        samples, limit)
    k["time_in_system_mean"], k["time_in_system_p95_rep"] = _mean_p95(_traveller_values(
        got, kk.TIME_IN_SYSTEM, plan, inputs, trace, filled, True, buffer, limit),
        "time_in_system_p95", samples, limit)
    k["referral_rate"] = _ratio(g[kk.G_REFERRED], counted)
    k["false_referral_rate"] = _ratio(g[kk.G_FALSE], g[kk.G_INNOCENT])
    expected = float(prevalence @ by_cls[:, kk.C_COUNTED])  # threats among the counted
    k["detection_rate"] = _ratio(float(prevalence @ by_cls[:, kk.C_Q]), expected)
    k["detection_rate_observed"] = _ratio(g[kk.G_DETECTED], g[kk.G_THREATS])
    k["threats"] = g[kk.G_THREATS]
    k["detected"] = g[kk.G_DETECTED]
    k["threats_per_day"] = expected / hours * 24
    # expected threats a day the crossing lets through (0 when none arrive)
    k["threats_missed_per_day"] = (
        0.0 if k["threats_per_day"] == 0 else k["threats_per_day"] * (1 - k["detection_rate"])
    )
    k["arrived"] = counted
    k["finished"] = g[kk.G_FINISHED]
    k["unfinished"] = counted - g[kk.G_FINISHED]
    if isinstance(inputs.dynamic, DynamicRule):
        outcome = Outcome(plan, inputs, trace)
        k["queue_aware_spared"] = float((outcome.counted & queue_aware_spared(outcome)).sum())
    else:
        k["queue_aware_spared"] = 0.0
    loads = {}
    stages, lanes_sums = got.stage.tolist(), got.lane.tolist()
    names = _names(scenario, plan)
    for s, sname in enumerate(plan.stage_names):
        row, n = stages[s], names.stages[s]
        k[n.wait_mean], k[n.wait_p95_rep] = _mean_p95(_traveller_values(
            got, s, plan, inputs, trace, filled, samples is not None, buffer, limit),
            n.wait_p95, samples, limit)
        k[n.censored] = row[kk.S_CENSORED]
        k[n.visit_rate] = _ratio(row[kk.S_ENTERED], counted)
        k[n.flushed] = row[kk.S_FLUSHED]
        lanes = lay.lanes[s]
        mine = lanes_sums[lanes]
        busy, on_duty = [r[kk.L_BUSY] for r in mine], lay.avail_lists[s]
        overtime = [0.0] * len(mine)
        duty, reserve = lay.duty[s], 0.0
        if duty is not None:  # busy time within the officers on duty, clock hour by hour
            on_duty = lay.duty_sums[s]
            if trace.reserve_duty is not None:  # and the reserve officers serving
                duty = duty + trace.reserve_duty[lanes]
                on_duty = duty.sum(axis=1).tolist()
                reserve = float(trace.reserve_duty[lanes].sum())
            within, over = within_duty(got.busy_seg[lanes], duty)
            busy = within.sum(axis=1).tolist()
            overtime = over.sum(axis=1).tolist()
        if plan.lane_names[lanes.start] != sname:  # a stage with named lanes
            served = sum(r[kk.L_COUNT] for r in mine)
            for j, ln in enumerate(names.lanes[lanes]):
                k[ln.utilization] = _ratio(busy[j], on_duty[j])
                k[ln.overtime_hours] = overtime[j] / 60.0
                k[ln.wait_mean] = _ratio(mine[j][kk.L_WAIT], mine[j][kk.L_COUNT])
                k[ln.share] = _ratio(mine[j][kk.L_COUNT], served)
        k[n.utilization] = _ratio(sum(busy), sum(on_duty))
        k[n.overtime_hours] = sum(overtime) / 60.0
        k[n.queue_mean] = sum(r[kk.L_WAITING] for r in mine) / (w1 - w0)
        work_time, work = lay.work_time[s] + reserve, row[kk.S_WORK]
        if len(plan.slow_lane):  # the service times as slowdowns stretched them
            work += slowed_extra_work(plan, inputs, trace, s)
        loads[n.offered_load] = work / work_time if work_time > 0 else math.inf
    innocent_rates = []
    for row, cn in zip(by_cls.tolist(), names.classes, strict=True):
        k[cn.referral_rate] = _ratio(row[kk.C_REFERRED], row[kk.C_COUNTED])
        k[cn.false_referral_rate] = rate = _ratio(row[kk.C_FALSE], row[kk.C_INNOCENT])
        k[cn.wait_mean] = _ratio(row[kk.C_WAIT], row[kk.C_COUNTED])
        innocent_rates.append(rate)
    k.update(fairness_kpis(innocent_rates))
    k["innocent_delay_mean"] = _ratio(g[kk.G_DELAY], g[kk.G_DELAYED])
    k["watchlist.hits"] = 0.0
    k["watchlist.false_hits"] = 0.0
    for name, value in inputs.extra.items():
        k[name] = float(value)
    k.update(loads)
    return {name: float(v) for name, v in k.items()}


def confidence_interval(values: Iterable[float], level: float = 0.95,
                        bounds: tuple[float, float] = (-math.inf, math.inf),
                        stats: tuple[float, float] | None = None) -> dict[str, float]:
    """Mean and Student-t confidence interval of per-replication values (NaNs dropped).

    With one value the interval is undefined and reported as NaN. ``bounds``: the
    values the KPI can take; an interval reaching past them is cut there (which never
    lowers its coverage: the true mean lies within the bounds) and ``"clipped": True``
    says so. ``stats``: the values' mean and standard deviation (``ddof=1``) when the
    caller has them already (none NaN; :func:`summarise` computes all KPIs' at once).
    """
    if stats is not None:
        size = len(values) if isinstance(values, list) else sum(1 for _ in values)
        mean, spread = stats
    else:
        x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
        size = x.size
        if size == 0:
            return {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan}
        mean = float(x.mean())
        spread = float(x.std(ddof=1)) if size >= 2 and math.isfinite(mean) else math.nan
    if size < 2 or not math.isfinite(mean):  # an infinite value has no interval
        return {"mean": mean, "ci_low": math.nan, "ci_high": math.nan}
    half = _t(0.5 + level / 2, size - 1) * spread / math.sqrt(size)
    return _cut({"mean": mean, "ci_low": mean - half, "ci_high": mean + half}, bounds)


@lru_cache(maxsize=256)
def _t(p: float, df: int) -> float:
    """:func:`t_quantile`, kept (every KPI of a run asks for the same one)."""
    return t_quantile(p, df)


def _row_stats(per_replication: list[dict[str, float]], names: list[str]
               ) -> dict[str, tuple[float, float]]:
    """Mean and standard deviation (``ddof=1``) across replications of each KPI in
    ``names`` that every replication has and none has NaN, in one NumPy call each (the
    same numbers, bit for bit, as ``x.mean()`` and ``x.std(ddof=1)`` of each row)."""
    got = _rows(per_replication, names)
    if got is None:
        return {}
    full, rows, means, spreads = got
    return dict(zip(full, zip(means.tolist(), spreads.tolist(), strict=True), strict=True))


def _rows(per_replication: list[dict[str, float]], names: list[str],
          same_keys: bool = False
          ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray] | None:
    """:func:`_row_stats` as arrays: the KPIs kept (in ``names`` order), their values
    (one row a KPI, one column a replication), means and spreads; None with fewer than
    two replications. ``same_keys``: every replication has every name."""
    if len(per_replication) < 2:
        return None
    if same_keys:
        full = names
    else:
        common = set(per_replication[0]).intersection(*per_replication[1:])
        full = [n for n in names if n in common]
    if not full:
        return None
    if len(full) > 1:  # one C call a replication, then the rows laid out as before
        get = itemgetter(*full)
        rows = np.array([get(rep) for rep in per_replication], dtype=float).T.copy()
    else:
        rows = np.array([[rep[full[0]] for rep in per_replication]], dtype=float)
    nan = np.isnan(rows).any(axis=1)
    if nan.any():
        rows = rows[~nan]
        full = [n for n, k in zip(full, nan.tolist(), strict=True) if not k]
    means, spreads = _mean_std(rows)
    return full, rows, means, spreads


def _mean_std(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``rows.mean(axis=1)`` and ``rows.std(axis=1, ddof=1)`` (rows of at least two
    values): NumPy's own operations in its order (bit for bit), without the Python layers
    of ``np.mean`` and ``np.std`` around them (they cost more than the arithmetic here)."""
    size = rows.shape[1]
    with np.errstate(invalid="ignore", over="ignore"):  # inf values: NaN spreads
        means = np.add.reduce(rows, axis=1, keepdims=True) / size
        squares = np.square(rows - means)
        spreads = np.sqrt(np.add.reduce(squares, axis=1) / (size - 1))
    return means.reshape(-1), spreads


def _cut(ci: dict, bounds: tuple[float, float]) -> dict:
    lo, hi = bounds
    if ci["ci_low"] < lo or ci["ci_high"] > hi:
        ci.update(ci_low=max(ci["ci_low"], lo), ci_high=min(ci["ci_high"], hi), clipped=True)
    return ci


def pooled_summary(tails: list[Tail], share: float, level: float = 0.95
                   ) -> tuple[dict, np.ndarray]:
    """A pooled percentile (``share`` 0-1) with its Woodruff interval
    (:mod:`borderesim.analysis.quantiles`), and each replication's influence on it (for paired
    differences); ``"approximate": True`` when the values are not exact (see
    :func:`~borderesim.analysis.quantiles.pooled_quantile`)."""
    est = quantiles.pooled_interval(tails, share, level)
    ci: dict = {"mean": est.value, "ci_low": est.low, "ci_high": est.high}
    if not est.exact:
        ci["approximate"] = True
    return ci, est.influence


def pooled_difference(mine: dict, base: dict, mine_influence: list[float],
                      base_influence: list[float], level: float = 0.95) -> dict[str, float]:
    """Paired difference of a pooled percentile KPI (mine minus base): the difference of
    the pooled values with a t-interval on per-replication differences of influence
    (:func:`borderesim.analysis.quantiles.paired_interval`)."""
    diff = mine["mean"] - base["mean"]
    lo, hi = quantiles.paired_interval(diff, np.asarray(mine_influence),
                                       np.asarray(base_influence), level)
    return {"mean": diff, "ci_low": lo, "ci_high": hi}


def summarise_kpi(name: str, values: list[float], level: float = 0.95,
                  stats: tuple[float, float] | None = None) -> dict:
    """One ``mean_t`` KPI across replications, as its catalogue family says: a t-interval
    cut to the KPI's bounds, or ``"exact": True`` (no interval) when the family is exact
    whenever every replication agrees and they do (``stats``: as
    :func:`confidence_interval` takes them)."""
    family = kpi_info(name).family
    ci = confidence_interval(values, level, family.bounds or (-math.inf, math.inf), stats)
    if not family.exact_if_constant:
        return ci
    finite = values if stats is not None else [v for v in values if not math.isnan(v)]
    if (len(finite) >= 2
            and max(finite) - min(finite) <= 1e-12 * max(1.0, abs(ci["mean"]))):
        ci.update(ci_low=ci["mean"], ci_high=ci["mean"], exact=True)
    return ci


@dataclass(frozen=True)
class _Kind:
    """How :func:`summarise` treats one KPI name (from the catalogue, :func:`_kinds`)."""

    summary: str  # kpis.Summary; "mean_t" for a name the catalogue does not know
    declared: bool
    bounds: tuple[float, float]  # the family's (cut an interval there)
    exact_if_constant: bool
    pooled: str | None  # a per-replication row's pooled KPI (wait_p95 for wait_p95_rep)
    share: float | None  # its percentile (0.95)


@lru_cache(maxsize=64)
def _kinds(names: tuple[str, ...], families: tuple[int, ...]) -> tuple[_Kind, ...]:
    """The :class:`_Kind` of each name, kept for the catalogue's ``families`` (their
    ids: a family declared or removed makes a new catalogue); a run's names are the
    same every replication and every run of a scenario."""
    out = []
    for n in names:
        if not is_declared(n):
            out.append(_Kind("mean_t", False, (-math.inf, math.inf), False, None, None))
            continue
        family = kpi_info(n).family
        pooled = share = None
        if family.summary == "per_replication":  # share None: asked again, as it says
            pooled = n.removesuffix("_rep")
            share = kpi_info(pooled).family.quantile if is_declared(pooled) else None
        out.append(_Kind(family.summary, True, family.bounds or (-math.inf, math.inf),
                         family.exact_if_constant, pooled, share))
    return tuple(out)


def summarise(per_replication: list[dict[str, float]],
              samples: list[dict[str, Tail]] | None = None,
              influence: dict[str, list[float]] | None = None
              ) -> dict[str, dict[str, float]]:
    """KPI name → estimate (``"mean"``) and 95 % interval across replications.

    Each KPI is summarised as its catalogue family says (:data:`borderesim.analysis.kpis.Summary`):
    ``mean_t`` KPIs from ``per_replication``; pooled percentiles (``wait_p95``) from
    ``samples`` (each replication's tails, from :func:`replication_kpis`), placed where
    their per-replication rows (``wait_p95_rep``) stand, which are not summarised; pass
    a dict as ``influence`` to receive each pooled KPI's per-replication influences
    (what :func:`pooled_difference` pairs). A name the catalogue does not know is
    summarised as ``mean_t`` without bounds.

    The ``mean_t`` KPIs every replication has without NaN are summarised together
    (:func:`_mean_t_rows`), the others one at a time (:func:`summarise_kpi`): the same
    numbers either way.
    """
    first = per_replication[0] if per_replication else {}
    same_keys = all(rep.keys() == first.keys() for rep in per_replication[1:])
    names = list(first) if same_keys else list(dict.fromkeys(chain.from_iterable(
        per_replication)))
    kinds = _kinds(tuple(names), tuple(map(id, FAMILIES)))
    rows = _mean_t_rows(per_replication, [n for n, kind in zip(names, kinds, strict=True)
                                          if kind.summary == "mean_t"],
                        kinds, names, same_keys)
    out: dict[str, dict[str, float]] = {}
    for n, kind in zip(names, kinds, strict=True):
        if kind.summary == "mean_t":
            ci = rows.get(n)
            if ci is None:
                values = [rep.get(n, math.nan) for rep in per_replication]
                ci = (summarise_kpi(n, values) if kind.declared
                      else confidence_interval(values))
            out[n] = ci
        elif kind.summary == "per_replication" and samples is not None:
            pooled = kind.pooled
            tails = [s[pooled] for s in samples if pooled in s]
            share = (kind.share if kind.share is not None or not tails
                     else kpi_info(pooled).family.quantile)  # an unknown one: UnknownKpi
            if tails and share is not None:
                out[pooled], psi = pooled_summary(tails, share)
                if influence is not None:
                    influence[pooled] = psi.tolist()
    return out


def _mean_t_rows(per_replication: list[dict[str, float]], names: list[str],
                 kinds: tuple[_Kind, ...], all_names: list[str], same_keys: bool,
                 level: float = 0.95) -> dict[str, dict]:
    """:func:`summarise_kpi` (or :func:`confidence_interval` for a name the catalogue
    does not know) of each KPI in ``names`` that every replication has without NaN,
    computed together (means and spreads in one NumPy call each, intervals in one);
    the same numbers, bit for bit. ``kinds``: those of ``all_names``."""
    got = _rows(per_replication, names, same_keys)
    if got is None:
        return {}
    full, rows, means, spreads = got
    size = len(per_replication)
    with np.errstate(invalid="ignore", over="ignore"):
        halves = (_t(0.5 + level / 2, size - 1) * spreads / math.sqrt(size)).tolist()
        spans = (rows.max(axis=1) - rows.min(axis=1)).tolist()
    kind_of = dict(zip(all_names, kinds, strict=True))
    out = {}
    for n, mean, half, span in zip(full, means.tolist(), halves, spans, strict=True):
        kind = kind_of[n]
        if not math.isfinite(mean):  # an infinite value has no interval
            ci = {"mean": mean, "ci_low": math.nan, "ci_high": math.nan}
        else:
            ci = _cut({"mean": mean, "ci_low": mean - half, "ci_high": mean + half},
                      kind.bounds)
        if kind.exact_if_constant and span <= 1e-12 * max(1.0, abs(ci["mean"])):
            ci.update(ci_low=ci["mean"], ci_high=ci["mean"], exact=True)
        out[n] = ci
    return out
