"""The capacity search's sums of one replication under one roster, in compiled loops.

:meth:`Evaluator.rep_stats <borderesim.analysis.capacity.evaluate.Evaluator.rep_stats>`
judges every lane-hour from a few sums per replication: who queued in each lane by the
hour they entered it, per wait rule the sum of their waits or how many waited past the
limit, and where travellers waited in a lane while it had no server on duty. The search
runs them after every replay of every roster it tries, so they are made here in one
loop per stage (and one per lane with a closed hour) over the trace, not from the
traveller-sized masks and ``bincount`` passes of their plain statement,
:mod:`borderesim.testing.reference_capacity` (tests hold the two equal, bit for bit:
each lane-hour's sums are added in traveller order, as ``bincount`` adds them).

Definitions are :mod:`borderesim.analysis.outcomes`' (counted, queued, wait with the
drain cap's lower bound) and ``by_hour.hour_of_day``'s (``overload.hour_at``). Times are
minutes.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..by_hour import HOURS
from ..overload import hour_at

EPS = 1e-9
"""A wait is over a limit when above ``limit + EPS`` (minutes; the capacity search's)."""


@njit(cache=True)
def lane_hour_sums(lane, entry, start, arrival, warmup, horizon, run_end, rule_stage,
                   rule_mean, rule_limit, n_lanes):  # pragma: no cover
    """``(n, x, stage_n)`` of ``capacity.evaluate.RepStats`` for one replication.

    ``lane``/``entry``/``start``: the trace's [S, n] rows (``lane`` of any integer type),
    ``arrival`` float64[n]; the counted window ``[warmup, horizon)``, ``run_end`` (the
    begin of a wait still open when the run ended). ``rule_stage[k, s]``: rule ``k``
    applies to a lane of stage ``s`` (its ``x[k]`` is summed there; the stage's lanes'
    ``n`` when some rule does), ``rule_mean[k]``:
    rule ``k`` is on the mean wait (``x`` sums waits) or else a percentile (``x`` counts
    waits above ``rule_limit[k] + EPS``). Per counted traveller who queued at stage
    ``s`` (lane ``l``, entering in hour of day ``h``, waiting ``w``): ``stage_n[s, h]``
    += 1, ``n[l, h]`` += 1, ``x[k, l, h]`` += ``w`` or ``w > limit``."""
    n_stages, size = lane.shape
    n_rules = rule_mean.shape[0]
    n = np.zeros((n_lanes, HOURS))
    x = np.zeros((n_rules, n_lanes, HOURS))
    stage_n = np.zeros((n_stages, HOURS))
    for s in range(n_stages):
        ruled = False  # some rule applies to a lane of the stage
        for k in range(n_rules):
            ruled |= rule_stage[k, s]
        for i in range(size):
            ln = lane[s, i]
            if ln < 0:  # not queued here
                continue
            t_in = arrival[i]
            if not (t_in >= warmup and t_in < horizon):  # not counted
                continue
            t_entry = entry[s, i]
            h = hour_at(t_entry)
            stage_n[s, h] += 1.0
            if not ruled:
                continue
            n[ln, h] += 1.0
            begin = start[s, i]
            w = (run_end if math.isnan(begin) else begin) - t_entry
            if math.isnan(w):
                w = 0.0
            for k in range(n_rules):
                if rule_stage[k, s]:
                    if rule_mean[k]:
                        x[k, ln, h] += w
                    else:
                        x[k, ln, h] += 1.0 if w > rule_limit[k] + EPS else 0.0
    return n, x, stage_n


@njit(cache=True)
def stranded_hours(lane, entry, start, roster, run_end):  # pragma: no cover - compiled
    """bool[L, 24]: hours of day in which a lane had no server on duty (``roster[l, h]
    == 0``) while a traveller waited in it (counted or not; a wait still open at the run's
    end lasting to ``run_end``). A wait spans the clock hours from the one it began in to
    the one before the hour its service began in (at least the first), within the run's
    ``ceil(run_end / 60)`` hours. One loop per stage over its travellers, skipping those
    in lanes that never close."""
    n_lanes = roster.shape[0]
    n_stages, n = lane.shape
    out = np.zeros((n_lanes, HOURS), dtype=np.bool_)
    bins = int(math.ceil(run_end / 60.0))
    shut = np.zeros(n_lanes, dtype=np.bool_)
    for ln in range(n_lanes):
        for h in range(HOURS):
            shut[ln] |= roster[ln, h] == 0
    if not shut.any() or bins <= 0:
        return out
    closed = np.zeros((n_lanes, bins), dtype=np.bool_)
    before = np.zeros((n_lanes, bins + 1), dtype=np.int64)  # closed hours before each
    for ln in range(n_lanes):
        for b in range(bins):
            closed[ln, b] = roster[ln, b % HOURS] == 0
            before[ln, b + 1] = before[ln, b] + closed[ln, b]
    for s in range(n_stages):
        for i in range(n):
            ln = lane[s, i]
            if ln < 0 or not shut[ln]:
                continue
            t_entry = entry[s, i]
            begin = start[s, i]
            if math.isnan(begin):
                begin = run_end
            if not begin - t_entry > EPS:  # did not wait
                continue
            first = min(max(int(math.floor(t_entry / 60.0)), 0), bins - 1)
            last = min(max(int(math.ceil(begin / 60.0)) - 1, first), bins - 1)
            if before[ln, last + 1] - before[ln, first] == 0:
                continue
            for b in range(first, last + 1):
                if closed[ln, b]:
                    out[ln, b % HOURS] = True
    return out
