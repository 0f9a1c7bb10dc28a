"""Overload by hour and lane, in plain words: what a daily average hides.

A lane can average 89 % of its capacity over the day and still run far above it for
hours, building a queue that takes the rest of the day to clear. Per replication,
:func:`lane_hours` records for every lane the work arriving and the officers on duty by
hour of day, the longest stretch during which a queue stood without clearing, and the
longest wait; :func:`overload_warnings` pools replications and says which hours run
above capacity, how long the queue stood, and the worst wait.

Times are minutes; hours are hours of day (0-23), a run of several days pooling the
same clock hour of every counted day. Only counted travellers (arriving at or after the
warm-up) and the counted window ``[warmup, horizon)`` are used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..memo import per_object
from ..run.engines.fast.kernel import _u
from ..run.plan import Plan
from .by_hour import HOURS, by_hour, window_duty, window_segments
from .outcomes import Outcome

OVER = 1.0
"""Work arriving / server time on duty at or above which an hour is overloaded."""


@dataclass(frozen=True)
class LaneHours:
    """One replication, every lane ``l`` of the plan (float arrays, minutes).

    ``work[l, h]``: service minutes brought by counted travellers entering lane ``l`` in
    hour of day ``h``; ``duty[l, h]``: server-minutes on duty then. ``spell[l]``: the
    longest stretch with someone waiting in the lane (0 if nobody waited) and
    ``spell_start[l]`` when it began (clock minutes; NaN if none). ``wait_max[l]``: the
    longest wait in the lane and ``wait_max_hour[l]`` the hour of day its traveller
    entered (-1 if nobody queued); ``open_end[l]``: someone was still waiting when the
    run ended at the drain cap (then both are lower bounds).
    """

    work: np.ndarray
    duty: np.ndarray
    spell: np.ndarray
    spell_start: np.ndarray
    wait_max: np.ndarray
    wait_max_hour: np.ndarray
    open_end: np.ndarray


def longest_spell(entry: np.ndarray, start: np.ndarray) -> tuple[float, float]:
    """The longest union of waiting intervals ``[entry, start)`` (minutes) and its start;
    ``(0, nan)`` if nobody waited. Vectorised: sort by entry, running maximum of ends."""
    waited = start > entry
    if not waited.any():
        return 0.0, math.nan
    order = np.argsort(entry[waited], kind="stable")
    a, b = entry[waited][order], start[waited][order]
    reach = np.maximum.accumulate(b)
    new = np.ones(a.size, dtype=bool)
    new[1:] = a[1:] > reach[:-1]  # a gap: the queue cleared before this traveller came
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, a.size - 1)
    length = reach[last] - a[first]
    k = int(np.argmax(length))
    return float(length[k]), float(a[first[k]])


@njit(cache=True)
def hour_at(t: float) -> int:  # pragma: no cover - compiled
    """Hour of day (0-23) of ``t`` minutes, as ``by_hour.hour_of_day``."""
    return int(math.floor(t / 60.0)) % HOURS


@njit(cache=True)
def hour_span(t: float) -> tuple[int, float, float]:  # pragma: no cover - compiled
    """:func:`hour_at` of ``t`` and times ``[lo, hi)`` around it that surely have the
    same hour of day (the clock hour, less a margin below its end where rounding
    ``t / 60`` could reach the next one): a pass over times in order divides once an
    hour, not once a time."""
    q = math.floor(t / 60.0)
    lo, hi = q * 60.0, (q + 1.0) * 60.0
    return hour_at(t), lo, hi - abs(hi) * 1e-12 - 1e-12


@njit(cache=True)
def _stable_order(keys: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """``np.argsort(keys, kind="stable")`` for keys (no NaN) that are nearly in order, as
    travellers entering a stage are: an insertion sort, linear when few are out of
    place; a merge sort once it has moved more than a few per key."""
    m = keys.size
    order = np.arange(m)
    moves = 0
    for j in range(1, m):
        key = keys[j]
        at = j
        while at > 0 and keys[order[at - 1]] > key:  # strict: equal keys keep their order
            order[at] = order[at - 1]
            at -= 1
        order[at] = j
        moves += j - at
        if moves > 8 * m + 64:
            return np.argsort(keys, kind="mergesort")
    return order


@njit(cache=True)
def spells(waited, entry, start, lane, first_lane, last_lane, run_end, spell,
           spell_start):  # pragma: no cover - compiled
    """Fill ``spell``/``spell_start`` of the lanes ``first_lane..last_lane - 1`` of one
    stage from the travellers ``waited`` who waited there (indices in traveller order
    into its rows ``entry``, ``start``, ``lane``): the same spells as
    :func:`longest_spell` (stable order by entry, running maximum of ends kept per
    lane, first longest)."""
    m = waited.size
    in_order = True  # entries already in order (the first stage's): no sort, no copy
    # (checked here, on the trace itself: _stable_order would need entry[waited] copied)
    for j in range(1, m):
        if entry[_u(waited[_u(j)])] < entry[_u(waited[_u(j - 1)])]:
            in_order = False
            break
    ordered = waited if in_order else waited[_stable_order(entry[waited])]
    reach = np.zeros(last_lane - first_lane)  # running maximum of ends, per lane
    head = np.zeros(last_lane - first_lane)  # where the lane's current spell began
    begun = np.zeros(last_lane - first_lane, dtype=np.bool_)
    for j in range(m):
        i = _u(ordered[_u(j)])
        ln, a = lane[i], entry[i]
        b = start[i] if not np.isnan(start[i]) else run_end
        k, lane_k = _u(ln - first_lane), _u(ln)
        if not begun[k]:  # the lane's first waiter
            begun[k] = True
            head[k], reach[k] = a, b
            spell[lane_k], spell_start[lane_k] = b - a, a
            continue
        reached = reach[k]
        # a gap: the queue cleared before this traveller came (a select, not a branch)
        head_k = a if a > reached else head[k]
        head[k] = head_k
        reached = max(reached, b)
        reach[k] = reached
        if reached - head_k > spell[lane_k]:
            spell[lane_k], spell_start[lane_k] = reached - head_k, head_k


@njit(cache=True)
def _stage_lanes(entry, start, lane, service, counted, first_lane, last_lane, warmup,
                 horizon, run_end, work, spell, spell_start, wait_max, wait_max_hour,
                 open_end):  # pragma: no cover - compiled
    """:func:`lane_hours` for the lanes ``first_lane..last_lane - 1`` of one stage, in
    one pass over its travellers (the same sums in the same order as ``by_hour``; the
    spells by :func:`spells`). Fills the lanes' rows of the output arrays."""
    n = entry.size
    seen = np.zeros(last_lane - first_lane, dtype=np.bool_)
    waited = np.empty(n, dtype=np.int64)  # who waited, in traveller order
    m = 0
    hour, hour_from, hour_to = 0, np.inf, -np.inf
    for i in range(n):
        ln, t = lane[i], entry[i]
        if not counted[i] or ln < first_lane or ln >= last_lane:
            continue
        if not (t >= warmup and t < horizon):
            continue
        b = start[i]
        if np.isnan(b):  # still waiting at the drain cap: a lower bound
            b = run_end
            open_end[ln] = True
        if not (t >= hour_from and t < hour_to):
            hour, hour_from, hour_to = hour_span(t)
        h = hour
        work[ln, h] += service[ln, i]
        w = b - t
        if not seen[ln - first_lane] or w > wait_max[ln]:
            seen[ln - first_lane] = True
            wait_max[ln], wait_max_hour[ln] = w, float(h)
        if b > t:
            waited[m] = i
            m += 1
    spells(waited[:m], entry, start, lane, first_lane, last_lane, run_end, spell,
           spell_start)


def duty_hours(plan: Plan, reserve_duty: np.ndarray | None = None) -> np.ndarray:
    """float[L, 24]: server-minutes on duty in each lane by hour of day over the counted
    window: the plan's capacity over time (the roster, no server in an outage:
    ``by_hour.window_duty``, computed once per plan) plus, given a replication's
    ``Trace.reserve_duty``, the reserve officers on duty there. Read-only without it."""
    def make() -> np.ndarray:
        _, seg_hours, _ = window_segments(plan.warmup, plan.horizon)
        duty = per_lane_hour(seg_hours, window_duty(plan))
        duty.flags.writeable = False
        return duty
    duty = per_object(plan, "overload.duty", make)
    if reserve_duty is None:
        return duty
    _, seg_hours, _ = window_segments(plan.warmup, plan.horizon)
    return duty + per_lane_hour(seg_hours, reserve_duty)


def per_lane_hour(seg_hours: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """float[L, 24]: ``minutes`` per lane and clock-hour piece summed by hour of day."""
    return np.array([by_hour(seg_hours, row) for row in minutes]).reshape(-1, HOURS)


def lane_hours(outcome: Outcome) -> LaneHours:
    """The :class:`LaneHours` of one replication (a compiled pass a stage;
    ``metrics.replication_kpis`` also gives them, from its own pass)."""
    plan, trace, inputs = outcome.plan, outcome.trace, outcome.inputs
    n_lanes = plan.roster.shape[0]
    work = np.zeros((n_lanes, HOURS))
    spell, spell_start = np.zeros(n_lanes), np.full(n_lanes, math.nan)
    wait_max, wait_max_hour = np.zeros(n_lanes), np.full(n_lanes, -1.0)
    open_end = np.zeros(n_lanes, dtype=bool)
    service = np.ascontiguousarray(inputs.service, dtype=float)
    counted = np.ascontiguousarray(outcome.counted)
    for s in range(plan.n_stages):
        lanes = plan.lanes_of(s)
        _stage_lanes(np.ascontiguousarray(trace.entry[s], dtype=float),
                     np.ascontiguousarray(trace.start[s], dtype=float),
                     np.ascontiguousarray(trace.lane[s]), service, counted,
                     lanes.start, lanes.stop, float(plan.warmup), float(plan.horizon),
                     float(plan.run_end), work, spell, spell_start, wait_max,
                     wait_max_hour, open_end)
    return LaneHours(work, duty_hours(plan, trace.reserve_duty), spell, spell_start,
                     wait_max, wait_max_hour,
                     open_end)


def _clock(minutes: float) -> str:
    """``"07:05"`` for minutes from 00:00 (of any day)."""
    m = int(round(minutes)) % (24 * 60)
    return f"{m // 60:02d}:{m % 60:02d}"


def _span(minutes: float) -> str:
    """``"3 h 20 min"`` / ``"45 min"``."""
    m = int(round(minutes))
    return f"{m // 60} h {m % 60:02d} min" if m >= 60 else f"{m} min"


def _median(values: list[float]) -> float:
    """``np.median`` of a few values (one per replication), without NumPy's overhead: NaN
    if one is NaN, else the middle value, or the middle two added and halved as NumPy
    does."""
    if any(map(math.isnan, values)):
        return math.nan
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _runs(hours: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of consecutive hours of day (``[first, last]``, 23 → 0 joined)."""
    hs = sorted(int(h) for h in hours)
    runs: list[list[int]] = []
    for h in hs:
        if runs and h == runs[-1][1] + 1:
            runs[-1][1] = h
        else:
            runs.append([h, h])
    if len(runs) > 1 and runs[0][0] == 0 and runs[-1][1] == HOURS - 1:
        runs[0][0] = runs.pop()[0]  # 22:00-02:00 is one stretch
    return [(a, b) for a, b in runs]


def _load(work: np.ndarray, duty: np.ndarray) -> np.ndarray:
    """Work arriving over time on duty, element by element (inf where work arrives with
    nobody on duty, 0 where neither): float[L, 24], every lane's load by hour of day;
    a lane is overloaded in the hours where it reaches ``OVER``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(duty > 0, work / np.where(duty > 0, duty, 1.0),
                        np.where(work > 0, math.inf, 0.0))


def overload_warnings(plan: Plan, runs: Sequence[LaneHours]) -> list[str]:
    """One plain-words warning per lane that runs above capacity in some hour of day,
    pooled over the replications ``runs``: the hours, the peak load, when the longest
    queue builds and how long it stands (medians over replications) and the longest wait."""
    if not runs:
        return []
    out = []
    work = sum(r.work for r in runs)
    duty = sum(r.duty for r in runs)
    loads = _load(work, duty)  # every lane's hours at once
    over = loads >= OVER
    overloaded = over.any(axis=1).tolist()
    for s, sname in enumerate(plan.stage_names):
        for ln in plan.lanes_of(s):
            if not overloaded[ln]:
                continue
            load = loads[ln]
            hours = np.flatnonzero(over[ln])
            lname = plan.lane_names[ln]
            where = (f"stage '{sname}'" if lname == sname
                     else f"lane '{lname.split('.', 1)[1]}' of stage '{sname}'")
            stretches = ", ".join(f"{a:02d}:00-{(b + 1) % HOURS:02d}:00"
                                  for a, b in _runs(hours))
            peak = int(hours[np.argmax(load[hours])])
            peak_text = ("nobody on duty while travellers arrive" if math.isinf(load[peak])
                         else f"up to {load[peak]:.0%} of capacity at {peak:02d}:00")
            spells = [float(r.spell[ln]) for r in runs]
            starts = [float(r.spell_start[ln]) for r in runs]
            worst = max(runs, key=lambda r: r.wait_max[ln])
            open_end = any(r.open_end[ln] for r in runs)
            text = f"{where}: demand exceeds the officers on duty {stretches} ({peak_text})"
            if any(map(math.isfinite, starts)):
                begin = _median([x for x in starts if not math.isnan(x)])  # np.nanmedian
                length = _median(spells)
                text += (f"; a queue builds from about {_clock(begin)} and stands for about "
                         f"{_span(length)}")
                days = int((begin + length) // 1440 - begin // 1440)
                later = {0: "", 1: " the next day"}.get(days, f", {days} days later")
                text += (" without clearing before the run ends" if open_end else
                         f" before it clears (about {_clock(begin + length)}{later})")
            text += (f"; the longest wait is {_span(float(worst.wait_max[ln]))} "
                     f"(a traveller entering at {int(worst.wait_max_hour[ln]):02d}:00)")
            if open_end:
                text += "; travellers were still waiting at the end, so these are lower bounds"
            out.append(text + ".")
    return out
