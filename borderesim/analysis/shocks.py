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

from ..model.events import shock_window
from ..model.scenario import Scenario
from ..run.plan import Plan
from ..run.sampling import Inputs
from ..run.trace import Trace
from .metrics import kernel_sums
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
    """Most intervals ``[entry, start)`` covering one instant of ``[t0, t1)``."""
    keep = start > entry
    times = np.concatenate([entry[keep], start[keep]])
    steps = np.concatenate([np.ones(keep.sum(), np.int64), -np.ones(keep.sum(), np.int64)])
    order = np.lexsort((steps, times))  # at equal times, departures (-1) first
    level = np.cumsum(steps[order])
    times = times[order]
    at_t0 = level[times <= t0][-1] if np.any(times <= t0) else 0
    after = level[(times >= t0) & (times < t1)]
    return int(max(at_t0, after.max() if after.size else 0))


@njit(cache=True)
def _p95_over(wait: np.ndarray, order: np.ndarray, lo: np.ndarray, hi: np.ndarray,
              target: float) -> np.ndarray:  # pragma: no cover - compiled
    """For each window ``wait[lo[k]:hi[k]]`` (``lo``, ``hi`` non-decreasing; ``order``:
    ``np.argsort(wait)``, NaN last): is its
    ``np.percentile(.., 95)`` (linear interpolation, NumPy's arithmetic step by step)
    above ``target``? A NaN in a window makes it NaN, so not above; an empty window is
    not above.

    The windows slide: each wait enters and leaves once a Fenwick tree of counts over
    the waits' ranks, and the two order statistics a window's percentile needs are
    read off it in ``log n`` steps, not selected anew.
    """
    n = wait.size
    valid = 0
    for j in range(n):
        valid += not math.isnan(wait[j])
    at = np.empty(n, dtype=np.int64)  # each wait's position in sorted order
    for r in range(n):
        at[order[r]] = r
    values = wait[order]
    tree = np.zeros(valid + 1, dtype=np.int64)
    top = 1
    while top * 2 <= valid:
        top *= 2
    out = np.zeros(lo.size, dtype=np.bool_)
    a = b = 0  # the window in the tree: wait[a:b]
    nans = 0
    for k in range(lo.size):
        while b < hi[k]:  # enters
            if at[b] < valid:
                j = at[b] + 1
                while j <= valid:
                    tree[j] += 1
                    j += j & -j
            else:
                nans += 1
            b += 1
        while a < lo[k]:  # leaves
            if at[a] < valid:
                j = at[a] + 1
                while j <= valid:
                    tree[j] -= 1
                    j += j & -j
            else:
                nans -= 1
            a += 1
        m = b - a
        if m <= 0 or nans > 0:
            continue
        virtual = (m - 1) * 0.95  # np.percentile's "linear": (n - 1) q, q = 95 / 100
        below = math.floor(virtual)
        gamma = virtual - below
        i = int(below)
        low = values[_kth(tree, top, valid, i)]
        if m == 1:
            value = low
        else:
            high = values[_kth(tree, top, valid, i + 1)]
            diff = high - low  # numpy's _lerp
            value = low + diff * gamma
            if gamma >= 0.5:
                value = high - diff * (1 - gamma)
        out[k] = value > target
    return out


@njit(cache=True)
def _kth(tree: np.ndarray, top: int, size: int, k: int) -> int:  # pragma: no cover
    """Position (0-based) of the ``k``-th (0-based) counted item in a Fenwick tree of
    counts over ``size`` positions (``top``: the largest power of two <= ``size``)."""
    pos = 0
    rest = k + 1
    step = top
    while step > 0:
        nxt = pos + step
        if nxt <= size and tree[nxt] < rest:
            pos = nxt
            rest -= tree[nxt]
        step //= 2
    return pos


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
    over = _p95_over(wait, np.argsort(wait), lo.astype(np.int64), hi.astype(np.int64),
                     float(target))
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
    window = shock_window(scenario)
    has_reserve = bool(np.any(plan.reserve_arrays()[0] > 0))
    if window is None and not has_reserve:
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
    (both ends included), from the KPI pass's sums by class
    (``borderesim.testing.reference_kpis.detection_split``: the NumPy statement)."""
    from . import kpi_kernel as kk

    prevalence = np.array([c.threat_prevalence for c in scenario.classes.values()])
    got = kernel_sums(outcome.plan, outcome.inputs, outcome.trace, len(prevalence), False,
                      window)
    out = {}
    for name, q, count in (("shock", kk.C_Q_IN, kk.C_IN), ("outside", kk.C_Q_OUT, kk.C_OUT)):
        total = float(prevalence @ got.cls[:, count])
        out[f"detection_rate.{name}"] = (float(prevalence @ got.cls[:, q]) / total
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
