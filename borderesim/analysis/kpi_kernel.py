"""The per-replication KPI sums in compiled loops: one per stage, then one over the travellers.

:func:`borderesim.analysis.metrics.replication_kpis` reads everything it needs from these
sums; the definitions are those of :mod:`borderesim.analysis.outcomes` and the plain NumPy
version kept as the reference in :mod:`borderesim.testing.reference_kpis` (tests
compare the two on every example scenario and on generated ones). A few loops instead
of dozens of traveller-sized boolean masks: a 72-hour run of an example scenario
takes a few hundred microseconds (the land crossing, 13 000 travellers, about 0.23 ms),
a year of a 30 000-a-day crossing about 0.3 s, and the only traveller-sized arrays
made are the waits whose percentiles are asked for, who waited at a stage (int32, one
stage at a time; the overload's lane hours, asked for with ``want_lanes``) and a byte
a traveller of what the stage loops found for the traveller loop (checked where, who
reached a ``visits: referred`` stage, who was caught). A replication bigger than the
tails pooled percentiles keep (a year) asks for no waits in the pass (``fill``): each
array is made alone afterwards (:func:`kpi_waits`, into one buffer) and cut to its tail
before the next, so a year holds one at a time (``metrics._fills``).

Written for speed (issue 18): stage by stage, each loop reads one stage's rows and
branches on nothing about the stage; with arrivals sorted (the counted travellers one
run of indices, as a run's always are) a ``visits: referred`` stage skips at once the
travellers neither referred nor there (97 % at the land crossing's secondary); scalar
sums and counts in locals; the clock-hour piece and the hour of day of a time are
walked to from the last one, not searched or divided; no branch that is a coin flip
per traveller (did they wait?) where a ``max`` or an unconditional write does. Indices
are cast to unsigned (``_u``, as in the engine's kernel: numba then skips the
wraparound of a negative index). Whether the counted travellers are one run is found
by a count without branches and a walk in from each end (:func:`_counted_run`); in
the run the stage loops tell the counted by index, not by arrival.

Measured (``kpi_sums`` alone on fixed 72 h replications, best of 300, load ~0.7; land
crossing 13 259 travellers, airport 54 800, cargo 2 689; the year 10.95 M, best of 7):

* helped: unsigned indices in the stage loop (land, primary: 152 -> 112 us) and in the
  traveller loop (106 -> 95 us); the counted-range scan as a count and two walks
  (12.5 -> 1.4 us); who leaves counted in a loop of its own over exit times (1.5 us),
  the traveller loop then over every traveller with the arrival test (-> 71 us); in
  :func:`overload.spells`, unsigned indices and a select for a gap (23.7 -> 18.2 us).
  Altogether land 0.30 -> 0.23 ms, airport 1.23 -> 0.94, cargo 0.108 -> 0.087, the
  year 0.36 -> 0.30 s.
* dropped: the traveller loop over the counted run only, reading no arrival to test
  (91 us against 71: LLVM made a worse loop of it); integer counts there (scalars
  71 -> 75 us; a per-class table too, 91 -> 97); ``+= referred`` without a branch
  (95 -> 104 us: the branch is taken 3 % of the time); the stage loop split into an
  occupancy loop and a counted-sums loop by blocks of 1 024 travellers (fewer arrays
  live at once, yet primary 110 -> 120 us, secondary 18 -> 27); the hourly piece's
  bounds kept in locals (110 -> 117 us). Not the bottleneck: the per-class sums'
  read-modify-write through memory (the traveller loop without the two float ones:
  71 -> 72 us).
* :func:`kpi_waits` on the year (4 calls): about 0.22 s before and after (a stage's
  waits 55 -> 52 and 31 -> 24 ms; the total waits and times in the crossing unchanged),
  bound by memory. Dropped: a stage's waits written without a branch (every
  traveller's times read: 0.22 -> 0.30 s); unsigned indices on the total waits' 2-D
  rows (84 -> 90 ms); a stage's start read only once its entry is known (84 -> 116
  ms). A fresh output array costs ~6 ms of page faults a call (88 MB) on the machine
  of those numbers, 30-50 ms on a later virtual machine; so ``replication_kpis`` gives
  the four calls one buffer (``out``): the fresh memory of the year's KPI phase 315 -> 150
  MB (``experiments/year_memory.py``, alternating runs on that machine).

Times are minutes. Sums run in traveller order; the occupancy integrals over the
counted window are summed in chunks of ``outcomes.CHUNK`` travellers as
``outcomes.occupancy`` sums them, so they are bit-identical; other means may differ
from NumPy's pairwise sums in the last bits (below 1e-12 relative). Busy time clock
hour by clock hour (overtime under an hourly roster) is summed directly, where the
reference differences cumulative sums of start and end times: the two agree to
about 1e-16 times the sum of those times (1e-9 minutes on the test scenarios).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from ..run.engines.fast.kernel import _u
from ..run.trace import FLUSHED, NOT_VISITED
from .by_hour import HOURS
from .outcomes import CHUNK
from .overload import hour_span, spells

# columns of the per-stage sums
S_WAIT, S_HERE, S_CENSORED, S_ENTERED, S_FLUSHED, S_WORK, S_ENTERED_SCORED, S_CHECKED_SCORED = (
    range(8))
N_STAGE = 8
# columns of the per-lane sums
L_COUNT, L_WAIT, L_WAITING, L_BUSY = range(4)
N_LANE = 4
# columns of the per-class sums
C_COUNTED, C_REFERRED, C_INNOCENT, C_FALSE, C_WAIT, C_Q, C_Q_IN, C_IN, C_Q_OUT, C_OUT = range(10)
N_CLASS = 10
"""``C_Q_IN``/``C_IN`` (``C_Q_OUT``/``C_OUT``): ``C_Q`` and ``C_COUNTED`` of the counted
travellers arriving inside (outside) the ``split`` window (shock KPIs)."""
# the scalar sums
(G_COUNTED, G_LEAVING, G_FINISHED, G_REFERRED, G_INNOCENT, G_FALSE, G_THREATS, G_DETECTED,
 G_WAIT, G_TIS, G_DELAY, G_DELAYED) = range(12)
N_SCALAR = 12
# a traveller's byte of what the stage loops found, for the traveller loop: checked at
# stage s (bit s; the first MASK_STAGES stages, those not ``visits: referred``), reached
# a stage at or after the first referred one, checked at a stage that caught them
MASK_STAGES = 6
MASK = (1 << MASK_STAGES) - 1
REACHED = 1 << 6
DETECTED = 1 << 7
# kpi_waits' ``which`` for Sums.wait_total and Sums.tis (a stage's waits: its index)
WAIT_TOTAL, TIME_IN_SYSTEM = -1, -2


class Sums(NamedTuple):
    """What :func:`kpi_sums` returns (counts are floats).

    ``stage[S, N_STAGE]``, ``lane[L, N_LANE]``, ``cls[C, N_CLASS]``, ``total[N_SCALAR]``:
    sums indexed by the column constants of this module. ``wait_total[:m]``: each
    counted traveller's total wait (traveller order), ``tis[:m]``: their times in the
    crossing (``m`` counted travellers); ``stage_wait[s, :stage[s, S_HERE]]``: the
    waits at stage ``s`` of the counted travellers who queued there (these three are
    empty unless the pass was asked to ``fill`` them: :func:`kpi_waits`); ``busy_seg[L, K]``:
    busy server-minutes in each clock-hour piece of the counted window (for the stages
    asked for, else 0). ``work``, ``spell``, ``spell_start``, ``wait_max``,
    ``wait_max_hour``, ``open_end``: the fields of
    :class:`borderesim.analysis.overload.LaneHours` (when asked for, else as if nobody
    queued).
    """

    stage: np.ndarray
    lane: np.ndarray
    cls: np.ndarray
    total: np.ndarray
    wait_total: np.ndarray
    tis: np.ndarray
    stage_wait: np.ndarray
    busy_seg: np.ndarray
    work: np.ndarray
    spell: np.ndarray
    spell_start: np.ndarray
    wait_max: np.ndarray
    wait_max_hour: np.ndarray
    open_end: np.ndarray


@njit(cache=True)
def _split(out: np.ndarray, edges: np.ndarray, a: float, b: float,
           k: int = 0) -> int:  # pragma: no cover - compiled
    """Add the length of ``[a, b)`` inside each piece ``[edges[k], edges[k+1])`` to
    ``out[k]`` (nothing if ``b <= a``; ``edges[0] <= a``). ``k``: a piece to look for
    ``a`` from (the last one: busy times come nearly in order, so a walk of a step or
    none replaces a search); returns the piece holding ``a``."""
    if not b > a:
        return k
    while k > 0 and edges[k] > a:
        k -= 1
    while k + 2 < len(edges) and edges[k + 1] <= a:
        k += 1
    first = k
    while k < len(out) and edges[k] < b:
        piece = min(b, edges[k + 1]) - max(a, edges[k])
        if piece > 0:
            out[k] += piece
        k += 1
    return first


@njit(cache=True)
def _wait(ln: int, t_entry: float, t_start: float, run_end: float
          ) -> float:  # pragma: no cover - compiled
    """The wait :func:`kpi_sums` counts at a stage (minutes): from entry to start of
    service; till ``run_end`` for one still waiting there (queued, ``ln >= 0``); 0 for a
    stage never reached (NaN times)."""
    begin = t_start
    if ln >= 0 and math.isnan(begin):
        begin = run_end
    w = begin - t_entry
    return 0.0 if math.isnan(w) else w


@njit(cache=True)
def kpi_waits(which, lane, entry, start, exit_, arrival, warmup, horizon, run_end,
              size, out):  # pragma: no cover - compiled
    """One of the per-traveller arrays of :class:`Sums` that :func:`kpi_sums` leaves out
    when not ``fill``: ``wait_total[:m]`` (``which`` = :data:`WAIT_TOTAL`), ``tis[:m]``
    (:data:`TIME_IN_SYSTEM`) or stage ``which``'s ``stage_wait`` row, ``size`` values
    (``m`` or ``stage[which, S_HERE]``): the same values in the same order, made alone
    so that each can be cut to its tail before the next one is (a year's peak memory).
    Arguments as :func:`kpi_sums` takes them. Counted travellers that are one run of
    indices (:func:`_counted_run`; ``size`` is their number for ``wait_total`` and
    ``tis``) are read without their arrivals tested. Written to ``out[:size]`` (float64,
    at least ``size`` values), which is returned."""
    n_stages, n = lane.shape
    out = out[:size]
    if which < 0:  # size: the counted travellers, from their ends
        m, first, in_order = _counted_run(arrival, warmup, horizon, size)
    else:
        m, first, in_order = _counted_run(arrival, warmup, horizon)
    lo, hi = (first, first + m) if in_order else (0, n)  # in order: no arrival to test
    j = 0
    if which == TIME_IN_SYSTEM:
        for i in range(lo, hi):
            t_in = arrival[_u(i)]
            if in_order or (t_in >= warmup and t_in < horizon):  # counted
                t_out = exit_[_u(i)]
                out[_u(j)] = (run_end if math.isnan(t_out) else t_out) - t_in
                j += 1
    elif which == WAIT_TOTAL:
        for i in range(lo, hi):
            if in_order or (arrival[i] >= warmup and arrival[i] < horizon):
                wsum = 0.0
                for s in range(n_stages):
                    wsum += _wait(lane[s, i], entry[s, i], start[s, i], run_end)
                out[_u(j)] = wsum
                j += 1
    else:
        for i in range(lo, hi):
            ln = lane[which, _u(i)]
            if ln >= 0 and (in_order or (arrival[_u(i)] >= warmup
                                         and arrival[_u(i)] < horizon)):  # queued there
                out[_u(j)] = _wait(ln, entry[which, _u(i)], start[which, _u(i)], run_end)
                j += 1
    return out


@njit(cache=True)
def _counted_run(arrival, warmup, horizon, m=-1):  # pragma: no cover - compiled
    """``(m, first, in_order)``: how many travellers are counted (arrive in ``[warmup,
    horizon)``; counted here unless given), the first of them (-1 if none), and whether
    they follow one another (travellers ``first .. first + m - 1``, as when arrivals are
    sorted). A count without branches, then a walk in from each end."""
    n = arrival.size
    if m < 0:
        m = 0
        for i in range(n):
            t = arrival[_u(i)]
            m += (t >= warmup) & (t < horizon)
    if m == 0:
        return 0, -1, False
    first = 0
    while not (arrival[_u(first)] >= warmup and arrival[_u(first)] < horizon):
        first += 1
    last = n - 1
    while not (arrival[_u(last)] >= warmup and arrival[_u(last)] < horizon):
        last -= 1
    return m, first, m == last - first + 1


@njit(cache=True)
def kpi_sums(lane, entry, start, end, exit_, referred, arrival, cls, threat, caught, service,
             p_ref, lane_start, stage_referred, detect_p, first_lane, warmup, horizon,
             run_end, n_classes, edges, hourly, want_lanes, split, fill):  # pragma: no cover
    """Every per-replication sum the KPIs need (see :class:`Sums`).

    Arrays are ``Trace``/``Inputs`` fields (``lane`` of any integer type); ``p_ref``:
    ``Outcome.p_refer_if_threat()`` (read only when a stage is ``visits: referred``);
    ``first_lane[s, c]``: the first lane of stage ``s`` class ``c`` may use (offered
    load of a visit with no lane); ``edges``: the clock-hour pieces of the counted
    window (``by_hour.window_segments``) and ``hourly[s]``: whether stage ``s``'s busy
    time is wanted piece by piece (a roster that changes by hour: overtime);
    ``want_lanes``: fill the lane hours (``overload.lane_hours``) too; ``split``: times
    ``[t0, t1]`` (both included) splitting the detection estimator's sums by arrival
    (``shocks.shock_kpis``; NaN: no split); ``fill``: write the per-traveller arrays
    (``wait_total``, ``tis``, ``stage_wait``) in the pass, else leave them empty for
    :func:`kpi_waits` to make one at a time.

    A loop per stage (:func:`_stage_pass`: the stage's and its lanes' sums, a byte a
    traveller of what the traveller loop needs from it), then one over the travellers
    (:func:`_traveller_pass`: totals, classes, the detection estimator).
    """
    n_stages, n = lane.shape
    n_lanes = service.shape[0]
    stage = np.zeros((n_stages, N_STAGE))
    lanes = np.zeros((n_lanes, N_LANE))
    by_cls = np.zeros((n_classes, N_CLASS))
    total = np.zeros(N_SCALAR)
    stage_wait = np.empty((n_stages, n if fill else 0))
    wait_total = np.zeros(n if fill else 0)  # summed stage by stage
    busy_seg = np.zeros((n_lanes, len(edges) - 1))
    # lane hours (overload.lane_hours)
    work = np.zeros((n_lanes, HOURS))
    spell, spell_start = np.zeros(n_lanes), np.full(n_lanes, np.nan)
    wait_max, wait_max_hour = np.zeros(n_lanes), np.full(n_lanes, -1.0)
    open_end = np.zeros(n_lanes, dtype=np.bool_)
    # int32: a replication has at most MAX_TRAVELLERS (half the memory of int64); one
    # stage's at a time
    waited = np.empty(n if want_lanes else 0, dtype=np.int32)
    flags = np.zeros(n, dtype=np.uint8)
    first_ref = -1
    for s in range(n_stages):
        if stage_referred[s] and first_ref < 0:
            first_ref = s
    m, first_counted, in_order = _counted_run(arrival, warmup, horizon)
    for s in range(n_stages):
        marks_reached = first_ref >= 0 and s >= first_ref
        n_waited = _stage_pass(
            s, stage[s], lanes, stage_wait[s], wait_total, busy_seg, work, wait_max, wait_max_hour,
            open_end, waited, flags, lane[s], entry[s], start[s], end[s], caught[s], referred,
            arrival, cls, service, first_lane[s], lane_start[s], lane_start[s + 1],
            stage_referred[s], marks_reached, first_counted, m, in_order, warmup, horizon,
            run_end, edges, hourly[s], want_lanes, fill)
        if want_lanes:
            spells(waited[:n_waited], entry[s], start[s], lane[s], lane_start[s],
                   lane_start[s + 1], run_end, spell, spell_start)
    tis, m = _traveller_pass(
        total, by_cls, stage, flags, wait_total, first_ref, lane, entry, start, end, exit_,
        referred, arrival, cls, threat, p_ref, stage_referred, detect_p, warmup, horizon,
        run_end, split, fill)
    return (stage, lanes, by_cls, total, wait_total[:m], tis[:m], stage_wait, busy_seg, work,
            spell, spell_start, wait_max, wait_max_hour, open_end)


@njit(cache=True)
def _stage_pass(s, stage, lanes, stage_wait, wait_total, busy_seg, work, wait_max,
                wait_max_hour, open_end, waited, flags, lane, entry, start, end, caught,
                referred, arrival, cls, service, first_lane, lane_lo, lane_hi, is_referred,
                marks_reached, first_counted, n_counted, in_order, warmup, horizon, run_end,
                edges, hourly, want_lanes, fill):  # pragma: no cover - compiled
    """Stage ``s``'s row of :func:`kpi_sums`' sums (``stage``), its lanes' rows of
    ``lanes``, ``busy_seg`` and the lane hours, in one loop over its travellers
    (``lane``, ``entry``, ... : the stage's rows). When ``fill``: its waits
    (``stage_wait``), and its waits added to ``wait_total`` (the counted travellers'
    totals, zeros before the first stage), as a traveller's are summed in stage order.
    ``waited``: who waited there, in traveller order (their number is returned;
    ``want_lanes``). Sets in ``flags`` the traveller's bit ``s`` if checked here (the
    first :data:`MASK_STAGES` stages not ``visits: referred``), :data:`REACHED` if they
    reached the stage (``marks_reached``) and :data:`DETECTED` if checked and caught.

    ``in_order``: the counted travellers are the ``n_counted`` from ``first_counted`` on,
    one after another (arrivals sorted): then they are told by index, and a ``visits:
    referred`` stage skips at once those neither referred nor there (at secondary most).
    Scalar sums in locals; the occupancy integrals in chunks of ``CHUNK`` travellers as
    ``outcomes.occupancy`` sums them."""
    n = lane.size
    bit = (1 << s) if s < MASK_STAGES and not is_referred else 0
    skips = is_referred and in_order
    wait = censored_n = entered = flushed = offered = checked_n = 0.0
    here = 0
    j = 0  # the counted travellers before this one (fill)
    n_waited = 0
    piece = 0  # the clock-hour piece of the last busy time (hourly)
    hour, hour_from, hour_to = 0, np.inf, -np.inf  # the hour of day of the last entry
    chunk_waiting = np.zeros(lane_hi - lane_lo)
    chunk_busy = np.zeros(lane_hi - lane_lo)
    if want_lanes:  # the longest wait so far: the first waiter beats it
        wait_max[lane_lo:lane_hi] = -np.inf
    for lo in range(0, n, CHUNK):  # as outcomes.occupancy: per chunk, then added
        for i in range(lo, min(lo + CHUNK, n)):
            ui = _u(i)
            ln = lane[ui]
            if skips and ln == NOT_VISITED and not referred[ui] and math.isnan(entry[ui]):
                continue  # neither visits the stage nor reached it: adds nothing
            if in_order:  # the counted run: no arrival to read
                j = i - first_counted
                counted = _u(j) < _u(n_counted)
            else:
                t_in = arrival[ui]
                counted = t_in >= warmup and t_in < horizon
            t_entry = entry[ui]
            if marks_reached and not math.isnan(t_entry):
                flags[ui] |= REACHED
            if ln < 0:  # not queued here: flushed, or never reached the stage
                if counted:
                    if not math.isnan(t_entry):
                        entered += 1
                        if fill:  # start - entry, if both are there
                            w = start[ui] - t_entry
                            wait_total[_u(j)] += 0.0 if math.isnan(w) else w
                    if ln == FLUSHED:
                        flushed += 1
                    if not is_referred or referred[ui]:  # visits the stage: offered work
                        offered += service[_u(first_lane[_u(cls[ui])]), ui]
                    j += 1
                continue
            begin = start[ui]
            censored = math.isnan(begin)
            if censored:
                begin = run_end
            w = begin - t_entry
            if math.isnan(w):
                w = 0.0
            t_end = end[ui]
            checked = not math.isnan(t_end)
            if checked:
                flags[ui] |= bit | (DETECTED if caught[ui] else 0)
            finish = t_end if checked else run_end
            # occupancy over the counted window, counted or not
            # branch-free where a branch would be a coin flip (did they wait?)
            k = _u(ln - lane_lo)
            uln = _u(ln)
            chunk_waiting[k] += max(min(begin, horizon) - max(t_entry, warmup), 0.0)
            b0 = max(begin, warmup)
            b1 = min(finish, horizon)
            if b1 > b0:
                chunk_busy[k] += b1 - b0
                if hourly:
                    if b0 >= edges[_u(piece)] and b1 <= edges[_u(piece + 1)]:  # the last piece
                        busy_seg[uln, _u(piece)] += b1 - b0
                    else:
                        piece = _split(busy_seg[uln], edges, b0, b1, piece)
            if not counted:
                continue
            wait += w
            if fill:
                stage_wait[_u(here)] = w
                wait_total[_u(j)] += w
            here += 1
            j += 1
            lanes[uln, L_COUNT] += 1
            lanes[uln, L_WAIT] += w
            if censored:
                censored_n += 1
            if not math.isnan(t_entry):
                entered += 1
                if checked:
                    checked_n += 1
            work_i = service[uln, ui]
            if not is_referred or referred[ui]:  # visits the stage: offered work
                offered += work_i
            if want_lanes and t_entry >= warmup and t_entry < horizon:
                if censored:  # still waiting at the drain cap: a lower bound
                    open_end[uln] = True
                if not (t_entry >= hour_from and t_entry < hour_to):
                    hour, hour_from, hour_to = hour_span(t_entry)
                work[uln, _u(hour)] += work_i
                if w > wait_max[uln]:
                    wait_max[uln], wait_max_hour[uln] = w, float(hour)
                waited[_u(n_waited)] = i
                n_waited += begin > t_entry
        for k in range(lane_hi - lane_lo):
            lanes[lane_lo + k, L_WAITING] += chunk_waiting[k]
            lanes[lane_lo + k, L_BUSY] += chunk_busy[k]
            chunk_waiting[k] = 0.0
            chunk_busy[k] = 0.0
    for ln in range(lane_lo, lane_hi):
        if wait_max[ln] == -np.inf:  # nobody queued in the lane
            wait_max[ln] = 0.0
    stage[S_WAIT], stage[S_HERE], stage[S_CENSORED] = wait, here, censored_n
    stage[S_ENTERED], stage[S_FLUSHED], stage[S_WORK] = entered, flushed, offered
    stage[S_CHECKED_SCORED] = checked_n
    return n_waited


@njit(cache=True)
def _traveller_pass(total, by_cls, stage, flags, wait_total, first_ref, lane, entry, start,
                    end, exit_, referred, arrival, cls, threat, p_ref, stage_referred,
                    detect_p, warmup, horizon, run_end, split,
                    fill):  # pragma: no cover - compiled
    """Fill ``total`` and ``by_cls`` of :func:`kpi_sums` in one loop over the travellers,
    after the stage loops (their ``stage`` sums, ``flags`` and, when ``fill``,
    ``wait_total``; else each counted traveller's waits are summed here, stage by
    stage, as the stage loops sum them); returns ``tis`` (empty unless ``fill``) and
    the counted travellers ``m``. The detection estimator
    (``metrics.check_probability``) of a crossing with a ``visits: referred`` stage
    (the first: ``first_ref``) needs the share of scored travellers entering each
    referred stage who were checked there: the stage sums have it; stages past the
    byte's bits (more than :data:`MASK_STAGES`) are read again from the trace."""
    n_stages, n = lane.shape
    tis = np.empty(n if fill else 0)
    do_split = not math.isnan(split[0])
    miss_ref = 1.0
    for s in range(n_stages):
        if stage_referred[s]:
            ent = stage[s, S_ENTERED]
            share = stage[s, S_CHECKED_SCORED] / ent if ent > 0 else 1.0
            miss_ref *= 1.0 - detect_p[s] * share
    miss_of = np.ones(MASK + 1)  # the misses of each set of stages checked, in order
    for mask in range(MASK + 1):
        for s in range(min(n_stages, MASK_STAGES)):
            if mask & (1 << s):
                miss_of[mask] *= 1.0 - detect_p[s]
    any_ref = first_ref >= 0
    g_leaving = 0
    for i in range(n):  # NaN (not finished) compares false
        t_out = exit_[_u(i)]
        g_leaving += (t_out >= warmup) & (t_out < horizon)
    g_wait = g_tis = g_delay = 0.0
    g_finished = g_referred = g_innocent = g_false = g_threats = g_detected = g_delayed = 0.0
    m = 0
    for i in range(n):
        ui = _u(i)
        t_in = arrival[ui]
        if not (t_in >= warmup and t_in < horizon):  # not counted
            continue
        t_out = exit_[ui]
        finished = not math.isnan(t_out)
        c = _u(cls[ui])
        got = flags[ui]
        if fill:
            wsum = wait_total[_u(m)]
        else:  # as the stage loops sum it
            wsum = 0.0
            for s in range(n_stages):
                us = _u(s)
                wsum += _wait(lane[us, ui], entry[us, ui], start[us, ui], run_end)
        miss_all = miss_of[_u(got & MASK)]
        for s in range(MASK_STAGES, n_stages):  # stages past the byte's bits
            if not stage_referred[s] and lane[s, i] >= 0 and not math.isnan(end[s, i]):
                miss_all *= 1.0 - detect_p[s]
        if any_ref:  # the detection estimator
            q = p_ref[ui] * (1.0 - miss_ref)
            q *= 1.0 if finished or got & REACHED else 0.0
            q = 1.0 - q
            q *= miss_all
            q = 1.0 - q
        else:
            q = 1.0 - miss_all
        by_cls[c, C_Q] += q
        if do_split:  # inside or outside the split window
            if t_in >= split[0] and t_in <= split[1]:
                by_cls[c, C_Q_IN] += q
                by_cls[c, C_IN] += 1
            else:
                by_cls[c, C_Q_OUT] += q
                by_cls[c, C_OUT] += 1
        spent = (t_out if finished else run_end) - t_in
        if fill:
            tis[_u(m)] = spent
        m += 1
        g_wait += wsum
        g_tis += spent
        by_cls[c, C_COUNTED] += 1
        by_cls[c, C_WAIT] += wsum
        if finished:
            g_finished += 1
        ref_i = referred[ui]
        if ref_i:
            g_referred += 1
            by_cls[c, C_REFERRED] += 1
        if not threat[ui]:
            g_innocent += 1
            by_cls[c, C_INNOCENT] += 1
            if ref_i:
                g_false += 1
                by_cls[c, C_FALSE] += 1
                if finished:  # minutes at the referred stages
                    delay = 0.0
                    for s in range(n_stages):
                        if stage_referred[s] and lane[s, i] >= 0:
                            delay += end[s, i] - entry[s, i]
                    g_delay += delay
                    g_delayed += 1
        else:
            g_threats += 1
            if got & DETECTED:
                g_detected += 1
    total[G_COUNTED], total[G_LEAVING], total[G_FINISHED] = m, g_leaving, g_finished
    total[G_REFERRED], total[G_INNOCENT], total[G_FALSE] = g_referred, g_innocent, g_false
    total[G_THREATS], total[G_DETECTED], total[G_WAIT] = g_threats, g_detected, g_wait
    total[G_TIS], total[G_DELAY], total[G_DELAYED] = g_tis, g_delay, g_delayed
    return tis, m
