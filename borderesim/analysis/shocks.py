"""KPIs of shocks and the agile response to them, from one replication's trace.

The *shock window* runs from the start of the first event (surge, outage, slowdown)
to the end of the last one, both included (``events.shock_window``; a surge of
``over: 0`` lasts an instant). For each replication:

- ``<stage>.queue_peak``: the most travellers waiting at the stage at once (all lanes,
  queued not yet started) in the counted window (the warm-up to the horizon);
- ``<stage>.recovery_min``: minutes from the shock's start until the stage's rolling
  30-minute p95 wait is at or under the target and stays there to the horizon (the
  p95 at minute ``t`` is over travellers *entering* the stage's queues in
  ``(t - 30, t]``, followed into the drain; one still waiting when the run ended
  counts as waiting until then; a window nobody enters is under the target). Never
  recovered: the minutes to the horizon, and ``<stage>.recovered`` is 0 (else 1);
- ``<stage>.reserve_officer_hours`` and ``reserve_officer_hours`` (all stages): reserve
  officer-hours on duty over the whole run (drain included);
- ``detection_rate.shock`` / ``detection_rate.outside``: the low-variance detection
  estimator (as ``detection_rate``) over counted travellers arriving inside / outside
  the shock window;
- ``<stage>.flushed_in_shock``: travellers waved through the stage unchecked while
  entering it in the shock window.

Times are minutes unless a name says hours; labels and units are in the KPI
catalogue (``kpis.py``). ``shock_kpis`` returns nothing for a scenario without events
or reserves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..model.scenario import Scenario
from ..run.plan import Plan
from ..run.sampling import Inputs
from ..run.trace import Trace
from .metrics import detection_split, prevalence_of, shock_window_of
from .outcomes import Outcome, occupancy

ROLLING_MIN = 30.0
"""Width (minutes) of the rolling window of the recovery p95."""
GRID_MIN = 1.0
"""Step (minutes) at which the rolling p95 is evaluated."""



def waiting_intervals(outcome: Outcome, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Entry and start of everyone who queued at stage ``s`` (minutes); a traveller still
    waiting when the run ended starts at ``plan.run_end`` (as ``Outcome.wait`` counts)."""
    queued = outcome.queued(s)
    trace = outcome.trace
    entry = trace.entry[s][queued]
    start = np.where(outcome.started(s)[queued], trace.start[s][queued], outcome.plan.run_end)
    return entry, start


def queue_peak(entry: np.ndarray, start: np.ndarray, t0: float, t1: float = np.inf) -> int:
    """Most intervals ``[entry, start)`` covering one instant of ``[t0, t1)``: the highest
    count of intervals begun and not ended, after each begin or end (ends first at equal
    times) at a time in ``[t0, t1)``, and at ``t0`` itself. Entries and starts are sorted
    apart (stable sorts: fast on the nearly ordered times of a queue) and merged in a
    compiled pass: the levels of one sort of both (``np.lexsort``), in fewer steps."""
    keep = start > entry
    return int(_peak(np.sort(entry[keep], kind="stable"), np.sort(start[keep], kind="stable"),
                     float(t0), float(t1)))


@njit(cache=True)
def _peak(begins: np.ndarray, ends: np.ndarray, t0: float,
          t1: float) -> int:  # pragma: no cover - compiled
    """:func:`queue_peak` of the sorted ``begins`` and ``ends`` (as many, no NaN)."""
    level = 0
    at_t0 = 0
    after = -1  # the highest level after an event in [t0, t1); -1: none yet
    i = j = 0
    while i < begins.size or j < ends.size:
        if j < ends.size and (i >= begins.size or ends[j] <= begins[i]):
            t = ends[j]
            level -= 1
            j += 1
        else:
            t = begins[i]
            level += 1
            i += 1
        if t <= t0:
            at_t0 = level
        if t >= t0 and t < t1 and level > after:
            after = level
    return max(at_t0, after if after >= 0 else 0)


@njit(cache=True)
def _p95_over(wait: np.ndarray, lo: np.ndarray, hi: np.ndarray,
              target: float) -> np.ndarray:  # pragma: no cover - compiled
    """For each window ``wait[lo[k]:hi[k]]`` (``lo``, ``hi`` non-decreasing): is its
    ``np.percentile(.., 95)`` (linear interpolation, NumPy's arithmetic step by step)
    above ``target``? A NaN in a window makes it NaN, so not above; an empty window is
    not above.

    The percentile lies between the two order statistics it interpolates (NumPy's
    ``_lerp`` never leaves finite ones), so only how many waits of the window are at
    most ``target`` matters, unless ``target`` falls between those two: then they are
    the largest wait at most ``target`` and the smallest above it. The windows slide; a
    count and two monotonic queues (sliding maximum and minimum) follow them, one step
    a wait, no sort. A window holding a wait so large (``|wait| >= 1e300``, infinities)
    that the interpolation may overflow is sorted and interpolated as before.
    """
    n = wait.size
    at_most = np.empty(n, dtype=np.int64)  # waits <= target, values decreasing: max first
    above = np.empty(n, dtype=np.int64)  # waits > target, values increasing: min first
    h1 = t1 = h2 = t2 = 0
    out = np.zeros(lo.size, dtype=np.bool_)
    a = b = 0  # the window: wait[a:b]
    low_count = 0  # waits <= target in the window
    nans = huge = 0
    for k in range(lo.size):
        while b < hi[k]:  # enters
            v = wait[b]
            huge += abs(v) >= 1e300
            if math.isnan(v):
                nans += 1
            elif v <= target:
                low_count += 1
                while t1 > h1 and wait[at_most[t1 - 1]] <= v:
                    t1 -= 1
                at_most[t1] = b
                t1 += 1
            else:
                while t2 > h2 and wait[above[t2 - 1]] >= v:
                    t2 -= 1
                above[t2] = b
                t2 += 1
            b += 1
        while a < lo[k]:  # leaves
            v = wait[a]
            huge -= abs(v) >= 1e300
            if math.isnan(v):
                nans -= 1
            elif v <= target:
                low_count -= 1
            a += 1
        while h1 < t1 and at_most[h1] < a:
            h1 += 1
        while h2 < t2 and above[h2] < a:
            h2 += 1
        m = b - a
        if m <= 0 or nans > 0:
            continue
        virtual = (m - 1) * 0.95  # np.percentile's "linear": (n - 1) q, q = 95 / 100
        below = math.floor(virtual)
        gamma = virtual - below
        i = int(below)
        if huge > 0:  # sorted, as before
            ordered = np.sort(wait[a:b])
            out[k] = _lerp_over(ordered[i], ordered[min(i + 1, m - 1)], gamma, m, target)
        elif low_count <= i:  # order statistic i is above the target
            out[k] = True
        elif low_count >= i + 2 or m == 1:  # i and i + 1 (if any) are at most the target
            out[k] = False
        else:  # i at most the target, i + 1 above it
            out[k] = _lerp_over(wait[at_most[h1]], wait[above[h2]], gamma, m, target)
    return out


@njit(cache=True)
def _lerp_over(low: float, high: float, gamma: float, m: int,
               target: float) -> bool:  # pragma: no cover - compiled
    """Whether ``np.percentile``'s interpolation ``gamma`` of the way from ``low`` to
    ``high`` (NumPy's ``_lerp``, step by step; ``low`` alone for one value, ``m = 1``)
    is above ``target``."""
    if m == 1:
        return low > target
    diff = high - low
    value = low + diff * gamma
    if gamma >= 0.5:
        value = high - diff * (1 - gamma)
    return value > target


def recovery_minutes(entry: np.ndarray, wait: np.ndarray, t_shock: float, horizon: float,
                     target: float) -> float:
    """Minutes from ``t_shock`` until the rolling 30-minute p95 wait stays <= ``target``.

    ``horizon - t_shock`` when it never does (the caller reports that separately).
    The p95 of each window is ``np.percentile(.., 95)``, computed in a compiled pass
    (:func:`_p95_over`; ``borderesim.testing.reference_kpis.recovery_minutes`` is the
    plain loop it replaces).
    """
    order = np.argsort(entry, kind="stable")
    entry, wait = entry[order], np.ascontiguousarray(wait[order], dtype=np.float64)
    grid = np.arange(t_shock, horizon, GRID_MIN)
    lo = np.searchsorted(entry, grid - ROLLING_MIN, side="right")
    hi = np.searchsorted(entry, grid, side="right")
    over = _p95_over(wait, lo.astype(np.int64), hi.astype(np.int64), float(target))
    bad = np.flatnonzero(over)
    if bad.size == 0:
        return 0.0
    last = int(bad[-1])
    if last + 1 >= len(grid):
        return horizon - t_shock
    return float(grid[last + 1] - t_shock)


def shock_kpis(scenario: Scenario, plan: Plan, inputs: Inputs, trace: Trace,
               target: float | None = None) -> dict[str, float]:
    """The shock KPIs of one replication (see the module docstring); ``target``: minutes,
    the p95 wait of the recovery time (default ``scenario.recovery_target``)."""
    window = shock_window_of(scenario)
    if window is None and not plan.has_reserve:
        return {}
    target = scenario.recovery_target if target is None else float(target)
    k: dict[str, float] = {}
    outcome = Outcome(plan, inputs, trace)
    res_min = (np.zeros(plan.n_stages) if trace.reserve_minutes is None
               else np.asarray(trace.reserve_minutes))
    for s, sname in enumerate(plan.stage_names):
        entry, start = waiting_intervals(outcome, s)
        k[f"{sname}.queue_peak"] = float(queue_peak(entry, start, plan.warmup, plan.horizon))
        k[f"{sname}.reserve_officer_hours"] = float(res_min[s]) / 60.0
        if window is None:
            continue
        rec = recovery_minutes(entry, start - entry, window[0], plan.horizon, target)
        k[f"{sname}.recovery_min"] = rec
        k[f"{sname}.recovered"] = float(rec < plan.horizon - window[0])
        inside = (trace.entry[s] >= window[0]) & (trace.entry[s] <= window[1])
        k[f"{sname}.flushed_in_shock"] = float(np.sum(inside & outcome.flushed(s)))
    k["reserve_officer_hours"] = float(res_min.sum()) / 60.0
    if window is not None:
        k.update(_detection_split(scenario, outcome, window))
    return k


def _detection_split(scenario: Scenario, outcome: Outcome, window: tuple[float, float]
                     ) -> dict[str, float]:
    """The low-variance detection estimator for arrivals inside and outside ``window``
    (both ends included), from the KPI pass's sums by class (:func:`detection_split`)
    (``borderesim.testing.reference_kpis.detection_split``: the NumPy statement)."""
    from . import kpi_kernel as kk

    prevalence = prevalence_of(scenario)
    cls = detection_split(outcome.plan, outcome.inputs, outcome.trace, len(prevalence),
                          window)  # from the KPI pass when it ran
    out = {}
    for name, q, count in (("shock", kk.C_Q_IN, kk.C_IN), ("outside", kk.C_Q_OUT, kk.C_OUT)):
        total = float(prevalence @ cls[:, count])
        out[f"detection_rate.{name}"] = (float(prevalence @ cls[:, q]) / total
                                         if total > 0 else math.nan)
    return out


@dataclass(frozen=True)
class Profile:
    """A stage over time, averaged over replications: per bin ``[edges[k], edges[k+1])``
    (minutes) the mean number waiting (all lanes) and the mean wait (minutes) of the
    travellers who entered its queues in the bin (NaN where nobody entered)."""

    edges: np.ndarray
    queue: np.ndarray
    wait: np.ndarray


def profile(plan: Plan, runs: list[tuple[Inputs, Trace]], stage: str,
            bin_minutes: float = 10.0) -> Profile:
    """The queue and wait ``Profile`` of ``stage`` over the run from replications ``runs``."""
    s = plan.stage_names.index(stage)
    edges = np.arange(0.0, plan.horizon + bin_minutes, bin_minutes)
    edges[-1] = min(edges[-1], plan.horizon)
    queue = np.zeros(len(edges) - 1)
    wait_sum = np.zeros(len(edges) - 1)
    count = np.zeros(len(edges) - 1)
    for inputs, trace in runs:
        queue += occupancy(plan, trace, s, edges).waiting.sum(axis=0) / np.diff(edges)
        entry, start = waiting_intervals(Outcome(plan, inputs, trace), s)
        k = np.searchsorted(edges, entry, side="right") - 1
        ok = (k >= 0) & (k < len(count))
        wait_sum += np.bincount(k[ok], (start - entry)[ok], len(count))
        count += np.bincount(k[ok], minlength=len(count))
    with np.errstate(invalid="ignore", divide="ignore"):
        wait = np.where(count > 0, wait_sum / count, np.nan)
    return Profile(edges, queue / max(len(runs), 1), wait)
