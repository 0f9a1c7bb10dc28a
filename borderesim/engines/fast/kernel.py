"""Numba kernels: the crossing model as one compiled event loop.

The loop merges three ordered event sources, exactly as the SimPy engine orders them
(see ``engines/simpy_engine.py`` and DEVELOPERS.md):

* roster changes at every hour boundary ``hour * 60`` minutes (priority 1);
* service completions, kept in a small binary heap keyed ``(time, traveller)``
  (priority ``2 + i``); at most one per busy server, so the heap stays small;
* arrivals, already sorted, read in order (priority ``2 + n + i``).

At equal times the roster comes first, then completions by traveller index, then
arrivals by traveller index. Everything an event causes (starts in freed servers,
the next stage's referral decision, flushing and lane choice) happens inside that
event's handling. Each lane's FIFO queue is a linked list through one shared
``next`` array (a traveller waits in at most one queue at a time), so memory is
``O(n)`` whatever the queue lengths. Times are minutes (float64).
"""

from __future__ import annotations

import numpy as np
from numba import njit

FLUSHED = -2


@njit(cache=True, inline="always")
def _heap_push(htime, hidx, hlane, size, t, i, lane):
    """Push completion ``(t, i)`` in ``lane``; returns the new heap size."""
    k = size
    while k > 0:
        parent = (k - 1) >> 1
        pt = htime[parent]
        if pt < t or (pt == t and hidx[parent] < i):
            break
        htime[k] = pt
        hidx[k] = hidx[parent]
        hlane[k] = hlane[parent]
        k = parent
    htime[k] = t
    hidx[k] = i
    hlane[k] = lane
    return size + 1


@njit(cache=True, inline="always")
def _heap_pop(htime, hidx, hlane, size):
    """Remove the heap's top (the caller has read it); returns the new heap size."""
    size -= 1
    if size == 0:
        return 0
    t = htime[size]
    i = hidx[size]
    lane = hlane[size]
    k = 0
    while True:
        child = 2 * k + 1
        if child >= size:
            break
        right = child + 1
        if right < size:
            ct, rt = htime[child], htime[right]
            if rt < ct or (rt == ct and hidx[right] < hidx[child]):
                child = right
        ct = htime[child]
        if t < ct or (t == ct and i < hidx[child]):
            break
        htime[k] = ct
        hidx[k] = hidx[child]
        hlane[k] = hlane[child]
        k = child
    htime[k] = t
    hidx[k] = i
    hlane[k] = lane
    return size


@njit(cache=True)
def replay(
    arrival, cls, service, score, has_dynamic, dyn_threshold, dyn_per_waiting,
    lane_stage, lane_start, stage_referred, flush_above, eligible, roster, horizon,
    lane_out, entry, start, end, exit_, referred, threshold,
):
    """Replay one replication; fills the trace arrays in place.

    Inputs: ``arrival`` float64[n] (minutes, sorted), ``cls`` int64[n],
    ``service`` float64[L, n] (minutes), ``score`` float64[n] (dynamic rule; may be
    empty when ``has_dynamic`` is False), plan arrays as in ``Plan``, ``horizon``
    in minutes. Outputs (pre-filled with NOT_VISITED / NaN / the static referral):
    ``lane_out`` int[S, n], ``entry``/``start``/``end`` float64[S, n],
    ``exit_`` float64[n], ``referred`` bool[n], ``threshold`` float64[n].
    Returns the number of events handled.
    """
    n = arrival.shape[0]
    n_lanes = lane_stage.shape[0]
    n_stages = lane_start.shape[0] - 1

    # the first referred stage is where every referral is settled (stages are in order)
    first_ref = -1
    for s in range(n_stages):
        if stage_referred[s]:
            first_ref = s
            break

    cap = np.empty(n_lanes, np.int64)
    busy = np.zeros(n_lanes, np.int64)
    qhead = np.full(n_lanes, -1, np.int64)
    qtail = np.full(n_lanes, -1, np.int64)
    qlen = np.zeros(n_lanes, np.int64)
    stage_wait = np.zeros(n_stages, np.int64)
    heap_cap = 1
    for lane in range(n_lanes):
        cap[lane] = roster[lane, 0]
        heap_cap += roster[lane].max()
    nxt = np.empty(n, np.int64)
    htime = np.empty(heap_cap, np.float64)
    hidx = np.empty(heap_cap, np.int64)
    hlane = np.empty(heap_cap, np.int64)
    size = 0

    hour = 1
    t_roster = 60.0 if 60.0 < horizon else np.inf
    a = 0.0  # SimPy's clock at the previous arrival: arrival i fires at a + (arrival[i] - a)
    nxt_arr = 0
    events = 0

    while True:
        # the next event of each source; roster < completion < arrival at equal times
        t_arr = np.inf
        if nxt_arr < n:
            t_arr = a + (arrival[nxt_arr] - a)
        t_done = htime[0] if size > 0 else np.inf
        kind = 0
        t = t_roster
        if t_done < t:
            kind = 1
            t = t_done
        if t_arr < t:
            kind = 2
            t = t_arr
        if not t < horizon:
            break
        events += 1

        if kind == 0:
            # roster change: new capacities, then fill lanes in order
            h = hour % 24
            for lane in range(n_lanes):
                cap[lane] = roster[lane, h]
                s = lane_stage[lane]
                while qlen[lane] > 0 and busy[lane] < cap[lane]:
                    j = qhead[lane]
                    qhead[lane] = nxt[j]
                    qlen[lane] -= 1
                    stage_wait[s] -= 1
                    busy[lane] += 1
                    start[s, j] = t
                    size = _heap_push(htime, hidx, hlane, size, t + service[lane, j], j, lane)
            hour += 1
            t_roster = hour * 60.0
            if not t_roster < horizon:
                t_roster = np.inf
            continue

        if kind == 1:
            # completion of traveller i in `lane`: free the server, fill, move on
            i = hidx[0]
            lane = hlane[0]
            size = _heap_pop(htime, hidx, hlane, size)
            s = lane_stage[lane]
            busy[lane] -= 1
            while qlen[lane] > 0 and busy[lane] < cap[lane]:
                j = qhead[lane]
                qhead[lane] = nxt[j]
                qlen[lane] -= 1
                stage_wait[s] -= 1
                busy[lane] += 1
                start[s, j] = t
                size = _heap_push(htime, hidx, hlane, size, t + service[lane, j], j, lane)
            end[s, i] = t
            s0 = s + 1
        else:
            i = nxt_arr
            nxt_arr += 1
            a = t
            s0 = 0

        # traveller i reaches stage s0 (and any it passes straight through) at time t
        placed = False
        for s in range(s0, n_stages):
            if stage_referred[s]:
                if s == first_ref and has_dynamic:
                    thr = dyn_threshold + dyn_per_waiting * stage_wait[s]
                    threshold[i] = thr
                    if score[i] >= thr:
                        referred[i] = True
                if not referred[i]:
                    continue
            entry[s, i] = t
            if flush_above[s] >= 0 and stage_wait[s] > flush_above[s]:
                lane_out[s, i] = FLUSHED
                continue
            c = cls[i]
            best = -1
            best_closed = True
            best_load = 0
            for lane in range(lane_start[s], lane_start[s + 1]):
                if not eligible[lane, c]:
                    continue
                closed = cap[lane] == 0
                idle = cap[lane] - busy[lane]
                if idle < 0:
                    idle = 0
                load = qlen[lane] - idle
                if best < 0 or (best_closed and not closed) or (
                    closed == best_closed and load < best_load
                ):
                    best = lane
                    best_closed = closed
                    best_load = load
            lane_out[s, i] = best
            if busy[best] < cap[best] and qlen[best] == 0:
                busy[best] += 1
                start[s, i] = t
                size = _heap_push(htime, hidx, hlane, size, t + service[best, i], i, best)
            else:
                # join the queue (a full lane with waiting travellers cannot start anyone)
                nxt[i] = -1
                if qlen[best] == 0:
                    qhead[best] = i
                else:
                    nxt[qtail[best]] = i
                qtail[best] = i
                qlen[best] += 1
                stage_wait[s] += 1
            placed = True
            break
        if not placed:
            exit_[i] = t
    return events
