"""Checks every trace must pass, whatever the engine (used by several test modules)."""

from __future__ import annotations

import numpy as np

from borderesim.run.plan import Plan
from borderesim.run.sampling import Inputs
from borderesim.run.trace import FLUSHED, Trace


def in_progress(start: np.ndarray, end: np.ndarray, t: float) -> int:
    """Number of services in progress just after time t (no end: still in service when
    the run ended, which is after every time the trace records)."""
    end = np.where(np.isnan(end), np.inf, end)
    return int(((start <= t) & (end > t)).sum())


def check_trace(plan: Plan, inputs: Inputs, trace: Trace) -> None:
    """Conservation, ordering, capacity, FIFO, work conservation and flushing rules."""
    n = inputs.n
    finished = ~np.isnan(trace.exit)
    assert np.all(trace.exit[finished] >= inputs.arrival[finished] - 1e-12)
    for s in range(plan.n_stages):
        entry, start, end, lane = trace.entry[s], trace.start[s], trace.end[s], trace.lane[s]
        served = lane >= 0
        assert np.all(np.isnan(start[~served])) and np.all(np.isnan(end[~served]))
        has_start = ~np.isnan(start)
        assert np.all(start[has_start] >= entry[has_start] - 1e-12)
        has_end = ~np.isnan(end)
        assert np.all(has_start[has_end])
        assert np.allclose(end[has_end] - start[has_end],
                           inputs.service[lane[has_end], np.flatnonzero(has_end)])
        if plan.stage_referred[s]:
            assert not np.any(~trace.referred & ~np.isnan(entry))
        # class eligibility
        assert np.all(plan.eligible[lane[served], inputs.cls[served]])
        for ln in plan.lanes_of(s):
            mine = np.flatnonzero(lane == ln)
            st, en, ent = start[mine], end[mine], entry[mine]
            began = ~np.isnan(st)
            # FIFO within the lane: start order follows queue-entry order
            order = np.argsort(ent[began], kind="stable")
            assert np.all(np.diff(st[began][order]) >= -1e-9)
            # never more in service than on duty at a start (no start above capacity)
            for t in st[began]:
                assert in_progress(st[began], en[began], t) <= max(
                    plan.capacity(ln, t), 0) or plan.capacity(ln, t) == 0 and False
            # work conservation: whoever waits, waits because servers are full
            for k in np.flatnonzero(~began | (st > ent + 1e-9)):
                t = ent[k]
                assert in_progress(st[began], en[began], t) >= plan.capacity(ln, t)
        # flushing: waved through exactly when more than k were waiting
        k = plan.flush_above[s]
        if k >= 0:
            reached = np.flatnonzero(~np.isnan(entry))
            wait_end = np.where(np.isnan(start), np.inf, start)
            for i in reached[:2000]:
                t = entry[i]
                waiting = int(((entry < t) & (wait_end > t) & (lane >= 0)).sum())
                assert (lane[i] == FLUSHED) == (waiting > k), (i, waiting, k)
    assert n == len(trace.exit)
