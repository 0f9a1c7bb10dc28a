"""KPIs by hour of day: waits of the travellers *entering* a stage in each hour, and
time-averaged queue length and utilisation in each hour.

Times are minutes; hours are hours of day (0-23), so a run of several days pools
the same clock hour of every counted day. Only travellers who arrive in the counted
window ``[warmup, horizon)`` are counted for waits, each followed to their exit;
queue length and utilisation are time averages over the window ``[warmup, horizon)``.

Waits are pooled over replications (and days) before taking a percentile: with a
hundred travellers in an hour, per-replication percentiles would be noisy and
biased. Percentiles are the package's one definition (:mod:`borderesim.analysis.quantiles`:
inverted CDF, pooled), the same as ``run``'s ``wait_p95``, so "the 95th percentile is
at most ``t``" is exactly "at most 5 % of travellers wait longer than ``t``".
Utilisation counts busy time only up to the servers on duty; serving beyond them
(officers finishing a traveller after their shift or as an outage begins) is
``overtime_hours``. Servers on duty are the plan's capacity over time
(:meth:`borderesim.run.plan.Plan.capacity_changes`: the roster, no server in an outage),
the same the engines follow, plus the reserve officers serving in the lane
(``Trace.reserve_duty``, recorded by the engines).

Waits are :meth:`borderesim.analysis.outcomes.Outcome.wait`, the same numbers ``run``
averages: a traveller still waiting when the drain cap ended the run counts at the
lower bound ``run_end - entry`` (flagged ``censored``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..memo import per_object
from ..run.plan import Plan
from ..run.sampling import Inputs
from ..run.trace import Trace
from . import quantiles
from .outcomes import Outcome, occupancy
from .outcomes import interval_minutes as interval_minutes  # re-exported

HOURS = 24


def hour_of_day(t: np.ndarray) -> np.ndarray:
    """Hour of day (0-23) of times ``t`` in minutes from 00:00 of day one."""
    return (np.floor(np.asarray(t, dtype=float) / 60.0) % HOURS).astype(np.int64)


def window_segments(t0: float, t1: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges of the clock-hour pieces of ``[t0, t1)``, each piece's hour of day and length."""
    inner = np.arange(math.floor(t0 / 60) + 1, math.ceil(t1 / 60)) * 60.0
    edges = np.concatenate([[t0], inner[(inner > t0) & (inner < t1)], [t1]])
    return edges, hour_of_day(edges[:-1]), np.diff(edges)


def by_hour(hours: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` per hour of day (float[24])."""
    return np.bincount(hours, weights=values, minlength=HOURS)[:HOURS]


@dataclass(frozen=True)
class StageWaits:
    """Waits at one stage in one replication, one entry per counted traveller who
    queued there (flushed travellers are left out): hour of day of entering the
    stage, global lane, wait in minutes, and whether the wait is a lower bound."""

    hour: np.ndarray  # int64[m]
    lane: np.ndarray  # int64[m]
    wait: np.ndarray  # float64[m]
    censored: np.ndarray  # bool[m]


def stage_waits(plan: Plan, inputs: Inputs, trace: Trace, s: int) -> StageWaits:
    """Waits at stage ``s`` of the counted travellers, by the hour they entered the stage."""
    outcome = Outcome(plan, inputs, trace)
    here = outcome.counted & outcome.queued(s)
    return StageWaits(hour_of_day(trace.entry[s][here]), trace.lane[s][here].astype(np.int64),
                      outcome.wait(s)[here], outcome.censored(s)[here])


def quantile(values: np.ndarray, q: float) -> float:
    """The ``q``-th percentile (q in 0-100) by :func:`borderesim.analysis.quantiles.quantile`;
    NaN for no values."""
    return quantiles.quantile(values, q / 100.0)


def hourly_quantile(hours: np.ndarray, values: np.ndarray, q: float) -> np.ndarray:
    """The ``q``-th percentile of ``values`` per hour of day (NaN where none)."""
    return np.array([quantile(values[hours == h], q) for h in range(HOURS)])


def hourly_mean(hours: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mean of ``values`` per hour of day (NaN where none)."""
    n = np.bincount(hours, minlength=HOURS)[:HOURS]
    total = by_hour(hours, values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def within_duty(busy: np.ndarray, on_duty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Busy server-minutes split into those within the servers on duty and overtime
    beyond them (same shapes); overtime under 1e-9 min (rounding of sums) is 0."""
    within = np.minimum(busy, on_duty)
    overtime = busy - within
    overtime[overtime < 1e-9] = 0.0
    return within, overtime


def duty_minutes(plan: Plan, edges: np.ndarray) -> np.ndarray:
    """float64[L, K]: server-minutes on duty in each lane within each window
    ``[edges[k], edges[k + 1])`` (``edges`` increasing minutes, none past
    ``max(plan.run_end, plan.horizon)``).

    The plan's capacity over time, integrated exactly: :meth:`Plan.capacity_changes`
    (the roster, no server in an outage: what the engines follow, and what
    :meth:`Plan.server_minutes` integrates over one window). Reserve officers are not
    included. A window holding no capacity change is one product (servers times its
    length), so without outages this is ``roster[lane, hour] * length`` bit for bit.
    """
    edges = np.asarray(edges, dtype=float)
    ch = plan.capacity_changes()
    cuts = np.union1d(ch.times, edges)
    cuts = cuts[(cuts >= edges[0]) & (cuts <= edges[-1])]
    lo, length = cuts[:-1], np.diff(cuts)  # each piece within one change and one window
    change = np.searchsorted(ch.times, lo, side="right") - 1
    window = np.searchsorted(edges, lo, side="right") - 1
    minutes = ch.on_duty()[change].T * length  # lanes x pieces
    return np.array([np.bincount(window, row, edges.size - 1) for row in minutes]
                    ).reshape(plan.n_lanes, edges.size - 1)


def window_duty(plan: Plan) -> np.ndarray:
    """:func:`duty_minutes` over the clock-hour pieces of the counted window
    (:func:`window_segments`), computed once per plan (read-only)."""
    def make() -> np.ndarray:
        duty = duty_minutes(plan, window_segments(plan.warmup, plan.horizon)[0])
        duty.flags.writeable = False
        return duty
    return per_object(plan, "by_hour.window_duty", make)


def lane_duty(plan: Plan, trace: Trace, lanes: slice) -> np.ndarray:
    """float64[lanes, P]: server-minutes on duty in ``lanes`` (global indices) within each
    clock-hour piece of the counted window: the plan's (:func:`window_duty`: the roster
    less outages) plus the reserve officers serving there in this replication
    (``Trace.reserve_duty``; none without a reserve)."""
    duty = window_duty(plan)[lanes]
    if trace.reserve_duty is not None:
        duty = duty + trace.reserve_duty[lanes]
    return duty


def stage_time_sums(plan: Plan, trace: Trace, s: int) -> dict[str, np.ndarray]:
    """Per hour of day over ``[warmup, horizon)`` for stage ``s`` (float[24] each):
    ``waiting`` traveller-minutes spent queueing, ``busy`` server-minutes serving within
    the servers on duty (lane by lane, clock hour by clock hour), ``overtime``
    server-minutes serving beyond them, ``on_duty`` server-minutes on duty
    (:func:`lane_duty`: the roster less outages, plus reserve officers) and ``minutes``
    of window."""
    edges, hours, lengths = window_segments(plan.warmup, plan.horizon)
    occupied = occupancy(plan, trace, s, edges)
    lanes = plan.lanes_of(s)
    on_duty = lane_duty(plan, trace, slice(lanes.start, lanes.stop))  # lanes x pieces
    within, overtime = within_duty(occupied.busy, on_duty)
    return {
        "waiting": by_hour(hours, occupied.waiting.sum(axis=0)),
        "busy": by_hour(hours, within.sum(axis=0)),
        "overtime": by_hour(hours, overtime.sum(axis=0)),
        "on_duty": by_hour(hours, on_duty.sum(axis=0)),
        "minutes": by_hour(hours, lengths),
    }


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def hourly_kpis(
    plan: Plan, runs: Sequence[tuple[Inputs, Trace]], q: float = 95.0
) -> dict[str, dict[str, np.ndarray]]:
    """Stage KPIs by hour of day, pooled over the replications ``runs``.

    For each stage name, float[24] arrays:
    ``entering_per_hour`` (counted travellers queueing there per clock hour),
    ``wait_mean`` and ``wait_pQ`` (minutes; travellers entering the stage in that hour),
    ``queue_mean`` (time-average number waiting), ``utilization`` (busy within the
    servers on duty / on duty, in [0, 1]; on duty: the roster less outages, plus
    reserve officers) and
    ``overtime_hours`` (server-hours served beyond the servers on duty, per
    replication).
    """
    out: dict[str, dict[str, np.ndarray]] = {}
    _, seg_hours, seg_len = window_segments(plan.warmup, plan.horizon)
    exposure = by_hour(seg_hours, seg_len) / 60.0 * max(len(runs), 1)  # clock hours observed
    for s, sname in enumerate(plan.stage_names):
        waits = [stage_waits(plan, inputs, trace, s) for inputs, trace in runs]
        hours = np.concatenate([w.hour for w in waits]) if waits else np.zeros(0, np.int64)
        wait = np.concatenate([w.wait for w in waits]) if waits else np.zeros(0)
        sums = [stage_time_sums(plan, trace, s) for _, trace in runs]
        total = {k: sum(x[k] for x in sums)
                 for k in ("waiting", "busy", "overtime", "on_duty", "minutes")}
        out[sname] = {
            "entering_per_hour": _ratio(np.bincount(hours, minlength=HOURS)[:HOURS], exposure),
            "wait_mean": hourly_mean(hours, wait),
            f"wait_p{q:g}": hourly_quantile(hours, wait, q),
            "queue_mean": _ratio(total["waiting"], total["minutes"]),
            "utilization": _ratio(total["busy"], total["on_duty"]),
            "overtime_hours": total["overtime"] / 60.0 / max(len(runs), 1),
        }
    return out
