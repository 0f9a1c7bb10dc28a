"""Numba kernels: the crossing model as one compiled event loop.

The semantics are stated once, in the docstring of ``borderesim/testing/semantics.py``
(pinned by the cases in ``borderesim/testing/cases.py``). The loop merges three ordered
event sources exactly as the SimPy engine orders them:

* capacity changes at every hour boundary and outage edge, ``cap_times`` (SimPy
  priority 1);
* a reserve officer arriving at a stage (one pending per stage at most; priority
  between 1 and 2, stages in order);
* service completions, in a small 4-ary heap keyed ``(time, traveller)`` (priority
  ``2 + i``); at most one entry per busy server, so the heap stays small;
* arrivals, already sorted, read in order (priority ``2 + n + i``).

At equal times capacity changes come first, then reserve officers by stage, then
completions by traveller index, then arrivals by traveller index. Everything an
event causes (starts in freed servers, the next stage's referral decision, flushing,
lane choice and calling a reserve officer) happens inside that
event's handling, as it does in SimPy. Arrival ``i`` fires at ``a + (arrival[i] - a)``
with ``a`` the previous arrival's time, the very float SimPy's clock computes.

Each lane's FIFO queue is a linked list through one shared ``nxt`` array (a
traveller waits in at most one queue at a time), so memory is ``O(n)`` whatever the
queue lengths. All 2-D arrays are passed flattened (row-major), which keeps the
compiled loop's register pressure low. Indices are cast to unsigned (``_u``) in the
loop: numba then skips the negative-index wraparound it adds to every signed index,
which saved about a sixth of the loop's time (all indices here are >= 0; the scenario
schema guarantees every class a lane at every stage). Times are minutes (float64).
No fastmath: every sum is rounded exactly as Python rounds it.

Helpers that take arrays are inlined in numba's IR (``inline="always"``): LLVM declined
to inline ``_clear``, ``_choose_lane`` and the heap's sifts (numba passes an array as
seven machine words, so a call pushed dozens of them), and those calls cost about a
fifth of the loop's time; inlined, the land crossing's loop went from ~14.8 to ~18.5 M
travellers/s (``experiments/bench_engines.py``). Scalar helpers (``_u``, ``_before``,
``_earlier``) LLVM inlines by itself; cold paths (outages, slowdowns) stay calls.
Measured later (``fast.run`` on fixed 72 h inputs, best of 300, load ~0.5; land crossing
13 147 travellers, airport 54 707, cargo 2 662):

* helped: clearing the trace in one vectorised pass before the loop instead of each
  traveller's slots as it arrives: land 0.654 -> 0.612 ms, airport 3.15 -> 3.01 ms,
  cargo 0.158 -> 0.147 ms (~5 %).
* did not: choosing the next event source (completion or arrival) with selects instead
  of branches, 0.654 -> 0.651 ms (noise; LLVM already emits selects, and the dispatch on
  the kind remains a coin flip); counting the counted travellers by index range
  (``searchsorted``) instead of reading their arrival times, 0.612 -> 0.612 ms.
* left: the wrapper (``fast.run``: trace allocation, dispatch of 38 arguments) is ~10 us
  of the land crossing's ~650 us (1.5 %), ``Trace.unfilled`` ~6 us of it.

Trace outputs are written with the caller's dtypes (lane codes ``int8`` for up to 127
lanes, ``trace.lane_dtype``), and ``threshold`` only under a queue-aware rule.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

FLUSHED = -2
"""Lane code of a traveller waved through a stage (as ``trace.FLUSHED``)."""
NOT_VISITED = -1
"""Lane code of a stage the traveller has not reached (as ``trace.NOT_VISITED``)."""
LANE_BITS = 16
"""Heap entries pack ``traveller << LANE_BITS | lane``: ordering by key orders by traveller."""
MAX_LANES = 1 << LANE_BITS
MAX_TRAVELLERS = (1 << 31) - 1
"""Travellers a replication may have: queues link travellers by int32 index."""

# lane state, five int64 per lane in one array: servers on duty, busy, queue head, tail, length
_CAP, _BUSY, _HEAD, _TAIL, _QLEN = 0, 1, 2, 3, 4
_W = 5
_CLOSED = 1 << 40
"""Lane-choice rank added for a closed lane (queues are far shorter than 2**39)."""
_NEVER = 1 << 62
"""Lane-choice rank of a lane the class may not use."""


@njit(cache=True)
def _u(i):
    """``i`` (>= 0) as an index numba need not check for being negative.

    Numba wraps a negative signed index Python-style (``a[-1]``), which costs a shift,
    a mask and the array's length in a register at every access; unsigned ones skip it.
    """
    return np.uint64(i)


@njit(cache=True)
def _before(t1, k1, t2, k2):
    """``(t1, k1) < (t2, k2)``, evaluated without branches."""
    return (t1 < t2) | ((t1 == t2) & (k1 < k2))


@njit(cache=True, inline="always")
def _sift_up(htime, hkey, size, t, key):
    """Add ``(t, key)`` to the heap of ``size`` entries; returns the new size."""
    k = size
    while k > 0:
        parent = (k - 1) >> 2
        pt = htime[_u(parent)]
        if _before(pt, hkey[_u(parent)], t, key):
            break
        htime[_u(k)] = pt
        hkey[_u(k)] = hkey[_u(parent)]
        k = parent
    htime[_u(k)] = t
    hkey[_u(k)] = key
    return size + 1


@njit(cache=True)
def _earlier(htime, hkey, a, b):
    """The slot, ``a`` or ``b``, of the earlier entry (no branches)."""
    return b if _before(htime[_u(b)], hkey[_u(b)], htime[_u(a)], hkey[_u(a)]) else a


@njit(cache=True, inline="always")
def _sift_down(htime, hkey, size, t, key):
    """Put ``(t, key)`` in place of the heap's top and restore the heap of ``size`` entries."""
    k = 0
    while True:
        c = 4 * k + 1
        if c >= size:
            break
        # slots past the end hold +inf, so all four children can be compared blindly;
        # the winner is picked by slot (selecting floats would compile to coin-flip branches)
        c = _earlier(htime, hkey, _earlier(htime, hkey, c, c + 1),
                     _earlier(htime, hkey, c + 2, c + 3))
        ct = htime[_u(c)]
        ck = hkey[_u(c)]
        if _before(t, key, ct, ck):
            break
        htime[_u(k)] = ct
        hkey[_u(k)] = ck
        k = c
    htime[_u(k)] = t
    hkey[_u(k)] = key


@njit(cache=True, inline="always")
def _heap_add(htime, hkey, size, top_done, t, key):
    """Add a completion; if the top is a completion already handled, replace it instead."""
    if top_done:
        _sift_down(htime, hkey, size, t, key)
        return size
    return _sift_up(htime, hkey, size, t, key)


@njit(cache=True, inline="always")
def _choose_lane(st, eligible, n_cls, c, lo, hi):
    """Lane for class ``c`` among ``lo:hi``: lowest ``(closed, waiting - idle, order)``.

    The tuple is ranked as one integer (a lane the class may not use ranks last; the
    schema guarantees one it may use), so the scan has no data-dependent branches.
    """
    best = lo
    best_rank = _NEVER
    for lane in range(lo, hi):
        b = _W * lane
        cap = st[_u(b + _CAP)]
        idle = max(cap - st[_u(b + _BUSY)], 0)
        rank = st[_u(b + _QLEN)] - idle + (cap == 0) * _CLOSED
        rank = rank if eligible[_u(lane * n_cls + c)] else _NEVER
        better = rank < best_rank
        best = lane if better else best
        best_rank = rank if better else best_rank
    return best


@njit(cache=True, inline="always")
def _clear(lane_out, entry, start, end, exit_, threshold, has_dynamic):
    """Every trace slot as before anything happens: NOT_VISITED and NaN (``threshold``
    only under a queue-aware rule: without one it is a read-only view).

    One pass per array before the loop, which LLVM vectorises (64-byte stores): ~5 %
    faster than clearing each traveller's slots as it arrives (which the loop did before).
    """
    for k in range(lane_out.shape[0]):
        lane_out[k] = NOT_VISITED
    for k in range(entry.shape[0]):
        entry[k] = np.nan
    for k in range(start.shape[0]):
        start[k] = np.nan
    for k in range(end.shape[0]):
        end[k] = np.nan
    for k in range(exit_.shape[0]):
        exit_[k] = np.nan
    if has_dynamic:
        for k in range(threshold.shape[0]):
            threshold[k] = np.nan


@njit(cache=True)
def _slowed(d, lane, t, slow_lane, slow_from, slow_to, slow_factor):
    """Service time ``d`` of a start in ``lane`` at ``t`` times every slowdown window of
    the lane holding ``t`` (in window order)."""
    for w in range(slow_lane.shape[0]):
        if slow_lane[w] == lane and slow_from[w] <= t and t < slow_to[w]:
            d = d * slow_factor[w]
    return d


@njit(cache=True)
def _accrue(duty, lane, pieces, officers, t0, t1, warmup, horizon):  # pragma: no cover
    """Add ``officers`` x the minutes of ``[t0, t1)`` in each clock-hour piece of the
    counted window ``[warmup, horizon)`` to lane ``lane``'s row of ``duty`` (float64
    [L * pieces], the pieces of ``by_hour.window_segments``)."""
    if officers <= 0:
        return
    a = max(t0, warmup)
    b = min(t1, horizon)
    first = math.floor(warmup / 60.0)
    while a < b:
        hour = math.floor(a / 60.0)
        e = min(b, (hour + 1) * 60.0)
        duty[_u(lane * pieces + hour - first)] += officers * (e - a)
        a = e


@njit(cache=True)
def _preempt(htime, hkey, size, lane, s, n, start, st, nxt, stage_wait):
    """An outage pre-empts ``lane``: its travellers in service leave the heap and go back
    to the head of the queue, earliest start first (ties by traveller). Returns the size."""
    mask = MAX_LANES - 1
    out = np.empty(size, np.int64)
    keep_t = np.empty(size, np.float64)
    keep_k = np.empty(size, np.int64)
    m = 0
    kept = 0
    for k in range(size):
        key = hkey[k]
        if key & mask == lane:
            out[m] = key >> LANE_BITS
            m += 1
        else:
            keep_t[kept] = htime[k]
            keep_k[kept] = key
            kept += 1
    for k in range(size):
        htime[k] = np.inf
    size = 0
    for k in range(kept):
        size = _sift_up(htime, hkey, size, keep_t[k], keep_k[k])
    # insertion sort of the pre-empted by (start, traveller)
    for a in range(1, m):
        j = out[a]
        b = a - 1
        while b >= 0 and (start[s * n + out[b]] > start[s * n + j]
                          or (start[s * n + out[b]] == start[s * n + j] and out[b] > j)):
            out[b + 1] = out[b]
            b -= 1
        out[b + 1] = j
    base = _W * lane
    for a in range(m - 1, -1, -1):
        j = out[a]
        if st[base + _QLEN] == 0:
            nxt[j] = -1
            st[base + _TAIL] = j
        else:
            nxt[j] = st[base + _HEAD]
        st[base + _HEAD] = j
        st[base + _QLEN] += 1
        st[base + _BUSY] -= 1
        stage_wait[s] += 1
        start[s * n + j] = np.nan
    return size


@njit(cache=True)
def replay_flat(
    arrival, cls, service, score, has_dynamic, dyn_threshold, dyn_per_waiting,
    lane_stage, lane_start, stage_referred, flush_above, eligible, horizon, warmup, run_end,
    cap_times, cap_level, cap_down, cap_preempt, slow_lane, slow_from, slow_to, slow_factor,
    res_officers, res_open, res_close, res_call, booths,
    lane_out, entry, start, end, exit_, referred, threshold, reserve_minutes,
    reserve_duty, duty_pieces,
):
    """Replay one replication; fills the (flattened) trace arrays in place.

    Inputs: ``arrival`` float64[n] (minutes, sorted), ``cls`` int64[n], ``service``
    float64[L*n] (minutes, lane-major), ``score`` float64[n] (dynamic rule; unused
    unless ``has_dynamic``), ``lane_stage`` int64[L], ``lane_start`` int64[S+1],
    ``stage_referred`` bool[S], ``flush_above`` int64[S], ``eligible`` bool[L*C],
    ``horizon`` minutes (end of the counted window), ``warmup`` (its start) and
    ``run_end`` (the drain cap; ``< horizon`` means ``horizon``); capacity changes
    (``plan.CapacityChanges`` flattened, up to the run end):
    ``cap_times`` float64[K] (minutes, ``[0] == 0``), ``cap_level``/``cap_down``/
    ``cap_preempt`` [K*L]; slowdown windows ``slow_*`` [W] (lane, from, to in minutes,
    factor); per stage ``res_officers``/``res_open``/``res_close`` int64[S], ``res_call``
    float64[S] (minutes), ``booths`` int64[S] (-1: no limit). Outputs, every slot written
    here (their contents on entry do not matter): ``lane_out`` int8/16/32[S*n] (any signed
    integer holding the lane indices), ``entry``/``start``/``end`` float64[S*n], ``exit_``
    float64[n], ``threshold`` float64[n] (written only if ``has_dynamic``; any array
    otherwise), ``reserve_minutes`` float64[S] (reserve officer-minutes), ``reserve_duty``
    float64[L * duty_pieces] (``Trace.reserve_duty``, written only with a reserve); and
    ``referred`` bool[n], which the caller fills with the static referral. At most
    ``MAX_TRAVELLERS`` travellers. Returns the number of events handled.
    """
    n = arrival.shape[0]
    n_lanes = lane_stage.shape[0]
    n_stages = lane_start.shape[0] - 1
    n_cls = eligible.shape[0] // n_lanes

    # [drain] past the horizon, events are handled only while a counted traveller is inside
    run_end = max(run_end, horizon)
    inside = 0
    # every referral is settled at the first referred stage (stages are visited in order)
    first_ref = -1
    for s in range(n_stages):
        if stage_referred[s]:
            first_ref = s
            break

    st = np.zeros(_W * n_lanes, np.int64)
    stage_wait = np.zeros(n_stages, np.int64)
    n_chg = cap_times.shape[0]
    lvl = np.zeros(n_lanes, np.int64)  # rostered servers
    dn = np.zeros(n_lanes, np.bool_)  # in an outage
    res = np.zeros(n_lanes, np.int64)  # reserve officers serving in the lane
    res_since = np.zeros(n_lanes)  # since when res and dn have held (Trace.reserve_duty)
    heap_cap = 1
    for lane in range(n_lanes):
        lvl[lane] = cap_level[lane]
        dn[lane] = cap_down[lane]
        st[_W * lane + _CAP] = 0 if dn[lane] else lvl[lane]
        peak = 0
        for k in range(n_chg):
            peak = max(peak, cap_level[k * n_lanes + lane])
        heap_cap += peak  # busy never exceeds peak servers (plus the reserve)
    has_reserve = False
    for s in range(n_stages):
        reserve_minutes[s] = 0.0
        heap_cap += res_officers[s]
        has_reserve = has_reserve or res_officers[s] > 0
    if has_reserve:
        for k in range(reserve_duty.shape[0]):
            reserve_duty[k] = 0.0
    n_slow = slow_lane.shape[0] > 0
    res_on = np.zeros(n_stages, np.int64)
    t_res = np.full(n_stages, np.inf)  # arrival of the officer called, if any
    nxt = np.empty(n, np.int32)  # travellers < MAX_TRAVELLERS: half the memory of int64
    # 4-ary heap; the slots a sift may look at past the last entry hold +inf
    htime = np.full(4 * heap_cap + 1, np.inf)
    hkey = np.zeros(4 * heap_cap + 1, np.int64)
    size = 0

    _clear(lane_out, entry, start, end, exit_, threshold, has_dynamic)
    kc = 1
    t_roster = cap_times[1] if n_chg > 1 else np.inf
    n_arr = 0
    t_arr = arrival[0] if n > 0 else np.inf
    events = 0

    while True:
        # next event: roster < completion < arrival at equal times (an empty heap tops +inf)
        kind = 0
        t = t_roster
        rs = 0
        if has_reserve:
            for s in range(n_stages):
                if t_res[s] < t:
                    kind = 3
                    t = t_res[s]
                    rs = s
        if htime[0] < t:
            kind = 1
            t = htime[0]
        if t_arr < t:
            kind = 2
            t = t_arr
        if not t < run_end or (inside == 0 and not t < horizon):
            break
        events += 1
        top_done = False

        if kind == 0:
            # capacity change: pre-emptions, new capacities, then starts in lane order. The
            # start loop below repeats the one after a completion on purpose: a shared
            # helper returning (size, top_done) measured ~25 % slower (bench_engines.py).
            for lane in range(n_lanes):
                b = _W * lane
                s = lane_stage[_u(lane)]
                if cap_preempt[_u(kc * n_lanes + lane)]:
                    size = _preempt(htime, hkey, size, lane, s, n, start, st, nxt, stage_wait)
                if res[_u(lane)] > 0:  # reserve officers serving until now
                    if not dn[_u(lane)]:
                        _accrue(reserve_duty, lane, duty_pieces, res[_u(lane)],
                                res_since[_u(lane)], t, warmup, horizon)
                    res_since[_u(lane)] = t
                lvl[_u(lane)] = cap_level[_u(kc * n_lanes + lane)]
                dn[_u(lane)] = cap_down[_u(kc * n_lanes + lane)]
                st[_u(b + _CAP)] = 0 if dn[_u(lane)] else lvl[_u(lane)] + res[_u(lane)]
                while st[_u(b + _QLEN)] > 0 and st[_u(b + _BUSY)] < st[_u(b + _CAP)]:
                    j = st[_u(b + _HEAD)]
                    st[_u(b + _HEAD)] = nxt[_u(j)]
                    st[_u(b + _QLEN)] -= 1
                    stage_wait[_u(s)] -= 1
                    st[_u(b + _BUSY)] += 1
                    start[_u(s * n + j)] = t
                    d = service[_u(lane * n + j)]
                    if n_slow:
                        d = _slowed(d, lane, t, slow_lane, slow_from, slow_to, slow_factor)
                    size = _sift_up(htime, hkey, size, t + d, (j << LANE_BITS) | lane)
            kc += 1
            t_roster = cap_times[_u(kc)] if kc < n_chg else np.inf
            continue

        if kind == 3:
            # a reserve officer arrives at stage rs: a booth in the lane with most waiting
            # (not in an outage, first listed on ties), if the stage has a booth free, and
            # the call rule again; else home (only a traveller joining calls again)
            t_res[_u(rs)] = np.inf
            best = -1
            most = -1
            on_duty = 0
            for lane in range(lane_start[_u(rs)], lane_start[_u(rs + 1)]):
                on_duty += lvl[_u(lane)] + res[_u(lane)]
                if not dn[_u(lane)] and st[_u(_W * lane + _QLEN)] > most:
                    best = lane
                    most = st[_u(_W * lane + _QLEN)]
            if best >= 0 and (booths[_u(rs)] < 0 or on_duty < booths[_u(rs)]):
                res_on[_u(rs)] += 1
                reserve_minutes[_u(rs)] -= t
                _accrue(reserve_duty, best, duty_pieces, res[_u(best)], res_since[_u(best)],
                        t, warmup, horizon)
                res_since[_u(best)] = t
                res[_u(best)] += 1
                b = _W * best
                st[_u(b + _CAP)] = lvl[_u(best)] + res[_u(best)]
                while st[_u(b + _QLEN)] > 0 and st[_u(b + _BUSY)] < st[_u(b + _CAP)]:
                    j = st[_u(b + _HEAD)]
                    st[_u(b + _HEAD)] = nxt[_u(j)]
                    st[_u(b + _QLEN)] -= 1
                    stage_wait[_u(rs)] -= 1
                    st[_u(b + _BUSY)] += 1
                    start[_u(rs * n + j)] = t
                    d = _slowed(service[_u(best * n + j)], best, t, slow_lane, slow_from,
                                slow_to, slow_factor)
                    size = _sift_up(htime, hkey, size, t + d, (j << LANE_BITS) | best)
                if (res_on[_u(rs)] < res_officers[_u(rs)]
                        and stage_wait[_u(rs)] > res_open[_u(rs)]):
                    t_res[_u(rs)] = t + res_call[_u(rs)]  # call the next one
            continue

        if kind == 1:
            # completion of traveller i: free the server, start the next in line, move on
            key = hkey[_u(0)]
            top_done = True
            i = key >> LANE_BITS
            lane = key & (MAX_LANES - 1)
            s = lane_stage[_u(lane)]
            b = _W * lane
            st[_u(b + _BUSY)] -= 1
            if has_reserve and res[_u(lane)] > 0 and stage_wait[_u(s)] < res_close[_u(s)]:
                # a reserve officer leaves after finishing
                if not dn[_u(lane)]:
                    _accrue(reserve_duty, lane, duty_pieces, res[_u(lane)],
                            res_since[_u(lane)], t, warmup, horizon)
                res_since[_u(lane)] = t
                res[_u(lane)] -= 1
                res_on[_u(s)] -= 1
                reserve_minutes[_u(s)] += t
                st[_u(b + _CAP)] = 0 if dn[_u(lane)] else lvl[_u(lane)] + res[_u(lane)]
            while st[_u(b + _QLEN)] > 0 and st[_u(b + _BUSY)] < st[_u(b + _CAP)]:
                j = st[_u(b + _HEAD)]
                st[_u(b + _HEAD)] = nxt[_u(j)]
                st[_u(b + _QLEN)] -= 1
                stage_wait[_u(s)] -= 1
                st[_u(b + _BUSY)] += 1
                start[_u(s * n + j)] = t
                d = service[_u(lane * n + j)]
                if n_slow:
                    d = _slowed(d, lane, t, slow_lane, slow_from, slow_to, slow_factor)
                size = _heap_add(htime, hkey, size, top_done, t + d, (j << LANE_BITS) | lane)
                top_done = False
            end[_u(s * n + i)] = t
            s0 = s + 1
        else:
            i = n_arr
            n_arr += 1
            t_arr = t + (arrival[_u(n_arr)] - t) if n_arr < n else np.inf
            inside += (arrival[_u(i)] >= warmup) & (arrival[_u(i)] < horizon)
            s0 = 0

        # traveller i reaches stage s0 (and any stage it passes straight through) at t
        placed = False
        for s in range(s0, n_stages):
            if stage_referred[_u(s)]:
                if s == first_ref and has_dynamic:
                    thr = dyn_threshold + dyn_per_waiting * stage_wait[_u(s)]
                    threshold[_u(i)] = thr
                    if score[_u(i)] >= thr:
                        referred[_u(i)] = True
                if not referred[_u(i)]:
                    continue
            entry[_u(s * n + i)] = t
            if flush_above[_u(s)] >= 0 and stage_wait[_u(s)] > flush_above[_u(s)]:
                lane_out[_u(s * n + i)] = FLUSHED
                continue
            best = _choose_lane(st, eligible, n_cls, cls[_u(i)], lane_start[_u(s)],
                                lane_start[_u(s + 1)])
            lane_out[_u(s * n + i)] = best
            b = _W * best
            if st[_u(b + _QLEN)] == 0 and st[_u(b + _BUSY)] < st[_u(b + _CAP)]:
                st[_u(b + _BUSY)] += 1
                start[_u(s * n + i)] = t
                d = service[_u(best * n + i)]
                if n_slow:
                    d = _slowed(d, best, t, slow_lane, slow_from, slow_to, slow_factor)
                size = _heap_add(htime, hkey, size, top_done, t + d, (i << LANE_BITS) | best)
                top_done = False
            else:
                nxt[_u(i)] = -1
                if st[_u(b + _QLEN)] == 0:
                    st[_u(b + _HEAD)] = i
                else:
                    nxt[_u(st[_u(b + _TAIL)])] = i
                st[_u(b + _TAIL)] = i
                st[_u(b + _QLEN)] += 1
                stage_wait[_u(s)] += 1
                if (has_reserve and t_res[_u(s)] == np.inf and res_on[_u(s)] < res_officers[_u(s)]
                        and stage_wait[_u(s)] > res_open[_u(s)]):
                    t_res[_u(s)] = t + res_call[_u(s)]  # call a reserve officer
            placed = True
            break
        if not placed:
            exit_[_u(i)] = t
            inside -= (arrival[_u(i)] >= warmup) & (arrival[_u(i)] < horizon)
        if top_done:
            # nothing replaced the handled completion: remove it
            size -= 1
            last_t = htime[_u(size)]
            htime[_u(size)] = np.inf
            if size > 0:
                _sift_down(htime, hkey, size, last_t, hkey[_u(size)])
    t_end = min(t, run_end)  # officers on duty count until the run ends
    for s in range(n_stages):
        reserve_minutes[s] += res_on[s] * t_end
    for lane in range(n_lanes):
        if res[lane] > 0 and not dn[lane]:
            _accrue(reserve_duty, lane, duty_pieces, res[lane], res_since[lane], t_end,
                    warmup, horizon)
    return events


def replay(
    arrival: np.ndarray, cls: np.ndarray, service: np.ndarray, score: np.ndarray,
    has_dynamic: bool, dyn_threshold: float, dyn_per_waiting: float,
    lane_stage: np.ndarray, lane_start: np.ndarray, stage_referred: np.ndarray,
    flush_above: np.ndarray, eligible: np.ndarray, roster: np.ndarray, horizon: float,
    lane_out: np.ndarray, entry: np.ndarray, start: np.ndarray, end: np.ndarray,
    exit_: np.ndarray, referred: np.ndarray, threshold: np.ndarray,
    warmup: float = 0.0, run_end: float = -1.0,
) -> int:
    """``replay_flat`` on 2-D arrays (``service`` [L, n], trace arrays [S, n], C-contiguous),
    for a crossing without shocks: capacity changes only at hour boundaries of ``roster``.

    The trace arrays are filled in place (their flat views share memory).
    """
    def flat(x: np.ndarray, dtype: type) -> np.ndarray:
        return np.ascontiguousarray(x, dtype=dtype).reshape(-1)

    for out in (lane_out, entry, start, end):
        if not out.flags.c_contiguous:
            raise ValueError("trace arrays must be C-contiguous")
    n_stages = len(lane_start) - 1
    end_ = max(run_end, horizon)
    times = np.arange(0.0, end_, 60.0) if end_ > 0 else np.zeros(1)
    level = np.ascontiguousarray(np.asarray(roster, dtype=np.int64)[
        :, (times // 60).astype(np.int64) % 24].T)
    no = np.zeros(level.size, dtype=np.bool_)
    f0, i0 = np.zeros(0), np.zeros(0, dtype=np.int64)
    zs = np.zeros(n_stages, dtype=np.int64)
    return replay_flat(
        flat(arrival, np.float64), flat(cls, np.int64), flat(service, np.float64),
        flat(score, np.float64), bool(has_dynamic), float(dyn_threshold),
        float(dyn_per_waiting), flat(lane_stage, np.int64), flat(lane_start, np.int64),
        flat(stage_referred, np.bool_), flat(flush_above, np.int64), flat(eligible, np.bool_),
        float(horizon), float(warmup), float(run_end), times, level.reshape(-1), no, no, i0,
        f0, f0, f0,
        zs, zs, zs, np.zeros(n_stages), zs - 1,
        lane_out.reshape(-1), entry.reshape(-1), start.reshape(-1), end.reshape(-1), exit_,
        referred, threshold, np.zeros(n_stages), np.zeros(0), 0,
    )
