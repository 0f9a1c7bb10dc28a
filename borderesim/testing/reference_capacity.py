"""The capacity search's per-replication sums in plain NumPy: the reference for the compiled ones.

``Evaluator.rep_stats`` (``borderesim.analysis.capacity.evaluate``) makes its sums in
compiled loops (``borderesim.analysis.capacity.kernel``); this is the version before
them, kept as written (masks from ``analysis.outcomes``, ``bincount`` by lane-hour) so
tests can compare the two bit for bit on the example scenarios and on generated ones.
"""

from __future__ import annotations

import math

import numpy as np

from ..analysis.by_hour import HOURS, hour_of_day, stage_waits
from ..analysis.capacity.evaluate import EPS, Evaluator, RepStats
from ..run.plan import Plan
from ..run.sampling import Inputs
from ..run.trace import Trace


def rep_stats(ev: Evaluator, plan: Plan, inputs: Inputs, trace: Trace) -> RepStats:
    """The sums one replication contributes to every lane-hour's judgement."""
    L, S, K = plan.n_lanes, plan.n_stages, len(ev.rules)
    n = np.zeros((L, HOURS))
    x = np.zeros((K, L, HOURS))
    stage_n = np.zeros((S, HOURS))
    for s in range(S):
        w = stage_waits(plan, inputs, trace, s)
        stage_n[s] = np.bincount(w.hour, minlength=HOURS)[:HOURS]
        lanes = plan.lanes_of(s)
        if not ev.applies[:, lanes].any():
            continue
        idx = w.lane * HOURS + w.hour
        n += np.bincount(idx, minlength=L * HOURS)[:L * HOURS].reshape(L, HOURS)
        for k, rule in enumerate(ev.rules):
            if not ev.applies[k, lanes].any():
                continue
            weights = w.wait if rule.percentile is None else \
                (w.wait > rule.limit + EPS).astype(float)
            x[k] += np.bincount(idx, weights=weights,
                                minlength=L * HOURS)[:L * HOURS].reshape(L, HOURS)
    return RepStats(n, x, stranded(plan, trace), stage_n)


def stranded(plan: Plan, trace: Trace) -> np.ndarray:
    """bool[L, 24]: a lane with no server on duty in that hour while travellers wait in it."""
    out = np.zeros((plan.n_lanes, HOURS), dtype=bool)
    bins = int(math.ceil(plan.run_end / 60.0))
    hours = hour_of_day(np.arange(bins) * 60.0)
    for lane in np.flatnonzero((plan.roster == 0).any(axis=1)):
        s = int(plan.lane_stage[lane])
        here = trace.lane[s] == lane
        entry, start = trace.entry[s][here], trace.start[s][here]
        start = np.where(np.isnan(start), plan.run_end, start)
        waits = start - entry > EPS
        if not waits.any():
            continue
        closed = plan.roster[lane, hours] == 0  # [bins]
        before = np.concatenate([[0], np.cumsum(closed)])  # closed bins before each bin
        first = np.clip(np.floor(entry[waits] / 60.0).astype(np.int64), 0, bins - 1)
        last = np.clip(np.ceil(start[waits] / 60.0).astype(np.int64) - 1, first, bins - 1)
        hit = before[last + 1] - before[first] > 0
        for a, b in zip(first[hit], last[hit], strict=True):
            span = np.arange(a, b + 1)
            out[lane, np.unique(hours[span[closed[span]]])] = True
    return out
