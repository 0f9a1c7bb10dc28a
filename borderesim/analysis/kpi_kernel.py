"""The per-replication KPI sums in two compiled passes over the travellers.

:func:`borderesim.analysis.metrics.replication_kpis` reads everything it needs from these
sums; the definitions are those of :mod:`borderesim.analysis.outcomes` and the plain NumPy
version kept as the reference in :mod:`borderesim.testing.reference_kpis` (tests
compare the two on every example scenario and on generated ones). One pass instead
of dozens of traveller-sized boolean masks: a 72-hour run of an example scenario
takes a few hundred microseconds, a year of a 30 000-a-day crossing about half a
second, and the only traveller-sized arrays made are the waits whose percentiles
are asked for, who waited at each stage (int32; the overload's lane hours, asked for
with ``want_lanes``) and a byte a traveller for the detection estimator's second pass
(none without a ``visits: referred`` stage). A replication bigger than the tails
pooled percentiles keep (a year) asks for no waits in the pass (``fill``): each
array is made alone afterwards (:func:`kpi_waits`) and cut to its tail before the
next, so a year holds one at a time (``metrics._fills``).

Written for speed (issue 18): scalar sums in locals; the clock-hour piece and the
hour of day of a time are walked to from the last one, not searched or divided; no
branch that is a coin flip per traveller (did they wait?) where a ``max`` or an
unconditional write does.

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

from ..run.trace import FLUSHED
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
# a counted traveller's code for the second pass: the stages everybody visits where they
# were checked (bit s), whether they reached the referral decision; or not counted
REACHED = 64
NOT_COUNTED = 255
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
def _split_q(by_cls: np.ndarray, c: int, arrival: float, split: np.ndarray,
             q: float) -> None:  # pragma: no cover - compiled
    """Add a counted traveller's ``q`` to the inside or outside sums of ``split``."""
    if math.isnan(split[0]):
        return
    if arrival >= split[0] and arrival <= split[1]:
        by_cls[c, C_Q_IN] += q
        by_cls[c, C_IN] += 1
    else:
        by_cls[c, C_Q_OUT] += q
        by_cls[c, C_OUT] += 1


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
              size):  # pragma: no cover - compiled
    """One of the per-traveller arrays of :class:`Sums` that :func:`kpi_sums` leaves out
    when not ``fill``: ``wait_total[:m]`` (``which`` = :data:`WAIT_TOTAL`), ``tis[:m]``
    (:data:`TIME_IN_SYSTEM`) or stage ``which``'s ``stage_wait`` row, ``size`` values
    (``m`` or ``stage[which, S_HERE]``): the same values in the same order, made alone
    so that each can be cut to its tail before the next one is (a year's peak memory).
    Arguments as :func:`kpi_sums` takes them."""
    n_stages, n = lane.shape
    out = np.empty(size)
    j = 0
    if which == TIME_IN_SYSTEM:
        for i in range(n):
            t_in = arrival[i]
            if t_in >= warmup and t_in < horizon:  # counted
                t_out = exit_[i]
                out[j] = (run_end if math.isnan(t_out) else t_out) - t_in
                j += 1
    elif which == WAIT_TOTAL:
        for i in range(n):
            t_in = arrival[i]
            if t_in >= warmup and t_in < horizon:
                wsum = 0.0
                for s in range(n_stages):
                    wsum += _wait(lane[s, i], entry[s, i], start[s, i], run_end)
                out[j] = wsum
                j += 1
    else:
        for i in range(n):
            t_in = arrival[i]
            if t_in >= warmup and t_in < horizon and lane[which, i] >= 0:  # queued there
                out[j] = _wait(lane[which, i], entry[which, i], start[which, i], run_end)
                j += 1
    return out


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

    Scalar sums are kept in locals, not in arrays, and the clock-hour piece of a time
    is computed, not searched: one pass costs a few nanoseconds a traveller and stage.
    """
    n_stages, n = lane.shape
    n_lanes = service.shape[0]
    stage = np.zeros((n_stages, N_STAGE))
    lanes = np.zeros((n_lanes, N_LANE))
    by_cls = np.zeros((n_classes, N_CLASS))
    total = np.zeros(N_SCALAR)
    wait_total = np.empty(n if fill else 0)
    tis = np.empty(n if fill else 0)
    stage_wait = np.empty((n_stages, n if fill else 0))
    here = np.zeros(n_stages, dtype=np.int64)
    chunk_waiting = np.zeros(n_lanes)
    chunk_busy = np.zeros(n_lanes)
    busy_seg = np.zeros((n_lanes, len(edges) - 1))
    piece_at = np.zeros(n_stages, dtype=np.int64)
    # lane hours (overload.lane_hours): who waited at each stage, in traveller order
    work = np.zeros((n_lanes, HOURS))
    spell, spell_start = np.zeros(n_lanes), np.full(n_lanes, np.nan)
    wait_max, wait_max_hour = np.zeros(n_lanes), np.full(n_lanes, -1.0)
    open_end = np.zeros(n_lanes, dtype=np.bool_)
    seen = np.zeros(n_lanes, dtype=np.bool_)
    # int32: a replication has at most MAX_TRAVELLERS (half the memory of int64)
    waited = np.empty((n_stages, n if want_lanes else 0), dtype=np.int32)
    n_waited = np.zeros(n_stages, dtype=np.int64)
    hour_of = np.zeros(n_stages, dtype=np.int64)  # the hour of day of the last entry
    hour_from = np.full(n_stages, np.inf)  # and the times that surely share it
    hour_to = np.full(n_stages, -np.inf)
    first_ref = -1
    for s in range(n_stages):
        if stage_referred[s] and first_ref < 0:
            first_ref = s
    # the second pass (a referred stage) reads a byte a traveller (fewer than 7 stages)
    compact = n_stages < 7 and first_ref >= 0
    code = np.full(n if compact else 0, NOT_COUNTED, dtype=np.uint8)
    any_hourly = False
    for s in range(n_stages):
        any_hourly = any_hourly or hourly[s]
    g_leaving = g_counted = g_finished = g_referred = g_innocent = g_false = 0.0
    g_threats = g_detected = g_wait = g_tis = g_delay = g_delayed = 0.0
    m = 0
    for i in range(n):
        if i % CHUNK == 0 and i > 0:  # as outcomes.occupancy: per chunk, then added
            for ln in range(n_lanes):
                lanes[ln, L_WAITING] += chunk_waiting[ln]
                lanes[ln, L_BUSY] += chunk_busy[ln]
                chunk_waiting[ln] = 0.0
                chunk_busy[ln] = 0.0
        t_in = arrival[i]
        counted = t_in >= warmup and t_in < horizon
        t_out = exit_[i]
        finished = not math.isnan(t_out)
        if finished and t_out >= warmup and t_out < horizon:
            g_leaving += 1
        ref_i = referred[i]
        wsum = 0.0
        delay = 0.0
        detected = False
        c = cls[i]
        miss_all = 1.0  # the detection estimator (metrics.check_probability)
        mask = 0  # the stages everybody visits where they were checked
        reached = finished
        for s in range(n_stages):
            ln = lane[s, i]
            if s >= first_ref >= 0 and not math.isnan(entry[s, i]):
                reached = True
            if ln < 0:  # not queued here: flushed, or never reached the stage
                w = start[s, i] - entry[s, i]
                if math.isnan(w):
                    w = 0.0
                wsum += w
                if counted:
                    if not math.isnan(entry[s, i]):
                        stage[s, S_ENTERED] += 1
                    if ln == FLUSHED:
                        stage[s, S_FLUSHED] += 1
                    if ref_i or not stage_referred[s]:  # visits the stage: offered work
                        stage[s, S_WORK] += service[first_lane[s, c], i]
                continue
            t_entry = entry[s, i]
            begin = start[s, i]
            censored = math.isnan(begin)
            if censored:
                begin = run_end
            w = begin - t_entry
            if math.isnan(w):
                w = 0.0
            wsum += w
            t_end = end[s, i]
            checked = not math.isnan(t_end)
            if checked and not stage_referred[s]:
                miss_all *= 1.0 - detect_p[s]
                mask |= 1 << s
            finish = t_end if checked else run_end
            # occupancy over the counted window, counted or not
            # branch-free where a branch would be a coin flip (did they wait?)
            chunk_waiting[ln] += max(min(begin, horizon) - max(t_entry, warmup), 0.0)
            lo = max(begin, warmup)
            hi = min(finish, horizon)
            if hi > lo:
                chunk_busy[ln] += hi - lo
                if any_hourly and hourly[s]:
                    k = piece_at[s]
                    if lo >= edges[k] and hi <= edges[k + 1]:  # within the last piece
                        busy_seg[ln, k] += hi - lo
                    else:
                        piece_at[s] = _split(busy_seg[ln], edges, lo, hi, k)
            if stage_referred[s]:
                delay += t_end - t_entry
            if checked and caught[s, i]:
                detected = True
            if not counted:
                continue
            stage[s, S_WAIT] += w
            if fill:
                stage_wait[s, here[s]] = w
            here[s] += 1
            lanes[ln, L_COUNT] += 1
            lanes[ln, L_WAIT] += w
            if censored:
                stage[s, S_CENSORED] += 1
            if not math.isnan(t_entry):
                stage[s, S_ENTERED] += 1
                if checked:
                    stage[s, S_CHECKED_SCORED] += 1
            work_i = service[ln, i]
            if ref_i or not stage_referred[s]:  # visits the stage: offered work
                stage[s, S_WORK] += work_i
            if want_lanes and t_entry >= warmup and t_entry < horizon:
                if censored:  # still waiting at the drain cap: a lower bound
                    open_end[ln] = True
                if not (t_entry >= hour_from[s] and t_entry < hour_to[s]):
                    hour_of[s], hour_from[s], hour_to[s] = hour_span(t_entry)
                h = hour_of[s]
                work[ln, h] += work_i
                if not seen[ln] or w > wait_max[ln]:
                    seen[ln] = True
                    wait_max[ln], wait_max_hour[ln] = w, float(h)
                waited[s, n_waited[s]] = i
                n_waited[s] += begin > t_entry
        if not counted:
            continue
        if first_ref < 0:
            by_cls[c, C_Q] += 1.0 - miss_all
            _split_q(by_cls, c, t_in, split, 1.0 - miss_all)
        elif compact:
            code[i] = mask | (REACHED if reached else 0)
        spent = (t_out if finished else run_end) - t_in
        if fill:
            wait_total[m] = wsum
            tis[m] = spent
        m += 1
        g_counted += 1
        g_wait += wsum
        g_tis += spent
        by_cls[c, C_COUNTED] += 1
        by_cls[c, C_WAIT] += wsum
        if finished:
            g_finished += 1
        if ref_i:
            g_referred += 1
            by_cls[c, C_REFERRED] += 1
        if not threat[i]:
            g_innocent += 1
            by_cls[c, C_INNOCENT] += 1
            if ref_i:
                g_false += 1
                by_cls[c, C_FALSE] += 1
                if finished:
                    g_delay += delay
                    g_delayed += 1
        else:
            g_threats += 1
            if detected:
                g_detected += 1
    for ln in range(n_lanes):
        lanes[ln, L_WAITING] += chunk_waiting[ln]
        lanes[ln, L_BUSY] += chunk_busy[ln]
    for s in range(n_stages):
        stage[s, S_HERE] = here[s]
    total[G_COUNTED], total[G_LEAVING], total[G_FINISHED] = g_counted, g_leaving, g_finished
    total[G_REFERRED], total[G_INNOCENT], total[G_FALSE] = g_referred, g_innocent, g_false
    total[G_THREATS], total[G_DETECTED], total[G_WAIT] = g_threats, g_detected, g_wait
    total[G_TIS], total[G_DELAY], total[G_DELAYED] = g_tis, g_delay, g_delayed
    if first_ref >= 0:  # else the first pass summed the detection estimator
        _second_pass(by_cls, stage, code, first_ref, lane, entry, end, exit_, arrival, cls,
                     p_ref, stage_referred, detect_p, warmup, horizon, split)
    # the lane hours' spells last: the byte codes are gone by then (a smaller peak)
    if want_lanes:
        for s in range(n_stages):
            spells(waited[s, :n_waited[s]], entry[s], start[s], lane[s], lane_start[s],
                   lane_start[s + 1], run_end, spell, spell_start)
    return (stage, lanes, by_cls, total, wait_total[:m if fill else 0],
            tis[:m if fill else 0], stage_wait, busy_seg, work, spell, spell_start, wait_max,
            wait_max_hour, open_end)


@njit(cache=True)
def _second_pass(by_cls, stage, code, first_ref, lane, entry, end, exit_, arrival, cls, p_ref,
                 stage_referred, detect_p, warmup, horizon, split):  # pragma: no cover
    """Add the detection estimator (``metrics.check_probability``) to ``by_cls`` when a
    stage is ``visits: referred`` (its first: ``first_ref``): it needs the share of
    scored travellers entering each referred stage who were checked there, known only
    after the first pass. Reads the first pass's byte ``code`` a traveller when there
    is one (fewer than 7 stages), else the trace again."""
    n_stages, n = lane.shape
    miss_ref = 1.0
    for s in range(n_stages):
        if stage_referred[s]:
            ent = stage[s, S_ENTERED]
            share = stage[s, S_CHECKED_SCORED] / ent if ent > 0 else 1.0
            miss_ref *= 1.0 - detect_p[s] * share
    if code.size:  # from the codes of the first pass: a byte a traveller
        miss_of = np.ones(REACHED)  # miss_all of each set of stages checked, in order
        for mask in range(REACHED):
            for s in range(n_stages):
                if mask & (1 << s):
                    miss_of[mask] *= 1.0 - detect_p[s]
        for i in range(n):
            got = code[i]
            if got == NOT_COUNTED:
                continue
            q = p_ref[i] * (1.0 - miss_ref)
            q *= 1.0 if got & REACHED else 0.0
            q = 1.0 - q
            q *= miss_of[got & (REACHED - 1)]
            q = 1.0 - q
            by_cls[cls[i], C_Q] += q
            _split_q(by_cls, cls[i], arrival[i], split, q)
        return
    for i in range(n):
        if not (arrival[i] >= warmup and arrival[i] < horizon):
            continue
        miss_all = 1.0
        reached = not math.isnan(exit_[i])
        for s in range(n_stages):
            if not stage_referred[s]:
                if lane[s, i] >= 0 and not math.isnan(end[s, i]):
                    miss_all *= 1.0 - detect_p[s]
            if s >= first_ref and not math.isnan(entry[s, i]):
                reached = True
        q = p_ref[i] * (1.0 - miss_ref)
        q *= 1.0 if reached else 0.0
        q = 1.0 - q
        q *= miss_all
        q = 1.0 - q
        by_cls[cls[i], C_Q] += q
        _split_q(by_cls, cls[i], arrival[i], split, q)
